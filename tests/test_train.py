import dataclasses
import json
import logging
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import checkpoints, provenance, rundir, schedule, summaries, tfrecord_writer, tfrecords, train
from progressive_infogan import config as configs
from progressive_infogan.errors import UserError
from progressive_infogan.trainer import PhaseTrainer, _sanitize, _sanitize_lean

sys.path.insert(0, os.path.dirname(__file__))
import train_driver  # noqa: E402

DRIVER = os.path.join(os.path.dirname(__file__), "train_driver.py")


def _run_driver(*args, check=True):
    process = subprocess.run([sys.executable, DRIVER, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check and process.returncode != 0:
        raise AssertionError(f"driver failed ({process.returncode}):\n{process.stderr[-3000:]}")
    return process


def _final_arrays(model_dir):
    arrays, state = checkpoints.load_checkpoint(checkpoints.latest_checkpoint(model_dir))
    return arrays, state


DRIVER_CONFIGS = {"thesis": (train_driver.CONFIG, []), "mixed": (train_driver.MIXED_CONFIG, ["--mixed_codes"])}


# Not with a learned sigma: such runs are not always reproducible bit for bit (config.ModelConfig.q_learned_sigma).
@pytest.mark.parametrize("codes", ["thesis", "mixed"])
def test_a_run_killed_mid_fade_resumes_to_the_same_weights(tmp_path, codes):
    config, mixed = DRIVER_CONFIGS[codes]
    total = schedule.total_steps(config.schedule)
    kill_at = schedule.phase_start(config.schedule, 3) + 3  # phase 3, alpha = 0.5 at the checkpoint
    assert 0 < schedule.alpha(config.schedule, *schedule.phase_at_step(config.schedule, kill_at)) < 1

    uninterrupted = tmp_path / "uninterrupted"
    _run_driver(uninterrupted, *mixed)
    interrupted = tmp_path / "interrupted"
    killed = _run_driver(interrupted, "--kill_at_step", kill_at, *mixed, check=False)
    assert killed.returncode == -9, killed.stderr[-2000:]
    _, state = _final_arrays(interrupted)
    assert state["step"] == kill_at and state["phase"] == 3 and 0 < state["alpha"] < 1
    _run_driver(interrupted, *mixed)  # the same command again resumes

    expected, expected_state = _final_arrays(uninterrupted)
    resumed, resumed_state = _final_arrays(interrupted)
    assert expected_state["step"] == resumed_state["step"] == total
    assert sorted(expected) == sorted(resumed)
    assert any(name.startswith("g_adam/m/") for name in expected) and any(name.startswith("ema/") for name in expected)
    for name in expected:
        np.testing.assert_allclose(resumed[name], expected[name], rtol=1e-6, atol=1e-7, err_msg=name)
    # The run directory describes itself.
    assert (interrupted / "config.json").exists()
    assert list((interrupted / "tensorboard").iterdir())
    assert list((interrupted / "samples").glob("phase3-*.png"))


def test_sigterm_checkpoints_the_step_it_interrupts_and_exits_cleanly(tmp_path):
    config = train_driver.CONFIG
    signal_at = schedule.phase_start(config.schedule, 3) + 2
    process = _run_driver(tmp_path, "--sigterm_at_step", signal_at)
    assert process.returncode == 0
    _, state = _final_arrays(tmp_path)
    assert state["step"] == signal_at + 1 and state["phase"] == 3  # the step in flight completed
    assert checkpoints.list_checkpoints(str(tmp_path))[-1][0] == signal_at + 1


CANCELLED_BY_BATCH_NORM = train_driver.CANCELLED_BY_BATCH_NORM


def test_two_replicas_take_the_same_first_step_as_one(tmp_path):
    out = tmp_path / "mirrored.npz"
    _run_driver("unused", "--mirrored_check", out)
    with np.load(out) as data:
        names = [key.split(":", 1)[1] for key in data.files if key.startswith("single:")]
        names = [name for name in names if not CANCELLED_BY_BATCH_NORM.search(name)]
        moved = 0
        for name in names:
            single, mirrored = data[f"single:{name}"], data[f"mirrored:{name}"]
            np.testing.assert_allclose(mirrored, single, rtol=1e-4, atol=1e-5, err_msg=name)
            moved += not np.array_equal(single, data[f"before:{name}"])
        assert moved > len(names) // 2  # the step really changed the state


@pytest.mark.parametrize("codes", ["thesis", "mixed"])
def test_growth_carries_optimizer_slots_step_count_and_ema(tmp_path, codes):
    config = train_driver.CONFIG if codes == "thesis" else train_driver.MIXED_SIGMA_CONFIG
    options = configs.RunOptions(model_dir=str(tmp_path))
    strategy = tf.distribute.get_strategy()
    phase_2 = PhaseTrainer(config, 2, strategy, options)
    real = next(iter(train_driver.dataset_fn(2, 4)))
    for step in range(3):
        phase_2.step(real, step, 1.0)
    old = phase_2.state_arrays()
    assert old["g_adam/iterations"] == 3 and old["d_adam/iterations"] == 3

    phase_3 = PhaseTrainer(config, 3, strategy, options)
    fresh_values = {name: v.numpy() for name, v in phase_3.named_state().items()}
    report = phase_3.import_state(old)
    new = phase_3.state_arrays()
    assert new["g_adam/iterations"] == 3 and new["d_adam/iterations"] == 3
    for name in report.imported:
        np.testing.assert_array_equal(new[name], old[name])
    new_block_slot = "g_adam/v/generator/block_3/conv1/kernel"
    assert new_block_slot in report.fresh and not new[new_block_slot].any()
    shadow = "ema/generator/block_3/conv1/kernel"
    assert shadow in report.fresh
    np.testing.assert_array_equal(new[shadow], fresh_values["generator/block_3/conv1/kernel"])
    assert "ema/generator/block_2/dense/kernel" in report.imported
    assert not np.array_equal(old["ema/generator/block_2/dense/kernel"], old["generator/block_2/dense/kernel"])
    # Block 2's Q head (the mixed code's softmax, sigmoid and Gaussian outputs) grows with its slots;
    # block 3's is new, sized to its coordinates (a categorical(3) variable's 3 logits and 2 means).
    assert {"discriminator/q_block_2/kernel", "d_adam/m/discriminator/q_block_2/kernel"} <= set(report.imported)
    assert "discriminator/q_block_3/kernel" in report.fresh
    assert new["discriminator/q_block_3/kernel"].shape[-1] == (5 if codes == "mixed" else 16)
    sigma_heads = {name for name in new if "q_log_sigma" in name}
    if codes == "mixed":  # the learned sigma's heads grow like the means'
        assert "discriminator/q_log_sigma_block_2/kernel" in report.imported
        assert "discriminator/q_log_sigma_block_3/kernel" in report.fresh
    else:
        assert not sigma_heads


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_steps_train_in_float32_variables(tmp_path, policy):
    import keras

    keras.mixed_precision.set_global_policy(policy)
    try:
        trainer = PhaseTrainer(train_driver.CONFIG, 3, tf.distribute.get_strategy(),
                                     configs.RunOptions(model_dir=str(tmp_path), mixed_precision=policy))
        before = trainer.state_arrays()
        real = next(iter(train_driver.dataset_fn(3, 4)))
        scalars, _ = trainer.step(real, 20, 0.5)
        after = trainer.state_arrays()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.isfinite(float(scalars["loss/generator"]))
    assert all(value.dtype in (np.float32, np.int64) for value in after.values())
    assert not np.array_equal(before["generator/block_3/conv1/kernel"], after["generator/block_3/conv1/kernel"])
    assert not np.array_equal(before["generator/block_3/norm1/moving_mean"], after["generator/block_3/norm1/moving_mean"])


@pytest.mark.parametrize("sanitize", [_sanitize, _sanitize_lean])
def test_non_finite_gradients_zero_that_variable_only(sanitize):
    variables = [tf.Variable([1.0, 2.0]), tf.Variable([3.0]), tf.Variable([4.0, 5.0]), tf.Variable([6.0])]
    # NaN, -Inf, and finite values whose sum overflows float32 (still finite, so kept).
    gradients = [tf.constant([np.nan, 1.0]), tf.constant([0.5]), tf.constant([3e38, 3e38]), tf.constant([-np.inf])]
    clean = [gradient.numpy().tolist() for gradient in sanitize(gradients, variables)]
    assert clean[0] == [0.0, 0.0] and clean[1] == [0.5] and clean[3] == [0.0]
    assert clean[2] == np.float32([3e38, 3e38]).tolist()
    assert [g.numpy().tolist() for g in sanitize([None, tf.constant([2.0])], variables[:2])] == [[0.0, 0.0], [2.0]]
    assert sanitize([None], variables[:1])[0].numpy().tolist() == [0.0, 0.0]


def _train_in_process(model_dir, dataset_fn=train_driver.dataset_fn, **options):
    options = configs.RunOptions(**{"model_dir": str(model_dir), "summary_every_steps": 5, "checkpoint_every_secs": 0.0,
                                  "progress_bar": False, "keep_checkpoints": 2, **options})
    return train.train(train_driver.CONFIG, options, dataset_fn=dataset_fn)


def test_a_resume_falls_back_past_a_damaged_checkpoint(tmp_path, caplog):
    _train_in_process(tmp_path, stop_at_step=5)
    damaged = checkpoints.checkpoint_dir(str(tmp_path), 5)
    with open(os.path.join(damaged, checkpoints.VARIABLES_FILE), "r+b") as handle:
        handle.truncate(100)
    stale = checkpoints.checkpoint_dir(str(tmp_path), 6) + ".partial"
    os.makedirs(stale)
    with caplog.at_level(logging.INFO, logger="progressive_infogan"):
        result = _train_in_process(tmp_path, stop_at_step=7)
    assert result["step"] == 7
    assert f"resuming from {checkpoints.checkpoint_dir(str(tmp_path), 4)}" in caplog.text
    assert f"{damaged} does not load" in caplog.text and os.path.isdir(damaged + ".corrupt")
    assert not os.path.exists(stale)
    assert [step for step, _ in checkpoints.list_checkpoints(str(tmp_path))] == [6, 7]


def test_a_run_whose_checkpoints_all_lack_state_is_refused_not_restarted(tmp_path):
    _train_in_process(tmp_path, stop_at_step=5)
    before = checkpoints.list_checkpoints(str(tmp_path))
    for _, path in before:
        os.remove(os.path.join(path, checkpoints.STATE_FILE))
    with pytest.raises(checkpoints.CheckpointError, match="Refusing to start again at step 0"):
        _train_in_process(tmp_path, stop_at_step=7)
    assert sorted(os.listdir(tmp_path / "checkpoints")) == [os.path.basename(path) for _, path in before]
    assert all(os.path.isfile(os.path.join(path, checkpoints.VARIABLES_FILE)) for _, path in before)


def test_an_input_position_that_does_not_restore_restarts_the_pipeline(tmp_path, caplog):
    _train_in_process(tmp_path, stop_at_step=3)
    assert os.path.exists(os.path.join(checkpoints.latest_checkpoint(str(tmp_path)), "data.index"))

    def changed_pipeline(phase, batch):  # no shuffle: the saved position has nowhere to go
        return train_driver.dataset_fn(phase, batch).unbatch().repeat().batch(batch, drop_remainder=True)

    with caplog.at_level(logging.WARNING, logger="progressive_infogan"):
        result = _train_in_process(tmp_path, dataset_fn=changed_pipeline, stop_at_step=5)
    assert result["step"] == 5
    assert "does not restore" in caplog.text and "restarting the pipeline" in caplog.text


def _record_set(directory, count=64):
    """`count` images at 16 px (levels 4, 8, 16): the driver's phases 2 and 3 read r03 and r04."""
    images = np.random.default_rng(0).integers(0, 256, (count, 16, 16, 3), dtype=np.uint8)
    with tfrecord_writer.TFRecordSetWriter(str(directory), 16, prefix="faces") as writer:
        for image in images:
            writer.add_image(image)
        writer.finish()
    return str(directory)


def test_a_damaged_record_is_named_and_the_last_completed_step_checkpointed(tmp_path, caplog):
    data_dir = _record_set(tmp_path / "data")
    path = os.path.join(data_dir, "faces-r03.tfrecords")
    record_bytes = os.path.getsize(path) // 64
    with open(path, "r+b") as handle:  # the last record's pixels: read after a few steps (shuffle buffer 40)
        handle.seek(63 * record_bytes + record_bytes // 2)
        handle.write(b"\xff\x00\xff\x00")
    with caplog.at_level(logging.ERROR, logger="progressive_infogan"):
        with pytest.raises(tf.errors.DataLossError, match=f"{path}: .*corrupted record at"):
            _train_in_process(tmp_path / "run", dataset_fn=None, data_dir=data_dir, checkpoint_every_secs=1e9)
    ((step, checkpoint),) = checkpoints.list_checkpoints(str(tmp_path / "run"))
    assert 0 < step < schedule.phase_steps(train_driver.CONFIG.schedule, 2)
    assert f"checkpointing step {step}" in caplog.text
    assert not os.path.exists(os.path.join(checkpoint, "data.index"))  # the failed read moved the input


def test_a_truncated_record_of_a_later_phase_is_refused_before_anything_is_written(tmp_path):
    data_dir = _record_set(tmp_path / "data")
    path = os.path.join(data_dir, "faces-r04.tfrecords")  # phase 3's
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) - 1)
    with pytest.raises(ValueError, match=f"{path} has .* bytes"):
        _train_in_process(tmp_path / "run", dataset_fn=None, data_dir=data_dir)
    assert not os.path.exists(tmp_path / "run")


def test_an_error_after_a_step_checkpoints_it_with_the_input_position(tmp_path, monkeypatch):
    write_step = summaries.write_step

    def failing_write_step(writer, step, *args):
        if step == 6:
            raise OSError("No space left on device")
        return write_step(writer, step, *args)

    monkeypatch.setattr(summaries, "write_step", failing_write_step)
    with pytest.raises(OSError, match="No space left"):
        _train_in_process(tmp_path, checkpoint_every_secs=1e9)  # summaries at steps 1, 6, 11
    ((step, checkpoint),) = checkpoints.list_checkpoints(str(tmp_path))
    assert step == 6 and os.path.exists(os.path.join(checkpoint, "data.index"))
    assert not checkpoints.is_pinned(checkpoint)


def test_a_phase_s_end_checkpointed_on_an_error_is_pinned_too(tmp_path, monkeypatch):
    write_step = summaries.write_step
    end = schedule.phase_steps(train_driver.CONFIG.schedule, 2)

    def failing_write_step(writer, step, *args):
        if step == end:
            raise OSError("No space left on device")
        return write_step(writer, step, *args)

    monkeypatch.setattr(summaries, "write_step", failing_write_step)
    with pytest.raises(OSError, match="No space left"):
        _train_in_process(tmp_path, checkpoint_every_secs=1e9)
    ((step, checkpoint),) = checkpoints.list_checkpoints(str(tmp_path))
    assert step == end and checkpoints.is_pinned(checkpoint)




# --- The run directory: lock, identity, records written only after the data is checked ----------

def test_each_launch_appends_its_provenance_and_its_log_lines(tmp_path, caplog):
    import datetime

    import keras

    with caplog.at_level(logging.INFO, logger="progressive_infogan"):
        _train_in_process(tmp_path, stop_at_step=2, log_every_secs=0.0)
        _train_in_process(tmp_path, stop_at_step=3, log_every_secs=0.0)
    launches = rundir.read_launches(str(tmp_path))
    assert [launch["start_step"] for launch in launches] == [0, 2]
    first = launches[0]
    assert first["argv"] == sys.argv and first["cwd"] == os.getcwd() and first["host"] == socket.gethostname()
    assert datetime.datetime.fromisoformat(first["time"]).utcoffset() == datetime.timedelta(0)
    assert {name: first["versions"][name] for name in ("python", "tensorflow", "keras", "numpy")} == {
        "python": sys.version.split()[0], "tensorflow": tf.__version__, "keras": keras.__version__,
        "numpy": np.__version__}
    assert first["code_version"] == provenance.code_version() and first["dataset_fingerprint"] is None
    log_text = (tmp_path / rundir.TRAIN_LOG_FILE).read_text()
    assert "phase 2 step 2/12 (global 2)" in log_text and "phase 2 step 3/12 (global 3)" in log_text
    assert f"resuming from {checkpoints.checkpoint_dir(str(tmp_path), 2)}" in log_text
    # Removed after each training: a later one in this process does not write into this run's log.
    log_path = str(tmp_path / rundir.TRAIN_LOG_FILE)
    assert log_path not in [getattr(handler, "baseFilename", None) for handler in logging.getLogger().handlers]
    _train_in_process(tmp_path / "other", stop_at_step=1)
    assert (tmp_path / rundir.TRAIN_LOG_FILE).read_text() == log_text



def test_a_second_trainer_on_a_held_run_directory_is_refused(tmp_path):
    with rundir.RunLock(str(tmp_path)):  # another trainer holds it
        with pytest.raises(UserError, match=f"{tmp_path} is in use by pid {os.getpid()} on .* since "):
            _train_in_process(tmp_path, stop_at_step=2)
    assert not (tmp_path / rundir.CONFIG_FILE).exists() and not (tmp_path / "checkpoints").exists()


def test_the_lock_is_released_after_a_run_and_after_an_error(tmp_path):
    _train_in_process(tmp_path / "a", stop_at_step=2)
    assert not (tmp_path / "a" / rundir.LOCK_FILE).exists()

    def failing(phase, batch):
        raise OSError("no data")

    with pytest.raises(OSError, match="no data"):
        _train_in_process(tmp_path / "b", dataset_fn=failing)
    assert not (tmp_path / "b" / rundir.LOCK_FILE).exists()
    rundir.RunLock(str(tmp_path / "b")).acquire().release()


def test_a_stale_lock_is_taken_over(tmp_path, caplog):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / rundir.LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": "h", "since": "T"}))
    with caplog.at_level(logging.WARNING, logger="progressive_infogan"):
        assert _train_in_process(tmp_path, stop_at_step=2)["step"] == 2
    assert f"taking over a stale lock: pid {dead.pid}" in caplog.text
    assert not (tmp_path / rundir.LOCK_FILE).exists()


def test_a_resume_with_another_seed_is_refused_unless_allowed(tmp_path):
    _train_in_process(tmp_path, stop_at_step=2)
    with pytest.raises(UserError, match="seed: stored 0, given 7"):
        _train_in_process(tmp_path, stop_at_step=3, seed=7)
    assert checkpoints.list_checkpoints(str(tmp_path))[-1][0] == 2
    assert _train_in_process(tmp_path, stop_at_step=3, seed=7, allow_changed_data=True)["step"] == 3
    assert rundir.run_seed(str(tmp_path)) == 7 and rundir.read_run_options(str(tmp_path))["seed"] == 7


def test_a_resume_on_other_data_is_refused_and_paths_are_recorded_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _record_set(tmp_path / "data")
    other = _record_set(tmp_path / "other", count=48)
    _train_in_process("run", dataset_fn=None, data_dir="data", stop_at_step=2)
    identity = rundir.read_identity("run")
    assert identity.data_dir == str(tmp_path / "data") == rundir.read_run_options("run")["data_dir"]
    assert identity.dataset_fingerprint == tfrecords.dataset_fingerprint("data") and identity.seed == 0
    assert rundir.read_launches("run")[0]["dataset_fingerprint"] == identity.dataset_fingerprint
    with pytest.raises(UserError, match="dataset fingerprint: stored .* given .*other"):
        _train_in_process("run", dataset_fn=None, data_dir=other, stop_at_step=3)
    # The same records elsewhere are the same data.
    os.rename(tmp_path / "data", tmp_path / "moved")
    assert _train_in_process("run", dataset_fn=None, data_dir="moved", stop_at_step=3)["step"] == 3


def test_a_launch_on_missing_data_leaves_the_run_records_as_they_were(tmp_path):
    _train_in_process(tmp_path, stop_at_step=2)
    records = {name: (tmp_path / name).read_bytes()
               for name in (rundir.CONFIG_FILE, rundir.RUN_OPTIONS_FILE, rundir.IDENTITY_FILE)}
    with pytest.raises(FileNotFoundError, match="nonexistent"):
        _train_in_process(tmp_path, dataset_fn=None, data_dir=str(tmp_path / "nonexistent"))
    assert {name: (tmp_path / name).read_bytes() for name in records} == records


def test_a_start_that_failed_before_its_first_checkpoint_does_not_bind_the_next(tmp_path):
    def failing(phase, batch):
        raise OSError("no data")

    with pytest.raises(OSError):
        _train_in_process(tmp_path, dataset_fn=failing, seed=3)
    changed = train_driver.CONFIG.replace(loss=dict(consistency_weight=300.0))
    options = configs.RunOptions(model_dir=str(tmp_path), progress_bar=False, stop_at_step=2)
    assert train.train(changed, options, dataset_fn=train_driver.dataset_fn)["step"] == 2
    assert rundir.read_config(str(tmp_path)) == changed and rundir.run_seed(str(tmp_path)) == 0


# Like the driver's CONFIG, with phase 4's batch small too: a run of it grows from phase 3 to 4.
GROWABLE = configs.scaled_down(configs.preset("exp_consistency_30"), width_multiplier=1 / 32, images_per_phase=0,
                               min_steps=12, stop_after=3, batch_sizes={2: 4, 3: 4, 4: 4})


def test_a_finished_run_grows_to_a_later_phase_on_its_default_data_drawn_larger(tmp_path, caplog):
    from progressive_infogan import launcher

    size, grown = configs.size("smoke"), GROWABLE.replace(schedule=dict(stop_after=4))
    run_dir = str(tmp_path / "run")
    started_on = os.path.abspath(launcher.default_data_dir(size, GROWABLE, root=str(tmp_path / "data")))
    options = configs.RunOptions(model_dir=run_dir, data_dir=started_on, summary_every_steps=5,
                                 checkpoint_every_secs=0.0, progress_bar=False, keep_checkpoints=1)
    assert train.train(GROWABLE, options)["finished"]
    finished = schedule.total_steps(GROWABLE.schedule)

    def pins():
        return [(step, checkpoints.is_pinned(path)) for step, path in checkpoints.list_checkpoints(run_dir)]

    assert pins() == [(12, True), (finished, True)]  # each phase's end, past keep_checkpoints=1

    drawn = launcher.run_data_dir(run_dir, size, grown)  # what the launcher reads without --data_dir
    assert os.path.basename(drawn) == "synthetic_faces-64x32"
    for refused, data_dir in ((GROWABLE.replace(schedule=dict(stop_after=2)), started_on),
                              (grown.replace(loss=dict(mi_weight=5.0)), drawn)):
        with pytest.raises(UserError, match="different configuration"):
            train.train(refused, dataclasses.replace(options, data_dir=data_dir))
    assert rundir.read_config(run_dir) == GROWABLE

    with caplog.at_level(logging.INFO, logger="progressive_infogan"):
        result = train.train(grown, dataclasses.replace(options, data_dir=drawn))
    assert result == {"step": schedule.total_steps(grown.schedule), "phase": 4, "finished": True,
                      "stopped_by_signal": False, "chief": True}
    assert f"resuming from {checkpoints.checkpoint_dir(run_dir, finished)}" in caplog.text
    assert pins() == [(12, True), (finished, True), (result["step"], True)]
    assert checkpoints.load_checkpoint(checkpoints.latest_checkpoint(run_dir))[1]["phase"] == 4
    assert rundir.read_config(run_dir) == grown
    # A later resume reads the larger drawing; the run remembers the one it started on.
    assert rundir.read_identity(run_dir).data_dir == drawn == launcher.run_data_dir(run_dir, size, grown)
    with open(os.path.join(run_dir, rundir.IDENTITY_FILE)) as handle:
        assert [earlier["data_dir"] for earlier in json.load(handle)["earlier"]] == [started_on]
    assert [launch["start_step"] for launch in rundir.read_launches(run_dir)] == [0, finished]


def test_a_run_directory_of_before_identities_resumes(tmp_path):
    _train_in_process(tmp_path, stop_at_step=2)
    os.remove(tmp_path / rundir.IDENTITY_FILE)
    options = json.loads((tmp_path / rundir.RUN_OPTIONS_FILE).read_text())
    del options["allow_changed_data"]
    (tmp_path / rundir.RUN_OPTIONS_FILE).write_text(json.dumps(options))
    with pytest.raises(UserError, match="seed: stored 0, given 1"):
        _train_in_process(tmp_path, stop_at_step=3, seed=1)
    assert _train_in_process(tmp_path, stop_at_step=3)["step"] == 3
    assert rundir.read_identity(str(tmp_path)) == rundir.Identity(data_dir="", dataset_fingerprint=None, seed=0)
