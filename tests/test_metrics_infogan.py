import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import config as configs_module
from progressive_infogan import networks
from progressive_infogan.config import preset
from progressive_infogan.metrics.infogan import HALF_LOG_2PI, infogan_metrics, per_coordinate, thesis_batch_size

PHASE = 4  # 16x16x3 = 768 pixels, room for the 80-d code
CONDITION = preset("exp_condition").model


def _code_in_pixels_generator(seen_batch_sizes):
    """A stub G that writes the code into the first pixels: a side channel for a stub Q."""
    def generator(noise, code, alpha=1.0, training=False):
        seen_batch_sizes.append(int(noise.shape[0]))
        size = 2 ** PHASE
        flat = tf.pad(code, [[0, 0], [0, size * size * 3 - code.shape[1]]])
        return [tf.reshape(flat, [-1, size, size, 3])]
    return generator


def _perfect_q(images, alpha=1.0):
    flat = tf.reshape(images, [tf.shape(images)[0], -1])
    return tf.zeros([tf.shape(images)[0]]), flat[:, :CONDITION.code_size]


def _zero_q(images, alpha=1.0):
    return tf.zeros([tf.shape(images)[0]]), tf.zeros([tf.shape(images)[0], CONDITION.code_size])


def test_perfect_q_gives_zero_error_and_the_constant_penalty():
    seen = []
    scores = infogan_metrics(_code_in_pixels_generator(seen), _perfect_q, CONDITION, PHASE, 1.0,
                             num_batches=3, seed=1, progress=False)
    assert HALF_LOG_2PI == pytest.approx(0.9189385, abs=1e-7)
    assert np.all(per_coordinate(scores, "code_reconstruction_error") == 0.0)
    assert scores["code_reconstruction_error/overall"] == 0.0
    assert scores["infogan_penalty/overall"] == pytest.approx(0.9189385, abs=1e-6)
    assert scores["infogan_penalty/block_3"] == pytest.approx(0.9189385, abs=1e-6)
    assert seen == [thesis_batch_size(PHASE)] == [64]  # the thesis batch by default, traced once


def test_zero_mu_gives_the_untrained_head_reference_values():
    seen = []
    scores = infogan_metrics(_code_in_pixels_generator(seen), _zero_q, CONDITION, PHASE, 1.0,
                             num_batches=20, seed=2, progress=False)
    assert scores["code_reconstruction_error/overall"] == pytest.approx(math.sqrt(2 / math.pi), abs=0.01)
    assert scores["infogan_penalty/overall"] == pytest.approx(1.4189385, abs=0.01)
    errors = per_coordinate(scores, "code_reconstruction_error")
    assert errors.shape == (80,)
    np.testing.assert_allclose(errors, 0.798, atol=0.08)
    assert scores["infogan_penalty/block_2"] == pytest.approx(1.4189, abs=0.03)
    assert not math.isnan(scores["infogan_penalty/block_4"])


def test_seed_makes_it_reproducible_and_batches_are_fresh():
    def run(seed, num_batches=4):
        return infogan_metrics(_code_in_pixels_generator([]), _zero_q, CONDITION, PHASE, batch_size=8,
                               num_batches=num_batches, seed=seed, progress=False)
    first, again, other = run(3), run(3), run(4)
    assert first == again
    assert first["infogan_penalty/overall"] != other["infogan_penalty/overall"]
    # Batches differ: 4 batches are not one batch repeated 4 times.
    assert run(3, 1)["infogan_penalty/coord_00"] != first["infogan_penalty/coord_00"]


def test_real_networks_phase_3_keys_and_jensen_bound():
    model = dataclasses.replace(CONDITION, width_multiplier=1 / 16)
    generator = networks.build_generator(model, 3)
    discriminator = networks.build_discriminator(model, 3)
    scores = infogan_metrics(generator, discriminator, model, 3, 0.5, batch_size=8, num_batches=2, seed=0,
                             progress=False)
    blocks = sorted(key for key in scores if "/block_" in key)
    assert blocks == [f"{metric}/block_{b}" for metric in ("code_reconstruction_error", "infogan_penalty")
                      for b in (2, 3)]
    penalty, error = per_coordinate(scores, "infogan_penalty"), per_coordinate(scores, "code_reconstruction_error")
    assert np.all(np.isfinite(penalty)) and np.all(error > 0)
    # 0.5 E[d^2] >= 0.5 E[|d|]^2 per batch (Jensen), hence also for the batch means' mean.
    assert np.all(penalty - HALF_LOG_2PI >= 0.5 * error ** 2 - 1e-6)
    assert np.all(penalty >= HALF_LOG_2PI)
    # Heads of blocks 4..6 do not exist at phase 3: mu = 0 for their coordinates.
    assert np.all(error[32:] > 0.3)


