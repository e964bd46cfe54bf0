"""Shared pieces of the exploration tools: rendering and coordinate selection.

Images inside the tools are float32 NHWC in [-1, 1], as G produces them; the latents come
from `latents.latents` and the figures are built with `figures`. Every function takes
plain arguments.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Union

import numpy as np

from progressive_infogan.config import ModelConfig

CoordinateSpec = Union[str, int, Sequence[int], None]


def generate(generator, noise: np.ndarray, code: np.ndarray, alpha: float = 1.0, batch_size: int = 64,
             all_blocks: bool = False) -> np.ndarray:
    """G's output [N, H, W, 3] in [-1, 1] (or every block's image [blocks, N, H, W, 3]).

    G runs in inference mode (BN moving statistics), so a sample's image does not depend on
    the other samples of its batch and batching is only a memory matter."""
    noise = np.asarray(noise, np.float32)
    code = np.asarray(code, np.float32)
    parts = []
    for start in range(0, len(noise), batch_size):
        outputs = generator(noise[start:start + batch_size], code[start:start + batch_size],
                            alpha=alpha, training=False)
        outputs = [np.asarray(image, np.float32) for image in outputs]
        parts.append(np.stack(outputs) if all_blocks else outputs[-1])
    return np.concatenate(parts, axis=1 if all_blocks else 0)


def coordinate_block(model_config: ModelConfig, coordinate: int) -> int:
    """The block whose generator input the coordinate enters (its caption in the figures)."""
    return model_config.code_layout.coordinate(coordinate).input_block


def select_coordinates(model_config: ModelConfig, spec: CoordinateSpec = "all",
                       phase: Optional[int] = None) -> List[int]:
    """Coordinate ids from a spec: "all", "effective" (those the phase's generator reads),
    "block:3" (those entering G at block 3), "block:2,3", "5,17,40", an int, or a list of ints."""
    layout = model_config.code_layout
    ranges = layout.input_ranges()
    if spec is None or (isinstance(spec, str) and spec.strip() in ("", "all")):
        return list(range(model_config.code_size))
    if isinstance(spec, (int, np.integer)):
        chosen = [int(spec)]
    elif isinstance(spec, str):
        spec = spec.strip()
        if spec == "effective":
            if phase is None:
                raise ValueError("'effective' needs the phase")
            return list(layout.feeding_g(phase))
        if spec.startswith("block:"):
            chosen = []
            for block in spec[len("block:"):].split(","):
                if int(block) not in ranges:
                    raise ValueError(f"no coordinate enters G at block {block}; blocks: {sorted(ranges)}")
                chosen.extend(ranges[int(block)])
        else:
            chosen = [int(part) for part in spec.split(",") if part.strip()]
    else:
        chosen = [int(c) for c in spec]
    for coordinate in chosen:
        if not 0 <= coordinate < model_config.code_size:
            raise ValueError(f"coordinate {coordinate} is not in the code (size {model_config.code_size})")
    return chosen
