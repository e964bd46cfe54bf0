import math

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import config as configs
from progressive_infogan import layers, losses, schedule


def _log_sigmoid(x):
    return -np.log1p(np.exp(-x))


def test_generator_loss_is_the_non_saturating_cross_entropy():
    logits = np.array([-2.0, 0.0, 0.5, 3.0], np.float32)
    expected = np.mean(-_log_sigmoid(logits))
    assert float(losses.generator_loss(tf.constant(logits))) == pytest.approx(expected, rel=1e-6)


def test_discriminator_loss_smooths_real_labels_to_0_875():
    real = np.array([1.0, 2.0, -0.5], np.float32)
    fake = np.array([-1.0, 0.3, 0.0], np.float32)
    real_term = np.mean(-(0.875 * _log_sigmoid(real) + 0.125 * _log_sigmoid(-real)))
    fake_term = np.mean(-_log_sigmoid(-fake))
    value = float(losses.discriminator_loss(tf.constant(real), tf.constant(fake), label_smoothing=0.25))
    assert value == pytest.approx(real_term + fake_term, rel=1e-6)
    unsmoothed = float(losses.discriminator_loss(tf.constant(real), tf.constant(fake), label_smoothing=0.0))
    assert unsmoothed == pytest.approx(np.mean(-_log_sigmoid(real)) + fake_term, rel=1e-6)


def _numpy_nll(code, mu):
    return np.mean(0.5 * (code - mu) ** 2, axis=0) + 0.5 * math.log(2 * math.pi)


@pytest.mark.parametrize("name, phase, active_count", [
    ("exp_vanilla", 3, 80), ("exp_condition", 3, 80), ("exp_gradual_loss", 3, 32), ("exp_unmask", 5, 64),
    ("exp_condition_4vars", 2, 20),
])
def test_mutual_information_penalty_is_the_weighted_mean_over_active_coordinates(name, phase, active_count):
    config = configs.preset(name)
    rng = np.random.default_rng(0)
    code = rng.normal(size=[6, config.model.code_size]).astype(np.float32)
    mu = rng.normal(size=code.shape).astype(np.float32) * 0.5
    mu[:, 48:] = 0.0  # coordinates whose heads do not exist yet predict 0
    active = schedule.mi_active_coordinates(config.model, config.schedule, phase)
    assert active.sum() == active_count
    expected = 10.0 * _numpy_nll(code, mu)[:active_count].sum() / active_count
    value = float(losses.mutual_information_penalty(code, mu, active, weight=10.0))
    assert value == pytest.approx(expected, rel=1e-5)


def test_untrained_q_head_penalty_matches_the_spec_sanity_value():
    code = np.random.default_rng(1).normal(size=[200_000, 1]).astype(np.float32)
    nll = float(losses.gaussian_nll_per_coordinate(code, np.zeros_like(code))[0])
    assert nll == pytest.approx(1.419, abs=0.01)  # 0.919 + 0.5 E[c^2]


