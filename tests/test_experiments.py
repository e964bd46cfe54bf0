"""Every experiment script trains through phases 2..4 at the smoke size, and reproduce.sh
--smoke trains, evaluates and tabulates end to end."""

import concurrent.futures
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from progressive_infogan import checkpoints, config, rundir, schedule, synthetic_faces
from progressive_infogan.metrics import latent_spread

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = sorted(glob.glob(os.path.join(ROOT, "experiments", "exp_*.py")))


@pytest.fixture(scope="module")
def tiny_faces(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("faces"))
    synthetic_faces.prepare_synthetic_faces(directory, num_images=64, resolution=32, seed=0, num_workers=1)
    return directory


def _run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, **kwargs)


# One script per way of training: injection (append with one block's or every block's codes, append_channels,
# condition, none), gradual MI, unmask, consistency, typed codes on the digits. The other scripts differ from one
# of these only in numbers (code sizes, loss weights, learning rates), which the config tests pin.
TRAINED = ("exp_vanilla", "exp_gradual_loss", "exp_unmask", "exp_append_simple", "exp_append_channels",
           "exp_condition", "exp_consistency_30", "exp_noinfo", "exp_digits")


def test_every_experiment_has_a_script_that_runs_its_own_preset():
    names = {os.path.basename(path)[:-3] for path in SCRIPTS}
    assert names == set(config.PRESETS) | set(config.OTHER_PRESETS)
    assert set(TRAINED) <= names
    for path in SCRIPTS:
        with open(path) as handle:
            source = handle.read()
        name = os.path.basename(path)[:-3]
        assert re.findall(r'launcher\.(?:run|main)\("([^"]+)"\)', source) == [name], name


def test_a_script_of_each_way_of_training_trains_phases_2_to_4(tmp_path, tiny_faces):
    def train(script):
        name = os.path.basename(script)[:-3]
        model_dir = str(tmp_path / name)
        export = "--export" if name == "exp_condition" else "--noexport"
        process = _run([sys.executable, script, "--size=smoke", f"--model_dir={model_dir}",
                        f"--data_dir={tiny_faces}", "--noprogress_bar", export])
        return name, model_dir, process

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(train, [os.path.join(ROOT, "experiments", f"{name}.py") for name in TRAINED]))
    for name, model_dir, process in results:
        assert process.returncode == 0, f"{name}:\n{process.stderr[-3000:]}"
        run_config = rundir.read_config(model_dir)
        assert run_config.name == name
        _, state = checkpoints.load_checkpoint(checkpoints.latest_checkpoint(model_dir))
        assert state["phase"] == 4 and state["step"] == schedule.total_steps(run_config.schedule)
        # After training too, G's output depends on its noise (and on its code, where it has one).
        spread = latent_spread.spreads(checkpoints.load_run(model_dir), count=8, batch=4)
        assert spread["latent_spread/noise_only"] > 1e-3, name
        assert (spread["latent_spread/code_only"] > 1e-3) == (run_config.model.code_size > 0), name
    exported = os.listdir(os.path.join(tmp_path, "exp_condition", "export"))
    assert any(name.endswith(".keras") for name in exported) and any(name.startswith("saved_model") for name in exported)


def test_help_explains_every_flag():
    process = _run([sys.executable, os.path.join(ROOT, "experiments", "exp_condition.py"), "--help"])
    text = process.stdout + process.stderr
    for flag in ("--model_dir", "--data_dir", "--size", "--stop_after", "--width_multiplier", "--images_per_phase",
                 "--seed", "--mixed_precision", "--[no]jit_compile", "--strategy", "--fade", "--[no]deterministic"):
        assert flag in text, flag


def test_reproduce_full_needs_a_dataset_or_an_explicit_synthetic_choice():
    process = subprocess.run(["bash", os.path.join(ROOT, "reproduce.sh"), "--full"], capture_output=True, text=True,
                             timeout=60)
    assert process.returncode == 2 and "--data_dir=DIR" in process.stderr and "--allow_synthetic" in process.stderr


