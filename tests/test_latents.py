import math
import types

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import config as configs
from progressive_infogan.latents import latents, with_coordinate_values
from progressive_infogan.metrics import common as metrics_common
from progressive_infogan.metrics import infogan

MODEL = configs.preset("exp_condition").model


def test_shapes_and_statelessness():
    noise, code = latents(MODEL, 3, 5, 4)
    assert noise.shape == (4, 64) and code.shape == (4, 80)
    assert noise.dtype == code.dtype == tf.float32
    again_noise, again_code = latents(MODEL, 3, 5, 4)
    np.testing.assert_array_equal(noise, again_noise)
    np.testing.assert_array_equal(code, again_code)
    for other in (latents(MODEL, 3, 6, 4), latents(MODEL, 4, 5, 4)):
        assert not np.array_equal(noise, other[0]) and not np.array_equal(code, other[1])
    # The code is its own stream, not the noise's next values.
    assert not np.isin(np.asarray(code), np.asarray(noise)).any()


def test_the_training_streams_are_pinned():
    """The derivation of the training sampler ((seed, step) for the noise, (seed, step + 2^40)
    for the code) and its values on TF 2.21's Philox: a change here changes every run."""
    noise, code = latents(MODEL, 0, 0, 2)
    np.testing.assert_array_equal(noise, tf.random.stateless_normal([2, 64], seed=[0, 0]))
    np.testing.assert_array_equal(code, tf.random.stateless_normal([2, 80], seed=[0, 1 << 40]))
    np.testing.assert_allclose(np.asarray(noise)[0, :3], [-1.697034, -0.4813767, -0.6622369], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(code)[0, :3], [0.21353082, -1.368415, -2.3655348], rtol=1e-6)
    noise, code = latents(MODEL, 7, -1, 16)  # seed 7's fixed sample grid
    np.testing.assert_allclose([noise[15, -1], code[3, 5]], [0.588009, -1.5965518], rtol=1e-6)


def test_inside_a_tf_function_with_tensor_arguments():
    sample = tf.function(lambda seed, index: latents(MODEL, seed, index, 3))
    noise, code = sample(tf.constant(2, tf.int64), tf.constant(9, tf.int64))
    expected_noise, expected_code = latents(MODEL, 2, 9, 3)
    np.testing.assert_array_equal(noise, expected_noise)
    np.testing.assert_array_equal(code, expected_code)


def test_no_code():
    noise, code = latents(configs.preset("exp_noinfo").model, 0, 0, 5)
    assert noise.shape == (5, 64) and code.shape == (5, 0)


def test_traversal_changes_only_the_chosen_coordinate():
    noise, code = latents(MODEL, 3, 0, 2)
    swept_noise, swept_code = with_coordinate_values(noise, code, 5, [-1.0, 2.0])
    np.testing.assert_array_equal(swept_code[:, 5], [-1, 2, -1, 2])
    np.testing.assert_array_equal(np.delete(swept_code, 5, axis=1), np.repeat(np.delete(code, 5, axis=1), 2, axis=0))
    np.testing.assert_array_equal(swept_noise, np.repeat(noise, 2, axis=0))


def _echo_generator(noise, code, alpha=1.0, training=False):
    # One "image" per sample that holds its (noise, code) as pixels.
    return [tf.concat([tf.convert_to_tensor(noise), tf.convert_to_tensor(code)], axis=-1)]


def test_metrics_draw_batch_i_as_latents_of_index_i():
    run = types.SimpleNamespace(config=configs.preset("exp_condition"), generator=_echo_generator, alpha=1.0)
    batches = metrics_common.generated_batches(run, 4, seed=11)
    for index in range(3):
        np.testing.assert_array_equal(next(batches), tf.concat(latents(MODEL, 11, index, 4), axis=-1))


def test_infogan_metrics_score_the_samplers_codes():
    # Q predicts 0: the penalty of coordinate i is mean over batches of 0.5 mean(c_i^2) + 0.5 ln(2 pi).
    def zero_q(images, alpha=1.0):
        return tf.zeros([tf.shape(images)[0]]), tf.zeros([tf.shape(images)[0], MODEL.code_size])

    scores = infogan.infogan_metrics(_echo_generator, zero_q, MODEL, phase=3, batch_size=4, num_batches=2, seed=5,
                                     progress=False)
    codes = np.stack([np.asarray(latents(MODEL, 5, index, 4)[1], np.float64) for index in range(2)])
    expected = (0.5 * codes ** 2).mean(axis=1).mean(axis=0) + 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(infogan.per_coordinate(scores, "infogan_penalty"), expected, rtol=1e-5)
    np.testing.assert_allclose(infogan.per_coordinate(scores, "code_reconstruction_error"),
                               np.abs(codes).mean(axis=1).mean(axis=0), rtol=1e-5)


