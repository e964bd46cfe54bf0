"""Generator, discriminator and Q heads of a Progressive InfoGAN phase.

A phase-p model is a fresh `keras.Model` holding blocks 2..p; growth builds the phase p+1
model and imports every variable by name (`growth.py`). Variable paths name the block, so
older blocks keep their names across phases: ``generator/block_3/conv1/kernel``.

docs/original_system.md §1 (G), §2 (D and Q).
"""

from __future__ import annotations

import dataclasses
from typing import List, Tuple

import keras
import numpy as np
import tensorflow as tf

from progressive_infogan import layers
from progressive_infogan.config import MAX_PHASE, MIN_PHASE, ModelConfig
from progressive_infogan.variants import make_injection

# D skips the new block's Q predictions while its fade has not begun (the original did not
# evaluate the block at all then, returning zeros).
_ALPHA_EPSILON = 1e-8


def _check_phase(phase: int) -> None:
    if not MIN_PHASE <= phase <= MAX_PHASE:
        raise ValueError(f"phase must be in {MIN_PHASE}..{MAX_PHASE} (resolution 4..1024), got {phase}")


class GeneratorBlock(keras.layers.Layer):
    """Block 2: [injection] dense-BN-lrelu, reshape, [injection] conv-BN-lrelu, toRGB.
    Block d >= 3: [injection] upsample [injection] conv1-BN-lrelu [injection] conv2-BN-lrelu, toRGB."""

    def __init__(self, block: int, config: ModelConfig, code_size: int, fused_batch_norm: bool = False, **kwargs):
        super().__init__(name=f"block_{block}", **kwargs)
        self.block = block
        self.config = config
        self.channels = config.g_channels(block)
        self.injection = make_injection(config.injection if code_size else "none", block, config)
        norm = dict(epsilon=config.batch_norm_epsilon, momentum=config.batch_norm_momentum, fused=fused_batch_norm)
        if block == 2:
            self.dense = layers.EqualizedDense(16 * self.channels, name="dense")
            self.dense_norm = layers.BatchNorm(name="dense_norm", **norm)
        else:
            self.conv1 = layers.EqualizedConv2D(self.channels, name="conv1")
            self.norm1 = layers.BatchNorm(name="norm1", **norm)
        self.conv2 = layers.EqualizedConv2D(self.channels, name="conv2")
        self.norm2 = layers.BatchNorm(name="norm2", **norm)
        self.to_rgb = layers.EqualizedConv2D(3, kernel_size=1, name="to_rgb")

    def build(self, x_shape, code_shape=None):
        pass  # Sub-layers build on their first call.

    def _activate(self, x, norm, training):
        return layers.leaky_relu(norm(x, training=training), self.config.leaky_relu_slope)

    def call(self, x, code, training=False):
        injection = self.injection
        x = injection.at_input(x, code)
        if self.block == 2:
            x = self._activate(self.dense(x), self.dense_norm, training)
            x = tf.reshape(x, [-1, 4, 4, self.channels])
            x = injection.before_conv(x, code)
        else:
            x = layers.upscale2d(x)
            x = injection.before_conv(x, code)
            x = self._activate(self.conv1(x), self.norm1, training)
            x = injection.between_convs(x, code)
        features = self._activate(self.conv2(x), self.norm2, training)
        rgb = tf.tanh(self.to_rgb(features))
        return features, rgb


