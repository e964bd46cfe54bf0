import dataclasses
import re

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import networks
from progressive_infogan import config as configs
from progressive_infogan.code_layout import layout_of

ALL = tuple(range(80))


def layout(name):
    return configs.preset(name).model.code_layout


def span(start, stop):
    return tuple(range(start, stop))


def per_block(count, last_block=6):
    return {block: range(count * (block - 2), count * (block - 1)) for block in range(2, last_block + 1)}


def test_vanilla_every_coordinate_enters_block_2_from_phase_2():
    vanilla = layout("exp_vanilla")
    assert vanilla.size == 80 and not vanilla.unmask
    assert vanilla.input_ranges() == {2: range(0, 80)}
    assert vanilla.owner_ranges() == {2: range(0, 80)}
    for phase in (2, 5, 7):
        assert vanilla.feeding_g(phase) == vanilla.predicted(phase) == vanilla.built(phase) == ALL
        assert vanilla.in_mi_penalty(phase, gradual_mi=False) == ALL
    assert vanilla.block_ranges(4) == {2: range(0, 80), 3: range(0), 4: range(0)}
    assert vanilla.coordinate(79) == dataclasses.replace(vanilla.coordinate(0), index=79)


def test_gradual_loss_feeds_all_at_block_2_but_owns_and_trains_by_groups_of_16():
    config = configs.preset("exp_gradual_loss")
    gradual = config.model.code_layout
    assert gradual.input_ranges() == {2: range(0, 80)}
    assert gradual.owner_ranges() == per_block(16)
    assert gradual.feeding_g(3) == gradual.predicted(3) == ALL
    assert gradual.built(3) == span(0, 32)
    assert gradual.in_mi_penalty(3, config.schedule.gradual_mi) == span(0, 32)
    assert gradual.in_mi_penalty(6, config.schedule.gradual_mi) == ALL
    np.testing.assert_array_equal(gradual.mi_weights(4, True), [1] * 48 + [0] * 32)
    assert gradual.block_ranges(3) == {2: range(0, 16), 3: range(16, 32)}
    c40 = gradual.coordinate(40)
    assert (c40.input_block, c40.owner_block) == (2, 4)


def test_unmask_feeds_g_a_group_from_its_blocks_phase_while_q_predicts_all():
    config = configs.preset("exp_unmask")
    unmask = config.model.code_layout
    assert unmask.unmask
    assert unmask.input_ranges() == {2: range(0, 80)} and unmask.owner_ranges() == per_block(16)
    for phase, on in [(2, 16), (3, 32), (4, 48), (5, 64), (6, 80), (7, 80)]:
        assert unmask.feeding_g(phase) == unmask.built(phase) == span(0, on)
        assert unmask.in_mi_penalty(phase, config.schedule.gradual_mi) == span(0, on)
        assert unmask.predicted(phase) == ALL  # the block-2 head has 80 units
        np.testing.assert_array_equal(unmask.unmask_mask(phase), [1] * on + [0] * (80 - on))


@pytest.mark.parametrize("name", ["exp_append_simple", "exp_condition"])
def test_per_block_variants_enter_predict_and_own_by_block(name):
    config = configs.preset(name)
    blocks = config.model.code_layout
    assert blocks.input_ranges() == blocks.owner_ranges() == per_block(16)
    for phase, built in [(2, 16), (3, 32), (5, 64), (6, 80), (7, 80)]:
        assert blocks.feeding_g(phase) == blocks.predicted(phase) == blocks.built(phase) == span(0, built)
        # Not gradual: all 80 count in the MI penalty's mean, built or not.
        assert blocks.in_mi_penalty(phase, config.schedule.gradual_mi) == ALL
    assert not set(blocks.built(5)) & set(range(64, 80))  # block 6 has no G input or Q head at phase 5
    assert blocks.block_ranges(7) == {**per_block(16), 7: range(0)}
    assert [blocks.coordinate(i).input_block for i in (0, 15, 16, 79)] == [2, 2, 3, 6]


def test_condition_4vars():
    small = layout("exp_condition_4vars")
    assert small.size == 20
    assert small.input_ranges() == small.owner_ranges() == per_block(4)
    assert small.feeding_g(4) == small.predicted(4) == small.built(4) == span(0, 12)
    assert small.in_mi_penalty(3, gradual_mi=False) == span(0, 20)
    assert small.block_ranges(7)[6] == range(16, 20) and small.block_ranges(7)[7] == range(0)
    np.testing.assert_array_equal(small.unmask_mask(3), [1] * 8 + [0] * 12)


def test_noinfo_has_no_coordinates():
    empty = layout("exp_noinfo")
    assert empty.size == 0 and empty.input_ranges() == {} and empty.owner_ranges() == {}
    assert empty.feeding_g(5) == empty.predicted(5) == empty.built(5) == empty.in_mi_penalty(5, True) == ()
    assert empty.block_ranges(3) == {2: range(0), 3: range(0)}
    assert empty.unmask_mask(3).shape == empty.mi_weights(3, False).shape == (0,)
    with pytest.raises(ValueError):
        empty.coordinate(0)


