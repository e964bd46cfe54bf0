"""Fréchet Inception Distance: statistics of pool_3 features and the distance between them.

Two protocols are built from the same pieces:
- thesis (docs/original_system.md §5.3): 5000 generated vs 5000 real images at the
  training resolution, one draw: `fid_from_image_batches(generated, real, 5000)`;
- standard: N generated images (50k by default) against the statistics of the full dataset,
  mean +- std over several draws: `cached_real_statistics(...)` then `fid_over_draws(...)`.

All statistics are float64 with unbiased covariances (n - 1), as tfgan's
`frechet_classifier_distance_from_activations`, which the thesis used.
"""
import dataclasses
import hashlib
import pathlib
import re
from typing import Callable, Iterable, Optional, Tuple, Union

import numpy as np
import scipy.linalg

from progressive_infogan import files
from progressive_infogan.metrics import inception as inception_lib
from progressive_infogan.metrics.common import batch_size_of, generated_batches

Statistics = Tuple[np.ndarray, np.ndarray]  # (mean [D], covariance [D, D]), float64


def activation_statistics(features) -> Statistics:
    """Mean and unbiased (ddof=1) covariance of [N, D] features, in float64."""
    centred = np.array(features, dtype=np.float64)  # one float64 copy, centred in place:
    if centred.ndim != 2 or centred.shape[0] < 2:     # np.cov would need two (1.6 GB at 50k)
        raise ValueError(f"Need [N >= 2, D] features, got shape {centred.shape}")
    mean = centred.mean(axis=0)
    centred -= mean
    covariance = centred.T @ centred / (centred.shape[0] - 1)
    return mean, covariance


def _symmetric_square_root(matrix: np.ndarray) -> np.ndarray:
    # Covariances are symmetric positive semi-definite, so an eigendecomposition gives the real
    # square root; tiny negative eigenvalues are rounding noise and are clipped to 0.
    eigenvalues, eigenvectors = scipy.linalg.eigh(matrix, driver="evr")
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr(sqrt(sigma1 @ sigma2)) computed as tr(sqrt(A sigma2 A)) with A = sqrt(sigma1).

    The same identity as tfgan's `trace_sqrt_product` (which used SVDs): the inner matrix is
    symmetric PSD, so the result is real with no imaginary parts to discard, unlike
    `scipy.linalg.sqrtm(sigma1 @ sigma2)`. (`eigh(driver="evr")` is also ~10x faster than SVD
    or sqrtm for 2048x2048 on a CPU.)
    """
    sqrt_sigma1 = _symmetric_square_root(sigma1)
    inner = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
    inner = (inner + inner.T) / 2.0  # remove the asymmetry left by rounding
    eigenvalues = scipy.linalg.eigh(inner, eigvals_only=True, driver="evr")
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + tr(sigma1 + sigma2 - 2 sqrt(sigma1 sigma2)), in float64."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"Mismatched statistics: {mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}")
    mean_term = float(np.sum((mu1 - mu2) ** 2))
    trace_term = float(np.trace(sigma1) + np.trace(sigma2)) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return mean_term + trace_term


def take_images(image_batches: Iterable, num_images: Optional[int]):
    """Yields batches until exactly `num_images` images were yielded (None: all of them)."""
    if num_images is None:
        yield from image_batches
        return
    remaining = num_images
    if remaining <= 0:
        return
    for batch in image_batches:
        batch = batch[:remaining]
        remaining -= int(batch.shape[0])
        yield batch
        if remaining <= 0:
            return  # before pulling another batch: a generator would draw it for nothing
    if remaining > 0:
        raise ValueError(f"The image batches ran out {remaining} images short of {num_images}.")


def features_of_image_batches(image_batches: Iterable, num_images: Optional[int],
                              inception: Optional[inception_lib.InceptionPool3] = None,
                              progress: bool = False) -> np.ndarray:
    """[num_images, 2048] pool_3 features of the first `num_images` of NHWC [-1, 1] batches.

    `num_images=None` takes every image the batches hold (e.g. a whole dataset).
    """
    inception = inception or shared_inception()
    features = inception.features(take_images(image_batches, num_images), progress=progress)
    assert num_images is None or features.shape[0] == num_images, features.shape
    return features


def statistics_of_image_batches(image_batches: Iterable, num_images: Optional[int],
                                inception: Optional[inception_lib.InceptionPool3] = None,
                                progress: bool = False) -> Statistics:
    return activation_statistics(features_of_image_batches(image_batches, num_images, inception, progress))


def fid_from_image_batches(generated_batches: Iterable, reference: Union[Iterable, Statistics],
                           num_images: int, inception: Optional[inception_lib.InceptionPool3] = None,
                           progress: bool = False) -> float:
    """FID of `num_images` generated images against real image batches or cached statistics.

    `reference` is either an iterable of real [-1, 1] NHWC batches (the thesis: 5k vs 5k, the
    same count from each) or a (mean, covariance) pair, e.g. from `cached_real_statistics`.
    """
    if _is_statistics(reference):
        reference_statistics = reference
    else:
        reference_statistics = statistics_of_image_batches(reference, num_images, inception, progress)
    generated_statistics = statistics_of_image_batches(generated_batches, num_images, inception, progress)
    return frechet_distance(*generated_statistics, *reference_statistics)


def _is_statistics(reference) -> bool:
    # A (mean [D], covariance [D, D]) pair, not a pair of 4-D image batches.
    return (isinstance(reference, tuple) and len(reference) == 2
            and all(isinstance(part, np.ndarray) for part in reference)
            and reference[0].ndim == 1 and reference[1].ndim == 2)


@dataclasses.dataclass(frozen=True)
class FidOverDraws:
    mean: float
    std: float  # population std (ddof=0) over the draws
    values: Tuple[float, ...]


def fid_over_draws(generated_batches_for_draw: Callable[[int], Iterable], reference_statistics: Statistics,
                   num_images: int, num_draws: int,
                   inception: Optional[inception_lib.InceptionPool3] = None,
                   progress: bool = False) -> FidOverDraws:
    """The standard protocol: FID of `num_draws` independent draws of generated images.

    `generated_batches_for_draw(draw_index)` must return a fresh iterable of batches (e.g.
    seeded by the index) so that the draws differ and each is reproducible.
    """
    values = tuple(
        fid_from_image_batches(generated_batches_for_draw(draw), reference_statistics, num_images,
                               inception, progress)
        for draw in range(num_draws))
    return FidOverDraws(mean=float(np.mean(values)), std=float(np.std(values)), values=values)


@dataclasses.dataclass(frozen=True)
class RealStatisticsKey:
    """What identifies the statistics of real images: change any field and they differ."""
    dataset_id: str  # e.g. "synthetic_faces-seed0", "celeba_hq"
    resolution: int  # side of the images fed to the metric (before the 299 resize)
    num_images: Optional[int]  # None: every image of the dataset
    resize_filter: str  # how the dataset was brought to `resolution`, e.g. "box", "lanczos"

    def file_name(self) -> str:
        readable = re.sub(r"[^A-Za-z0-9_.-]+", "_",
                          f"{self.dataset_id}_{self.resolution}px_{self.num_images or 'all'}_{self.resize_filter}")
        # The hash keeps distinct keys distinct even where sanitising the name merged them; the
        # Inception file's sha1 ties the statistics to the network that made them.
        digest = hashlib.sha1(repr((dataclasses.astuple(self), inception_lib.INCEPTION_FILE_SHA1)).encode())
        return f"fid_real_statistics_{readable}_{digest.hexdigest()[:10]}.npz"


def real_statistics_path(key: RealStatisticsKey) -> pathlib.Path:
    return inception_lib.cache_directory() / key.file_name()


def save_statistics(path, statistics: Statistics) -> None:
    """Writes (mean, covariance) to an .npz atomically: concurrent runs never see a half-written cache."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_npz(str(path), mu=statistics[0], sigma=statistics[1])