@keras.saving.register_keras_serializable(package="progressive_infogan")
class Generator(keras.Model):
    """G for one phase: (noise, code, alpha) -> every block's combined image at 2^phase.

    The combined image of block d is (1 - alpha_d) * combined_{d-1} + alpha_d * rgb_d,
    with every RGB nearest-upsampled to the phase's resolution; alpha_d is 1 below the
    phase's own block. The last element of the returned list is G's output.
    `fused_batch_norm` (layers.BatchNorm) changes how a training pass computes, not what.
    """

    def __init__(self, config: ModelConfig, phase: int, name: str = "generator", fused_batch_norm: bool = False,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        _check_phase(phase)
        self.config = config
        self.phase = phase
        layout = config.code_layout
        self.coordinates = layout.input_ranges()
        self.mask = tf.constant(layout.unmask_mask(phase)) if layout.unmask else None
        self.blocks = [GeneratorBlock(block, config, len(self.coordinates.get(block, ())), fused_batch_norm)
                       for block in range(2, phase + 1)]

    def get_config(self):
        return {"config": dataclasses.asdict(self.config), "phase": self.phase, "name": self.name}

    @classmethod
    def from_config(cls, config):
        model_config = ModelConfig.from_dict(config["config"])
        generator = cls(model_config, config["phase"], name=config.get("name", "generator"))
        generator(tf.zeros([2, model_config.noise_size]), tf.zeros([2, model_config.code_size]), alpha=1.0)
        return generator

    def block_code(self, code, block: int):
        coordinates = self.coordinates.get(block, range(0))
        return code[:, coordinates.start:coordinates.stop]

    def call(self, noise, code, alpha=1.0, training=False) -> List[tf.Tensor]:
        if self.mask is not None:
            code = code * self.mask
        alpha = tf.cast(alpha, tf.float32)  # the images are blended in float32 under any policy
        x, combined, outputs = noise, None, []
        for block_layer in self.blocks:
            block = block_layer.block
            x, rgb = block_layer(x, self.block_code(code, block), training=training)
            rgb = tf.cast(layers.upscale2d(rgb, 2 ** (self.phase - block)), tf.float32)
            if block < self.phase:
                combined = rgb
            else:
                # The phase's own block fades in; at phase 2 there is nothing to fade from.
                combined = rgb if combined is None else (1.0 - alpha) * combined + alpha * rgb
            outputs.append(combined)
        return outputs


class DiscriminatorBlock(keras.layers.Layer):
    """Block d >= 3: conv1 -> C_D(d-1), lrelu, conv2 -> C_D(d-2), lrelu, 2x average pool."""

    def __init__(self, block: int, config: ModelConfig, **kwargs):
        super().__init__(name=f"block_{block}", **kwargs)
        self.block = block
        self.slope = config.leaky_relu_slope
        self.conv1 = layers.EqualizedConv2D(config.d_channels(block - 1), name="conv1")
        self.conv2 = layers.EqualizedConv2D(config.d_channels(block - 2), name="conv2")

    def call(self, x):
        x = layers.leaky_relu(self.conv1(x), self.slope)
        x = layers.leaky_relu(self.conv2(x), self.slope)
        return layers.downscale2d(x)


class DiscriminatorHead(keras.layers.Layer):
    """Block 2: minibatch variance plane, conv 3x3, flatten, dense -> h2 (512 at full width;
    `ModelConfig.d_head_units` keeps it wider at reduced sizes)."""

    def __init__(self, config: ModelConfig, **kwargs):
        super().__init__(name="block_2", **kwargs)
        self.slope = config.leaky_relu_slope
        self.minibatch_variance = layers.MinibatchVariance(name="minibatch_variance")
        self.conv = layers.EqualizedConv2D(config.d_channels(1), name="conv")
        self.dense = layers.EqualizedDense(config.d_head_width, name="dense")

    def call(self, x):
        x = layers.leaky_relu(self.conv(self.minibatch_variance(x)), self.slope)
        x = tf.reshape(x, [tf.shape(x)[0], int(np.prod(x.shape[1:]))])
        return layers.leaky_relu(self.dense(x), self.slope)


class FromRGB(keras.layers.Layer):
    """1x1 conv to C_D(d-1) (+ leaky ReLU in the code; linear in the thesis text).

    With `image_diffs` = n the input also carries the high-pass residuals
    img - up(avgpool(img, 2^k), 2^k) for k = 1..min(n, d-2) (docs/original_system.md §2.7).
    """

    def __init__(self, block: int, config: ModelConfig, **kwargs):
        super().__init__(name=f"from_rgb_{block}", **kwargs)
        self.block = block
        self.config = config
        self.conv = layers.EqualizedConv2D(config.d_channels(block - 1), kernel_size=1, name="conv")

    def call(self, image):
        levels = min(self.config.fromrgb_image_diffs, self.block - 2)
        parts = [image] + [image - layers.upscale2d(layers.downscale2d(image, 2 ** k), 2 ** k)
                           for k in range(1, levels + 1)]
        x = self.conv(tf.concat(parts, axis=-1) if levels else image)
        return layers.leaky_relu(x, self.config.leaky_relu_slope) if self.config.fromrgb_activation else x


class Discriminator(keras.Model):
    """D and Q for one phase: (images, alpha) -> (logits [N], mu [N, K]).

    Block d reads the image average-pooled to 2^d. Below the phase's own block, the
    input of block p-1 is (1 - alpha) * fromRGB(pooled image) + alpha * out_p. One Q head
    per coordinate, on the block that owns it (a single dense layer with K_d units is the
    same as K_d one-unit heads); heads of blocks not yet built predict 0.
    """

    def __init__(self, config: ModelConfig, phase: int, name: str = "discriminator", **kwargs):
        super().__init__(name=name, **kwargs)
        _check_phase(phase)
        self.config = config
        self.phase = phase
        self.coordinates = config.code_layout.input_ranges()
        # fromRGB of the phase's block, and of the block below it for the fade.
        self.from_rgb = FromRGB(phase, config)
        self.from_rgb_lower = FromRGB(phase - 1, config) if phase > 2 else None
        self.blocks = [DiscriminatorBlock(block, config) for block in range(phase, 2, -1)]
        self.head = DiscriminatorHead(config)
        self.logit = layers.EqualizedDense(1, name="logit")
        self.q_heads = {str(block): layers.EqualizedDense(len(coordinates), name=f"q_block_{block}")
                        for block, coordinates in self.coordinates.items()
                        if block <= phase and len(coordinates)}
        # ModelConfig.q_learned_sigma: beside each head, one predicting log sigma of every coordinate's
        # Gaussian (InfoGAN's appendix; read for continuous variables only). The thesis has none.
        self.q_log_sigma_heads = ({block: layers.EqualizedDense(head.units, name=f"q_log_sigma_block_{block}")
                                   for block, head in self.q_heads.items()} if config.q_learned_sigma else {})

    def _predict_code(self, block, x, gate=None, heads=None):
        heads = self.q_heads if heads is None else heads
        if str(block) not in heads:
            return None
        flat = tf.reshape(x, [tf.shape(x)[0], int(np.prod(x.shape[1:]))])
        mu = tf.cast(heads[str(block)](flat), tf.float32)
        return mu if gate is None else mu * gate

    def call(self, images, alpha=1.0, training=False) -> Tuple[tf.Tensor, tf.Tensor]:
        logits, mu, _ = self.code_distribution(images, alpha, training)
        return logits, mu

    def code_distribution(self, images, alpha=1.0, training=False):
        """(logits [N], Q's output [N, K], log sigma [N, K] or None without `q_learned_sigma`).

        A head not built yet predicts 0 for both (mu = 0, sigma = 1)."""
        images = tf.cast(images, self.compute_dtype)
        alpha = tf.cast(alpha, self.compute_dtype)
        predictions, log_sigmas = {}, {}
        x = self.from_rgb(images)
        for block_layer in self.blocks:
            block = block_layer.block
            out = block_layer(x)
            if block == self.phase:
                gate = tf.cast(alpha >= _ALPHA_EPSILON, tf.float32)
                predictions[block] = self._predict_code(block, out, gate)
                log_sigmas[block] = self._predict_code(block, out, gate, self.q_log_sigma_heads)
                lower = self.from_rgb_lower(layers.downscale2d(images))
                x = (1.0 - alpha) * lower + alpha * out
            else:
                predictions[block] = self._predict_code(block, out)
                log_sigmas[block] = self._predict_code(block, out, heads=self.q_log_sigma_heads)
                x = out
        h2 = self.head(x)
        predictions[2] = self._predict_code(2, h2)
        log_sigmas[2] = self._predict_code(2, h2, heads=self.q_log_sigma_heads)
        logits = tf.cast(self.logit(h2)[:, 0], tf.float32)
        batch = tf.shape(images)[0]
        log_sigma = self._assemble(log_sigmas, batch) if self.q_log_sigma_heads else None
        return logits, self._assemble(predictions, batch), log_sigma

    def _assemble(self, predictions, batch):
        columns = []
        for block, coordinates in self.coordinates.items():
            mu = predictions.get(block)
            columns.append(mu if mu is not None else tf.zeros([batch, len(coordinates)], tf.float32))
        if not columns:
            return tf.zeros([batch, 0], tf.float32)
        return tf.concat(columns, axis=-1)


def build_generator(config: ModelConfig, phase: int, fused_batch_norm: bool = False) -> Generator:
    """A phase-p generator with its variables created (called once on a dummy batch)."""
    generator = Generator(config, phase, fused_batch_norm=fused_batch_norm)
    generator(tf.zeros([2, config.noise_size]), tf.zeros([2, config.code_size]), alpha=1.0, training=False)
    return generator


def build_discriminator(config: ModelConfig, phase: int) -> Discriminator:
    discriminator = Discriminator(config, phase)
    size = 2 ** phase
    discriminator(tf.zeros([2, size, size, 3]), alpha=1.0)
    return discriminator
