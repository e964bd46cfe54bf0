"""What a run shows while it trains: the progress line, TensorBoard scalars, image grids and
traversals, and sample-grid PNGs in the run directory."""

from __future__ import annotations

import contextlib
import os
import time
from typing import Dict, Mapping, Sequence

import numpy as np
import tensorflow as tf
from PIL import Image
from tqdm import tqdm

from progressive_infogan import figures, rundir, terminal
from progressive_infogan.config import ModelConfig
from progressive_infogan.latents import latents, traversal_values, with_variable_values

# Traversal images: this many samples, each swept over linspace(-3, 3, steps).
TRAVERSAL_SAMPLES = 3
TRAVERSAL_AMPLITUDE = 3.0


class Progress:
    """A per-phase tqdm bar plus a log line with images/s, the phase's ETA and the run's.

    While the bar shows, log lines print above it (`terminal.logs_around_bars`), not through it."""

    def __init__(self, phase: int, start: int, end: int, step: int, batch: int, enabled: bool = True,
                 later_images: int = 0):
        self.phase, self.start, self.end, self.batch = phase, start, end, batch
        self.later_images = later_images  # images of the phases after this one (schedule.images_after_phase)
        self._logs = contextlib.ExitStack()
        if enabled:
            self._logs.enter_context(terminal.logs_around_bars())
        self.bar = tqdm(total=end - start, initial=step - start, desc=f"phase {phase} ({2 ** phase}px)",
                        unit="step", disable=not enabled, dynamic_ncols=True, mininterval=1.0)
        self.started_at, self.started_step = time.time(), step
        self._last = step

    def update(self, step: int) -> None:
        self.bar.update(step - self._last)
        self._last = step

    def images_per_second(self) -> float:
        elapsed = time.time() - self.started_at
        return (self._last - self.started_step) * self.batch / elapsed if elapsed > 0 else 0.0

    def line(self, step: int, alpha: float, scalars: Mapping[str, float]) -> str:
        rate = self.images_per_second()
        phase_left, run_left = eta_seconds(step, self.end, self.batch, self.later_images, rate)
        values = " ".join(f"{name.split('/')[-1]}={value:.4f}" for name, value in sorted(scalars.items()))
        return (f"phase {self.phase} step {step - self.start}/{self.end - self.start} (global {step}) "
                f"alpha={alpha:.3f} {values} | {rate:.1f} images/s, phase ETA {format_seconds(phase_left)}, "
                f"run ETA >={format_seconds(run_left)}")

    def close(self) -> None:
        self.bar.close()
        self._logs.close()


def eta_seconds(step: int, phase_end: int, batch: int, later_images: int, images_per_second: float):
    """(seconds to the phase's end, seconds to the run's end) at the current images/s; NaN before a rate.

    The run's is a lower bound: a later phase trains at a higher resolution, so on fewer images
    per second (the log line says '>=')."""
    if not images_per_second > 0:
        return float("nan"), float("nan")
    phase_images = max(phase_end - step, 0) * batch
    return phase_images / images_per_second, (phase_images + later_images) / images_per_second


def format_seconds(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def write_step(writer, step: int, phase: int, alpha: float, scalars: Mapping[str, tf.Tensor],
               vectors: Mapping[str, tf.Tensor], images_per_second: float) -> None:
    with writer.as_default(step=step):
        tf.summary.scalar("schedule/phase", phase)
        tf.summary.scalar("schedule/alpha", alpha)
        tf.summary.scalar("speed/images_per_second", images_per_second)
        for name, value in scalars.items():
            tf.summary.scalar(name, value)
        for name, values in vectors.items():
            for index, value in enumerate(np.asarray(values)):
                tf.summary.scalar(f"{name}/{index:02d}", value)
    writer.flush()


def block_rows(block_images: Sequence[np.ndarray], real: np.ndarray, count: int = 8) -> np.ndarray:
    """uint8 grid: one row per block's output (block 2 at the top), then a row of real images."""
    count = min(count, len(real), len(block_images[0]))
    rows = np.stack([np.asarray(images[:count]) for images in block_images] + [np.asarray(real[:count])])
    scale = figures.display_scale(rows.shape[3] * count, 512)
    return figures.image_grid(figures.upscale(figures.to_uint8(rows), scale))


def traversal_summary_images(generator, model_config: ModelConfig, phase: int, alpha: float,
                             coords_per_block: int = 2, steps: int = 7, seed: int = 0,
                             num_samples: int = TRAVERSAL_SAMPLES) -> Dict[str, np.ndarray]:
    """{'traversal/block_<b>/coord_<id>': uint8 [1, H, W, 3]} for the first `coords_per_block`
    coordinates that block b owns among those that feed G at `phase` (rows: samples; columns:
    linspace(-3, 3, steps)). Pure, and the same seeded samples every call, so images of
    successive steps compare."""
    noise, code = latents(model_config, seed, 0, num_samples)
    layout = model_config.code_layout
    feeding = set(layout.feeding_g(phase))
    images = {}
    for block, coordinates in layout.owner_ranges().items():
        # One grid per variable: a categorical one's columns are its categories (latents.traversal_values).
        firsts = dict.fromkeys(layout.variable_of(c).coordinates.start for c in coordinates if c in feeding)
        for coordinate in list(firsts)[:coords_per_block]:
            values = traversal_values(model_config, coordinate, steps, TRAVERSAL_AMPLITUDE)
            swept_noise, swept_code = with_variable_values(model_config, noise, code, coordinate, values)
            grid = np.asarray(generator(swept_noise, swept_code, alpha=alpha, training=False)[-1], np.float32)
            grid = grid.reshape((num_samples, len(values)) + grid.shape[1:])
            images[f"traversal/block_{block}/coord_{coordinate}"] = figures.image_grid(figures.to_uint8(grid))[None]
    return images


def write_images(writer, step: int, trainer, real, alpha: float, fixed_latents) -> str:
    """EMA-G's output of every block beside real images (TensorBoard and samples/<step>.png),
    and traversal grids of a few coordinates per block (TensorBoard)."""
    generator = trainer.ema_generator()
    noise, code = fixed_latents
    block_images = [image.numpy() for image in generator(noise, code, alpha=alpha, training=False)]
    real = trainer.strategy.experimental_local_results(real)[0].numpy() if hasattr(real, "values") else np.asarray(real)
    grid = block_rows(block_images, real)
    traversals = traversal_summary_images(generator, trainer.config.model, trainer.phase, alpha)
    with writer.as_default(step=step):
        tf.summary.image("samples/blocks_then_real", grid[None], step=step)
        for name, image in traversals.items():
            tf.summary.image(name, image, step=step)
    writer.flush()
    directory = rundir.samples_dir(trainer.options.model_dir)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"phase{trainer.phase}-step{step:09d}.png")
    Image.fromarray(grid).save(path)
    return path

