import json
import math

import numpy as np
import pytest

from progressive_infogan.config import preset
from progressive_infogan.metrics.aggregation import aggregate, block_coordinates, to_jsonable


def _values(size):
    # Distinct values so that any wrong grouping changes a mean.
    return np.arange(size, dtype=np.float64) ** 1.5


def test_vanilla_has_only_block_2_and_blocks_above_are_nan():
    model = preset("exp_vanilla").model
    values = _values(80)
    scores = aggregate("code_reconstruction_error", values, model, phase=7)
    assert scores["code_reconstruction_error/overall"] == pytest.approx(values.mean())
    assert scores["code_reconstruction_error/block_2"] == pytest.approx(values.mean())
    for block in range(3, 8):
        assert math.isnan(scores[f"code_reconstruction_error/block_{block}"])
    assert "code_reconstruction_error/block_8" not in scores
    assert scores["code_reconstruction_error/coord_79"] == values[79]


@pytest.mark.parametrize("name", ["exp_condition", "exp_append_simple", "exp_consistency_300"])
def test_per_block_variants_have_16_per_block(name):
    model = preset(name).model
    values = _values(80)
    scores = aggregate("infogan_penalty", values, model, phase=7)
    assert scores["infogan_penalty/overall"] == pytest.approx(values.mean())
    for index, block in enumerate(range(2, 7)):
        assert scores[f"infogan_penalty/block_{block}"] == pytest.approx(values[16 * index:16 * index + 16].mean())
    assert math.isnan(scores["infogan_penalty/block_7"])
    assert len([key for key in scores if "/coord_" in key]) == 80


@pytest.mark.parametrize("name", ["exp_gradual_loss", "exp_unmask"])
def test_gradual_variants_aggregate_by_16_groups_although_all_enter_at_block_2(name):
    model = preset(name).model
    assert model.coordinate_ranges() == {2: range(0, 80)}  # the architecture's mapping
    values = _values(80)
    scores = aggregate("msssim_isolation", values, model, phase=6)
    assert scores["msssim_isolation/block_2"] == pytest.approx(values[:16].mean())
    assert scores["msssim_isolation/block_5"] == pytest.approx(values[48:64].mean())
    assert scores["msssim_isolation/block_6"] == pytest.approx(values[64:80].mean())
    assert "msssim_isolation/block_7" not in scores  # only blocks up to the phase


def test_code_size_variants_and_phase_limit():
    model = preset("exp_condition_4vars").model
    values = _values(20)
    scores = aggregate("mse_isolation", -values, model, phase=4)
    assert sorted(key for key in scores if "/block_" in key) == [f"mse_isolation/block_{b}" for b in (2, 3, 4)]
    assert scores["mse_isolation/block_3"] == pytest.approx(-values[4:8].mean())
    assert block_coordinates(model, 7)[6] == range(16, 20)
    with pytest.raises(ValueError):
        aggregate("mse_isolation", values[:10], model, phase=4)


def test_no_code_gives_nan_overall():
    scores = aggregate("infogan_penalty", [], preset("exp_noinfo").model, phase=3)
    assert math.isnan(scores["infogan_penalty/overall"]) and math.isnan(scores["infogan_penalty/block_2"])


def test_json_writes_nan_as_null():
    scores = aggregate("infogan_penalty", _values(80), preset("exp_vanilla").model, phase=5)
    text = json.dumps(to_jsonable(scores), allow_nan=False)
    loaded = json.loads(text)
    assert loaded["infogan_penalty/block_5"] is None
    assert loaded["infogan_penalty/overall"] == pytest.approx(_values(80).mean())
    assert math.isnan(scores["infogan_penalty/block_5"])  # the input is untouched


@pytest.mark.parametrize("name, built", [("exp_condition", 64), ("exp_condition_4vars", 16), ("exp_vanilla", 80),
                                         ("exp_gradual_loss", 64)])
def test_overall_built_leaves_out_the_blocks_above_the_phase(name, built):
    model = preset(name).model
    values = _values(model.code_size)
    scores = aggregate("code_reconstruction_error", values, model, phase=5)
    assert scores["code_reconstruction_error/overall"] == pytest.approx(values.mean())
    assert scores["code_reconstruction_error/overall_built"] == pytest.approx(values[:built].mean())
