"""Tests for progressive_infogan/config.py: the presets, their serialisation and the width formulas."""

import dataclasses
import json
import os

import pytest

from progressive_infogan import config as configs
from progressive_infogan import schedule
from progressive_infogan.errors import UserError

REFERENCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "original_system.md")


def _experiment_table():
    """The rows of the experiment table in docs/original_system.md §6.2, as {column: cell}."""
    text = open(REFERENCE, encoding="utf-8").read()
    section = text[text.index("### 6.2 What differs"):text.index("## 7.")]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    split = lambda line: [cell.strip() for cell in line.strip("|").split("|")]  # noqa: E731
    headers = split(lines[0])
    return [dict(zip(headers, split(line), strict=True)) for line in lines[2:]]


def test_the_presets_are_the_reference_experiment_table():
    rows = _experiment_table()
    assert [row["experiment"] for row in rows] == list(configs.PRESETS)
    for row in rows:
        config = configs.PRESETS[row["experiment"]]
        model, name = config.model, row["experiment"]
        per_block = dict(model.code_sizes)
        assert [int(n) for n in row["code per block"].split(",")] == [per_block.get(b, 0) for b in range(2, 9)], name
        assert int(row["K"]) == model.code_size, name
        assert row["G input"] == model.injection, name
        assert float(row["MI weight"]) == config.loss.mi_weight, name
        expected_coordinates = "—" if not model.code_size else "blocks <= phase" if config.schedule.gradual_mi else "all"
        assert row["MI coordinates"] == expected_coordinates, name
        assert row["unmask"] == ("yes" if model.unmask else "no"), name
        assert float(row["consistency weight"]) == config.loss.consistency_weight, name
        assert int(row["phase-7 steps"]) == schedule.phase_steps(config.schedule, 7), name
        learning_rate = float(row["Adam lr (G and D)"])
        assert config.optimizer.g_learning_rate == config.optimizer.d_learning_rate == learning_rate, name


def test_every_preset_round_trips_through_json():
    for name, config in configs.PRESETS.items():
        assert configs.ExperimentConfig.from_json(config.to_json()) == config, name


def test_replace_changes_fields_inside_a_section():
    base = configs.preset("exp_condition")
    changed = base.replace(name="mine", loss=dict(consistency_weight=30.0))
    assert changed.name == "mine" and changed.loss.consistency_weight == 30.0
    assert changed.loss.mi_weight == base.loss.mi_weight and changed.model == base.model
    with pytest.raises(ValueError, match="unknown experiment 'exp_nope'; known: exp_append_channels"):
        configs.preset("exp_nope")


def test_channel_widths_follow_the_reference_formulas():
    model = configs.ModelConfig()
    assert [model.g_channels(block) for block in range(2, 10)] == [480, 480, 480, 256, 128, 64, 32, 16]
    assert [model.d_channels(level) for level in range(1, 9)] == [512, 512, 512, 512, 256, 128, 64, 32]
    narrow = configs.ModelConfig(width_multiplier=1 / 8)
    assert [narrow.g_channels(block) for block in (2, 5, 9)] == [60, 32, 2]


def test_coordinate_ranges_and_schedule_groups():
    vanilla, gradual = configs.preset("exp_vanilla").model, configs.preset("exp_gradual_loss").model
    assert vanilla.coordinate_ranges() == {2: range(0, 80)} and vanilla.groups == vanilla.code_sizes
    assert gradual.coordinate_ranges() == {2: range(0, 80)}
    assert gradual.coordinate_ranges(gradual.groups) == {b: range(16 * (b - 2), 16 * (b - 1)) for b in range(2, 7)}
    assert configs.preset("exp_condition_4vars").model.coordinate_ranges()[6] == range(16, 20)