def test_consistency_terms_pool_to_the_lower_block_and_scale_with_alpha_squared():
    rng = np.random.default_rng(2)
    rgb = {2: rng.uniform(-1, 1, [2, 4, 4, 3]), 3: rng.uniform(-1, 1, [2, 8, 8, 3]),
           4: rng.uniform(-1, 1, [2, 16, 16, 3])}
    up = lambda x, f: np.repeat(np.repeat(x, f, 1), f, 2)  # noqa: E731
    pool = lambda x, f: x.reshape(x.shape[0], x.shape[1] // f, f, x.shape[2] // f, f, 3).mean((2, 4))  # noqa: E731
    alpha = 0.3
    combined_2 = up(rgb[2], 4)
    combined_3 = up(rgb[3], 2)
    combined_4 = (1 - alpha) * combined_3 + alpha * rgb[4]
    images = [tf.constant(x, tf.float32) for x in (combined_2, combined_3, combined_4)]
    terms = {block: float(value) for block, value in losses.consistency_terms(images).items()}
    assert terms[3] == pytest.approx(np.mean((pool(rgb[3], 2) - rgb[2]) ** 2), rel=1e-5)
    assert terms[4] == pytest.approx(alpha ** 2 * np.mean((pool(rgb[4], 2) - rgb[3]) ** 2), rel=1e-4)
    composed = losses.ProgressiveInfoGANLoss(configs.preset("exp_consistency_300"))(
        real_logits=tf.zeros([2]), fake_logits=tf.zeros([2]), code=tf.zeros([2, 80]), mu=tf.zeros([2, 80]),
        block_images=images, mi_active=np.ones(80))
    total = float(composed.terms["loss/consistency"])
    assert total == pytest.approx(300.0 * (terms[3] + terms[4]), rel=1e-5)


def test_consistency_is_zero_for_a_generator_whose_blocks_agree():
    base = tf.random.uniform([2, 4, 4, 3], -1, 1)
    images = [layers.upscale2d(base, 4), layers.upscale2d(base, 4), layers.upscale2d(base, 4)]
    assert all(float(v) == 0.0 for v in losses.consistency_terms(images).values())


def test_the_loss_object_puts_mi_in_both_players_and_consistency_in_g_only():
    config = configs.preset("exp_consistency_30").replace(loss=dict(mi_weight=2.0, label_smoothing=0.5))
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=[5]).astype(np.float32), rng.normal(size=[5]).astype(np.float32)
    code, mu = rng.normal(size=[5, 80]).astype(np.float32), rng.normal(size=[5, 80]).astype(np.float32)
    low, high = rng.uniform(-1, 1, [5, 8, 8, 3]), rng.uniform(-1, 1, [5, 8, 8, 3])
    images = [tf.constant(x, tf.float32) for x in (low, high)]
    result = losses.ProgressiveInfoGANLoss(config)(real_logits=tf.constant(real), fake_logits=tf.constant(fake),
                                                   code=tf.constant(code), mu=tf.constant(mu), block_images=images,
                                                   mi_active=np.ones(80))
    mi = 2.0 * _numpy_nll(code, mu).mean()
    pool = lambda x: x.reshape(5, 4, 2, 4, 2, 3).mean((2, 4))  # noqa: E731
    consistency = 30.0 * np.mean((pool(high) - pool(low)) ** 2)
    g_gan = np.mean(-_log_sigmoid(fake))
    d_gan = np.mean(-(0.75 * _log_sigmoid(real) + 0.25 * _log_sigmoid(-real))) + np.mean(-_log_sigmoid(-fake))
    assert float(result.generator) == pytest.approx(g_gan + mi + consistency, rel=1e-5)
    assert float(result.discriminator) == pytest.approx(d_gan + mi, rel=1e-5)
    assert float(result.terms["consistency/block_3"]) == pytest.approx(consistency / 30.0, rel=1e-5)
    unweighted = losses.ProgressiveInfoGANLoss(config.replace(loss=dict(mi_weight=0.0, consistency_weight=0.0)))(
        real_logits=tf.constant(real), fake_logits=tf.constant(fake), code=tf.constant(code), mu=tf.constant(mu),
        block_images=images, mi_active=np.ones(80))
    assert float(unweighted.generator) == pytest.approx(g_gan, rel=1e-5)
    assert "consistency/block_3" not in unweighted.terms


# --- Code variables of every type (config.code_spec) ---------------------------------------

MIXED = configs.ExperimentConfig().replace(
    model=configs.code_spec({2: [configs.categorical(3), configs.uniform(), configs.bernoulli(2)],
                             3: [configs.normal(2)]}),
    loss=dict(discrete_mi_weight=1.0, mi_weight=0.5))


def _log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def test_categorical_and_bernoulli_nll_are_the_closed_forms():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=[6, 5]).astype(np.float32) * 2
    labels = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 6)]
    expected = -np.mean((_log_softmax(logits.astype(np.float64)) * labels).sum(-1))
    assert float(losses.categorical_nll(labels, logits)) == pytest.approx(expected, rel=1e-5)
    bits = rng.integers(0, 2, [6, 2]).astype(np.float32)
    bit_logits = rng.normal(size=[6, 2]).astype(np.float32)
    expected = -np.mean(bits * _log_sigmoid(bit_logits) + (1 - bits) * _log_sigmoid(-bit_logits), axis=0)
    np.testing.assert_allclose(losses.bernoulli_nll_per_coordinate(bits, bit_logits), expected, rtol=1e-5)


def test_an_untrained_q_head_gives_each_type_its_entropy_ceiling():
    """Q outputs 0 (a head not built yet): ln K for a categorical(K), ln 2 for a Bernoulli, so the
    bound H(c) - NLL is 0 for both."""
    layout = MIXED.model.code_layout
    code = np.concatenate([np.eye(3)[[0, 1, 2, 0]], np.zeros([4, 1]), [[0, 1], [1, 0], [1, 1], [0, 0]],
                           np.zeros([4, 2])], axis=1).astype(np.float32)
    nll = losses.nll_per_variable(layout, tf.constant(code), tf.zeros_like(code)).numpy()
    assert nll.shape == (len(layout.variables),) == (6,)
    np.testing.assert_allclose(nll[[0, 2, 3]], [math.log(3), math.log(2), math.log(2)], rtol=1e-6)
    np.testing.assert_allclose(nll[[1, 4, 5]], 0.5 * math.log(2 * math.pi), rtol=1e-6)  # c = mu = 0
    bounds = {name: float(value) for name, value in losses.bound_summaries(layout, tf.constant(nll)).items()}
    assert bounds["mi_bound/variable_00_categorical"] == pytest.approx(0.0, abs=1e-6)
    assert bounds["mi_bound/ceiling_00_categorical"] == pytest.approx(math.log(3))
    assert bounds["mi_bound/ceiling_02_bernoulli"] == pytest.approx(math.log(2))
    assert not any(name.startswith("mi_bound/ceiling_01") for name in bounds)  # continuous: no ceiling


