import numpy as np
import pytest
from PIL import Image

from explore_fixtures import EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE, PHASE, small_config
from progressive_infogan import figures
from progressive_infogan.errors import UserError
from progressive_infogan.explore import common, traversal
from progressive_infogan.latents import latents

SIZE = 2 ** PHASE


def test_traversal_grid_changes_exactly_along_an_effective_coordinate(small_run, tmp_path):
    path = str(tmp_path / "traversal.png")
    coordinates = [0, EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE]
    [result] = traversal.write_traversal(path, small_run.generator, small_run.config.model, coordinates,
                                         num_samples=3, steps=5)
    assert result.images.shape == (3, 3, 5, SIZE, SIZE, 3)
    np.testing.assert_allclose(result.values, [-3, -1.5, 0, 1.5, 3])
    with Image.open(path) as image:
        assert image.size == (result.figure.shape[1], result.figure.shape[0])
    # Faces of 16 px are shown at 64 px: 5 columns and 2-px gaps, and a caption strip.
    assert result.figure.shape[1] >= 5 * 64 + 4 * 2
    for index in (0, 1):  # effective: every column differs from its neighbour, for every sample
        differences = np.abs(np.diff(result.images[index], axis=1)).max(axis=(2, 3, 4))
        assert (differences > 1e-3).all(), differences
    # A block-6 coordinate does not enter a phase-4 G: all columns are identical, up to the rounding kernels do by
    # batch position (about 1e-8 with oneDNN on AVX-512, 2e-6 on a CPU without it; the effective columns above
    # differ by more than 1e-3).
    ineffective = result.images[2]
    largest = max(np.abs(ineffective[:, 0] - ineffective[:, k]).max() for k in range(5))
    assert largest < 1e-5, largest
    # Rows are different samples.
    assert np.abs(result.images[1, 0] - result.images[1, 1]).max() > 1e-2


def test_select_coordinates():
    model_config = small_config().model
    assert common.select_coordinates(model_config, "all") == list(range(80))
    assert common.select_coordinates(model_config, "effective", phase=3) == list(range(32))
    assert common.select_coordinates(model_config, "block:3") == list(range(16, 32))
    assert common.select_coordinates(model_config, "block:2,6") == list(range(16)) + list(range(64, 80))
    assert common.select_coordinates(model_config, "5, 17,40") == [5, 17, 40]
    assert common.select_coordinates(model_config, [1, 2]) == [1, 2]
    assert common.coordinate_block(model_config, 70) == 6
    with pytest.raises(ValueError):
        common.select_coordinates(model_config, "80")
    with pytest.raises(ValueError):
        common.select_coordinates(model_config, "block:7")
    vanilla = small_config("exp_vanilla").model
    assert common.select_coordinates(vanilla, "effective", phase=3) == list(range(80))


def test_a_categorical_traversal_steps_through_every_category():
    from progressive_infogan import config as configs
    from progressive_infogan import networks

    model = configs.ModelConfig(**configs.code_spec({2: [configs.uniform(), configs.categorical(5)]}),
                                injection="append", width_multiplier=1 / 32)
    generator = networks.build_generator(model, 2)
    seen = []

    def spy(noise, code, alpha=1.0, training=False):
        seen.append(np.asarray(code))
        return generator(noise, code, alpha=alpha, training=training)

    result = traversal.traversal(spy, model, [3, 1, 5], num_samples=2, seed=0)
    assert result.coordinates == [1]  # the variable's coordinates are one panel
    np.testing.assert_array_equal(result.values, [0, 1, 2, 3, 4])
    assert result.images.shape == (1, 2, 5, 4, 4, 3)
    codes = np.concatenate(seen)
    np.testing.assert_array_equal(codes[:, 1:], np.tile(np.eye(5), (2, 1)))  # sample-major, one-hot per column
    np.testing.assert_array_equal(codes[:5, 0], codes[0, 0])  # the uniform coordinate stays the sample's
    differences = np.abs(np.diff(result.images[0], axis=1)).max(axis=(2, 3, 4))
    assert (differences > 0).all(), differences
    with pytest.raises(UserError, match="same number of values"):
        traversal.traversal(spy, model, [0, 1], num_samples=1)


def test_a_traversal_figure_mixes_variable_kinds(tmp_path):
    from progressive_infogan import config as configs
    from progressive_infogan import networks

    model = configs.ModelConfig(**configs.code_spec({2: [configs.uniform(), configs.categorical(5), configs.bernoulli(),
                                                         configs.uniform()]}),
                                injection="append", width_multiplier=1 / 32)
    generator = networks.build_generator(model, 2)
    path = str(tmp_path / "traversal.png")
    # The selection order is kept within a kind; the kinds come in the order they first appear.
    results = traversal.write_traversal(path, generator, model, [3, 6, 0, 7], num_samples=2, steps=3, seed=0)
    assert [result.coordinates for result in results] == [[1], [6], [0, 7]]
    np.testing.assert_array_equal(results[0].values, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(results[1].values, [0, 1])
    np.testing.assert_array_equal(results[2].values, [-3, 0, 3])
    # Every group shows the same samples: set to its own category (or its own Bernoulli value), a sample is its
    # unchanged image, up to batch-position rounding.
    _, code = map(np.asarray, latents(model, 0, 0, 2))
    for sample in range(2):
        own_category, own_bit = int(np.argmax(code[sample, 1:6])), int(code[sample, 6])
        np.testing.assert_allclose(results[0].images[0, sample, own_category], results[1].images[0, sample, own_bit],
                                   atol=1e-5)
    with Image.open(path) as image:
        figure = np.asarray(image)
    np.testing.assert_array_equal(figure, figures.stack_vertically([result.figure for result in results]))
