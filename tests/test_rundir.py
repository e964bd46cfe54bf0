"""The run directory's files (rundir.py): config and identity records, metric lines, the lock."""

import dataclasses
import json
import logging
import os
import subprocess
import sys

import pytest

from progressive_infogan import rundir, tfrecords
from progressive_infogan import config as configs
from progressive_infogan.errors import UserError

sys.path.insert(0, os.path.dirname(__file__))
import train_driver  # noqa: E402


def test_a_run_directory_refuses_a_different_config(tmp_path):
    config = train_driver.CONFIG
    rundir.write_config(config, str(tmp_path))
    with pytest.raises(ValueError, match=r"different configuration \(loss.consistency_weight: stored 30.0, now 300.0\)"):
        rundir.write_config(config.replace(loss=dict(consistency_weight=300.0)), str(tmp_path))


def test_a_recorded_config_is_rewritten_only_to_grow_it(tmp_path, caplog):
    config = train_driver.CONFIG  # stop_after 3
    rundir.write_config(config, str(tmp_path))
    grown = config.replace(schedule=dict(stop_after=4))
    assert rundir.check_config(grown, str(tmp_path))
    with caplog.at_level(logging.INFO, logger="progressive_infogan"):
        rundir.write_config(grown, str(tmp_path))
    assert rundir.read_config(str(tmp_path)) == grown and "growing the run from phase 3 to phase 4" in caplog.text
    for refused in (config, grown.replace(schedule=dict(stop_after=5), loss=dict(consistency_weight=300.0))):
        with pytest.raises(UserError, match=r"different configuration \(.*schedule.stop_after: stored 4, now"):
            rundir.write_config(refused, str(tmp_path))
    assert rundir.read_config(str(tmp_path)) == grown


def test_a_config_left_by_a_failed_start_can_be_replaced(tmp_path):
    config = train_driver.CONFIG
    rundir.write_config(config, str(tmp_path))
    changed = config.replace(loss=dict(consistency_weight=300.0))
    rundir.write_config(changed, str(tmp_path), replace=True)
    assert rundir.read_config(str(tmp_path)) == changed


# --- metrics.jsonl --------------------------------------------------------------------------

def _torn_metrics_file(run_dir):
    os.makedirs(run_dir, exist_ok=True)
    rundir.append_metrics_line(run_dir, {"step": 1, "protocol": "smoke", "metrics": {"fid": 1.0}})
    with open(rundir.metrics_path(run_dir), "a") as handle:
        handle.write('{"step": 2, "protocol": "smo')  # a writer killed mid-line
    return rundir.metrics_path(run_dir)


def test_a_torn_metrics_line_is_skipped_with_its_path_and_line(tmp_path, caplog):
    path = _torn_metrics_file(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="progressive_infogan"):
        records = rundir.read_metrics_lines(str(tmp_path))
    assert records == [{"step": 1, "protocol": "smoke", "metrics": {"fid": 1.0}}]
    assert f"{path}:2: skipping a malformed line" in caplog.text


def test_an_append_after_a_torn_line_starts_a_line_of_its_own(tmp_path):
    path = _torn_metrics_file(str(tmp_path))
    rundir.append_metrics_line(str(tmp_path), {"step": 3, "protocol": "smoke", "metrics": {}})
    assert [record["step"] for record in rundir.read_metrics_lines(str(tmp_path))] == [1, 3]
    with open(path) as handle:
        lines = handle.read().split("\n")
    assert lines[-1] == "" and json.loads(lines[-2]) == {"metrics": {}, "protocol": "smoke", "step": 3}


def test_a_run_without_metrics_has_no_lines(tmp_path):
    assert rundir.read_metrics_lines(str(tmp_path)) == [] and not rundir.has_metrics(str(tmp_path))


def test_launches_are_lines_of_their_own_file_and_survive_a_torn_one(tmp_path, caplog):
    run_dir = str(tmp_path)
    assert rundir.read_launches(run_dir) == []
    rundir.append_launch(run_dir, {"start_step": 0})
    with open(rundir.launches_path(run_dir), "a") as handle:
        handle.write('{"start_step": 1')  # a launch killed mid-write
    rundir.append_launch(run_dir, {"start_step": 5})
    with caplog.at_level(logging.WARNING, logger="progressive_infogan"):
        assert rundir.read_launches(run_dir) == [{"start_step": 0}, {"start_step": 5}]
    assert f"{rundir.launches_path(run_dir)}:2: skipping a malformed line" in caplog.text
    assert not rundir.has_metrics(run_dir)