def test_reproduce_smoke_trains_evaluates_and_writes_the_tables(tmp_path, tiny_faces):
    env = {"RUNS_ROOT": str(tmp_path / "runs"), "RESULTS_DIR": str(tmp_path / "results"), "PYTHON": sys.executable,
           "EXTRA_FLAGS": f"--data_dir={tiny_faces}", "EXPERIMENTS": "exp_condition", "TF_CPP_MIN_LOG_LEVEL": "2"}

    def reproduce(*seeds):
        process = subprocess.run(["bash", os.path.join(ROOT, "reproduce.sh"), "--smoke", f"--seeds={','.join(seeds)}"],
                                 capture_output=True, text=True, timeout=900, env={**os.environ, **env})
        assert process.returncode == 0, process.stderr[-3000:]
        return process

    reproduce("0", "1")
    for run in ("exp_condition", "exp_condition_seed1"):
        with open(tmp_path / "runs" / run / "metrics.jsonl") as handle:
            line = json.loads(handle.readlines()[-1])
        assert line["protocol"] == "smoke" and line["phase"] == 4
        for metric in ("fid", "msssim_diversity_gen", "code_reconstruction_error/overall", "msssim_isolation/overall"):
            assert isinstance(line["metrics"][metric], float), metric
    with open(tmp_path / "runs" / "exp_condition_seed1" / "run_options.json") as handle:
        assert json.load(handle)["seed"] == 1
    results = tmp_path / "results"
    for figure in (21, 22, 23, 26, 27, 28, 29, 30, 31):
        assert (results / f"fig{figure}.md").exists() and (results / f"fig{figure}.csv").exists()
    assert "(n=2)" in (results / "fig22.md").read_text()
    table = (results / "fig22.md").read_text()
    assert "exp_condition" in table and "0.3035" in table  # ours beside the thesis value
    assert "findings, scored over seeds" in (results / "tables.md").read_text()
    assert "`control_condition`" in (results / "findings.md").read_text()
    # Run again: the finished run is neither retrained nor re-evaluated.
    checkpoints = sorted(os.listdir(tmp_path / "runs" / "exp_condition" / "checkpoints"))
    reproduce("0")
    assert sorted(os.listdir(tmp_path / "runs" / "exp_condition" / "checkpoints")) == checkpoints
    assert len((tmp_path / "runs" / "exp_condition" / "metrics.jsonl").read_text().splitlines()) == 1
    # Another machine: only the committed records (results/runs/) remain; nothing is retrained.
    assert sorted(os.listdir(results / "runs")) == ["exp_condition", "exp_condition_seed1"]
    assert sorted(os.listdir(results / "runs" / "exp_condition")) == [
        "config.json", "identity.json", "launches.jsonl", "metrics.jsonl", "run_options.json"]
    shutil.rmtree(tmp_path / "runs")
    os.remove(results / "fig22.md")
    process = reproduce("0", "1")
    assert process.stdout.count("finished in an earlier sitting") == 2 and not (tmp_path / "runs").exists()
    assert "(n=2)" in (results / "fig22.md").read_text()


# Long enough phases that the signal lands mid-run, with a checkpoint at every step.
LONG_SMOKE_FLAGS = "--min_steps=100000 --checkpoint_every_secs=0"


def _start(command, tmp_path, **kwargs):
    """A process whose output goes to files (a pipe could fill while the test waits)."""
    stdout, stderr = open(tmp_path / "stdout.txt", "w+"), open(tmp_path / "stderr.txt", "w+")
    return subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True, **kwargs), stdout, stderr


def _wait_for_a_checkpoint(process, model_dir, stderr, timeout=300):
    deadline = time.time() + timeout
    while not checkpoints.list_checkpoints(model_dir):
        assert process.poll() is None, open(stderr.name).read()[-3000:]
        assert time.time() < deadline, "no checkpoint was written"
        time.sleep(0.2)


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def test_a_script_stopped_by_sigterm_exits_75_after_its_checkpoint(tmp_path, tiny_faces):
    model_dir = str(tmp_path / "run")
    process, _, stderr = _start(
        [sys.executable, os.path.join(ROOT, "experiments", "exp_vanilla.py"), "--size=smoke", f"--model_dir={model_dir}",
         f"--data_dir={tiny_faces}", "--noprogress_bar", "--noexport", *LONG_SMOKE_FLAGS.split()],
        tmp_path, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    _wait_for_a_checkpoint(process, model_dir, stderr)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=300)
    log = open(stderr.name).read()
    assert process.returncode == 75, log[-3000:]
    assert "rerun the same command to resume" in log
    step, _ = checkpoints.list_checkpoints(model_dir)[-1]
    assert 0 < step < schedule.total_steps(rundir.read_config(model_dir).schedule)


def test_reproduce_does_not_evaluate_a_run_stopped_by_sigterm(tmp_path, tiny_faces):
    runs = tmp_path / "runs"
    env = {"RUNS_ROOT": str(runs), "RESULTS_DIR": str(tmp_path / "results"), "PYTHON": sys.executable,
           "EXPERIMENTS": "exp_vanilla", "EXTRA_FLAGS": f"--data_dir={tiny_faces} {LONG_SMOKE_FLAGS}"}
    process, stdout, stderr = _start(["bash", os.path.join(ROOT, "reproduce.sh"), "--smoke"], tmp_path,
                                     env={**os.environ, **env, "TF_CPP_MIN_LOG_LEVEL": "2"})
    _wait_for_a_checkpoint(process, str(runs / "exp_vanilla"), stderr)
    (trainer,) = _children(process.pid)  # only the trainer is signalled, as by `kill PID` or a job's timeout
    os.kill(trainer, signal.SIGTERM)
    process.wait(timeout=600)
    out, log = open(stdout.name).read(), open(stderr.name).read()
    assert process.returncode == 75, log[-3000:]
    assert "evaluate" not in out and "rerun 'bash reproduce.sh --smoke' to resume" in log
    assert not (runs / "exp_vanilla" / "metrics.jsonl").exists()
    assert not (tmp_path / "results").exists()


def test_verify_data_refuses_a_damaged_record_before_training(tmp_path, tiny_faces):
    data_dir = str(tmp_path / "faces")
    shutil.copytree(tiny_faces, data_dir)
    (damaged,) = glob.glob(os.path.join(data_dir, "*-r04.tfrecords"))  # phase 3's, an intact size
    with open(damaged, "r+b") as handle:
        handle.seek(os.path.getsize(damaged) // 2)
        handle.write(b"\0\0\0\0")
    model_dir = str(tmp_path / "run")
    process = _run([sys.executable, os.path.join(ROOT, "experiments", "exp_vanilla.py"), "--size=smoke",
                    f"--model_dir={model_dir}", f"--data_dir={data_dir}", "--verify_data", "--noexport"])
    assert process.returncode != 0
    assert f"{damaged} does not match its SHA-256" in process.stderr
    assert not os.path.exists(model_dir)
