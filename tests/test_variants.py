"""Tests for progressive_infogan/variants.py: where and how each injection puts the code into G."""

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import config as configs
from progressive_infogan import networks, variants
from network_fixtures import inputs, small

PER_BLOCK_VARIANTS = ["exp_append_simple", "exp_append_channels", "exp_condition"]


@pytest.mark.parametrize("name", PER_BLOCK_VARIANTS)
def test_a_blocks_code_changes_only_that_block_and_above(name):
    model_config = small(name)
    generator = networks.build_generator(model_config, 6)
    noise, code = inputs(model_config)
    reference = generator(noise, code, alpha=1.0)
    for block, coordinates in model_config.coordinate_ranges().items():
        changed_code = code.numpy()
        changed_code[:, coordinates.start] += 2.0
        changed = generator(noise, changed_code, alpha=1.0)
        for output_block, (before, after) in enumerate(zip(reference, changed), start=2):
            difference = float(tf.reduce_max(tf.abs(before - after)))
            if output_block < block:
                assert difference == 0.0, (block, output_block)
            else:
                assert difference > 0.0, (block, output_block)


@pytest.mark.parametrize("name", ["exp_vanilla", "exp_gradual_loss", "exp_unmask"])
def test_block_two_variants_feed_every_coordinate_at_block_two(name):
    model_config = small(name)
    generator = networks.build_generator(model_config, 6)
    assert generator.blocks[0].dense.kernel.shape[0] == 64 + 80
    assert all(block.injection.__class__.__name__ == "Injection" for block in generator.blocks[1:])
    discriminator = networks.build_discriminator(model_config, 6)
    assert list(discriminator.q_heads) == ["2"] and discriminator.q_heads["2"].units == 80


def _count(layer):
    return sum(int(np.prod(v.shape)) for v in layer.trainable_variables)


def test_full_size_conditioning_parameter_counts(full_size_condition):
    generator, _ = full_size_condition
    outputs = {}
    for block in generator.blocks[:5]:
        injection = block.injection
        points = [injection.on_input, injection.on_map] + ([injection.on_conv1] if block.block > 2 else [])
        outputs[block.block] = [p.kernel.shape[1] for p in points]
        assert all(p.kernel.shape[0] == 16 for p in points)
    assert outputs == {2: [64, 7680], 3: [7680, 30720, 30720], 4: [30720, 122880, 122880],
                       5: [122880, 491520, 262144], 6: [262144, 1048576, 524288]}
    block_6 = sum(_count(p) for p in (generator.blocks[4].injection.on_input, generator.blocks[4].injection.on_map,
                                      generator.blocks[4].injection.on_conv1))
    assert block_6 == 17 * 1_835_008  # about 31M: 16 weights + 1 bias per output
    assert not generator.blocks[5].injection.trainable_variables  # block 7 has no code


def test_append_variants_widen_the_inputs_as_the_spec_says():
    simple = networks.build_generator(configs.preset("exp_append_simple").model, 4)
    assert simple.blocks[0].dense.kernel.shape[0] == 80
    assert simple.blocks[1].conv1.kernel.shape[2] == 480 + 16
    channels = networks.build_generator(configs.preset("exp_append_channels").model, 4)
    assert channels.blocks[1].conv1.kernel.shape[2] == 960
    assert channels.blocks[1].injection.projection.kernel.shape == (16, 480)


def test_every_preset_names_a_registered_injection():
    assert {preset.model.injection for preset in configs.PRESETS.values()} == set(variants.INJECTIONS)
    with pytest.raises(ValueError, match="unknown code injection 'concat'; known: append, append_channels"):
        variants.make_injection("concat", 2, configs.ModelConfig())
