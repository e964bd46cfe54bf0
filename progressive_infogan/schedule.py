"""Schedule arithmetic as pure functions (docs/original_system.md §1.7, §1.8.3, §3.2, §4.1).

A global step counts completed training steps. Phase p owns the steps
[phase_start(p), phase_start(p) + phase_steps(p)); the batch size is constant within it.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from progressive_infogan.config import ModelConfig, ScheduleConfig


def phases(schedule: ScheduleConfig) -> List[int]:
    return list(range(schedule.first_phase, schedule.stop_after + 1))


def phase_steps(schedule: ScheduleConfig, phase: int) -> int:
    """max(images_per_phase // batch, min_steps), doubled for the configured phases."""
    steps = max(schedule.images_per_phase // schedule.batch_size(phase), schedule.min_steps)
    if phase in schedule.doubled_phases:
        steps *= 2
    return steps


def phase_start(schedule: ScheduleConfig, phase: int) -> int:
    return sum(phase_steps(schedule, earlier) for earlier in range(schedule.first_phase, phase))


def total_steps(schedule: ScheduleConfig) -> int:
    return phase_start(schedule, schedule.stop_after + 1)


def images_after_phase(schedule: ScheduleConfig, phase: int) -> int:
    """Images the phases after `phase` train on, each at its own batch size (the run's ETA)."""
    return sum(phase_steps(schedule, later) * schedule.batch_size(later)
               for later in phases(schedule) if later > phase)


def phase_at_step(schedule: ScheduleConfig, step: int) -> Tuple[int, int]:
    """(phase, step within the phase) of the step that runs after `step` completed steps."""
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    for phase in phases(schedule):
        steps = phase_steps(schedule, phase)
        if step < steps:
            return phase, step
        step -= steps
    return schedule.stop_after, phase_steps(schedule, schedule.stop_after) + step


def alpha(schedule: ScheduleConfig, phase: int, step_in_phase: int) -> float:
    """Fade of the phase's own block: linear from 0 over the first `fade_fraction` of the
    phase (a half in the original code, the whole phase in the thesis text), then 1.
    Phase `first_phase` has nothing to fade from."""
    if phase == schedule.first_phase:
        return 1.0
    fade_steps = schedule.fade_fraction * phase_steps(schedule, phase)
    return float(min(step_in_phase / fade_steps, 1.0))


def unmask_mask(model: ModelConfig, phase: int) -> np.ndarray:
    """exp_unmask's 0/1 mask over the code: a coordinate group is on from its block's phase on
    (`CodeLayout.unmask_mask`)."""
    return model.code_layout.unmask_mask(phase)


def mi_active_coordinates(model: ModelConfig, schedule: ScheduleConfig, phase: int) -> np.ndarray:
    """0/1 weights of the coordinates in the MI penalty's mean.

    gradual_loss / unmask: the groups of blocks <= phase. Otherwise every coordinate,
    including those whose Q head does not exist yet (they count in the denominator)."""
    return model.code_layout.mi_weights(phase, schedule.gradual_mi)
