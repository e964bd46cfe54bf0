"""What every metric takes: the sample counts, the real images, and the generated images."""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator, Optional

import numpy as np

from progressive_infogan.latents import latents

# The sample counts are a config (config.py, beside the sizes that pick them); metrics take them from here.
from progressive_infogan.config import EvalSettings


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


