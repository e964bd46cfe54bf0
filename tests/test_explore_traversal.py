import numpy as np
import pytest
from PIL import Image

from explore_fixtures import EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE, PHASE, small_config
from progressive_infogan.explore import common, tensorboard, traversal

SIZE = 2 ** PHASE


def test_traversal_grid_changes_exactly_along_an_effective_coordinate(small_run, tmp_path):
    path = str(tmp_path / "traversal.png")
    coordinates = [0, EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE]
    result = traversal.write_traversal(path, small_run.generator, small_run.config.model, coordinates,
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
    # A block-6 coordinate does not enter a phase-4 G: all columns are identical.
    ineffective = result.images[2]
    assert all(np.array_equal(ineffective[:, 0], ineffective[:, k]) for k in range(5))
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


def test_tensorboard_traversal_images_are_pure_and_cover_the_phase_blocks(small_run):
    model_config = small_run.config.model
    images = tensorboard.traversal_summary_images(small_run.generator, model_config, PHASE, 1.0,
                                                  coords_per_block=2, steps=7, seed=0)
    assert sorted(images) == sorted(f"traversal/block_{b}/coord_{c}"
                                    for b, first in ((2, 0), (3, 16), (4, 32)) for c in (first, first + 1))
    for image in images.values():
        assert image.dtype == np.uint8
        assert image.shape == (1, 3 * SIZE + 2 * 2, 7 * SIZE + 6 * 2, 3)
    again = tensorboard.traversal_summary_images(small_run.generator, model_config, PHASE, 1.0)
    assert all(np.array_equal(images[name], again[name]) for name in images)
    other = tensorboard.traversal_summary_images(small_run.generator, model_config, PHASE, 1.0, seed=1)
    assert not np.array_equal(images["traversal/block_3/coord_16"], other["traversal/block_3/coord_16"])


@pytest.mark.parametrize("name, expected", [("exp_vanilla", [2]), ("exp_unmask", [2, 3]), ("exp_noinfo", [])])
def test_tensorboard_traversal_images_of_other_variants(name, expected):
    from progressive_infogan import networks

    model_config = small_config(name).model
    generator = networks.build_generator(model_config, 3)
    images = tensorboard.traversal_summary_images(generator, model_config, 3, 0.5, coords_per_block=1, steps=3)
    blocks = [int(key.split("/")[1][len("block_"):]) for key in images]
    assert blocks == expected
