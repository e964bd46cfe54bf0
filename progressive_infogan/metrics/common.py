"""What every metric takes: the sample counts, the real images, and the generated images."""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator, Optional

import numpy as np

from progressive_infogan.latents import latents


@dataclasses.dataclass(frozen=True)
class EvalSettings:
    """Sample counts; the defaults are the thesis protocol (docs/original_system.md §5.1-§5.6)."""

    seed: int = 0
    batch_size: Optional[int] = None  # None: the phase's training batch, as the original
    fid_num_images: int = 5000
    msssim_num_pairs: int = 2000
    infogan_num_batches: int = 3000
    isolation_num_images: int = 128
    standard_fid_num_images: int = 50_000
    standard_fid_draws: int = 3
    # Disentanglement against ground truth (beyond the thesis; disentanglement_lib's counts):
    # images per view, 2/3 of them the training rows (10000 / 5000).
    disentanglement_num_images: int = 15_000
    factor_predictor: str = "standard"  # its training settings: metrics.ground_truth.predictor_settings
    progress: bool = True


@dataclasses.dataclass
class RealImages:
    """Real images of the run's dataset at the phase's resolution, with the training preprocessing."""

    batches: Callable[[int], Iterator[np.ndarray]]  # batch size -> an endless iterator of batches
    all_batches: Callable[[int], Iterator[np.ndarray]]  # every image once
    dataset_id: str
    resolution: int
    resize_filter: str
    data_dir: Optional[str] = None  # where they come from (its factors.npz, if synthetic)
    preprocessing: str = "original"


def generated_batches(run, batch_size: int, seed: int) -> Iterator[np.ndarray]:
    """Endless EMA-generator output for fresh (z, c) ~ N(0, 1): batch i is `latents(seed, i)`."""
    model = run.config.model
    index = 0
    while True:
        noise, code = latents(model, seed, index, batch_size)
        yield run.generator(noise, code, alpha=run.alpha, training=False)[-1].numpy()
        index += 1


def batch_size_of(run, settings: EvalSettings) -> int:
    return settings.batch_size or run.config.schedule.batch_size(run.phase)


