"""The mistakes users make end in one line, `<command>: error: <message>`, exit status 2 and no traceback."""

import concurrent.futures
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from explore_fixtures import small_config
from progressive_infogan import tfrecord_writer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def places(tmp_path_factory, small_run_dir):
    """A run with a checkpoint, one without any, a directory that does not exist and an 8x8 dataset."""
    root = tmp_path_factory.mktemp("mistakes")
    no_checkpoint = root / "no_checkpoint"
    no_checkpoint.mkdir()
    (no_checkpoint / "config.json").write_text(small_config().to_json())
    small_data = root / "data_8px"
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    with tfrecord_writer.TFRecordSetWriter(str(small_data), 8, prefix="small") as writer:
        for image in images:
            writer.add_image(image)
        writer.finish()
    return {"run": small_run_dir, "no_checkpoint": str(no_checkpoint), "missing": str(root / "missing"),
            "data_8px": str(small_data), "out": str(root / "out"), "root": root}


def _mistakes(places):
    """(command, expected stderr lines): each a mistake and its message."""
    run, empty, missing, out = places["run"], places["no_checkpoint"], places["missing"], places["out"]
    evaluate = ["-m", "progressive_infogan.evaluate", "--metrics=infogan"]
    explore = ["-m", "progressive_infogan.explore.cli"]
    no_such = f"{missing}: no such directory (a run directory or a checkpoint directory)"
    resolution = "--resolution=100: resolution must be a power of two in [4, 1024], got 100"
    return {
        "evaluate, no such directory": (evaluate + [f"--run_dir={missing}"], [f"evaluate.py: error: {no_such}"]),
        "evaluate, no checkpoint": (evaluate + [f"--run_dir={empty}"], [f"evaluate.py: error: no checkpoint in {empty}"]),
        "evaluate, no such step": (evaluate + [f"--run_dir={run}", "--step=999"],
                                   [f"evaluate.py: error: no checkpoint at step 999 in {run}; have [100]"]),
        "explore, no such directory": (explore + ["traversal", f"--run_dir={missing}", f"--out={out}"],
                                       [f"cli.py: error: {no_such}"]),
        "explore, no checkpoint": (explore + ["blocks", f"--run_dir={empty}", f"--out={out}"],
                                   [f"cli.py: error: no checkpoint in {empty}"]),
        "explore, unknown coordinate": (explore + ["project", f"--run_dir={run}", f"--out={out}", "--edits=C99=2"],
                                        ["cli.py: error: --edits: C99 is not in this model's code (C0..C79)"]),
        "explore, malformed edit": (explore + ["project", f"--run_dir={missing}", f"--out={out}", "--edits=C19"],
                                    ["cli.py: error: --edits: 'C19' is not C<coordinate>=<value>, e.g. C19=2.5"]),
        "generate, no such path": (["-m", "progressive_infogan.generate", f"--source={missing}", f"--out={out}"],
                                   [f"generate.py: error: {missing}: no such file or directory"]),
        "generate, no checkpoint": (["-m", "progressive_infogan.generate", f"--source={empty}", f"--out={out}"],
                                    [f"generate.py: error: no checkpoint in {empty}"]),
        "export, no checkpoint": (["-m", "progressive_infogan.export", f"--checkpoint={empty}"],
                                  [f"export.py: error: no checkpoint in {empty}"]),
        "synthetic faces, resolution": (["data_prep/synthetic_faces.py", "--resolution=100", f"--out_dir={out}"],
                                        [f"synthetic_faces.py: error: {resolution}"]),
        "prepare dataset, resolution": (["data_prep/prepare_dataset.py", "--resolution=100", f"--input={missing}",
                                         f"--out_dir={out}"], [f"prepare_dataset.py: error: {resolution}"]),
        "orl faces, resolution": (["data_prep/orl_faces.py", "--resolution=100", f"--out_dir={out}"],
                                  [f"orl_faces.py: error: {resolution}"]),
        "dataset below the last phase": (
            ["experiments/exp_vanilla.py", "--size=smoke", "--stop_after=4", f"--data_dir={places['data_8px']}",
             f"--model_dir={places['root'] / 'small_data_run'}"],
            [f"exp_vanilla.py: error: {places['data_8px']} tops out at 8x8, but the run's last phase (phase 4) trains "
             "at 16x16: prepare the data at --resolution=16 or more, or stop earlier (--stop_after)"]),
    }


def _run(argv):
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("TF_CPP_MIN_LOG_LEVEL", "PINFOGAN_TF_LOGS")}
    process = subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=ROOT, timeout=600,
                             env={**environment, "PYTHONPATH": ROOT})
    return process.returncode, process.stdout, process.stderr


def test_each_mistake_is_one_line_without_a_traceback(places):
    mistakes = _mistakes(places)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(mistakes, pool.map(_run, [argv for argv, _ in mistakes.values()])))
    for name, (_, expected) in mistakes.items():
        code, _, err = results[name]
        assert (code, err.splitlines()) == (2, expected), (name, err[-3000:])
    # Refused at start: nothing written into the run directory.
    assert not os.path.exists(places["root"] / "small_data_run" / "config.json")
    assert not os.path.exists(places["out"])


def test_an_edit_by_figure_label_is_accepted(places, tmp_path):
    code, out, err = _run(["-m", "progressive_infogan.explore.cli", "project", f"--run_dir={places['run']}",
                           f"--out={tmp_path}", "--edits=C19=2;19=-2", "--projection_steps=2"])
    assert code == 0, err[-3000:]
    assert os.path.isfile(tmp_path / "photo_edits.png") and "reconstruction MSE" in out


def test_size_full_without_a_gpu_warns_in_one_line(places):
    code, _, err = _run(["experiments/exp_vanilla.py", "--size=full", f"--data_dir={places['missing']}",
                         f"--model_dir={places['root'] / 'full_run'}"])
    lines = err.splitlines()
    assert code == 2 and lines[-1] == f"exp_vanilla.py: error: dataset directory {places['missing']} does not exist"
    warnings = [line for line in lines if "--size=full" in line]
    if tf.config.list_physical_devices("GPU"):
        assert warnings == [] and len(lines) == 1, err
    else:
        assert len(warnings) == 1 and "no GPU" in warnings[0] and len(lines) == 2, err