def load_statistics(path) -> Statistics:
    with np.load(path) as arrays:
        return arrays["mu"], arrays["sigma"]


def cached_real_statistics(key: RealStatisticsKey, real_batches: Callable[[], Iterable],
                           inception: Optional[inception_lib.InceptionPool3] = None,
                           progress: bool = False) -> Statistics:
    """Statistics of `key.num_images` real images, computed once and kept in the cache directory.

    `real_batches()` is only called on a cache miss, so opening the dataset costs nothing otherwise.
    """
    path = real_statistics_path(key)
    if path.is_file():
        return load_statistics(path)
    statistics = statistics_of_image_batches(real_batches(), key.num_images, inception, progress)
    save_statistics(path, statistics)
    return statistics


_shared_inception = None


def shared_inception() -> inception_lib.InceptionPool3:
    """One InceptionPool3 per process: building it loads ~87 MB of weights."""
    global _shared_inception
    if _shared_inception is None:
        _shared_inception = inception_lib.InceptionPool3()
    return _shared_inception


def thesis_metric(run, real, settings) -> dict:
    """Registry entry, thesis protocol: N generated vs N real images (5k each) at the training
    resolution, one draw. The real statistics are cached per dataset and resolution."""
    batch = batch_size_of(run, settings)
    key = RealStatisticsKey(real.dataset_id, real.resolution, settings.fid_num_images, real.resize_filter)
    reference = cached_real_statistics(key, lambda: real.batches(batch), shared_inception(), settings.progress)
    value = fid_from_image_batches(generated_batches(run, batch, settings.seed), reference,
                                   settings.fid_num_images, shared_inception(), settings.progress)
    return {"fid": value}


def standard_metric(run, real, settings) -> dict:
    """Registry entry, standard protocol: N generated images (50k) against the whole dataset,
    mean and std over several draws, with the resize filter stated."""
    batch = batch_size_of(run, settings)
    key = RealStatisticsKey(real.dataset_id, real.resolution, None, real.resize_filter)
    reference = cached_real_statistics(key, lambda: real.all_batches(batch), shared_inception(), settings.progress)
    result = fid_over_draws(lambda draw: generated_batches(run, batch, settings.seed + 1000 * (draw + 1)),
                            reference, settings.standard_fid_num_images, settings.standard_fid_draws,
                            shared_inception(), settings.progress)
    return {"fid_standard/mean": result.mean, "fid_standard/std": result.std,
            "fid_standard/num_images": float(settings.standard_fid_num_images)}
