"""Small and full-size models of the thesis presets, for the networks and variants tests."""

import dataclasses

import pytest
import tensorflow as tf

from progressive_infogan import config as configs
from progressive_infogan import networks

SMALL = 1 / 16


def small(name, **fields):
    return dataclasses.replace(configs.preset(name).model, width_multiplier=SMALL, **fields)


def inputs(model_config, batch=3, seed=0):
    generator = tf.random.Generator.from_seed(seed)
    return (generator.normal([batch, model_config.noise_size]), generator.normal([batch, model_config.code_size]))


@pytest.fixture(scope="module")
def full_size_condition():
    model_config = configs.preset("exp_condition").model
    return networks.build_generator(model_config, 7), networks.build_discriminator(model_config, 7)