def test_groups_must_cover_the_code_and_blocks_increase():
    with pytest.raises(ValueError, match="cover"):
        layout_of(((2, 80),), ((2, 16), (3, 16)))
    with pytest.raises(ValueError, match="increase"):
        layout_of(((3, 4), (2, 4)))


def test_the_layout_is_not_part_of_the_configs_json():
    for config in configs.PRESETS.values():
        assert "code_layout" not in config.to_json()
        loaded = configs.ExperimentConfig.from_json(config.to_json())
        assert loaded == config and loaded.model.code_layout == config.model.code_layout
    assert configs.preset("exp_unmask").model.code_layout is configs.preset("exp_unmask").model.code_layout


@pytest.mark.parametrize("name", ["exp_vanilla", "exp_gradual_loss", "exp_unmask", "exp_append_simple",
                                  "exp_condition", "exp_condition_4vars"])
@pytest.mark.parametrize("phase", [2, 3])
def test_networks_read_and_predict_exactly_the_layouts_coordinates(name, phase):
    """A randomly initialised G's image moves with a coordinate iff it feeds G, and D's Q
    output is non-zero iff the coordinate has a head."""
    model = configs.preset(name).replace(model=dict(width_multiplier=1 / 16)).model
    code_layout = model.code_layout
    tf.keras.utils.set_random_seed(3)
    generator = networks.build_generator(model, phase)
    discriminator = networks.build_discriminator(model, phase)
    noise = tf.random.normal([1, model.noise_size])
    code = tf.random.normal([1, model.code_size])
    # Row i: coordinate i moved by 2, against the unmoved sample at the same row of another batch
    # (a kernel may round a batch's rows differently, by their position in it).
    noises, codes = tf.repeat(noise, model.code_size, axis=0), tf.repeat(code, model.code_size, axis=0)
    samples = generator(noises, codes, alpha=1.0)[-1].numpy()
    images = generator(noises, codes + 2.0 * tf.eye(model.code_size), alpha=1.0)[-1].numpy()
    moved = tuple(i for i in range(model.code_size) if np.abs(images[i] - samples[i]).max() > 1e-6)
    assert moved == code_layout.feeding_g(phase)
    _, mu = discriminator(images, alpha=1.0)
    predicted = tuple(i for i in range(model.code_size) if np.abs(mu.numpy()[:, i]).max() > 0)
    assert predicted == code_layout.predicted(phase)


def test_code_variables_map_onto_coordinates_blocks_and_groups():
    model = configs.ModelConfig(**configs.code_spec({2: [configs.categorical(10), configs.uniform(2)],
                                                     3: [configs.bernoulli(), configs.normal(3)]}))
    code = model.code_layout
    assert model.code_sizes == ((2, 12), (3, 4)) and code.size == 16 and not code.all_normal
    kinds = [(v.distribution, v.coordinates, v.input_block) for v in code.variables]
    assert kinds == [("categorical", range(0, 10), 2), ("uniform", range(10, 11), 2), ("uniform", range(11, 12), 2),
                     ("bernoulli", range(12, 13), 3)] + [("normal", range(c, c + 1), 3) for c in (13, 14, 15)]
    assert code.variable_of(7).index == 0 and code.first_coordinates() == (0, 10, 11, 12, 13, 14, 15)
    assert [v.categories for v in code.variables[:4]] == [10, 0, 0, 2]
    assert code.variables[0].entropy == pytest.approx(np.log(10))
    assert code.predicted(2) == span(0, 12)  # the one-hot coordinates enter G and Q with their block
    assert configs.preset("exp_vanilla").model.code_layout.all_normal


def test_code_variables_must_fit_code_sizes_and_not_straddle_groups():
    with pytest.raises(ValueError, match="span 5 coordinates"):
        configs.ModelConfig(code_sizes=((2, 4),), code_variables=((2, (configs.categorical(5),)),)).code_layout
    with pytest.raises(ValueError, match="straddles"):
        configs.ModelConfig(code_sizes=((2, 8),), code_variables=((2, (configs.categorical(8),)),),
                            schedule_groups=((2, 4), (3, 4))).code_layout
    with pytest.raises(ValueError, match="no coordinates"):
        configs.ModelConfig(code_sizes=((2, 4),), code_variables=((3, (configs.normal(4),)),)).code_layout


def test_check_values_accepts_only_codes_g_was_trained_on():
    layout = configs.ModelConfig(**configs.code_spec({2: [configs.categorical(3), configs.bernoulli(),
                                                          configs.normal()]})).code_layout
    layout.check_values([0, 0, 1, 1, -2.5])
    layout.check_values([1, 0, 0, 0, 7.0])
    for code, message in (([0, 0, 0, 1, 0], "C0..C2 are one categorical variable and must be one-hot"),
                          ([0, 1, 1, 1, 0], "one-hot"), ([0, 0.9, 0, 1, 0], "one-hot"), ([0, 2, -1, 1, 0], "one-hot"),
                          ([1, 0, 0, 0.5, 0], "C3 is a Bernoulli variable and must be 0 or 1, got 0.5"),
                          ([1, 0, 0, -1, 0], "must be 0 or 1")):
        with pytest.raises(ValueError, match=re.escape(message)):
            layout.check_values(code)