@pytest.mark.parametrize("seed", [0, 4])
def test_exploration_samples_are_index_0_of_their_seed(small_run, seed):
    from progressive_infogan.explore import common, traversal

    result = traversal.traversal(small_run.generator, small_run.config.model, [20], num_samples=2, steps=3, seed=seed)
    noise, code = latents(small_run.config.model, seed, 0, 2)
    middle = common.generate(small_run.generator, *with_coordinate_values(noise, code, 20, [0.0]))
    # The traversal's batch holds other columns beside this one: kernels round by batch position (2.6e-6 seen on a
    # CPU without AVX-512). Another seed or index would differ by more than 1e-2.
    np.testing.assert_allclose(result.images[0, :, 1], middle, atol=1e-5)


MIXED_MODEL = configs.ModelConfig(**configs.code_spec({2: [configs.normal(2), configs.categorical(4), configs.uniform(3)],
                                                       3: [configs.bernoulli(2), configs.normal(1)]}))


def test_each_code_type_is_drawn_from_its_distribution():
    noise, code = map(np.asarray, latents(MIXED_MODEL, 1, 3, 4000))
    assert code.shape == (4000, 12)
    thesis_noise, thesis_normal = latents(configs.ModelConfig(code_sizes=((2, 12),)), 1, 3, 4000)
    np.testing.assert_array_equal(noise, thesis_noise)
    # N(0, 1) coordinates keep the thesis stream's values, whatever the other variables are.
    np.testing.assert_array_equal(code[:, [0, 1, 11]], np.asarray(thesis_normal)[:, [0, 1, 11]])
    one_hot = code[:, 2:6]
    assert set(np.unique(one_hot)) == {0.0, 1.0} and (one_hot.sum(1) == 1).all()
    np.testing.assert_allclose(one_hot.mean(0), 0.25, atol=0.03)
    uniform = code[:, 6:9]
    assert uniform.min() >= -1 and uniform.max() <= 1
    np.testing.assert_allclose(uniform.mean(0), 0, atol=0.05)
    np.testing.assert_allclose(uniform.var(0), 1 / 3, atol=0.03)
    bits = code[:, 9:11]
    assert set(np.unique(bits)) == {0.0, 1.0}
    np.testing.assert_allclose(bits.mean(0), 0.5, atol=0.03)
    # The categorical draw is not a function of the other coordinates' draws.
    assert abs(np.corrcoef(one_hot.argmax(1), uniform[:, 0])[0, 1]) < 0.05


def test_a_categorical_variable_is_edited_as_a_whole_one_hot_vector():
    from progressive_infogan.latents import traversal_values, with_variable_values

    noise, code = map(np.asarray, latents(MIXED_MODEL, 0, 0, 2))
    np.testing.assert_array_equal(traversal_values(MIXED_MODEL, 4), [0, 1, 2, 3])
    np.testing.assert_array_equal(traversal_values(MIXED_MODEL, 9), [0, 1])
    np.testing.assert_allclose(traversal_values(MIXED_MODEL, 7, steps=3, amplitude=1.0), [-1, 0, 1])
    swept_noise, swept = with_variable_values(MIXED_MODEL, noise, code, 4, [3, 0])
    np.testing.assert_array_equal(swept[:, 2:6], [[0, 0, 0, 1], [1, 0, 0, 0]] * 2)
    np.testing.assert_array_equal(np.delete(swept, range(2, 6), 1), np.repeat(np.delete(code, range(2, 6), 1), 2, 0))
    np.testing.assert_array_equal(swept_noise, np.repeat(noise, 2, axis=0))


def test_q_outputs_as_code_values():
    from progressive_infogan.latents import code_of_q

    q = np.array([[0.3, -0.2, 1.0, 3.0, 2.0, -1.0, 0.5, 0.1, 0.2, -0.4, 0.0, 0.7]], np.float32)
    thesis = configs.ModelConfig(code_sizes=((2, 12),))
    assert code_of_q(thesis, q) is q and code_of_q(thesis, q, most_likely=True) is q  # the thesis's code: untouched
    probabilities = np.asarray(code_of_q(MIXED_MODEL, q))
    np.testing.assert_allclose(probabilities[0, 2:6], np.exp(q[0, 2:6]) / np.exp(q[0, 2:6]).sum(), rtol=1e-6)
    np.testing.assert_allclose(probabilities[0, 9:11], 1 / (1 + np.exp(-q[0, 9:11])), rtol=1e-6)
    np.testing.assert_array_equal(probabilities[0, [0, 1, 6, 7, 8, 11]], q[0, [0, 1, 6, 7, 8, 11]])
    likeliest = np.asarray(code_of_q(MIXED_MODEL, q, most_likely=True))
    np.testing.assert_array_equal(likeliest[0, 2:11], np.float32([0, 1, 0, 0, 0.5, 0.1, 0.2, 0, 0]))
