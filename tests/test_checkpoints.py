"""Tests for progressive_infogan/checkpoints.py: atomic and durable writes, finding and pruning
checkpoints, and falling back past damaged ones."""

import logging
import os

import numpy as np
import pytest
import tensorflow as tf

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


def test_pinned_checkpoints_survive_the_pruning_and_the_others_go(tmp_path):
    run_dir = str(tmp_path)
    for step in (10, 20, 30, 40, 50):
        checkpoints.save_checkpoint(run_dir, step, {"a": np.full(2, step)}, {"phase": 2, "alpha": 1.0}, keep=2,
                                    pin=step in (10, 30))
    assert [step for step, _ in checkpoints.list_checkpoints(run_dir)] == [10, 30, 40, 50]
    pinned = [checkpoints.is_pinned(path) for _, path in checkpoints.list_checkpoints(run_dir)]
    assert pinned == [True, True, False, False]
    # The marker is part of the checkpoint: listed, checked, and the checkpoint still loads.
    arrays, state = checkpoints.load_checkpoint(checkpoints.checkpoint_dir(run_dir, 10))
    assert arrays["a"].tolist() == [10, 10] and state["step"] == 10
    # The newest `keep` count pinned ones too: a pruning to 1 leaves the pins and the newest.
    assert checkpoints.prune(run_dir, 1) == [checkpoints.checkpoint_dir(run_dir, 40)]
    assert [step for step, _ in checkpoints.list_checkpoints(run_dir)] == [10, 30, 50]
    assert checkpoints.prune(run_dir, 0) == [] and len(checkpoints.list_checkpoints(run_dir)) == 3


def test_ema_arrays_put_the_shadows_in_place_of_the_generator_weights():
    arrays = {"generator/block_2/dense/kernel": np.zeros(2), "generator/block_2/dense_norm/moving_mean": np.ones(2),
              "ema/generator/block_2/dense/kernel": np.full(2, 0.5), "discriminator/head/dense/kernel": np.ones(3)}
    values = checkpoints.ema_arrays(arrays)
    assert sorted(values) == ["generator/block_2/dense/kernel", "generator/block_2/dense_norm/moving_mean"]
    assert values["generator/block_2/dense/kernel"].tolist() == [0.5, 0.5]  # the shadow, not the raw weight
    assert values["generator/block_2/dense_norm/moving_mean"].tolist() == [1.0, 1.0]  # no shadow: kept


def _write_iterator(directory):
    iterator = iter(tf.data.Dataset.range(100).shuffle(10, seed=1).batch(4))
    next(iterator)
    tf.train.Checkpoint(iterator=iterator).write(os.path.join(directory, "data"))


def _save(run_dir, step):
    arrays = {"generator/w": np.full([64], step, np.float32), "g_adam/iterations": np.int64(step)}
    return checkpoints.save_checkpoint(str(run_dir), step, arrays, {"phase": 2, "alpha": 1.0},
                                       write_extra=_write_iterator, keep=5)


