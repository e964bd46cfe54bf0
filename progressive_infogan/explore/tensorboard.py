"""Traversal images for TensorBoard: the training loop writes them as image summaries.

Pure: returns the images, writes nothing; the caller owns the summary writer.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from progressive_infogan.config import ModelConfig
from progressive_infogan.explore import common, traversal
from progressive_infogan.latents import latents

SAMPLES = 3


def traversal_summary_images(generator, model_config: ModelConfig, phase: int, alpha: float,
                             coords_per_block: int = 2, steps: int = 7, seed: int = 0,
                             num_samples: int = SAMPLES) -> Dict[str, np.ndarray]:
    """{'traversal/block_<b>/coord_<id>': uint8 [1, H, W, 3]} for the first `coords_per_block`
    coordinates that block b owns among those that feed G at `phase` (rows: samples; columns:
    linspace(-3, 3, steps)). The same seeded samples every call, so images of successive
    steps compare."""
    noise, code = map(np.asarray, latents(model_config, seed, 0, num_samples))
    values = traversal.traversal_values(steps)
    layout = model_config.code_layout
    feeding = set(layout.feeding_g(phase))
    images = {}
    for block, coordinates in layout.owner_ranges().items():
        for coordinate in [c for c in coordinates if c in feeding][:coords_per_block]:
            grid = traversal.coordinate_traversal(generator, noise, code, coordinate, values, alpha)
            images[f"traversal/block_{block}/coord_{coordinate}"] = common.image_grid(common.to_uint8(grid))[None]
    return images
