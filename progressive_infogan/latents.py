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
# The uniform stream that uniform, Bernoulli and categorical variables are drawn from, as far
# again: N(0, 1) coordinates keep the normal stream's values whatever the other variables are.
UNIFORM_STREAM = 2 << 40


def latents(model_config: ModelConfig, seed, index, batch: int) -> Tuple[tf.Tensor, tf.Tensor]:
    """(noise [batch, Z] ~ N(0, 1), code [batch, K]): stateless in (seed, index).

    The code's coordinates follow `model_config.code_layout`: N(0, 1) (the thesis), U(-1, 1),
    a fair 0/1 Bernoulli, or a categorical(K) variable's one-hot vector (uniform over K).

    Training uses index = the global step (and -1 for its fixed sample grid), so a resumed
    run draws exactly what an uninterrupted one would, whatever the replica count; `seed`
    and `index` may be tensors (inside a tf.function).
    """
    seeds = tf.stack([tf.cast(seed, tf.int64), tf.cast(index, tf.int64)])
    noise = tf.random.stateless_normal([batch, model_config.noise_size], seed=seeds)
    code = tf.random.stateless_normal([batch, model_config.code_size], seed=seeds + [0, CODE_STREAM])
    layout = model_config.code_layout
    if not layout.all_normal:
        uniform = tf.random.stateless_uniform([batch, model_config.code_size], seed=seeds + [0, UNIFORM_STREAM])
        code = tf.concat([_draw(variable, code, uniform) for variable in layout.variables], axis=-1)
    return noise, code


def _draw(variable, normal, uniform):
    """The variable's columns [batch, width] from the two streams' columns of its coordinates."""
    start, stop = variable.coordinates.start, variable.coordinates.stop
    if variable.distribution == "normal":
        return normal[:, start:stop]
    if variable.distribution == "uniform":
        return 2.0 * uniform[:, start:stop] - 1.0
    if variable.distribution == "bernoulli":
        return tf.cast(uniform[:, start:stop] < 0.5, tf.float32)
    categories = len(variable.coordinates)
    category = tf.minimum(tf.cast(uniform[:, start] * categories, tf.int32), categories - 1)
    return tf.one_hot(category, categories, dtype=tf.float32)


def traversal_values(model_config: ModelConfig, coordinate: int, steps: int = 7,
                     amplitude: float = 3.0) -> np.ndarray:
    """The values a traversal of `coordinate` steps through: linspace(-amplitude, amplitude, steps)
    for a continuous variable, every category 0..K-1 for a categorical one, 0 and 1 for a Bernoulli."""
    variable = model_config.code_layout.variable_of(coordinate)
    if variable.discrete:
        return np.arange(variable.categories, dtype=np.float32)
    return np.linspace(-amplitude, amplitude, steps).astype(np.float32)


def with_variable_values(model_config: ModelConfig, noise: np.ndarray, code: np.ndarray, coordinate: int,
                         values: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """`with_coordinate_values` for the variable holding `coordinate`: a categorical variable's
    values are categories, each written as its one-hot vector; other variables' are the value."""
    variable = model_config.code_layout.variable_of(coordinate)
    if variable.distribution != "categorical":
        return with_coordinate_values(noise, code, coordinate, values)
    categories = np.asarray(values).astype(np.int64)
    noise = np.repeat(np.asarray(noise), len(categories), axis=0)
    code = np.repeat(np.asarray(code), len(categories), axis=0)
    one_hot = np.eye(len(variable.coordinates), dtype=np.float32)[categories]
    code[:, variable.coordinates.start:variable.coordinates.stop] = np.tile(one_hot, (len(code) // len(categories), 1))
    return noise, code


def code_of_q(model_config: ModelConfig, q, most_likely: bool = False):
    """Q's outputs [N, K] as values of the code they predict: a continuous coordinate's mean as it
    is, a categorical variable's K logits as its softmax probabilities, a Bernoulli's logit as its
    sigmoid probability. With `most_likely`, a discrete variable's likeliest value instead (the
    one-hot of the argmax, 1 where the logit is > 0): a code as G was trained on.

    `q` itself (array or tensor) when every variable is continuous, so the thesis's code is untouched."""
    layout = model_config.code_layout
    if not any(variable.discrete for variable in layout.variables):
        return q
    q = tf.convert_to_tensor(q)
    parts = []
    for variable in layout.variables:
        column = q[:, variable.coordinates.start:variable.coordinates.stop]
        if variable.distribution == "categorical":
            column = (tf.one_hot(tf.argmax(column, axis=-1), len(variable.coordinates), dtype=q.dtype)
                      if most_likely else tf.nn.softmax(column, axis=-1))
        elif variable.distribution == "bernoulli":
            column = tf.cast(column > 0, q.dtype) if most_likely else tf.sigmoid(column)
        parts.append(column)
    return tf.concat(parts, axis=-1)


def with_coordinate_values(noise: np.ndarray, code: np.ndarray, coordinate: int,
                           values: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """Every sample repeated once per value with `coordinate` set to it: [N * V, ...], sample-major."""
    values = np.asarray(values, np.float32)
    noise = np.repeat(np.asarray(noise), len(values), axis=0)
    code = np.repeat(np.asarray(code), len(values), axis=0)
    code[:, coordinate] = np.tile(values, len(code) // len(values))
    return noise, code
