"""A small run directory with a freshly initialised checkpoint, for the exploration tools' tests."""

import os

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
