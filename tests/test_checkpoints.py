"""Tests for progressive_infogan/checkpoints.py: atomic writes, finding and pruning checkpoints."""

import numpy as np
import pytest

from progressive_infogan import checkpoints


def test_an_interrupted_checkpoint_write_is_never_taken_for_a_checkpoint(tmp_path):
    checkpoints.save_checkpoint(str(tmp_path), 5, {"a": np.ones(2)}, {"phase": 2, "alpha": 1.0})

    def crash(directory):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        checkpoints.save_checkpoint(str(tmp_path), 9, {"a": np.zeros(2)}, {"phase": 2, "alpha": 1.0},
                                    write_extra=crash)
    assert checkpoints.latest_checkpoint(str(tmp_path)).endswith("ckpt-000000005")
    arrays, state = checkpoints.load_checkpoint(checkpoints.latest_checkpoint(str(tmp_path)))
    assert state["step"] == 5 and arrays["a"].tolist() == [1.0, 1.0]


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    for step in (10, 2, 30, 40):
        checkpoints.save_checkpoint(str(tmp_path), step, {"a": np.full(2, step)}, {"phase": 2, "alpha": 1.0}, keep=2)
    assert [step for step, _ in checkpoints.list_checkpoints(str(tmp_path))] == [30, 40]
    arrays, state = checkpoints.load_checkpoint(checkpoints.latest_checkpoint(str(tmp_path)))
    assert state == {"phase": 2, "alpha": 1.0, "step": 40} and arrays["a"].tolist() == [40, 40]
    assert checkpoints.latest_checkpoint(str(tmp_path / "empty")) is None


def test_ema_arrays_put_the_shadows_in_place_of_the_generator_weights():
    arrays = {"generator/block_2/dense/kernel": np.zeros(2), "generator/block_2/dense_norm/moving_mean": np.ones(2),
              "ema/generator/block_2/dense/kernel": np.full(2, 0.5), "discriminator/head/dense/kernel": np.ones(3)}
    values = checkpoints.ema_arrays(arrays)
    assert sorted(values) == ["generator/block_2/dense/kernel", "generator/block_2/dense_norm/moving_mean"]
    assert values["generator/block_2/dense/kernel"].tolist() == [0.5, 0.5]  # the shadow, not the raw weight
    assert values["generator/block_2/dense_norm/moving_mean"].tolist() == [1.0, 1.0]  # no shadow: kept
