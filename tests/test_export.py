import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf
import keras

from progressive_infogan import checkpoints, export, loader
from explore_fixtures import make_run, small_config


def test_exported_generators_reproduce_the_checkpoints_ema_generator(tmp_path):
    run_dir = str(tmp_path / "run")
    make_run(run_dir, small_config("exp_condition"), phase=3)
    # Make the EMA shadows differ from the raw weights, so the test sees which ones are exported.
    path = checkpoints.latest_checkpoint(run_dir)
    arrays, state = checkpoints.load_checkpoint(path)
    arrays = {name: value * 0.9 if name.startswith(checkpoints.EMA_PREFIX) else value for name, value in arrays.items()}
    checkpoints.save_checkpoint(run_dir, state["step"], arrays, state)
    keras_path, saved_model_path = export.export_run(run_dir)
    run = checkpoints.load_run(run_dir)
    noise = tf.random.normal([3, run.config.model.noise_size])
    code = tf.random.normal([3, run.config.model.code_size])
    expected = run.generator(noise, code, alpha=run.alpha)[-1].numpy()
    assert expected.min() >= -1.0 and expected.max() <= 1.0
    raw = checkpoints.load_run(run_dir, use_ema=False).generator(noise, code, alpha=run.alpha)[-1].numpy()
    assert np.abs(raw - expected).max() > 1e-3

    reloaded = keras.saving.load_model(keras_path)
    np.testing.assert_allclose(reloaded(noise, code, alpha=run.alpha)[-1].numpy(), expected, atol=1e-6)

    serving = tf.saved_model.load(saved_model_path).signatures["serving_default"]
    outputs = serving(noise=noise, code=code)
    np.testing.assert_allclose(outputs["images"].numpy(), expected, atol=1e-6)
    assert sorted(outputs) == ["block_2", "block_3", "images"]


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Run in a fresh interpreter: the SavedModel with TensorFlow alone, then the Keras file with
# plain Keras (which cannot find this package's classes: Keras 3 imports no package outside
# Keras while loading), then after `import progressive_infogan`, then with its `load`.
FRESH_PROCESS = r"""
import sys
import numpy as np
import tensorflow as tf
import keras
keras_path, saved_model, latents, out = sys.argv[1:5]
with np.load(latents) as data:
    noise, code, alpha = data["noise"], data["code"], float(data["alpha"])
serving = tf.saved_model.load(saved_model).signatures["serving_default"]
results = {"saved_model": serving(noise=tf.constant(noise), code=tf.constant(code))["images"].numpy()}
assert "progressive_infogan" not in sys.modules
try:
    keras.saving.load_model(keras_path)
    plain = "loaded"
except TypeError as error:
    plain = str(error)
import progressive_infogan
results["keras"] = keras.saving.load_model(keras_path)(noise, code, alpha=alpha)[-1].numpy()
results["load"] = progressive_infogan.load(keras_path)(noise, code)
np.savez(out, plain=plain, **results)
"""


def test_the_exports_load_in_a_fresh_process(tmp_path):
    run_dir = str(tmp_path / "run")
    make_run(run_dir, small_config("exp_append_channels"), phase=3)
    path = checkpoints.latest_checkpoint(run_dir)
    arrays, state = checkpoints.load_checkpoint(path)
    checkpoints.save_checkpoint(run_dir, state["step"], arrays, dict(state, alpha=0.7))
    keras_path, saved_model_path = export.export_run(run_dir)
    run = checkpoints.load_run(run_dir)
    noise = np.random.default_rng(0).standard_normal([2, run.config.model.noise_size]).astype(np.float32)
    code = np.random.default_rng(1).standard_normal([2, run.config.model.code_size]).astype(np.float32)
    expected = run.generator(noise, code, alpha=run.alpha)[-1].numpy()
    np.savez(tmp_path / "latents.npz", noise=noise, code=code, alpha=run.alpha)
    # The package is importable (as when installed), but nothing imports it before Keras loads.
    result = subprocess.run([sys.executable, "-c", FRESH_PROCESS, keras_path, saved_model_path,
                             str(tmp_path / "latents.npz"), str(tmp_path / "out.npz")],
                            capture_output=True, text=True, cwd=str(tmp_path),
                            env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(tmp_path / "out.npz") as out:
        assert "Could not locate class 'Generator'" in str(out["plain"])
        for form in ("saved_model", "keras", "load"):
            np.testing.assert_allclose(out[form], expected, atol=1e-5, err_msg=form)


def test_the_export_command(tmp_path):
    run_dir = str(tmp_path / "run")
    make_run(run_dir, small_config("exp_condition"), phase=2, step=40)
    checkpoint = checkpoints.latest_checkpoint(run_dir)
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "progressive_infogan.export"]
    exported = subprocess.Popen(command + [f"--checkpoint={checkpoint}", f"--out={tmp_path / 'out'}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    missing = subprocess.Popen(command + [f"--checkpoint={tmp_path / 'nowhere'}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = exported.communicate(timeout=600)
    assert exported.returncode == 0, err[-3000:]
    assert out.split() == [str(tmp_path / "out" / "generator-000000040.keras"),
                           str(tmp_path / "out" / "saved_model-000000040")]
    metadata = json.loads((tmp_path / "out" / "generator-000000040.json").read_text())
    assert metadata["step"] == 40 and metadata["phase"] == 2 and metadata["experiment"] == "exp_condition"
    assert json.loads((tmp_path / "out" / "saved_model-000000040" / loader.SAVED_MODEL_METADATA).read_text()) \
        == metadata
    _, err = missing.communicate(timeout=600)
    assert missing.returncode == 2
    assert err.strip().splitlines() == [f"export.py: error: {tmp_path / 'nowhere'}: no such directory "
                                        "(a run directory or a checkpoint directory)"]
