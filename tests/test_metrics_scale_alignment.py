"""Scale alignment (metrics/scale_alignment.py): the block layout, the factor x block
matrix, the rank correlation and its permutation baseline."""

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from progressive_infogan import config as configs
from progressive_infogan import synthetic_faces
from progressive_infogan.metrics import scale_alignment as sa


def test_coordinate_blocks_of_every_layout():
    blocks, layout = sa.coordinate_blocks(configs.preset("exp_condition").model)
    assert layout == sa.LAYOUT_ARCHITECTURE and blocks.tolist() == [b for b in range(2, 7) for _ in range(16)]
    blocks, layout = sa.coordinate_blocks(configs.preset("exp_condition_4vars").model)
    assert blocks.tolist() == [b for b in range(2, 7) for _ in range(4)]
    # gradual_loss feeds every coordinate at block 2 but penalises group d from phase d on.
    blocks, layout = sa.coordinate_blocks(configs.preset("exp_gradual_loss").model)
    assert layout == sa.LAYOUT_SCHEDULE and blocks.tolist() == [b for b in range(2, 7) for _ in range(16)]
    # Vanilla, the control: the nominal per-block layout.
    blocks, layout = sa.coordinate_blocks(configs.preset("exp_vanilla").model)
    assert layout == sa.LAYOUT_NOMINAL and blocks.tolist() == [b for b in range(2, 7) for _ in range(16)]
    assert sa.coordinate_blocks(configs.preset("exp_noinfo").model)[0].size == 0


def test_scale_ranks_follow_the_declared_scales():
    ranks = sa.scale_ranks_of(synthetic_faces.FACTOR_NAMES)
    assert ranks.tolist() == [0] * 5 + [1] * 5 + [2] * 3 + [3] * 3
    assert np.all(np.diff(ranks) >= 0)  # the factors are listed coarse to fine
    with pytest.raises(ValueError, match="scale"):
        sa.scale_ranks_of(["not_a_factor"])


def test_factor_block_matrix_by_hand():
    # 4 coordinates (blocks 2, 2, 3, 4) x 2 factors.
    importance = np.array([[0.5, 0.0], [0.25, 0.0], [0.25, 0.2], [0.0, 0.6]])
    matrix = sa.factor_block_matrix(importance, np.array([2, 2, 3, 4]), [2, 3, 4])
    assert matrix == pytest.approx(np.array([[0.75, 0.25, 0.0], [0.0, 0.25, 0.75]]))
    assert np.isnan(sa.factor_block_matrix(np.zeros((2, 1)), np.array([2, 3]), [2, 3])).all()


def test_spearman_matches_scipy_with_ties():
    x = np.array([0, 0, 1, 1, 2, 3], np.float64)
    y = np.random.default_rng(0).normal(size=(4, 6))
    y[0, :2] = y[0, 2]  # ties in y too
    expected = [spearmanr(x, row).statistic for row in y]
    assert sa.spearman(x, y) == pytest.approx(expected)
    assert np.isnan(sa.spearman(x, np.ones((1, 6)))[0])


def aligned_importance(scale_ranks, reverse=False, coordinates_per_block=3):
    """Factor j carried only by one coordinate of the block matching its scale (or the reverse)."""
    blocks = np.repeat(np.arange(2, 6), coordinates_per_block)
    importance = np.zeros([len(blocks), len(scale_ranks)])
    for j, rank in enumerate(scale_ranks):
        block = 2 + (3 - rank if reverse else rank)
        importance[np.flatnonzero(blocks == block)[j % coordinates_per_block], j] = 1.0
    return importance, blocks


def test_aligned_blocks_correlate_perfectly_and_beat_the_null():
    ranks = sa.scale_ranks_of(synthetic_faces.FACTOR_NAMES)
    importance, blocks = aligned_importance(ranks)
    result = sa.scale_alignment(importance, blocks, ranks, random_state=0, num_permutations=2000)
    assert result["rho"] == pytest.approx(1.0)
    assert result["mean_block"].tolist() == (2 + ranks).tolist()
    assert abs(result["null_mean"]) < 0.05 and result["null_low"] < 0 < result["null_high"] < 1
    assert result["p_value"] < 0.01
    assert result["matrix"].shape == (16, 4) and np.allclose(result["matrix"].sum(axis=1), 1)

    reversed_result = sa.scale_alignment(*aligned_importance(ranks, reverse=True), ranks, num_permutations=2000)
    assert reversed_result["rho"] == pytest.approx(-1.0) and reversed_result["p_value"] > 0.99


def test_exchangeable_coordinates_sit_in_the_null():
    # Importance spread at random: the observed rho is one draw of the permutation null.
    ranks = sa.scale_ranks_of(synthetic_faces.FACTOR_NAMES)
    importance = np.random.default_rng(3).dirichlet(np.ones(80), size=16).T
    blocks = sa.coordinate_blocks(configs.preset("exp_vanilla").model)[0]
    result = sa.scale_alignment(importance, blocks, ranks, random_state=1, num_permutations=3000)
    assert result["null_low"] < result["rho"] < result["null_high"]
    assert abs(result["null_mean"]) < 0.05 and 0.025 < result["p_value"] < 0.975


def test_undefined_without_two_blocks_or_three_carried_factors():
    ranks = np.array([0.0, 1.0, 2.0])
    one_block = sa.scale_alignment(np.eye(3), np.array([2, 2, 2]), ranks, num_permutations=10)
    assert math.isnan(one_block["rho"]) and math.isnan(one_block["p_value"])
    importance = np.zeros((3, 3))
    importance[0, 0] = importance[1, 1] = 1.0  # factor 2 carried by nothing
    two_factors = sa.scale_alignment(importance, np.array([2, 3, 4]), ranks, num_permutations=10)
    assert two_factors["used_factors"].tolist() == [True, True, False] and math.isnan(two_factors["rho"])


def test_heatmap_is_written(tmp_path):
    ranks = sa.scale_ranks_of(synthetic_faces.FACTOR_NAMES)
    importance, blocks = aligned_importance(ranks)
    result = sa.scale_alignment(importance, blocks, ranks, num_permutations=10)
    path = sa.plot_heatmap(result["matrix"], synthetic_faces.FACTOR_NAMES, result["block_ids"],
                           str(tmp_path / "heatmap.png"), title="aligned")
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