def test_the_typed_penalty_weighs_each_type_and_averages_over_active_variables():
    config = MIXED
    layout = config.model.code_layout
    rng = np.random.default_rng(5)
    code = np.concatenate([np.eye(3)[rng.integers(0, 3, 8)], rng.uniform(-1, 1, [8, 1]),
                           rng.integers(0, 2, [8, 2]), rng.normal(size=[8, 2])], axis=1).astype(np.float32)
    q = rng.normal(size=code.shape).astype(np.float32)
    nll = losses.nll_per_variable(layout, tf.constant(code), tf.constant(q)).numpy()
    categorical = -np.mean((_log_softmax(q[:, :3].astype(np.float64)) * code[:, :3]).sum(-1))
    assert nll[0] == pytest.approx(categorical, rel=1e-5)
    np.testing.assert_allclose(nll[[1, 4, 5]], _numpy_nll(code[:, [3, 6, 7]], q[:, [3, 6, 7]]), rtol=1e-5)
    active = np.ones(8, np.float32)
    expected = (1.0 * (nll[0] + nll[2] + nll[3]) + 0.5 * (nll[1] + nll[4] + nll[5])) / 6
    value = losses.typed_mutual_information_penalty(layout, tf.constant(nll), active, 0.5, 1.0)
    assert float(value) == pytest.approx(expected, rel=1e-5)
    # Gradual MI without block 3: its two normal variables leave the sum and the count.
    active[6:] = 0
    expected = (1.0 * (nll[0] + nll[2] + nll[3]) + 0.5 * nll[1]) / 4
    value = losses.typed_mutual_information_penalty(layout, tf.constant(nll), active, 0.5, 1.0)
    assert float(value) == pytest.approx(expected, rel=1e-5)
    step = losses.ProgressiveInfoGANLoss(config)(real_logits=tf.zeros([8]), fake_logits=tf.zeros([8]),
                                                 code=tf.constant(code), mu=tf.constant(q), block_images=[],
                                                 mi_active=np.ones(8))
    assert float(step.terms["loss/mutual_information"]) == pytest.approx(
        (nll[0] + nll[2] + nll[3] + 0.5 * (nll[1] + nll[4] + nll[5])) / 6, rel=1e-5)


def test_for_a_continuous_code_the_typed_penalty_is_the_thesis_penalty():
    layout = configs.preset("exp_gradual_loss").model.code_layout
    rng = np.random.default_rng(6)
    code, mu = rng.normal(size=[5, 80]).astype(np.float32), rng.normal(size=[5, 80]).astype(np.float32)
    active = layout.mi_weights(3, True)
    nll = losses.nll_per_variable(layout, code, mu)
    np.testing.assert_array_equal(nll, losses.gaussian_nll_per_coordinate(code, mu))
    assert float(losses.typed_mutual_information_penalty(layout, nll, active, 10.0)) == pytest.approx(
        float(losses.mutual_information_penalty(code, mu, active, 10.0)), rel=1e-6)


def test_the_learned_sigma_nll_is_the_gaussian_closed_form():
    rng = np.random.default_rng(7)
    code, mu = rng.normal(size=[6, 3]).astype(np.float32), rng.normal(size=[6, 3]).astype(np.float32)
    log_sigma = rng.normal(size=[6, 3]).astype(np.float32)
    sigma = np.exp(log_sigma.astype(np.float64))
    expected = np.mean(0.5 * ((code - mu) / sigma) ** 2 + np.log(sigma) + 0.5 * math.log(2 * math.pi), axis=0)
    np.testing.assert_allclose(losses.gaussian_nll_learned_sigma_per_coordinate(code, mu, log_sigma), expected,
                               rtol=1e-5)
    np.testing.assert_allclose(losses.gaussian_nll_learned_sigma_per_coordinate(code, mu, np.zeros_like(mu)),
                               losses.gaussian_nll_per_coordinate(code, mu), rtol=1e-6)
    # In a mixed code the learned sigma scores the continuous variables only.
    layout = MIXED.model.code_layout
    mixed_code = np.concatenate([np.eye(3)[[0, 1, 2, 0, 1, 2]], code[:, :1], np.ones([6, 2]), code[:, 1:]], 1)
    q = np.concatenate([np.zeros([6, 3]), mu[:, :1], np.zeros([6, 2]), mu[:, 1:]], 1).astype(np.float32)
    spread = np.concatenate([np.full([6, 3], 9.0), log_sigma[:, :1], np.full([6, 2], 9.0), log_sigma[:, 1:]], 1)
    nll = losses.nll_per_variable(layout, tf.constant(mixed_code, tf.float32), tf.constant(q),
                                  tf.constant(spread, tf.float32)).numpy()
    np.testing.assert_allclose(nll[[1, 4, 5]], expected, rtol=1e-5)
    np.testing.assert_allclose(nll[[0, 2, 3]], [math.log(3), math.log(2), math.log(2)], rtol=1e-5)