def test_no_code_gives_nan():
    model = preset("exp_noinfo").model
    scores = infogan_metrics(lambda *a, **k: None, lambda *a, **k: None, model, 3, num_batches=5, progress=False)
    assert math.isnan(scores["infogan_penalty/overall"]) and math.isnan(scores["code_reconstruction_error/block_3"])


MIXED = configs_module.ModelConfig(**configs_module.code_spec(
    {2: [configs_module.categorical(4), configs_module.uniform()], 3: [configs_module.bernoulli(2)]}))


def _mixed_q(flip_bits=False):
    """Q that reads the code from the pixels: the category as a sharp logit, the bits as +-20 logits."""
    def q(images, alpha=1.0):
        code = tf.reshape(images, [tf.shape(images)[0], -1])[:, :MIXED.code_size]
        bits = code[:, 5:7] if not flip_bits else 1.0 - code[:, 5:7]
        return tf.zeros([tf.shape(images)[0]]), tf.concat([code[:, :4] * 50.0, code[:, 4:5], 40.0 * bits - 20.0], 1)
    return q


def test_a_perfect_q_of_a_mixed_code_reaches_every_ceiling():
    scores = infogan_metrics(_code_in_pixels_generator([]), _mixed_q(), MIXED, PHASE, batch_size=32,
                             num_batches=3, seed=1, progress=False)
    assert scores["code_accuracy/variable_00"] == scores["code_accuracy/categorical"] == 1.0
    assert scores["mi_bound/variable_00"] == pytest.approx(math.log(4), abs=1e-4)
    assert scores["mi_bound_ceiling/variable_00"] == pytest.approx(math.log(4))
    assert scores["mi_bound/bernoulli"] == pytest.approx(math.log(2), abs=1e-4)
    assert scores["code_accuracy/bernoulli"] == 1.0 and scores["code_reconstruction_error/bernoulli"] == 0.0
    assert scores["code_reconstruction_error/uniform"] == 0.0
    assert scores["infogan_penalty/uniform"] == pytest.approx(HALF_LOG_2PI, abs=1e-6)
    assert scores["mi_bound/uniform"] == pytest.approx(math.log(2) - HALF_LOG_2PI, abs=1e-6)
    assert "code_accuracy/uniform" not in scores and "mi_bound_ceiling/uniform" not in scores
    # The per-coordinate keys remain, each variable's value on the coordinates it spans.
    penalty = per_coordinate(scores, "infogan_penalty")
    assert penalty.shape == (7,) and np.all(penalty[:4] == penalty[0])


def test_a_wrong_q_of_a_mixed_code_scores_its_errors():
    wrong = infogan_metrics(_code_in_pixels_generator([]), _mixed_q(flip_bits=True), MIXED, PHASE, batch_size=32,
                            num_batches=2, seed=1, progress=False)
    assert wrong["code_accuracy/bernoulli"] == 0.0 and wrong["code_reconstruction_error/bernoulli"] == 1.0
    assert wrong["mi_bound/bernoulli"] < -10  # confidently wrong: far below 0
    zero = infogan_metrics(_code_in_pixels_generator([]), lambda images, alpha=1.0: (
        tf.zeros([tf.shape(images)[0]]), tf.zeros([tf.shape(images)[0], MIXED.code_size])), MIXED, PHASE,
        batch_size=32, num_batches=2, seed=1, progress=False)
    assert zero["mi_bound/categorical"] == pytest.approx(0.0, abs=1e-6)  # a uniform Q: NLL = ln K


def test_category_matching_finds_the_best_one_to_one_assignment():
    from progressive_infogan.metrics.category_matching import best_matching

    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 1])
    permuted = np.array([2, 0, 1])[labels]  # the code learned the classes in another order
    assert best_matching(permuted, labels, 3).accuracy == 1.0
    assert set(best_matching(permuted, labels, 3).pairs) == {(2, 0), (0, 1), (1, 2)}
    # One category for everything: only the largest class can be matched.
    assert best_matching(np.zeros(10, int), labels, 3).accuracy == pytest.approx(0.4)
    # Each category's majority label would give both categories label 0 (5/6); one-to-one matches
    # category 1 to label 1.
    assert best_matching(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 0, 0, 0, 1]), 2).accuracy == pytest.approx(4 / 6)
