"""Primitive layers of the original networks (docs/original_system.md §1.3, §2.4, §1.8.4).

All tensors are NHWC. The original ran NCHW; only the element order of the conditioning
layers' outputs differs, which matters for porting weights, not for behaviour.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

# Every equalized-learning-rate layer of the original uses gain sqrt(2), including toRGB,
# fromRGB, the logit and the Q heads (PGGAN used gain 1 for some of these).
ELR_GAIN = math.sqrt(2.0)


class EqualizedDense(keras.layers.Layer):
    """Dense layer with the equalized learning rate: N(0, 1) weights scaled by gain/sqrt(fan_in) at run time."""

    def __init__(self, units: int, gain: float = ELR_GAIN, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.gain = gain

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.scale = self.gain / math.sqrt(fan_in)
        self.kernel = self.add_weight(name="kernel", shape=(fan_in, self.units),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        kernel = tf.cast(self.kernel, self.compute_dtype) * self.scale
        return tf.matmul(inputs, kernel) + tf.cast(self.bias, self.compute_dtype)


class EqualizedConv2D(keras.layers.Layer):
    """Stride-1 'SAME' convolution with the equalized learning rate (fan_in = k*k*C_in)."""

    def __init__(self, filters: int, kernel_size: int = 3, gain: float = ELR_GAIN, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.gain = gain

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.scale = self.gain / math.sqrt(self.kernel_size * self.kernel_size * channels)
        self.kernel = self.add_weight(
            name="kernel", shape=(self.kernel_size, self.kernel_size, channels, self.filters),
            initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, inputs):
        kernel = tf.cast(self.kernel, self.compute_dtype) * self.scale
        outputs = tf.nn.conv2d(inputs, kernel, strides=1, padding="SAME")
        return outputs + tf.cast(self.bias, self.compute_dtype)


def _split_over_replicas() -> bool:
    context = tf.distribute.get_replica_context()
    return context is not None and context.num_replicas_in_sync > 1


def moments(inputs, axes):
    """(mean, variance, count) over `axes`, taken over the global batch when replicas split it.

    With several replicas the sums are all-reduced, so the statistics (BN's and the
    minibatch variance) are those one device would compute on the whole batch, and a
    multi-GPU step matches a single-GPU one.
    """
    inputs = tf.cast(inputs, tf.float32)
    count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(inputs), axes)), tf.float32)
    if not _split_over_replicas():
        mean, variance = tf.nn.moments(inputs, axes=axes)
        return mean, variance, count
    total, total_squares, count = tf.distribute.get_replica_context().all_reduce(
        "sum", [tf.reduce_sum(inputs, axes), tf.reduce_sum(tf.square(inputs), axes), count])
    mean = total / count
    return mean, tf.maximum(total_squares / count - tf.square(mean), 0.0), count


class BatchNorm(keras.layers.Layer):
    """tf.contrib.layers.batch_norm as the original G used it.

    Learned beta, no gamma, moving averages updated in place on every training pass.
    The moving variance accumulates the Bessel-corrected batch variance, as TF1's fused
    kernel did. A rank-2 input is normalised per unit (the 4x4 dense output), a rank-4
    input per channel over (N, H, W).
    """

    def __init__(self, epsilon: float = 1e-3, momentum: float = 0.999, fused: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.momentum = momentum
        # `fused`: TF's fused kernel for the training pass where it computes the same thing (one
        # replica, float32): two ops forward and backward instead of a dozen at small widths.
        self.fused = fused

    def build(self, input_shape):
        shape = (int(input_shape[-1]),)
        self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")
        # Replicas each update with their own batch statistics; the cross-replica value is
        # their mean, as the per-GPU statistics of the original were.
        # float32 even under a mixed-precision policy: they accumulate small updates.
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, initializer="zeros",
                                           trainable=False, aggregation="mean", autocast=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape, initializer="ones",
                                               trainable=False, aggregation="mean", autocast=False)

    def call(self, inputs, training=False):
        axes = list(range(len(inputs.shape) - 1))
        beta = tf.cast(self.beta, self.compute_dtype)
        if training and self.fused and inputs.dtype == tf.float32 and not _split_over_replicas():
            return self._fused_training_call(inputs, beta)
        if training:
            mean, variance, count = moments(inputs, axes)
            unbiased = variance * count / tf.maximum(count - 1.0, 1.0)
            self.moving_mean.assign(self.momentum * self.moving_mean + (1.0 - self.momentum) * mean)
            self.moving_variance.assign(self.momentum * self.moving_variance + (1.0 - self.momentum) * unbiased)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        inverse = tf.cast(tf.math.rsqrt(variance + self.epsilon), self.compute_dtype)
        return (inputs - tf.cast(mean, self.compute_dtype)) * inverse + beta

    def _fused_training_call(self, inputs, beta):
        """The training pass above in one FusedBatchNormV3: it normalises with the biased batch
        variance and returns the Bessel-corrected one, which the moving variance accumulates."""
        x = inputs if len(inputs.shape) == 4 else inputs[:, None, None, :]
        channels = x.shape[-1]
        y, mean, unbiased = tf.compat.v1.nn.fused_batch_norm(x, tf.ones([channels]), beta, epsilon=self.epsilon,
                                                              is_training=True)
        self.moving_mean.assign(self.momentum * self.moving_mean + (1.0 - self.momentum) * mean)
        self.moving_variance.assign(self.momentum * self.moving_variance + (1.0 - self.momentum) * unbiased)
        return y if len(inputs.shape) == 4 else y[:, 0, 0, :]


class MinibatchVariance(keras.layers.Layer):
    """Appends one constant plane: the batch variance of every element, averaged.

    The original used the variance (tf.nn.moments), not PGGAN's standard deviation: no
    epsilon, no square root, one group spanning the whole batch.
    """

    def call(self, inputs):
        _, variance, _ = moments(inputs, [0])
        value = tf.cast(tf.reduce_mean(variance), inputs.dtype)
        shape = tf.concat([tf.shape(inputs)[:-1], [1]], axis=0)
        return tf.concat([inputs, tf.fill(shape, value)], axis=-1)


class Conditioning(keras.layers.Layer):
    """WaveNet-style conditioning (tf-gan's condition_tensor): t + reshape(Linear(code)).

    The linear map sends the block's code to one value per element of t (C*H*W outputs), so
    the added map varies in space and channel. Glorot-uniform weights, zero bias, no
    equalized learning rate.
    """

    def build(self, input_shape):
        tensor_shape, code_shape = input_shape
        self.tensor_shape = tuple(int(size) for size in tensor_shape[1:])
        outputs = math.prod(self.tensor_shape)
        self.kernel = self.add_weight(name="kernel", shape=(int(code_shape[-1]), outputs),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(outputs,), initializer="zeros")

    def call(self, inputs):
        tensor, code = inputs
        code = tf.cast(code, self.compute_dtype)
        added = tf.matmul(code, tf.cast(self.kernel, self.compute_dtype)) + tf.cast(self.bias, self.compute_dtype)
        return tensor + tf.reshape(added, (-1,) + self.tensor_shape)


def upscale2d(images, factor: int = 2):
    """Nearest-neighbour upscaling by pixel duplication."""
    if factor == 1:
        return images
    images = tf.repeat(images, factor, axis=1)
    return tf.repeat(images, factor, axis=2)


def downscale2d(images, factor: int = 2):
    """Average pooling with kernel = stride = factor."""
    if factor == 1:
        return images
    return tf.nn.avg_pool2d(images, ksize=factor, strides=factor, padding="VALID")


def leaky_relu(inputs, slope: float = 0.2):
    return tf.nn.leaky_relu(inputs, alpha=slope)


def tile_code(code, size: int):
    """[N, K] -> [N, size, size, K] constant planes."""
    return tf.tile(code[:, None, None, :], [1, size, size, 1])
