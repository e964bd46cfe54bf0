"""Naming code coordinates after ground-truth factors (explore/factors.py + summary)."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from explore_fixtures import small_config
from progressive_infogan import config as configs
from progressive_infogan import data, rundir, synthetic_faces
from progressive_infogan.explore import factors, summary

RESOLUTION = 16  # the model's; the records go one level up (original preprocessing)
DRIVEN_FACTOR = "head_x"
TINY = factors.TrainingSettings(num_images=256, epochs=15, batch_size=32, width=8, learning_rate=3e-3)


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("faces"))
    synthetic_faces.prepare_synthetic_faces(out, num_images=256, resolution=2 * RESOLUTION, supersample=2,
                                            num_workers=1)
    return out


def fake_run_dir(root, data_dir, phase=4):
    """A run directory with only what factor_predictor_for_run reads: run options and a checkpoint state."""
    os.makedirs(os.path.join(root, "checkpoints", "ckpt-000000001"))
    with open(os.path.join(root, "checkpoints", "ckpt-000000001", "state.json"), "w") as handle:
        json.dump({"step": 1, "phase": phase, "alpha": 1.0}, handle)
    rundir.write_run_options(root, configs.RunOptions(model_dir=root, data_dir=data_dir))
    return root


class FaceGenerator:
    """Draws synthetic faces: the noise picks the factors, code[:, 0] drives `DRIVEN_FACTOR`
    over its range, code[:, 1] the iris hue, and the other code coordinates do nothing.
    Faces are drawn at 2x and preprocessed as the data pipeline does."""

    def __call__(self, noise, code, alpha=1.0, training=False):
        noise, code = np.asarray(noise), np.asarray(code)
        low, high = synthetic_faces.FACTOR_RANGES[:, 0], synthetic_faces.FACTOR_RANGES[:, 1]
        uniform = 0.5 * (1 + np.tanh(noise[:, :synthetic_faces.NUM_FACTORS]))
        vectors = low + (high - low) * uniform
        names = synthetic_faces.FACTOR_NAMES
        for coordinate, name in ((0, DRIVEN_FACTOR), (1, "iris_hue")):
            index = names.index(name)
            vectors[:, index] = low[index] + (high[index] - low[index]) * (0.5 + code[:, coordinate] / 6.0).clip(0, 1)
        faces = np.stack([synthetic_faces.draw_face(v, 2 * RESOLUTION, supersample=2) for v in vectors])
        return [data.original_preprocess(tf.constant(faces), 2 * RESOLUTION, RESOLUTION).numpy()]


def test_r2_scores():
    targets = np.stack([np.arange(10.0), np.arange(10.0)], 1)
    assert factors.r2_scores(targets, targets) == pytest.approx([1, 1])
    assert factors.r2_scores(targets, np.full_like(targets, 4.5)) == pytest.approx([0, 0])


def test_name_coordinates_skips_unreadable_factors():
    correlations = np.array([[0.9, 0.5], [0.1, 0.2], [0.1, -0.6]])
    assert summary.name_coordinates(correlations, ["a", "b"]) == [("a", 0.9), (None, 0.2), ("b", -0.6)]
    named = summary.name_coordinates(correlations, ["a", "b"], factor_r2=[0.1, 0.9])
    assert named == [("b", 0.5), (None, 0.2), ("b", -0.6)]
    assert summary.name_coordinates(correlations, ["a", "b"], factor_r2=[0.1, 0.1])[0] == (None, 0.0)
    # A consistent but faint effect (small swing) does not name a coordinate.
    swings = np.array([[0.05, 1.0], [1.0, 1.0], [1.0, 0.1]])
    named = summary.name_coordinates(correlations, ["a", "b"], swings=swings, min_swing=0.25)
    assert named == [("b", 0.5), (None, 0.2), (None, 0.1)]


def test_no_factors_gives_none(tmp_path, capsys):
    empty = tmp_path / "data"
    empty.mkdir()
    run_dir = fake_run_dir(str(tmp_path / "run"), str(empty))
    assert factors.factor_predictor_for_run(run_dir, cache_dir=str(tmp_path / "cache")) is None
    assert "no factors.npz" in capsys.readouterr().out


def test_summary_names_the_driven_coordinate(faces_dir, tmp_path):
    run_dir = fake_run_dir(str(tmp_path / "run"), os.path.relpath(faces_dir))
    cache = str(tmp_path / "cache")
    predictor, names, r2 = factors.factor_predictor_for_run(run_dir, settings=TINY, cache_dir=cache)
    assert names == list(synthetic_faces.FACTOR_NAMES) and r2.shape == (synthetic_faces.NUM_FACTORS,)
    assert r2[names.index(DRIVEN_FACTOR)] > 0.5
    assert r2[names.index("iris_hue")] < 0.5  # a 16 px iris is about one pixel
    assert len(os.listdir(cache)) == 1
    cached = factors.factor_predictor_for_run(run_dir, settings=TINY, cache_dir=cache)
    assert np.allclose(cached.r2_per_factor, r2)
    images = next(iter(data.make_dataset(faces_dir, 4, 8, shuffle_buffer=0, repeat=False))).numpy()
    assert np.allclose(cached.predictor(images), predictor(images), atol=1e-5)

    model_config = small_config().model
    result = summary.write_feature_summary(str(tmp_path / "summary"), FaceGenerator(), model_config, [0, 1, 2],
                                           num_samples=6, factor_predictor=predictor, factor_names=names,
                                           factor_r2=r2, factor_scales=predictor.factor_scales)
    by_coordinate = {f.coordinate: f for f in result.features}
    assert by_coordinate[0].factor == DRIVEN_FACTOR and by_coordinate[0].factor_correlation > 0.8
    assert by_coordinate[0].factor_swing > 1.0  # head_x over most of its range: several sd
    assert by_coordinate[1].factor != "iris_hue"  # unreadable: never a name
    assert by_coordinate[2].kind == "none" and by_coordinate[2].factor is None and by_coordinate[2].factor_text == ""
    markdown = (tmp_path / "summary" / "summary.md").read_text()
    assert f"correlates most with {DRIVEN_FACTOR} (r=+" in markdown
    assert "iris_hue: " in markdown and "never used as a name" in markdown


def test_summary_cli_names_factors(faces_dir, tmp_path, monkeypatch):
    from absl import flags

    from explore_fixtures import make_run
    from progressive_infogan.explore import cli

    monkeypatch.setenv("PROGRESSIVE_INFOGAN_CACHE", str(tmp_path / "cache"))
    run_dir = make_run(str(tmp_path / "run"), small_config())
    rundir.write_run_options(run_dir, configs.RunOptions(model_dir=run_dir, data_dir=faces_dir))
    out = tmp_path / "out"
    flag_values = flags.FlagValues()
    cli.define_flags(flag_values)
    remaining = flag_values(["cli", "summary", f"--run_dir={run_dir}", f"--out={out}", "--coordinates=0,20",
                             "--num_samples=2", "--name_factors=on", "--factor_images=128"])
    cli.main(remaining, flag_values)
    markdown = (out / "summary.md").read_text()
    assert "Held-out R^2 of the regressor per factor:" in markdown and "- head_x: " in markdown
    assert len(os.listdir(tmp_path / "cache" / factors.CACHE_SUBDIRECTORY)) == 1
