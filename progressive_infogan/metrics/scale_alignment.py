"""Does block order follow factor-scale order? The thesis's hypothesis, measured (issue 10).

The thesis claims that progressive training makes the codes that enter at block d control
features at block d's scale. With the synthetic faces' factors ordered coarse to fine and
DCI's importance matrix R [K, F] (how much code coordinate i carries of factor j), this module
gives:

- the factor x block matrix A[j, b] = sum of R[i, j] over block b's coordinates, divided by
  the factor's total: the share of factor j's importance that block b's coordinates carry
  (rows in the factors' coarse-to-fine order; drawn as a heatmap);
- per factor the importance-weighted mean block m_j = sum_b b A[j, b];
- one number, Spearman's rank correlation between the factors' scale ranks (coarse 0,
  middle 1, fine 2, finest 3; ties share a rank) and m_j. +1: coarser factors are carried
  by earlier blocks, as hypothesised; 0: no relation;
- a permutation baseline: the coordinate -> block assignment shuffled (block sizes kept)
  `num_permutations` times; the null's mean, its 95% interval and the one-sided p-value
  (1 + #{null >= observed}) / (1 + permutations).

Which block a coordinate belongs to is `coordinate_blocks`: its owner block in
`ModelConfig.code_layout`. Vanilla feeds all 80 coordinates at block 2, so its assignment
would be one block and the correlation undefined; it is the control, scored with the
nominal layout of the per-block experiments (16 consecutive coordinates per block 2..6, as
if its code had been split like theirs). Its coordinates are exchangeable, so its expected
correlation is 0 and the permutation baseline says how far chance carries it.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from progressive_infogan.config import ModelConfig

NUM_PERMUTATIONS = 10_000
SCALE_RANKS = {"coarse": 0, "middle": 1, "fine": 2, "finest": 3}
NOMINAL_BLOCKS = tuple(range(2, 7))  # the per-block experiments' blocks 2..6
LAYOUT_ARCHITECTURE, LAYOUT_SCHEDULE, LAYOUT_NOMINAL = "architecture", "schedule groups", "nominal"


def coordinate_blocks(model_config: ModelConfig) -> Tuple[np.ndarray, str]:
    """(block of every code coordinate [K], which layout it is).

    The schedule groups where a variant has them (gradual_loss, unmask: all coordinates
    enter at block 2, but group d is unmasked or penalised from phase d on), else the
    blocks the code enters at; a code that enters at one block only (vanilla) gets the
    nominal per-block layout, K / 5 consecutive coordinates for each block 2..6.
    """
    code_layout = model_config.code_layout
    blocks = np.array([coordinate.owner_block for coordinate in code_layout.coordinates], np.int64)
    layout = LAYOUT_SCHEDULE if model_config.schedule_groups is not None else LAYOUT_ARCHITECTURE
    if len(code_layout.owner_ranges()) <= 1 and model_config.code_size:
        per_block = -(-model_config.code_size // len(NOMINAL_BLOCKS))
        blocks = np.array([NOMINAL_BLOCKS[i // per_block] for i in range(model_config.code_size)], np.int64)
        layout = LAYOUT_NOMINAL
    return blocks, layout


def factor_block_matrix(importance: np.ndarray, blocks: np.ndarray, block_ids: Sequence[int]) -> np.ndarray:
    """[F, B] share of each factor's importance carried by each block's coordinates (rows sum
    to 1; NaN for a factor no coordinate carries)."""
    importance = np.asarray(importance, np.float64)
    per_block = np.stack([importance[np.asarray(blocks) == block].sum(axis=0) for block in block_ids], axis=1)
    totals = per_block.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, per_block / totals, np.nan)


def spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of x [F] with each row of y [..., F] (NaN where either is constant)."""
    from scipy.stats import rankdata

    rx = rankdata(np.asarray(x, np.float64))
    ry = rankdata(np.asarray(y, np.float64), axis=-1)
    rx, ry = rx - rx.mean(), ry - ry.mean(axis=-1, keepdims=True)
    denominator = np.sqrt(np.sum(rx ** 2) * np.sum(ry ** 2, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, np.sum(rx * ry, axis=-1) / np.where(denominator > 0, denominator, 1), np.nan)


def _mean_blocks(importance: np.ndarray, blocks_per_draw: np.ndarray, block_ids: np.ndarray) -> np.ndarray:
    # [draws, K] block assignments -> [draws, F] importance-weighted mean block.
    one_hot = (blocks_per_draw[:, :, None] == block_ids[None, None]).astype(np.float64)  # [draws, K, B]
    per_block = np.einsum("dkb,kf->dfb", one_hot, importance)
    totals = per_block.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("dfb,b->df", per_block, block_ids.astype(np.float64)) / totals


def scale_alignment(importance: np.ndarray, blocks: np.ndarray, scale_ranks: Sequence[float],
                    random_state=0, num_permutations: int = NUM_PERMUTATIONS,
                    block_ids: Optional[Sequence[int]] = None) -> Dict[str, object]:
    """Rank correlation of factor scale with the block that carries it, and its permutation null.

    Args:
      importance: [K, F] DCI importance (code coordinates x factors).
      blocks: [K] block of each coordinate (`coordinate_blocks`).
      scale_ranks: [F] coarse-to-fine rank of each factor (ties allowed).
      block_ids: the matrix's columns; default the blocks present in `blocks`.

    Returns {"rho", "null_mean", "null_low", "null_high" (2.5 and 97.5 percentiles),
    "p_value", "matrix" [F, B], "mean_block" [F], "block_ids" [B], "used_factors" [F] bool}.
    Factors that no coordinate carries (zero importance) are left out of the correlation.
    """
    importance = np.asarray(importance, np.float64)
    blocks = np.asarray(blocks, np.int64)
    block_ids = np.asarray(sorted(set(blocks.tolist())) if block_ids is None else list(block_ids), np.int64)
    scale_ranks = np.asarray(scale_ranks, np.float64)
    matrix = factor_block_matrix(importance, blocks, block_ids)
    mean_block = _mean_blocks(importance, blocks[None], block_ids)[0]
    used = np.isfinite(mean_block)
    result: Dict[str, object] = {"matrix": matrix, "mean_block": mean_block, "block_ids": block_ids,
                                 "used_factors": used, "rho": math.nan, "null_mean": math.nan,
                                 "null_low": math.nan, "null_high": math.nan, "p_value": math.nan}
    if used.sum() < 3 or len(block_ids) < 2:
        return result
    rho = float(spearman(scale_ranks[used], mean_block[used][None])[0])
    rng = np.random.default_rng(random_state)
    null = []
    for start in range(0, num_permutations, 500):  # chunks keep the [draws, K, B] one-hot small
        count = min(500, num_permutations - start)
        shuffled = np.stack([rng.permutation(blocks) for _ in range(count)])
        null.append(spearman(scale_ranks[used], _mean_blocks(importance, shuffled, block_ids)[:, used]))
    null = np.concatenate(null) if null else np.zeros(0)
    finite = null[np.isfinite(null)]
    result.update(rho=rho)
    if finite.size and math.isfinite(rho):
        result.update(null_mean=float(finite.mean()), null_low=float(np.percentile(finite, 2.5)),
                      null_high=float(np.percentile(finite, 97.5)),
                      p_value=float((1 + np.sum(finite >= rho - 1e-12)) / (1 + finite.size)))
    return result


def scale_ranks_of(factor_names: Sequence[str]) -> np.ndarray:
    """Coarse-to-fine rank of each synthetic-faces factor (by its declared scale)."""
    from progressive_infogan import synthetic_faces

    scales = {factor.name: factor.scale for factor in synthetic_faces.FACTORS}
    unknown = [name for name in factor_names if name not in scales]
    if unknown:
        raise ValueError(f"factors without a declared scale: {unknown}")
    return np.array([SCALE_RANKS[scales[name]] for name in factor_names], np.float64)


def plot_heatmap(matrix: np.ndarray, factor_names: Sequence[str], block_ids: Sequence[int], path: str,
                 title: str = "", factor_labels: Optional[Sequence[str]] = None) -> str:
    """Draw a factor x block matrix (rows coarse to fine, top to bottom) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix, np.float64)
    labels = list(factor_labels) if factor_labels is not None else list(factor_names)
    figure, axes = plt.subplots(figsize=(4.2 + 0.75 * len(block_ids), 1.4 + 0.32 * len(labels)))
    image = axes.imshow(np.ma.masked_invalid(matrix), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(block_ids)), [f"{b}\n{2 ** b}px" for b in block_ids])
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("block (coordinates entering there)")
    for (row, column), value in np.ndenumerate(matrix):
        if np.isfinite(value):
            axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=7,
                      color="white" if value < 0.6 else "black")
    figure.colorbar(image, ax=axes, label="share of the factor's DCI importance")
    if title:
        axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path

