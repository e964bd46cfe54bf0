import os

import numpy as np
import pytest

import progressive_infogan
from progressive_infogan import checkpoints, export, loader
from explore_fixtures import make_run, small_config


@pytest.fixture(scope="module")
def exported_run(tmp_path_factory):
    """A phase-3 run caught mid-fade (alpha 0.4), with its newest checkpoint exported."""
    run_dir = str(tmp_path_factory.mktemp("loader") / "run")
    make_run(run_dir, small_config("exp_condition"), phase=3, step=100)
    path = checkpoints.latest_checkpoint(run_dir)
    arrays, state = checkpoints.load_checkpoint(path)
    checkpoints.save_checkpoint(run_dir, 200, arrays, dict(state, alpha=0.4))
    keras_path, saved_model = export.export_run(run_dir)
    return run_dir, keras_path, saved_model


def _latents(generator, count=3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal([count, generator.noise_size]).astype(np.float32),
            rng.standard_normal([count, generator.code_size]).astype(np.float32))


def test_every_form_gives_the_checkpoints_ema_images(exported_run):
    run_dir, keras_path, saved_model = exported_run
    run = checkpoints.load_run(run_dir)
    assert run.alpha == pytest.approx(0.4)
    noise, code = _latents(progressive_infogan.load(run_dir))
    expected = run.generator(noise, code, alpha=run.alpha)[-1].numpy()
    forms = {"run": run_dir, "checkpoint": run.checkpoint, "keras": keras_path, "saved_model": saved_model}
    for kind, path in forms.items():
        generator = progressive_infogan.load(path)
        assert generator.kind == kind
        assert (generator.noise_size, generator.code_size, generator.resolution) == (64, 80, 8)
        assert (generator.step, generator.phase, generator.experiment) == (200, 3, "exp_condition"), kind
        assert generator.alpha == pytest.approx(0.4), kind
        assert generator.model_config == run.config.model, kind
        images = generator(noise, code, batch_size=2)
        assert images.shape == (3, 8, 8, 3) and images.dtype == np.float32
        np.testing.assert_allclose(images, expected, atol=1e-5, err_msg=kind)
        assert "exp_condition" in generator.describe() and "alpha 0.400" in generator.describe()


def test_an_older_step_of_a_run(exported_run):
    run_dir, _, _ = exported_run
    generator = progressive_infogan.load(run_dir, step=100)
    assert generator.step == 100 and generator.alpha == 1.0


def test_what_cannot_be_loaded_is_named(exported_run, tmp_path):
    run_dir, keras_path, _ = exported_run
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        loader.load(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="not a run directory: no config.json"):
        loader.load(str(tmp_path))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="not a run directory, a checkpoint, a .keras file or a SavedModel"):
        loader.load(str(tmp_path / "notes.txt"))
    with pytest.raises(ValueError, match="step=5 applies only to run directories"):
        loader.load(keras_path, step=5)
    with pytest.raises(FileNotFoundError, match="no checkpoint at step 7"):
        loader.load(run_dir, step=7)


def test_a_keras_file_without_its_sidecar_renders_at_alpha_1(exported_run, tmp_path, caplog):
    _, keras_path, _ = exported_run
    lone = str(tmp_path / "lone.keras")
    with open(keras_path, "rb") as source, open(lone, "wb") as target:
        target.write(source.read())
    generator = loader.load(lone)
    assert generator.alpha == 1.0 and generator.step is None and generator.phase == 3
    assert "lone.json" in caplog.text
    assert not os.path.exists(loader.keras_metadata_path(lone))


def test_a_noinfo_export_takes_an_empty_code(tmp_path):
    """exp_noinfo's generator has no code: its forms still take (noise, code [N, 0])."""
    run_dir = make_run(str(tmp_path / "run"), small_config("exp_noinfo"), phase=2)
    _, saved_model = export.export_run(run_dir)
    generator = loader.load(saved_model)
    assert generator.code_size == 0
    images = generator(np.zeros([2, generator.noise_size], np.float32), np.zeros([2, 0], np.float32))
    np.testing.assert_allclose(images, loader.load(run_dir)(np.zeros([2, 64]), np.zeros([2, 0])), atol=1e-5)
