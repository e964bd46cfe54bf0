"""MultiWorkerMirroredStrategy on loopback: two worker processes with TF_CONFIG on 127.0.0.1 ports."""

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np

from progressive_infogan import checkpoints, rundir, schedule, synthetic_faces

import train_driver  # noqa: E402 - tests/ is on sys.path under pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.path.join(ROOT, "tests", "train_driver.py")
CANCELLED_BY_BATCH_NORM = train_driver.CANCELLED_BY_BATCH_NORM


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ",".join(map(str, ports))


def _workers(tmp_path, *args, extra=None):
    """Both workers of a new loopback cluster, each with its own stderr file; `extra[task]` adds arguments."""
    ports = _free_ports(2)
    return [(subprocess.Popen([sys.executable, DRIVER, *map(str, args), f"--task={task}", f"--ports={ports}",
                               *map(str, (extra or {}).get(task, []))],
                              stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"worker{task}.log", "a")),
             tmp_path / f"worker{task}.log") for task in (0, 1)]


def _wait(workers, timeout=300):
    return [process.wait(timeout=timeout) for process, _ in workers]


def test_two_workers_take_the_same_first_step_as_one_process(tmp_path):
    workers = _workers(tmp_path, "unused", extra={task: ["--multi_worker_check", tmp_path / f"step-{task}.npz"]
                                                   for task in (0, 1)})
    assert _wait(workers) == [0, 0], [log.read_text()[-3000:] for _, log in workers]
    with np.load(tmp_path / "step-0.npz") as chief, np.load(tmp_path / "step-1.npz") as other:
        assert bool(chief["chief"]) and not bool(other["chief"])
        names = [key.split(":", 1)[1] for key in chief.files if key.startswith("single:")]
        moved = 0
        for name in names:
            # The workers hold the same variables, bit for bit.
            np.testing.assert_array_equal(other[f"multi:{name}"], chief[f"multi:{name}"], err_msg=name)
            if not CANCELLED_BY_BATCH_NORM.search(name):
                np.testing.assert_allclose(chief[f"multi:{name}"], chief[f"single:{name}"], rtol=1e-4, atol=1e-5,
                                           err_msg=name)
            moved += not np.array_equal(chief[f"single:{name}"], chief[f"before:{name}"])
        assert moved > len(names) // 2  # the step really changed the state


def test_a_killed_worker_resumes_with_the_chief_from_its_last_checkpoint_and_only_the_chief_writes(tmp_path):
    model_dir = tmp_path / "run"
    total = schedule.total_steps(train_driver.CONFIG.schedule)
    kill_at = schedule.phase_start(train_driver.CONFIG.schedule, 3) + 3  # mid-phase, mid-fade
    workers = _workers(tmp_path, model_dir, extra={1: ["--kill_at_step", kill_at]})
    worker, log = workers[1]
    assert worker.wait(timeout=300) == -signal.SIGKILL, log.read_text()[-3000:]
    # The chief, blocked in the step's all-reduce, has checkpointed every step before it: kill it too.
    chief, chief_log = workers[0]
    deadline = time.time() + 120
    while not checkpoints.list_checkpoints(str(model_dir)) or checkpoints.list_checkpoints(str(model_dir))[-1][0] < kill_at:
        assert time.time() < deadline and chief.poll() is None, chief_log.read_text()[-3000:]
        time.sleep(0.2)
    chief.kill()
    chief.wait(timeout=60)
    assert checkpoints.list_checkpoints(str(model_dir))[-1][0] == kill_at

    restarted = _workers(tmp_path, model_dir)  # the same command on both, as a cluster scheduler reruns it
    assert _wait(restarted) == [0, 0], [log.read_text()[-3000:] for _, log in restarted]
    _, state = checkpoints.load_checkpoint(checkpoints.latest_checkpoint(str(model_dir)))
    assert state["step"] == total
    for task in (0, 1):
        text = (tmp_path / f"worker{task}.log").read_text()
        assert f"(step {kill_at} of {total})" in text, (task, text[-3000:])  # "resuming from ... (step k of n)"
    # Only the chief writes: one TensorBoard file per chief launch (the non-chief would add its own).
    assert len(glob.glob(os.path.join(rundir.tensorboard_dir(str(model_dir)), "events.out.tfevents.*"))) == 2


def test_the_readme_command_trains_an_experiment_on_its_records_and_only_the_chief_exports(tmp_path):
    data_dir, model_dir = str(tmp_path / "faces"), str(tmp_path / "run")
    synthetic_faces.prepare_synthetic_faces(data_dir, num_images=64, resolution=32, seed=0, num_workers=1)
    ports = _free_ports(2).split(",")
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    script = os.path.join(ROOT, "experiments", "exp_condition.py")
    workers = [subprocess.Popen([sys.executable, script, "--strategy=multi_worker", f"--model_dir={model_dir}",
                                 f"--data_dir={data_dir}", "--size=smoke", "--noprogress_bar"],
                                stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"worker{task}.log", "w"), cwd=ROOT,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT,
                                     "TF_CONFIG": json.dumps({"cluster": cluster,
                                                              "task": {"type": "worker", "index": task}})})
               for task in (0, 1)]
    # One record file per resolution: the workers split each batch, not the files.
    assert [process.wait(timeout=300) for process in workers] == [0, 0], \
        [(tmp_path / f"worker{task}.log").read_text()[-3000:] for task in (0, 1)]
    _, state = checkpoints.load_checkpoint(checkpoints.latest_checkpoint(model_dir))
    assert state["step"] == schedule.total_steps(rundir.read_config(model_dir).schedule)
    assert len(glob.glob(os.path.join(model_dir, "export", "*.keras"))) == 1
    assert len(glob.glob(os.path.join(rundir.tensorboard_dir(model_dir), "events.out.tfevents.*"))) == 1
    assert "exported" not in (tmp_path / "worker1.log").read_text()
