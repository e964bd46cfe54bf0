"""Tests for progressive_infogan/metrics/fid.py."""
import dataclasses

import numpy as np
import pytest
import scipy.linalg

from progressive_infogan.metrics import fid
from progressive_infogan.metrics import inception


def scipy_reference_frechet_distance(mu1, sigma1, mu2, sigma2):
    """The textbook formula with scipy's general matrix square root (TTUR / pytorch-fid style)."""
    covariance_mean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    covariance_mean = np.real(covariance_mean)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2 - 2.0 * covariance_mean))


def gaussian_activations(dimensions, num_samples=3000, seed=5):
    """Two different Gaussians with correlated dimensions, as stand-ins for pool_3 activations."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dimensions, dimensions)) / np.sqrt(dimensions)
    first = rng.normal(size=(num_samples, dimensions)) @ mixing
    second = rng.normal(size=(num_samples, dimensions)) @ (mixing * 1.2) + 0.1
    return first, second


def test_frechet_distance_matches_scipy_sqrtm_reference():
    # 512-d rather than 2048-d: scipy's sqrtm alone takes 20-90 s at 2048-d on 2 CPU cores.
    first, second = gaussian_activations(512)
    statistics1 = fid.activation_statistics(first)
    statistics2 = fid.activation_statistics(second)
    distance = fid.frechet_distance(*statistics1, *statistics2)
    reference = scipy_reference_frechet_distance(*statistics1, *statistics2)
    assert distance > 1.0
    assert distance == pytest.approx(reference, rel=1e-6)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    statistics = fid.activation_statistics(gaussian_activations(2048)[0])
    # ~0 relative to the traces involved (tr(sigma) ~ 2048).
    assert abs(fid.frechet_distance(*statistics, *statistics)) < 1e-6


def test_frechet_distance_of_isotropic_gaussians_is_exact():
    dimensions = 16
    mean_shift = np.full(dimensions, 0.5)
    distance = fid.frechet_distance(np.zeros(dimensions), np.eye(dimensions),
                                    mean_shift, 9.0 * np.eye(dimensions))
    # ||m||^2 + d (1 - 3)^2
    assert distance == pytest.approx(dimensions * 0.25 + dimensions * 4.0, rel=1e-12)


def test_frechet_distance_handles_singular_covariances():
    # Fewer samples than dimensions: rank-deficient covariances must not produce NaN or complex.
    rng = np.random.default_rng(0)
    statistics1 = fid.activation_statistics(rng.normal(size=(20, 64)))
    statistics2 = fid.activation_statistics(rng.normal(size=(20, 64)) + 1.0)
    distance = fid.frechet_distance(*statistics1, *statistics2)
    assert np.isfinite(distance)
    assert distance == pytest.approx(scipy_reference_frechet_distance(*statistics1, *statistics2), rel=1e-4)


def test_activation_statistics_are_float64_with_unbiased_covariance():
    features = np.array([[1.0, 2.0], [3.0, 0.0], [5.0, 7.0]], dtype=np.float32)
    mu, sigma = fid.activation_statistics(features)
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(mu, [3.0, 3.0])
    centred = features - features.mean(axis=0)
    np.testing.assert_allclose(sigma, centred.T @ centred / 2.0)  # n - 1 = 2


class FlattenedPixels:
    """Stands in for InceptionPool3: 'features' are the first 6 pixel values of each image."""

    def __init__(self):
        self.images_seen = 0

    def features(self, image_batches, batch_size=50, progress=False):
        outputs = [np.asarray(batch).reshape(len(batch), -1)[:, :6] for batch in image_batches]
        self.images_seen += sum(len(output) for output in outputs)
        return np.concatenate(outputs)


def image_batches(seed, num_batches=4, batch_size=8, shift=0.0):
    rng = np.random.default_rng(seed)
    for _ in range(num_batches):
        yield np.tanh(rng.normal(size=(batch_size, 4, 4, 3)) + shift).astype(np.float32)


def test_take_images_stops_at_the_count_and_complains_when_short():
    taken = list(fid.take_images(image_batches(0), 20))
    assert [len(batch) for batch in taken] == [8, 8, 4]
    with pytest.raises(ValueError, match="short"):
        list(fid.take_images(image_batches(0), 33))
    assert sum(len(batch) for batch in fid.take_images(image_batches(0), None)) == 32


def test_fid_from_image_batches_accepts_batches_or_statistics():
    network = FlattenedPixels()
    from_batches = fid.fid_from_image_batches(image_batches(1), image_batches(2, shift=0.5), 30, network)
    reference = fid.statistics_of_image_batches(image_batches(2, shift=0.5), 30, network)
    from_statistics = fid.fid_from_image_batches(image_batches(1), reference, 30, network)
    assert from_batches == pytest.approx(from_statistics, rel=1e-12)
    assert from_batches > 0.0
    # A tuple of two image batches is batches, not (mean, covariance).
    real_pair = tuple(image_batches(2, num_batches=2, batch_size=15, shift=0.5))
    from_tuple = fid.fid_from_image_batches(image_batches(1), real_pair, 30, network)
    assert from_tuple == pytest.approx(from_batches, rel=1e-12)


def test_fid_over_draws_reports_mean_and_std_of_independent_draws():
    network = FlattenedPixels()
    reference = fid.statistics_of_image_batches(image_batches(100), 32, network)
    result = fid.fid_over_draws(lambda draw: image_batches(draw), reference, num_images=24,
                                num_draws=3, inception=network)
    expected = [fid.fid_from_image_batches(image_batches(draw), reference, 24, network) for draw in range(3)]
    assert result.values == pytest.approx(expected)
    assert result.mean == pytest.approx(np.mean(expected))
    assert result.std == pytest.approx(np.std(expected))
    assert len(set(result.values)) == 3


def test_real_statistics_are_computed_once_per_key(tmp_path, monkeypatch):
    monkeypatch.setenv(inception.CACHE_ENVIRONMENT_VARIABLE, str(tmp_path))
    network = FlattenedPixels()
    key = fid.RealStatisticsKey(dataset_id="synthetic_faces/seed 0", resolution=4, num_images=32,
                                resize_filter="box")
    first = fid.cached_real_statistics(key, lambda: image_batches(7), network)
    assert network.images_seen == 32
    assert fid.real_statistics_path(key).is_file()
    second = fid.cached_real_statistics(key, lambda: pytest.fail("cache miss"), network)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    other_filter = dataclasses.replace(key, resize_filter="lanczos")
    assert fid.real_statistics_path(other_filter) != fid.real_statistics_path(key)
    assert list(tmp_path.glob("*.tmp")) == []