def test_override_sets_a_typed_field_and_refuses_bad_ones():
    config = configs.preset("exp_condition")
    changed = configs.override(configs.override(config, "loss.mi_weight=5"), "model.d_head_units=512")
    assert changed.loss.mi_weight == 5.0 and isinstance(changed.loss.mi_weight, float)
    assert changed.model.d_head_units == 512
    assert configs.override(config, "model.code_sizes=[[2, 8]]").model.code_sizes == ((2, 8),)
    assert configs.override(config, "model.injection=append").model.injection == "append"
    for bad in ("loss.mi_weigth=5", "mi_weight=5", "name.x=1", "loss.mi_weight", "model.d_head_units=x",
                "schedule.stop_after=2.5", "model.unmask=1"):
        with pytest.raises(configs.UserError, match="--override"):
            configs.override(config, bad)


def test_differences_name_each_changed_field():
    config = configs.preset("exp_condition")
    changed = config.replace(loss=dict(consistency_weight=30.0), schedule=dict(stop_after=5))
    assert configs.differences(config, changed) == [
        "loss.consistency_weight: stored 0.0, now 30.0", "schedule.stop_after: stored 7, now 5"]
    assert configs.differences(config, config) == []


def test_a_config_grows_by_a_later_last_phase_only():
    stored = configs.preset("exp_condition").replace(schedule=dict(stop_after=4))
    later = stored.replace(schedule=dict(stop_after=5))
    assert configs.grows(stored, later) and configs.grows(stored, stored.replace(schedule=dict(stop_after=7)))
    assert not configs.grows(stored, stored)
    assert not configs.grows(later, stored)  # an earlier last phase
    assert not configs.grows(stored, later.replace(loss=dict(mi_weight=5.0)))
    assert not configs.grows(stored, later.replace(schedule=dict(min_steps=10)))
    # A schedule as long as the later one: the phases trained so far take the same steps in both.
    assert schedule.phase_start(later.schedule, 5) == schedule.total_steps(stored.schedule)


def test_a_stored_config_without_a_newer_field_reads_as_its_default():
    config = configs.preset("exp_vanilla")
    raw = json.loads(config.to_json())
    del raw["model"]["d_head_units"]  # as written before the field existed
    assert configs.ExperimentConfig.from_json(json.dumps(raw)) == config


def test_the_head_width_keeps_its_own_units_at_reduced_width():
    model = configs.ModelConfig(width_multiplier=1 / 8)
    assert model.d_head_width == model.d_channels(0) == 64
    assert dataclasses.replace(model, d_head_units=512).d_head_width == 512


def test_code_variables_and_discrete_weight_are_stored_only_when_set():
    for name, experiment in configs.PRESETS.items():
        raw = json.loads(experiment.to_json())
        assert "code_variables" not in raw["model"] and "discrete_mi_weight" not in raw["loss"], name
    mixed = configs.preset("exp_digits")
    raw = json.loads(mixed.to_json())
    assert raw["model"]["code_variables"][0][1][0] == {"distribution": "categorical", "count": 1, "categories": 10}
    assert configs.ExperimentConfig.from_json(mixed.to_json()) == mixed
    assert isinstance(configs.ExperimentConfig.from_json(mixed.to_json()).model.code_variables[0][1][0],
                      configs.CodeVariable)


def test_code_variables_take_an_override_in_json_and_refuse_bad_ones():
    text = 'model.code_variables=[[2, [{"distribution": "bernoulli", "count": 16}]]]'
    config = configs.override(configs.preset("exp_condition_4vars").replace(model=dict(code_sizes=((2, 16),))), text)
    assert config.model.code_variables == ((2, (configs.bernoulli(16),)),)
    assert [v.distribution for v in config.model.code_layout.variables] == ["bernoulli"] * 16
    with pytest.raises(UserError, match="distribution"):
        configs.override(configs.preset("exp_condition"), 'model.code_variables=[[2, [{"distribution": "beta"}]]]')
    with pytest.raises(UserError, match="categories"):
        configs.categorical(1)
    with pytest.raises(UserError, match="categories"):
        configs.CodeVariable("normal", 2, categories=3)
