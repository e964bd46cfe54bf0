"""Per-block aggregation of per-coordinate metrics (docs/original_system.md §5.7).

A per-coordinate score (InfoGAN penalty, code reconstruction error, isolation) is reported
four ways: the mean over all K coordinates ("overall", as the thesis did), the mean over the
coordinates of the blocks built at this phase ("overall_built": at phase 5 the 16 block-6
coordinates have no G input and no Q head, yet "overall" counts them), the mean over the
coordinates of each block 2..phase, and every coordinate on its own. A block reports the
coordinates it owns (`CodeLayout.block_ranges`): the architecture's mapping for the
per-block variants (16 per block 2..6), the 16-coordinate schedule groups for
gradual_loss/unmask (although their whole code enters at block 2), and all 80 at block 2
for vanilla. A block that owns no coordinate (vanilla's blocks 3..7, block 7 of every
variant) gets NaN, the thesis tables' "N/A". NaN stays NaN here; `to_jsonable` writes it
as JSON null.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Sequence

import numpy as np

from progressive_infogan.config import ModelConfig


def _mean(values: np.ndarray) -> float:
    # The mean of no coordinates is the thesis' "N/A" (numpy would also warn).
    return float(np.mean(values)) if values.size else math.nan


def block_coordinates(model_config: ModelConfig, phase: int) -> Dict[int, range]:
    """Block b in 2..phase -> the coordinates it owns for metrics (an empty range if none)."""
    return model_config.code_layout.block_ranges(phase)


def aggregate(metric: str, per_coordinate: Sequence[float], model_config: ModelConfig, phase: int) -> Dict[str, float]:
    """Named scores of one per-coordinate metric.

    Returns ``{"<metric>/overall": mean over all K, "<metric>/overall_built": mean over the
    coordinates of blocks 2..phase, "<metric>/block_<b>": mean over block b's coordinates (NaN
    if none) for b in 2..phase, "<metric>/coord_<i:02d>": value of i}``.
    """
    values = np.asarray(per_coordinate, dtype=np.float64).reshape(-1)
    if values.size != model_config.code_size:
        raise ValueError(f"{metric}: got {values.size} coordinates, the model has {model_config.code_size}")
    built = list(model_config.code_layout.built(phase))
    scores = {f"{metric}/overall": _mean(values), f"{metric}/overall_built": _mean(values[built])}
    for block, coordinates in block_coordinates(model_config, phase).items():
        scores[f"{metric}/block_{block}"] = _mean(values[coordinates.start:coordinates.stop])
    for index, value in enumerate(values):
        scores[f"{metric}/coord_{index:02d}"] = float(value)
    return scores


def to_jsonable(scores: Mapping[str, Any]) -> Dict[str, Any]:
    """A copy with every NaN (or infinity) float replaced by None, which JSON writes as null."""
    def convert(value):
        if isinstance(value, Mapping):
            return to_jsonable(value)
        if isinstance(value, (list, tuple)):
            return [convert(item) for item in value]
        if isinstance(value, (float, np.floating)):
            value = float(value)
            return value if math.isfinite(value) else None
        if isinstance(value, np.integer):
            return int(value)
        return value

    return {key: convert(value) for key, value in scores.items()}