# --- identity -------------------------------------------------------------------------------

def test_an_identity_is_recorded_once_and_a_different_one_refused(tmp_path, caplog):
    run_dir = str(tmp_path)
    first = rundir.Identity(data_dir="/data/a", dataset_fingerprint="abc", seed=0)
    rundir.write_identity(run_dir, first)
    rundir.write_identity(run_dir, rundir.Identity(data_dir="/data/b", dataset_fingerprint="def", seed=7))
    assert rundir.read_identity(run_dir) == first and rundir.run_seed(run_dir) == 0
    assert rundir.check_identity(run_dir, first) == first
    # The same records elsewhere are the same data.
    rundir.check_identity(run_dir, rundir.Identity(data_dir="/moved/a", dataset_fingerprint="abc", seed=0))
    with pytest.raises(UserError, match="seed: stored 0, given 7"):
        rundir.check_identity(run_dir, rundir.Identity(data_dir="/data/a", dataset_fingerprint="abc", seed=7))
    with pytest.raises(UserError, match=r"dataset fingerprint: stored abc \(/data/a\), given def \(/data/b\)"):
        rundir.check_identity(run_dir, rundir.Identity(data_dir="/data/b", dataset_fingerprint="def", seed=0))
    changed = rundir.Identity(data_dir="/data/b", dataset_fingerprint="def", seed=0)
    with caplog.at_level(logging.WARNING, logger="progressive_infogan"):
        rundir.check_identity(run_dir, changed, allow_changes=True)
    assert "--allow_changed_data" in caplog.text
    rundir.write_identity(run_dir, changed, replace=True)
    with open(os.path.join(run_dir, rundir.IDENTITY_FILE)) as handle:
        record = json.load(handle)
    assert record["dataset_fingerprint"] == "def" and record["earlier"][0]["dataset_fingerprint"] == "abc"


DRAWING = {"generator": "synthetic_faces", "version": 1, "num_images": 64, "resolution": 16, "seed": 0}


def test_the_same_dataset_drawn_larger_is_the_same_identity_and_nothing_else_is():
    stored = rundir.Identity(data_dir="/data/x16", dataset_fingerprint="f16", seed=0, drawing=DRAWING)
    larger = rundir.Identity(data_dir="/data/x32", dataset_fingerprint="f32", seed=0,
                             drawing=dict(DRAWING, resolution=32))
    assert stored.drawn_larger(larger) and stored.differences(larger) == []
    refused = {
        "smaller": dict(DRAWING, resolution=8),
        "other faces": dict(DRAWING, resolution=32, seed=1),
        "more faces": dict(DRAWING, resolution=32, num_images=128),
        "prepared from files": None,
    }
    for why, drawing in refused.items():
        given = rundir.Identity(data_dir="/data/y", dataset_fingerprint="g", seed=0, drawing=drawing)
        assert stored.differences(given) == ["dataset fingerprint: stored f16 (/data/x16), given g (/data/y)"], why
    assert rundir.Identity(data_dir="/data/x16", dataset_fingerprint="f16", seed=0).differences(larger)  # no drawing
    assert stored.differences(dataclasses.replace(larger, seed=1)) == ["seed: stored 0, given 1"]


def _manifest_dir(directory, drawing):
    os.makedirs(directory)
    files = {f"faces-r0{level}.tfrecords": {"bytes": level, "sha256": str(drawing["resolution"])} for level in (2, 3)}
    with open(os.path.join(directory, "manifest.json"), "w") as handle:
        json.dump({"files": files, "parameters": drawing, "complete": True}, handle)
    return str(directory)


