"""Soak: 20 cycles of start, a random SIGTERM or SIGKILL mid-training, restart; then a run to the end, whose
weights must equal an uninterrupted run's bit for bit (--deterministic, oneDNN off).

Minutes long, so left out of the suite: PINFOGAN_SOAK=1 python -m pytest -s tests/test_soak.py
"""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from progressive_infogan import checkpoints, synthetic_faces

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CYCLES = 20

pytestmark = pytest.mark.skipif(os.environ.get("PINFOGAN_SOAK") != "1", reason="a soak of minutes: PINFOGAN_SOAK=1")


def _command(model_dir, data_dir, every_step):
    # 200 steps per phase, so that 20 interruptions land inside the run; a checkpoint at every step in the
    # interrupted run, so SIGKILL lands between, during and right after saves.
    return [sys.executable, os.path.join(ROOT, "experiments", "exp_condition.py"), "--size=smoke", "--min_steps=200",
            f"--model_dir={model_dir}", f"--data_dir={data_dir}", "--deterministic", "--noprogress_bar", "--noexport",
            *(["--checkpoint_every_secs=0"] if every_step else [])]


def _environment():
    # oneDNN's CPU kernels round by memory alignment, which differs between processes (train.train warns).
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}


def _newest_step(model_dir):
    listed = checkpoints.list_checkpoints(model_dir)
    return listed[-1][0] if listed else -1


def test_twenty_random_interruptions_end_in_the_uninterrupted_weights(tmp_path):
    data_dir = str(tmp_path / "faces")
    synthetic_faces.prepare_synthetic_faces(data_dir, num_images=64, resolution=32, seed=0, num_workers=1)
    rng = random.Random(0)
    interrupted = str(tmp_path / "interrupted")
    log = []
    for cycle in range(CYCLES):
        before = _newest_step(interrupted)
        process = subprocess.Popen(_command(interrupted, data_dir, every_step=True), cwd=ROOT, env=_environment(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # Wait for progress past the previous launch, so the signal lands in training, not in start-up.
        while _newest_step(interrupted) <= before and process.poll() is None:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.0))
        assert process.poll() is None, f"cycle {cycle}: the run ended before its signal:\n{process.stderr.read()[-3000:]}"
        kind = rng.choice([signal.SIGTERM, signal.SIGKILL])
        process.send_signal(kind)
        _, stderr = process.communicate(timeout=300)
        expected = 75 if kind == signal.SIGTERM else -signal.SIGKILL
        assert process.returncode == expected, f"cycle {cycle}: {kind.name} gave {process.returncode}:\n{stderr[-3000:]}"
        log.append((kind.name, _newest_step(interrupted)))
    finished = subprocess.run(_command(interrupted, data_dir, every_step=True), cwd=ROOT, env=_environment(),
                              capture_output=True, text=True, timeout=1800)
    assert finished.returncode == 0, finished.stderr[-3000:]
    uninterrupted = str(tmp_path / "uninterrupted")
    straight = subprocess.run(_command(uninterrupted, data_dir, every_step=False), cwd=ROOT, env=_environment(),
                              capture_output=True, text=True, timeout=1800)
    assert straight.returncode == 0, straight.stderr[-3000:]

    expected, expected_state = checkpoints.load_checkpoint(checkpoints.latest_checkpoint(uninterrupted))
    resumed, resumed_state = checkpoints.load_checkpoint(checkpoints.latest_checkpoint(interrupted))
    assert resumed_state["step"] == expected_state["step"] and sorted(resumed) == sorted(expected)
    different = [name for name in expected if not np.array_equal(resumed[name], expected[name])]
    print(f"\nsoak: {len(log)} interruptions ({sum(k == 'SIGTERM' for k, _ in log)} SIGTERM, "
          f"{sum(k == 'SIGKILL' for k, _ in log)} SIGKILL) at checkpointed steps {[step for _, step in log]} "
          f"of {expected_state['step']}; {len(expected)} arrays compared, {len(different)} differ")
    assert not different, different[:10]
