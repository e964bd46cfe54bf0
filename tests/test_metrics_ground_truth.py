"""The encoder and generative views of a checkpoint (metrics/ground_truth.py), through
`evaluate` on a tiny checkpoint and a tiny synthetic-faces set."""

import json
import math
import os

import numpy as np
import pytest

from explore_fixtures import make_run, small_config
from progressive_infogan import checkpoints, data, evaluate, rundir, synthetic_faces
from progressive_infogan import config as configs
from progressive_infogan.latents import latents
from progressive_infogan.metrics import ground_truth, scale_alignment

PHASE = 3  # 8 px; the original preprocessing reads the 16 px records
NAMES = list(synthetic_faces.FACTOR_NAMES)


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("faces"))
    synthetic_faces.prepare_synthetic_faces(out, num_images=64, resolution=16, supersample=2, num_workers=1)
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, faces_dir):
    directory = make_run(str(tmp_path_factory.mktemp("gt_run")), small_config(), phase=PHASE)
    rundir.write_run_options(directory, configs.RunOptions(model_dir=directory, data_dir=faces_dir))
    return directory


def test_evaluate_scores_a_tiny_checkpoint(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PROGRESSIVE_INFOGAN_CACHE", str(tmp_path / "cache"))
    line = evaluate.evaluate(run_dir, ["disentanglement"], protocol="smoke")
    scores = line["metrics"]
    for name in ("mig", "dci_disentanglement", "dci_completeness", "sap", "modularity"):
        assert 0.0 <= scores[f"{name}/encoder"] <= 1.0, name
    assert -1.0 <= scores["scale_alignment/encoder"] <= 1.0
    assert scores["scale_alignment_null_low/encoder"] <= scores["scale_alignment_null_high/encoder"]
    assert 0.0 < scores["scale_alignment_p_value/encoder"] <= 1.0
    # A phase-3 Q has no heads for blocks 4..6: those coordinates are constant 0 and carry nothing.
    for name in NAMES:
        row = [scores[f"scale_alignment_matrix/encoder/{name}/block_{b}"] for b in range(2, 7)]
        if row[0] is not None:
            assert row[2:] == [0.0, 0.0, 0.0] and sum(row) == pytest.approx(1.0)
    # The generative view leaves out every factor the (smoke-sized) predictor cannot read.
    r2 = np.array([scores[f"factor_predictor_r2/{name}"] for name in NAMES])
    assert scores["factor_predictor_num_readable"] == np.sum(r2 >= 0.5)
    for name, value in zip(NAMES, r2):
        assert (f"mig/generative/{name}" in scores) == (value >= 0.5)
    with open(os.path.join(run_dir, "metrics.jsonl")) as handle:
        assert json.loads(handle.readlines()[-1])["metrics"] == scores


def test_encoder_view_is_q_on_the_first_images_in_record_order(run_dir, faces_dir):
    run = checkpoints.load_run(run_dir)
    codes, factors, names = ground_truth.encoder_view(run, faces_dir, "original", 10, batch_size=4)
    images = next(iter(data.make_dataset(faces_dir, PHASE, 10, shuffle_buffer=0, repeat=False))).numpy()
    # Batch by batch as the view runs them (float32 results depend a little on the batch).
    expected = np.concatenate([run.discriminator(images[start:start + 4], alpha=run.alpha)[1] for start in (0, 4, 8)])
    assert codes == pytest.approx(expected, abs=1e-5)
    assert names == NAMES and np.array_equal(factors, data.read_factors(faces_dir)["factors"][:10])
    assert np.all(codes[:, 32:] == 0)  # blocks 4..6: no Q head at phase 3


def test_the_encoder_view_reads_a_discrete_variable_as_q_probabilities(faces_dir):
    from types import SimpleNamespace

    from explore_fixtures import BERNOULLI, NORMAL, mixed_model

    def discriminator(images, alpha=1.0):  # Q's outputs: a different multiple of each image's mean
        return None, np.asarray(images).mean(axis=(1, 2, 3))[:, None] * np.arange(1.0, 9.0) * 4.0

    run = SimpleNamespace(phase=PHASE, alpha=1.0, discriminator=discriminator,
                          config=SimpleNamespace(model=mixed_model()))
    codes, _, _ = ground_truth.encoder_view(run, faces_dir, "original", 6, batch_size=4)
    images = next(iter(data.make_dataset(faces_dir, PHASE, 6, shuffle_buffer=0, repeat=False))).numpy()
    q = discriminator(images)[1]
    # The categorical variable: its logits' softmax probabilities; the Bernoulli: its sigmoid; the rest as Q says.
    logits = q[:, :3]
    softmax = np.exp(logits - logits.max(1, keepdims=True))
    assert codes[:, :3] == pytest.approx(softmax / softmax.sum(1, keepdims=True), abs=1e-5)
    assert codes[:, BERNOULLI] == pytest.approx(1 / (1 + np.exp(-q[:, BERNOULLI])), abs=1e-5)
    assert codes[:, NORMAL:] == pytest.approx(q[:, NORMAL:], abs=1e-5)


def test_generative_view_pairs_the_sampled_codes_with_the_read_factors(run_dir):
    run = checkpoints.load_run(run_dir)
    seen = []

    def predictor(images):  # reads "factors" off the images: the mean of each colour channel
        seen.append(images.shape)
        return images.mean(axis=(1, 2))

    codes, factors = ground_truth.generative_view(run, predictor, 10, seed=3, batch_size=4)
    assert codes.shape == (10, run.config.model.code_size) and factors.shape == (10, 3)
    assert seen == [(4, 8, 8, 3)] * 3
    noise, code = latents(run.config.model, 3, 0, 4)
    assert codes[:4] == pytest.approx(np.asarray(code))
    image = run.generator(noise, code, alpha=run.alpha, training=False)[-1]
    assert factors[:4] == pytest.approx(np.asarray(image).mean(axis=(1, 2)), abs=1e-5)
    again, _ = ground_truth.generative_view(run, predictor, 10, seed=3, batch_size=4)
    assert np.array_equal(codes, again)


def test_view_scores_of_a_block_aligned_code(tmp_path):
    # Each factor written into a coordinate of the block of its scale (coarse: block 2, ...,
    # finest: block 5), every other coordinate noise: near-perfect scores and alignment.
    model = configs.preset("exp_condition").model
    blocks, _ = scale_alignment.coordinate_blocks(model)
    rng = np.random.default_rng(0)
    factors = rng.uniform(size=(600, len(NAMES)))
    codes = rng.normal(size=(600, model.code_size))
    for j, rank in enumerate(scale_alignment.scale_ranks_of(NAMES).astype(int)):
        codes[:, np.flatnonzero(blocks == 2 + rank)[j]] = factors[:, j]
    scores, raw = ground_truth.view_scores("encoder", codes, factors, NAMES, blocks, 0, n_jobs=2,
                                           num_permutations=2000, explicitness=False)
    assert scores["dci_disentanglement/encoder"] > 0.9 and scores["mig/encoder"] > 0.5
    assert scores["scale_alignment/encoder"] > 0.8 and scores["scale_alignment_p_value/encoder"] < 0.01
    assert scores["scale_alignment_mean_block/encoder/head_x"] == pytest.approx(2.0, abs=0.05)
    assert scores["scale_alignment_mean_block/encoder/eyelid"] == pytest.approx(5.0, abs=0.05)
    assert "explicitness_test/encoder" not in scores and raw["importance"].shape == (80, 16)

    path = ground_truth.heatmap_from_scores(scores, "encoder", str(tmp_path / "map.png"), title="aligned")
    assert path and os.path.getsize(path) > 0
    assert ground_truth.heatmap_from_scores(scores, "generative", str(tmp_path / "none.png")) is None


class ColourPredictor:
    """Stands in for the factor predictor: "reads" the first three factors as the mean of each
    colour channel (held-out R^2 0.9) and the others not at all (R^2 0.1)."""

    factor_names = NAMES
    r2 = np.array([0.9] * 3 + [0.1] * (len(NAMES) - 3), np.float32)

    def __call__(self, images):
        means = np.asarray(images).mean(axis=(1, 2))
        return np.concatenate([means, np.zeros([len(images), len(NAMES) - 3])], axis=1)


def test_the_generative_view_keeps_only_the_readable_factors(run_dir, monkeypatch, capsys):
    from progressive_infogan.explore import factors

    monkeypatch.setattr(factors, "cached_factor_predictor", lambda *args, **kwargs: ColourPredictor())
    settings = ground_truth.GroundTruthSettings(num_images=60, num_permutations=50, n_jobs=1)
    scores, raws = ground_truth.ground_truth_scores(checkpoints.load_run(run_dir), settings, views=["generative"])
    assert raws["generative"]["factor_names"] == NAMES[:3]
    assert raws["generative"]["excluded_factors"] == NAMES[3:]
    assert "leaving out factors" in capsys.readouterr().out
    assert scores["factor_predictor_num_readable"] == 3.0
    assert scores["factor_predictor_r2/eyelid"] == pytest.approx(0.1)
    assert {key.split("/")[2] for key in scores if key.startswith("mig/generative/")} == set(NAMES[:3])
    assert 0.0 <= scores["mig/generative"] <= 1.0 and not any("/encoder" in key for key in scores)
    # Three coarse factors share one scale rank: no order to correlate with.
    assert math.isnan(scores["scale_alignment/generative"])


def test_a_model_without_code_or_data_without_factors(tmp_path):
    noinfo = make_run(str(tmp_path / "noinfo"), small_config("exp_noinfo"), phase=2)
    assert ground_truth.ground_truth_scores(checkpoints.load_run(noinfo)) == ({}, {})
    run = checkpoints.load_run(make_run(str(tmp_path / "run"), small_config(), phase=2))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="ground-truth factors"):
        ground_truth.ground_truth_scores(run, data_dir=str(empty))
    assert math.isfinite(ground_truth.predictor_settings("smoke").epochs)
    with pytest.raises(ValueError, match="unknown factor predictor"):
        ground_truth.predictor_settings("huge")
