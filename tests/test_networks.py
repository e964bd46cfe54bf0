import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import config as configs
from progressive_infogan import growth, layers, networks, schedule
from network_fixtures import inputs, small

VARIANTS = ["exp_vanilla", "exp_gradual_loss", "exp_unmask", "exp_append_simple", "exp_append_channels",
            "exp_condition", "exp_condition_4vars", "exp_noinfo"]


@pytest.mark.parametrize("name", VARIANTS)
def test_output_shapes_at_every_phase(name):
    model_config = small(name)
    noise, code = inputs(model_config)
    for phase in range(2, 8):
        generator = networks.build_generator(model_config, phase)
        discriminator = networks.build_discriminator(model_config, phase)
        images = generator(noise, code, alpha=0.5)
        assert len(images) == phase - 1
        assert all(image.shape == (3, 2 ** phase, 2 ** phase, 3) for image in images)
        logits, mu = discriminator(images[-1], alpha=0.5)
        assert logits.shape == (3,)
        assert mu.shape == (3, model_config.code_size)


def _grow(model_config, phase):
    old_g, new_g = networks.build_generator(model_config, phase - 1), networks.build_generator(model_config, phase)
    old_d, new_d = networks.build_discriminator(model_config, phase - 1), networks.build_discriminator(model_config, phase)
    for old, new in ((old_g, new_g), (old_d, new_d)):
        report = growth.import_values(growth.named_variables(old.variables), growth.named_variables(new.variables))
        assert report.imported and report.fresh
        assert all(f"block_{phase}" in name or f"from_rgb_{phase}" in name or f"q_block_{phase}" in name
                   for name in report.fresh), report.fresh
    return old_g, new_g, old_d, new_d


@pytest.mark.parametrize("name", VARIANTS + ["fromrgb_image_diffs"])
def test_growth_is_seamless_at_alpha_zero(name):
    model_config = small("exp_condition", fromrgb_image_diffs=2) if name == "fromrgb_image_diffs" else small(name)
    noise, code = inputs(model_config, batch=4)
    for phase in range(3, 7):
        old_g, new_g, old_d, new_d = _grow(model_config, phase)
        new_code = code
        if model_config.unmask:
            # The phase's coordinate group switches on at its first step (a hard switch, as in
            # the original): growth is seamless for the code the old phase saw.
            new_code = code * schedule.unmask_mask(model_config, phase - 1)
        old_image = old_g(noise, code, alpha=1.0)[-1]
        new_image = new_g(noise, new_code, alpha=0.0)[-1]
        np.testing.assert_allclose(new_image.numpy(), layers.upscale2d(old_image).numpy(), atol=1e-6)

        images = tf.random.stateless_uniform([4, 2 ** phase, 2 ** phase, 3], [phase, 1], -1, 1)
        old_logits, old_mu = old_d(layers.downscale2d(images), alpha=1.0)
        new_logits, new_mu = new_d(images, alpha=0.0)
        np.testing.assert_allclose(new_logits.numpy(), old_logits.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(new_mu.numpy(), old_mu.numpy(), rtol=1e-5, atol=1e-5)


def test_unmask_switches_the_new_group_on_at_the_phase_start():
    model_config = small("exp_unmask")
    np.testing.assert_array_equal(schedule.unmask_mask(model_config, 3), [1] * 32 + [0] * 48)
    noise, code = inputs(model_config)
    old_g, new_g, _, _ = _grow(model_config, 4)
    difference = new_g(noise, code, alpha=0.0)[-1] - layers.upscale2d(old_g(noise, code, alpha=1.0)[-1])
    assert float(tf.reduce_max(tf.abs(difference))) > 1e-3


def test_alpha_one_shows_the_new_block_and_gradients_begin_with_the_fade():
    model_config = small("exp_condition")
    noise, code = inputs(model_config)
    generator = networks.build_generator(model_config, 4)
    new_block = generator.blocks[-1]
    x = noise
    for block_layer in generator.blocks:
        x, rgb = block_layer(x, generator.block_code(code, block_layer.block))
    np.testing.assert_allclose(generator(noise, code, alpha=1.0)[-1].numpy(), rgb.numpy(), atol=1e-6)

    def new_block_gradients(alpha):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(generator(noise, code, alpha=alpha, training=True)[-1])
        return tape.gradient(loss, new_block.trainable_variables)

    assert all(float(tf.reduce_max(tf.abs(g))) == 0.0 for g in new_block_gradients(0.0) if g is not None)
    gradients = new_block_gradients(0.1)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0.0 for g in gradients)


def test_new_discriminator_block_gets_gradients_once_its_fade_begins():
    model_config = small("exp_condition")
    discriminator = networks.build_discriminator(model_config, 4)
    images = tf.random.uniform([3, 16, 16, 3], -1, 1)
    new_variables = [v for v in discriminator.trainable_variables if "block_4" in v.path or "from_rgb_4" in v.path]

    def gradients(alpha):
        with tf.GradientTape() as tape:
            logits, mu = discriminator(images, alpha=alpha)
            loss = tf.reduce_sum(logits) + tf.reduce_sum(mu)
        return tape.gradient(loss, new_variables)

    assert all(g is None or float(tf.reduce_max(tf.abs(g))) == 0.0 for g in gradients(0.0))
    assert all(float(tf.reduce_max(tf.abs(g))) > 0.0 for g in gradients(0.3))


def test_noinfo_has_no_code_and_no_q_heads():
    model_config = small("exp_noinfo")
    assert model_config.code_size == 0
    assert not networks.build_discriminator(model_config, 4).q_heads
    assert networks.build_generator(model_config, 4).blocks[0].dense.kernel.shape[0] == 64


def test_full_size_channel_tables_match_the_thesis(full_size_condition):
    generator, discriminator = full_size_condition
    assert [block.channels for block in generator.blocks] == [480, 480, 480, 256, 128, 64]
    assert [configs.ModelConfig().g_channels(b) for b in (8, 9)] == [32, 16]
    d_blocks = {block.block: block for block in discriminator.blocks}
    assert [d_blocks[b].conv1.filters for b in (3, 4, 5, 6, 7)] == [512, 512, 512, 256, 128]
    assert [d_blocks[b].conv2.filters for b in (3, 4, 5, 6, 7)] == [512, 512, 512, 512, 256]
    assert discriminator.head.conv.filters == 512 and discriminator.head.dense.units == 512
    assert discriminator.from_rgb.conv.filters == 128  # block 7's fromRGB -> C_D(6)
    assert [configs.ModelConfig().d_channels(r - 1) for r in (8, 9)] == [64, 32]


def test_full_size_q_heads_read_the_flattened_block_outputs(full_size_condition):
    _, discriminator = full_size_condition
    fan_in = {block: head.kernel.shape[0] for block, head in discriminator.q_heads.items()}
    assert fan_in == {"2": 512, "3": 8192, "4": 32768, "5": 131072, "6": 524288}


def test_the_head_units_set_h2_and_the_block_2_q_heads_fan_in():
    model_config = dataclasses.replace(small("exp_vanilla"), d_head_units=24)
    discriminator = networks.build_discriminator(model_config, 3)
    discriminator(tf.zeros([2, 8, 8, 3]))
    assert discriminator.head.dense.units == 24
    assert discriminator.q_heads["2"].kernel.shape == (24, 80)
