import numpy as np
import pytest

from progressive_infogan import config as configs
from progressive_infogan import schedule

THESIS = configs.preset("exp_vanilla").schedule
CONDITION = configs.preset("exp_condition").schedule


def alpha_at_step(schedule_config, step):
    # As the training loop finds it: the phase of the step, then the fade within it.
    return schedule.alpha(schedule_config, *schedule.phase_at_step(schedule_config, step))


def test_batch_sizes_and_steps_match_the_spec_table():
    assert [THESIS.batch_size(p) for p in range(2, 10)] == [128, 128, 64, 32, 16, 6, 3, 2]
    assert [schedule.phase_steps(THESIS, p) for p in range(2, 8)] == [6000, 6000, 6000, 12000, 24000, 128000]
    assert [schedule.phase_steps(CONDITION, p) for p in range(2, 8)] == [6000, 6000, 6000, 12000, 24000, 64000]
    images = [schedule.phase_steps(THESIS, p) * THESIS.batch_size(p) for p in range(2, 8)]
    assert images == [768_000, 768_000, 384_000, 384_000, 384_000, 768_000]


def test_cumulative_phase_ends():
    ends = [schedule.phase_start(THESIS, p + 1) for p in range(2, 8)]
    assert ends == [6000, 12000, 18000, 30000, 54000, 182000]
    assert schedule.total_steps(CONDITION) == 118000
    assert schedule.total_steps(THESIS) == 182000


def test_phases_8_and_9_when_training_continues():
    longer = configs.preset("exp_consistency_300").schedule
    longer = type(longer)(**{**longer.__dict__, "stop_after": 9})
    # The original doubles phase 7 itself: the appendix run had 128000 steps at phase 8
    # (batch 3) and 192000 at phase 9 (batch 2).
    assert [schedule.phase_steps(longer, p) for p in (7, 8, 9)] == [128000, 128000, 192000]


@pytest.mark.parametrize("step, expected", [
    (0, (2, 0)), (5999, (2, 5999)), (6000, (3, 0)), (17999, (4, 5999)), (18000, (5, 0)),
    (30000, (6, 0)), (54000, (7, 0)), (181999, (7, 127999)),
])
def test_phase_at_step(step, expected):
    assert schedule.phase_at_step(THESIS, step) == expected


def test_alpha_rises_over_the_first_half_then_stays_one():
    assert alpha_at_step(THESIS, 100) == 1.0  # phase 2: no fade
    assert alpha_at_step(THESIS, 6000) == 0.0
    assert alpha_at_step(THESIS, 6000 + 1500) == 0.5
    assert alpha_at_step(THESIS, 6000 + 3000) == 1.0
    assert alpha_at_step(THESIS, 6000 + 5999) == 1.0
    assert alpha_at_step(THESIS, 54000 + 32000) == 0.5  # phase 7: 64000 fade steps
    assert alpha_at_step(CONDITION, 54000 + 16000) == 0.5  # exp_condition: 32000 fade steps


def test_thesis_text_fade_spans_the_whole_phase():
    whole = type(THESIS)(**{**THESIS.__dict__, "fade_fraction": 1.0})
    assert alpha_at_step(whole, 6000 + 3000) == 0.5
    assert alpha_at_step(whole, 6000 + 5999) == pytest.approx(5999 / 6000)


def test_unmask_mask_and_gradual_mi_coordinates():
    unmask = configs.preset("exp_unmask")
    for phase, on in [(2, 16), (3, 32), (4, 48), (5, 64), (6, 80), (7, 80)]:
        mask = schedule.unmask_mask(unmask.model, phase)
        np.testing.assert_array_equal(mask, [1] * on + [0] * (80 - on))
        active = schedule.mi_active_coordinates(unmask.model, unmask.schedule, phase)
        np.testing.assert_array_equal(active, mask)
    vanilla = configs.preset("exp_vanilla")
    assert schedule.mi_active_coordinates(vanilla.model, vanilla.schedule, 2).sum() == 80
    small = configs.preset("exp_condition_4vars")
    assert schedule.mi_active_coordinates(small.model, small.schedule, 3).sum() == 20


def test_images_after_phase_count_each_later_phase_at_its_batch():
    # THESIS images per phase 2..7: 768k, 768k, 384k, 384k, 384k, 768k (test above); phase 7 is its last.
    assert schedule.images_after_phase(THESIS, 7) == 0
    assert schedule.images_after_phase(THESIS, 6) == 768_000
    assert schedule.images_after_phase(THESIS, 2) == 768_000 + 3 * 384_000 + 768_000
