"""Every block's image side by side for the same inputs (thesis Figs. 24, 25).

G returns the combined image of every block (block 2 first, G's output last), each
nearest-upsampled to the phase's resolution; a row per sample, a column per block.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from progressive_infogan import figures
from progressive_infogan.config import ModelConfig
from progressive_infogan.explore import common
from progressive_infogan.latents import latents


@dataclasses.dataclass
class BlockOutputs:
    blocks: list  # block ids, one per column
    images: np.ndarray  # float [samples, blocks, H, W, 3] in [-1, 1]
    figure: np.ndarray  # uint8


def block_outputs(generator, model_config: ModelConfig, num_samples: int = 4, alpha: float = 1.0, seed: int = 0,
                  noise=None, code=None, min_display_size: int = figures.MIN_DISPLAY_SIZE) -> BlockOutputs:
    """Every block's output for `num_samples` seeded samples (or the given noise and code)."""
    if noise is None or code is None:
        noise, code = map(np.asarray, latents(model_config, seed, 0, num_samples))
    images = common.generate(generator, noise, code, alpha=alpha, all_blocks=True)  # [blocks, N, ...]
    images = np.transpose(images, (1, 0, 2, 3, 4))
    blocks = list(range(2, 2 + images.shape[1]))
    scale = figures.display_scale(images.shape[-2], min_display_size)
    cells = figures.upscale(figures.to_uint8(images), scale)
    columns = [figures.caption(figures.image_grid(cells[:, index:index + 1]), f"block {block}")
               for index, block in enumerate(blocks)]
    figure = figures.stack_horizontally(columns, padding=2)
    return BlockOutputs(blocks=blocks, images=images, figure=figure)


def write_block_outputs(path: str, generator, model_config: ModelConfig, **options) -> BlockOutputs:
    result = block_outputs(generator, model_config, **options)
    figures.write_png(path, result.figure)
    return result
