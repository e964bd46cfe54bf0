"""A small run directory with a freshly initialised checkpoint, for the exploration tools' tests."""

import os

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import checkpoints, networks, rundir
from progressive_infogan import config as configs

PHASE = 4
# Coordinates of block 6 do not enter a phase-4 generator.
INEFFECTIVE_COORDINATE = 70
EFFECTIVE_COORDINATE = 20  # block 3


def small_config(name: str = "exp_condition") -> configs.ExperimentConfig:
    return configs.preset(name).replace(model=dict(width_multiplier=1 / 16))


def make_run(run_dir: str, experiment: configs.ExperimentConfig, phase: int = PHASE, step: int = 100,
             seed: int = 7) -> str:
    """Write config.json and one checkpoint of a randomly initialised phase-`phase` model."""
    tf.keras.utils.set_random_seed(seed)
    generator = networks.build_generator(experiment.model, phase)
    discriminator = networks.build_discriminator(experiment.model, phase)
    os.makedirs(run_dir, exist_ok=True)
    rundir.write_config(experiment, run_dir)
    arrays = {v.path: v.numpy() for v in generator.variables + discriminator.variables}
    arrays.update({checkpoints.EMA_PREFIX + v.path: v.numpy() for v in generator.trainable_variables})
    checkpoints.save_checkpoint(run_dir, step, arrays, {"phase": phase, "alpha": 1.0})
    return run_dir


@pytest.fixture(scope="session")
def small_run_dir(tmp_path_factory):
    return make_run(str(tmp_path_factory.mktemp("explore_run")), small_config())


@pytest.fixture(scope="session")
def small_run(small_run_dir):
    return checkpoints.load_run(small_run_dir)


# --- A mixed code: categorical(3) + Bernoulli + 2 normal coordinates in block 2, 2 normal in block 3 ---------
# Coordinates: 0..2 the categorical variable's one-hot vector, 3 the Bernoulli, 4..7 N(0, 1).
MIXED_CODE = {2: [configs.categorical(3), configs.bernoulli(), configs.normal(2)], 3: [configs.normal(2)]}
CATEGORICAL, BERNOULLI, NORMAL = 0, 3, 4
# The red level of each category: not in the categories' order (categories 0 and 2 share it).
CATEGORY_LEVELS = (0.5, -0.5, 0.5)


def mixed_model(**fields) -> configs.ModelConfig:
    return configs.ModelConfig(**configs.code_spec(MIXED_CODE), **fields)


def mixed_config() -> configs.ExperimentConfig:
    return small_config().replace(model=configs.code_spec(MIXED_CODE))


@pytest.fixture(scope="session")
def mixed_run_dir(tmp_path_factory):
    return make_run(str(tmp_path_factory.mktemp("mixed_run")), mixed_config(), phase=3)


class MixedCodeGenerator:
    """8 px images of a mixed code, in TF (projection differentiates them): red is the category's
    level plus a zero-mean pattern of its own (so every category looks different), green 0.6 * the
    Bernoulli - 0.3, blue 0.5 tanh(code[4]); the noise shades the whole image. code[5:] do nothing."""

    phase = 3
    size = 8

    def __init__(self):
        patterns = np.random.default_rng(0).uniform(-0.3, 0.3, [3, self.size, self.size])
        patterns -= patterns.mean(axis=(1, 2), keepdims=True)
        self.red = (np.asarray(CATEGORY_LEVELS)[:, None, None] + patterns).astype(np.float32)  # [3, H, W]
        self.codes = []  # every code G was given

    def __call__(self, noise, code, alpha=1.0, training=False):
        noise, code = tf.convert_to_tensor(noise, tf.float32), tf.convert_to_tensor(code, tf.float32)
        if tf.executing_eagerly():
            self.codes.append(code.numpy())
        shade = 0.1 * tf.tanh(noise[:, :1])[:, :, None]  # [N, 1, 1]
        flat = tf.ones([1, self.size, self.size])
        red = tf.einsum("nk,khw->nhw", code[:, CATEGORICAL:CATEGORICAL + 3], tf.constant(self.red)) + shade
        green = (0.6 * code[:, BERNOULLI:BERNOULLI + 1, None] - 0.3 + shade) * flat
        blue = (0.5 * tf.tanh(code[:, NORMAL:NORMAL + 1, None]) + shade) * flat
        return [tf.stack([red, green, blue], axis=-1)]