def test_a_run_recorded_before_drawings_reads_its_drawing_from_its_data(tmp_path):
    started_on = _manifest_dir(tmp_path / "x16", DRAWING)
    larger = _manifest_dir(tmp_path / "x32", dict(DRAWING, resolution=32))
    fingerprint = tfrecords.dataset_fingerprint(started_on)
    rundir.write_identity(str(tmp_path), rundir.Identity(data_dir=started_on, dataset_fingerprint=fingerprint, seed=0))
    given = rundir.Identity(data_dir=larger, dataset_fingerprint=tfrecords.dataset_fingerprint(larger), seed=0,
                            drawing=tfrecords.dataset_drawing(larger))
    assert rundir.check_identity(str(tmp_path), given).drawing == DRAWING
    # Data changed since it was recorded tells nothing about what the run was trained on.
    with open(os.path.join(started_on, "manifest.json")) as handle:
        manifest = json.load(handle)
    manifest["files"]["faces-r02.tfrecords"]["bytes"] = 5
    with open(os.path.join(started_on, "manifest.json"), "w") as handle:
        json.dump(manifest, handle)
    with pytest.raises(UserError, match="dataset fingerprint"):
        rundir.check_identity(str(tmp_path), given)


def test_without_manifests_the_data_path_is_the_identity(tmp_path):
    rundir.write_identity(str(tmp_path), rundir.Identity(data_dir="/data/a", dataset_fingerprint=None, seed=0))
    with pytest.raises(UserError, match="data_dir: stored /data/a, given /data/b"):
        rundir.check_identity(str(tmp_path), rundir.Identity(data_dir="/data/b", dataset_fingerprint=None, seed=0))


def test_a_run_recorded_before_identities_is_checked_against_its_run_options_seed(tmp_path):
    run_dir = str(tmp_path)
    rundir.write_run_options(run_dir, configs.RunOptions(model_dir=run_dir, data_dir="data/x", seed=3))
    given = rundir.Identity(data_dir="/abs/data/x", dataset_fingerprint="abc", seed=3)
    assert rundir.check_identity(run_dir, given) is None
    with pytest.raises(UserError, match="seed: stored 3, given 4"):
        rundir.check_identity(run_dir, rundir.Identity(data_dir="/abs/data/x", dataset_fingerprint="abc", seed=4))
    assert rundir.run_seed(run_dir) == 3


def test_the_recorded_data_dir_is_the_identity_s_absolute_path(tmp_path):
    run_dir = str(tmp_path / "run")
    os.makedirs(run_dir)
    assert rundir.recorded_data_dir(run_dir) is None
    rundir.write_run_options(run_dir, configs.RunOptions(model_dir=run_dir, data_dir="relative/data"))
    assert rundir.recorded_data_dir(run_dir) == "relative/data"  # a run of before: as recorded
    rundir.write_identity(run_dir, rundir.Identity(data_dir="/abs/data", dataset_fingerprint=None, seed=0))
    assert rundir.recorded_data_dir(run_dir) == "/abs/data"


# --- lock -----------------------------------------------------------------------------------

def test_a_held_run_directory_is_refused_to_a_second_holder(tmp_path):
    run_dir = str(tmp_path / "run")
    with rundir.RunLock(run_dir):
        with open(os.path.join(run_dir, rundir.LOCK_FILE)) as handle:
            holder = json.load(handle)
        assert holder["pid"] == os.getpid()
        with pytest.raises(UserError, match=rf"{run_dir} is in use by pid {os.getpid()} on .* since {holder['since']}"):
            rundir.RunLock(run_dir).acquire()
    assert not os.path.exists(os.path.join(run_dir, rundir.LOCK_FILE))
    with rundir.RunLock(run_dir):  # released: free again
        pass


def test_a_lock_held_by_another_process_names_its_pid(tmp_path):
    run_dir = str(tmp_path / "run")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from progressive_infogan import rundir; "
         f"lock = rundir.RunLock({run_dir!r}).acquire(); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=f"in use by pid {holder.pid} "):
            rundir.RunLock(run_dir).acquire()
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_of_a_dead_process_is_taken_over_with_a_warning(tmp_path, caplog):
    run_dir = str(tmp_path / "run")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    os.makedirs(run_dir)
    with open(os.path.join(run_dir, rundir.LOCK_FILE), "w") as handle:
        json.dump({"pid": dead.pid, "host": "here", "since": "2026-01-01T00:00:00Z"}, handle)
    with caplog.at_level(logging.WARNING, logger="progressive_infogan"):
        with rundir.RunLock(run_dir):
            with open(os.path.join(run_dir, rundir.LOCK_FILE)) as handle:
                assert json.load(handle)["pid"] == os.getpid()
    assert f"taking over a stale lock: pid {dead.pid} on here (since 2026-01-01T00:00:00Z)" in caplog.text
