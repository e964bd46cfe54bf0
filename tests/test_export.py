import numpy as np
import tensorflow as tf
import keras

from progressive_infogan import checkpoints, export
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
