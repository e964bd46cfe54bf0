"""How the InfoGAN code enters the generator: one small strategy per method, in one registry.

A generator block calls its injection at fixed points (docs/original_system.md §1.4,
§1.5, §1.8):

- ``at_input(x, code)``: block 2 on the noise z; block d >= 3 on the previous block's
  output, at the lower resolution, before upsampling;
- ``before_conv(x, code)``: block 2 on the reshaped 4x4 map; block d >= 3 right after
  upsampling;
- ``between_convs(x, code)``: block d >= 3 between conv1 and conv2.

``code`` is the block's own slice of the code ([N, K_d]); blocks without coordinates get no
injection at all. Each method returns the new tensor; the default is the identity.
"""

from __future__ import annotations

from typing import Callable, Dict

import keras
import tensorflow as tf

from progressive_infogan import layers


class Injection(keras.layers.Layer):
    """Identity injection: the code does not enter G here."""

    def __init__(self, block: int, config, **kwargs):
        super().__init__(**kwargs)
        self.block = block
        self.config = config

    def at_input(self, x, code):
        return x

    def before_conv(self, x, code):
        return x

    def between_convs(self, x, code):
        return x


class Append(Injection):
    """vanilla, gradual_loss, unmask, append_simple: concatenation.

    Block 2 appends the coordinates to z. Block d >= 3 (append_simple only) appends one
    constant plane per coordinate at the previous resolution, before upsampling.
    """

    def at_input(self, x, code):
        code = tf.cast(code, x.dtype)
        if self.block == 2:
            return tf.concat([x, code], axis=-1)
        return tf.concat([x, layers.tile_code(code, x.shape[1])], axis=-1)


class AppendChannels(Injection):
    """append_channels: block 2 as Append; block d >= 3 projects the code with a 1x1 ELR
    conv (a dense layer on a constant map) and leaky ReLU to C_G(d-1)/div channels, tiles
    and concatenates it."""

    def __init__(self, block, config, **kwargs):
        super().__init__(block, config, **kwargs)
        if block > 2:
            units = max(1, config.g_channels(block - 1) // config.append_channels_div)
            self.projection = layers.EqualizedDense(units, name="append_channels")

    def at_input(self, x, code):
        code = tf.cast(code, x.dtype)
        if self.block == 2:
            return tf.concat([x, code], axis=-1)
        projected = layers.leaky_relu(self.projection(code), self.config.leaky_relu_slope)
        return tf.concat([x, layers.tile_code(projected, x.shape[1])], axis=-1)


class Condition(Injection):
    """condition (tf-gan 'custom03'): additive WaveNet-style conditioning at every point."""

    def __init__(self, block, config, **kwargs):
        super().__init__(block, config, **kwargs)
        self.on_input = layers.Conditioning(name="condition_input")
        self.on_map = layers.Conditioning(name="condition_before_conv")
        if block > 2:
            self.on_conv1 = layers.Conditioning(name="condition_between_convs")

    def at_input(self, x, code):
        return self.on_input((x, code))

    def before_conv(self, x, code):
        return self.on_map((x, code))

    def between_convs(self, x, code):
        return self.on_conv1((x, code))


INJECTIONS: Dict[str, Callable[..., Injection]] = {
    "none": Injection,
    "append": Append,
    "append_channels": AppendChannels,
    "condition": Condition,
}


def make_injection(name: str, block: int, config) -> Injection:
    try:
        factory = INJECTIONS[name]
    except KeyError:
        raise ValueError(f"unknown code injection {name!r}; known: {', '.join(sorted(INJECTIONS))}") from None
    return factory(block, config, name="injection")
