"""The players' Adam (adam.py): TF1's AdamOptimizer update, fused or op by op."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import adam
from progressive_infogan import config as configs

# A large epsilon and beta_1 > 0, so that where epsilon goes and the first-moment bias
# correction both change the result well beyond float error.
OPTIMIZER = configs.OptimizerConfig(beta_1=0.5, beta_2=0.9, epsilon=0.05)
LEARNING_RATE, STEPS = 0.1, 4


def _tf1_adam(weights, gradients, epsilon_hat=True):
    """TF1 AdamOptimizer in numpy: epsilon after the bias correction folded into the step size
    (`epsilon_hat`), or, as Kingma & Ba's Algorithm 1, added to sqrt of the corrected v."""
    b1, b2, eps = OPTIMIZER.beta_1, OPTIMIZER.beta_2, OPTIMIZER.epsilon
    w, m, v = weights.astype(np.float64), 0.0, 0.0
    for t, g in enumerate(gradients, start=1):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        if epsilon_hat:
            w = w - LEARNING_RATE * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
        else:
            w = w - LEARNING_RATE * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return w


def _run(fused, weights, gradients):
    optimizer = adam.make_adam(LEARNING_RATE, OPTIMIZER, "float32", fused=fused)
    variable = keras.Variable(weights, name="w")
    optimizer.build([variable])
    step = tf.function(lambda g: optimizer.apply_gradients([(g, variable)]))
    for gradient in gradients:
        step(tf.constant(gradient))
    return variable.numpy(), adam.optimizer_state("adam", optimizer)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=[3, 5]).astype(np.float32)
    gradients = [rng.normal(scale=0.1, size=[3, 5]).astype(np.float32) for _ in range(STEPS)]
    return weights, gradients


@pytest.mark.parametrize("fused", [True, False])
def test_adam_is_tf1s_update_with_epsilon_after_the_bias_correction(problem, fused):
    weights, gradients = problem
    updated, state = _run(fused, weights, gradients)
    np.testing.assert_allclose(updated, _tf1_adam(weights, gradients), rtol=1e-5, atol=1e-6)
    # The other placement of epsilon is measurably different here, so the check above can fail.
    assert np.abs(_tf1_adam(weights, gradients, epsilon_hat=False) - _tf1_adam(weights, gradients)).max() > 1e-3
    assert int(state["adam/iterations"].numpy()) == STEPS


def test_fused_adam_keeps_keras_adams_slots(problem):
    weights, gradients = problem
    (_, fused), (_, reference) = _run(True, weights, gradients), _run(False, weights, gradients)
    assert sorted(fused) == sorted(reference)
    for name in reference:
        np.testing.assert_allclose(np.asarray(fused[name]), np.asarray(reference[name]), rtol=1e-6, err_msg=name)
