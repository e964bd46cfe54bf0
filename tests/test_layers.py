import math

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import layers


def test_equalized_dense_scales_unit_normal_weights_at_run_time():
    layer = layers.EqualizedDense(7)
    x = tf.random.normal([4, 50])
    y = layer(x)
    assert abs(float(tf.math.reduce_std(layer.kernel)) - 1.0) < 0.1  # stored N(0, 1)
    expected = x.numpy() @ (layer.kernel.numpy() * math.sqrt(2.0) / math.sqrt(50))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert np.all(layer.bias.numpy() == 0)


def test_equalized_conv_uses_fan_in_of_the_whole_kernel():
    layer = layers.EqualizedConv2D(5, kernel_size=3)
    x = tf.random.normal([2, 6, 6, 4])
    y = layer(x)
    reference = tf.nn.conv2d(x, layer.kernel * (math.sqrt(2.0) / math.sqrt(3 * 3 * 4)), 1, "SAME")
    np.testing.assert_allclose(y.numpy(), reference.numpy(), rtol=1e-5, atol=1e-5)


def test_batch_norm_has_no_scale_and_accumulates_bessel_corrected_variance():
    norm = layers.BatchNorm(epsilon=1e-3, momentum=0.999)
    x = tf.random.normal([8, 3, 3, 2]) * 3.0 + 1.0
    y = norm(x, training=True)
    names = sorted(v.path.split("/")[-1] for v in norm.variables)
    assert names == ["beta", "moving_mean", "moving_variance"]
    flat = x.numpy().reshape(-1, 2)
    expected = (flat - flat.mean(0)) / np.sqrt(flat.var(0) + 1e-3)
    np.testing.assert_allclose(y.numpy().reshape(-1, 2), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(norm.moving_mean.numpy(), 0.001 * flat.mean(0), rtol=1e-4)
    np.testing.assert_allclose(norm.moving_variance.numpy(), 0.999 + 0.001 * flat.var(0, ddof=1), rtol=1e-5)
    # Inference uses the moving statistics.
    inference = norm(x, training=False).numpy()
    expected = (x.numpy() - norm.moving_mean.numpy()) / np.sqrt(norm.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(inference, expected, rtol=1e-4, atol=1e-4)


def test_batch_norm_on_a_vector_is_per_unit():
    norm = layers.BatchNorm()
    x = tf.random.normal([16, 10]) * tf.range(1.0, 11.0)
    y = norm(x, training=True).numpy()
    assert norm.beta.shape == (10,)
    np.testing.assert_allclose(y.std(0), np.sqrt(x.numpy().var(0) / (x.numpy().var(0) + 1e-3)), rtol=1e-3)


def test_minibatch_variance_plane_is_the_mean_batch_variance_not_std():
    x = tf.random.normal([6, 4, 4, 3]) * 2.0
    y = layers.MinibatchVariance()(x).numpy()
    assert y.shape == (6, 4, 4, 4)
    np.testing.assert_array_equal(y[..., :3], x.numpy())
    np.testing.assert_allclose(y[..., 3], np.full((6, 4, 4), x.numpy().var(0).mean()), rtol=1e-5)


@pytest.mark.parametrize("shape", [[8, 4, 4, 5], [8, 10]])
def test_fused_batch_norm_trains_as_the_op_by_op_one(shape):
    """Output, input and beta gradients, and both moving statistics after two training passes."""
    x = tf.random.stateless_normal(shape, [1, 2]) * 2.0 + 0.5
    weights = tf.random.stateless_normal(shape, [3, 4])
    results = []
    for fused in (False, True):
        norm = layers.BatchNorm(epsilon=1e-3, momentum=0.9, fused=fused)
        norm.build(shape)
        norm.beta.assign(tf.linspace(-1.0, 1.0, shape[-1]))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = norm(x, training=True)
            loss = tf.reduce_sum(y * weights)
        gradients = tape.gradient(loss, [x, norm.beta.value])
        norm(x * 0.5, training=True)
        results.append([y, *gradients, norm.moving_mean, norm.moving_variance])
    for reference, fused in zip(*results):
        np.testing.assert_allclose(np.asarray(fused), np.asarray(reference), rtol=1e-4, atol=1e-5)


def test_conditioning_adds_one_value_per_element():
    conditioning = layers.Conditioning()
    tensor = tf.zeros([2, 4, 4, 3])
    code = tf.random.normal([2, 5])
    out = conditioning((tensor, code))
    assert conditioning.kernel.shape == (5, 48)
    np.testing.assert_allclose(out.numpy().reshape(2, -1), code.numpy() @ conditioning.kernel.numpy(), atol=1e-5)
    limit = math.sqrt(6.0 / (5 + 48))  # Glorot uniform
    assert np.abs(conditioning.kernel.numpy()).max() <= limit


def test_upscale_duplicates_and_downscale_averages():
    x = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
    up = layers.upscale2d(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(up[::2, ::2], x.numpy()[0, :, :, 0])
    np.testing.assert_array_equal(up[1::2, 1::2], x.numpy()[0, :, :, 0])
    down = layers.downscale2d(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(down, [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(layers.downscale2d(layers.upscale2d(x)).numpy(), x.numpy())
