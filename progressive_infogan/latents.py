"""The generator's latent inputs: the one sampler of (noise, code), and the edit the tools make.

Training, the metrics and the exploration tools all draw through `latents`, so a seed
means the same samples everywhere: (seed s, index i, batch B) is the global batch a seed-s
run trains on at global step i of a phase with batch B.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import tensorflow as tf

from progressive_infogan.config import ModelConfig

# Offset of the code's stream from the noise's, in the second seed word: far beyond any
# step or batch index, so the code of one index never reuses the noise of another.
CODE_STREAM = 1 << 40


def latents(model_config: ModelConfig, seed, index, batch: int) -> Tuple[tf.Tensor, tf.Tensor]:
    """(noise [batch, Z], code [batch, K]) ~ N(0, 1): stateless in (seed, index).

    Training uses index = the global step (and -1 for its fixed sample grid), so a resumed
    run draws exactly what an uninterrupted one would, whatever the replica count; `seed`
    and `index` may be tensors (inside a tf.function).
    """
    seeds = tf.stack([tf.cast(seed, tf.int64), tf.cast(index, tf.int64)])
    noise = tf.random.stateless_normal([batch, model_config.noise_size], seed=seeds)
    code = tf.random.stateless_normal([batch, model_config.code_size], seed=seeds + [0, CODE_STREAM])
    return noise, code


def with_coordinate_values(noise: np.ndarray, code: np.ndarray, coordinate: int,
                           values: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """Every sample repeated once per value with `coordinate` set to it: [N * V, ...], sample-major."""
    values = np.asarray(values, np.float32)
    noise = np.repeat(np.asarray(noise), len(values), axis=0)
    code = np.repeat(np.asarray(code), len(values), axis=0)
    code[:, coordinate] = np.tile(values, len(code) // len(values))
    return noise, code