def _truncate(path):
    with open(path, "rb") as handle:
        content = handle.read()
    with open(path, "wb") as handle:
        handle.write(content[: len(content) // 2])


def _overwrite_middle(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.seek(size // 2)
        handle.write(np.random.default_rng(0).bytes(16))


DAMAGE = {
    "truncated variables": lambda path: _truncate(os.path.join(path, checkpoints.VARIABLES_FILE)),
    "garbage in variables": lambda path: _overwrite_middle(os.path.join(path, checkpoints.VARIABLES_FILE)),
    "all garbage variables": lambda path: open(os.path.join(path, checkpoints.VARIABLES_FILE), "wb").write(b"\0" * 99),
    "truncated iterator": lambda path: _truncate(os.path.join(path, "data.data-00000-of-00001")),
    "garbage iterator index": lambda path: _overwrite_middle(os.path.join(path, "data.index")),
    "missing state.json": lambda path: os.remove(os.path.join(path, checkpoints.STATE_FILE)),
    "garbage state.json": lambda path: open(os.path.join(path, checkpoints.STATE_FILE), "w").write('{"step": 3,'),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_newest_checkpoint_is_set_aside_and_the_previous_one_loads(tmp_path, caplog, damage):
    _save(tmp_path, 2)
    newest = _save(tmp_path, 3)
    DAMAGE[damage](newest)
    with caplog.at_level(logging.WARNING, logger="progressive_infogan"):
        restored = checkpoints.load_newest(str(tmp_path))
    assert restored.step == 2 and restored.path == checkpoints.checkpoint_dir(str(tmp_path), 2)
    assert restored.arrays["generator/w"][0] == 2
    assert not os.path.exists(newest) and os.path.isdir(newest + ".corrupt")
    warning = caplog.text
    assert newest in warning and "ckpt-000000003.corrupt" in warning and restored.path in warning
    # The damaged one no longer counts: the next save prunes and resumes past it.
    assert [step for step, _ in checkpoints.list_checkpoints(str(tmp_path))] == [2]


def test_when_no_checkpoint_loads_nothing_is_renamed_and_the_error_names_each(tmp_path):
    paths = [_save(tmp_path, step) for step in (2, 3)]
    for path in paths:
        os.remove(os.path.join(path, checkpoints.STATE_FILE))
    with pytest.raises(checkpoints.CheckpointError, match="none of them loads") as error:
        checkpoints.load_newest(str(tmp_path))
    assert all(path in str(error.value) for path in paths)
    assert all(os.path.isdir(path) for path in paths)
    assert not any(name.endswith(".corrupt") for name in os.listdir(tmp_path / "checkpoints"))


def test_a_run_whose_checkpoints_were_all_set_aside_is_not_restarted(tmp_path):
    path = _save(tmp_path, 3)
    os.replace(path, path + ".corrupt")
    with pytest.raises(checkpoints.CheckpointError, match="set aside earlier"):
        checkpoints.load_newest(str(tmp_path))
    assert checkpoints.load_newest(str(tmp_path / "fresh")) is None


def test_an_archive_with_pickled_objects_is_refused_by_path(tmp_path):
    directory = checkpoints.checkpoint_dir(str(tmp_path), 4)
    os.makedirs(directory)
    np.savez(os.path.join(directory, checkpoints.VARIABLES_FILE), w=np.array([{"a": 1}], dtype=object))
    with open(os.path.join(directory, checkpoints.STATE_FILE), "w") as handle:
        handle.write('{"step": 4, "phase": 2, "alpha": 1.0}')  # as written before files were listed
    with pytest.raises(checkpoints.CheckpointError, match="variables.npz is unreadable.*allow_pickle") as error:
        checkpoints.load_checkpoint(directory)
    assert os.path.join(directory, checkpoints.VARIABLES_FILE) in str(error.value)


def test_save_syncs_every_file_and_the_directories_before_and_after_the_rename(tmp_path, monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(descriptor):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        fsync(descriptor)

    def spy_replace(source, target):
        events.append(("replace", str(target)))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    final = _save(tmp_path, 7)
    rename = events.index(("replace", final))
    synced_before = {path for kind, path in events[:rename] if kind == "fsync"}
    partial = final + ".partial"
    for name in os.listdir(final):
        assert os.path.join(partial, name) in synced_before, name
    assert partial in synced_before
    assert ("fsync", os.path.dirname(final)) in events[rename:]


def test_stale_partial_directories_are_cleared(tmp_path):
    _save(tmp_path, 2)
    stale = checkpoints.checkpoint_dir(str(tmp_path), 5) + ".partial"
    os.makedirs(stale)
    open(os.path.join(stale, checkpoints.VARIABLES_FILE), "wb").close()
    assert checkpoints.clear_partial(str(tmp_path)) == [stale]
    assert not os.path.exists(stale)
    assert checkpoints.load_newest(str(tmp_path)).step == 2
