import numpy as np
from PIL import Image
from scipy import ndimage

from explore_fixtures import (BERNOULLI, EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE, PHASE, MixedCodeGenerator,
                              mixed_model)
from progressive_infogan.explore import averaging, blocks, common
from progressive_infogan.latents import latents

SIZE = 2 ** PHASE


def test_change_intensity_blurs_per_sample_averages_and_takes_the_channel_norm():
    left = np.zeros([2, 9, 9, 3], np.float32)
    right = np.zeros_like(left)
    right[0, 4, 4, 0] = 1.0
    right[1, 4, 4, 1] = -2.0
    change = averaging.change_intensity(left, right, blur_sigma=1.0)
    kernel = ndimage.gaussian_filter(np.pad([[1.0]], 4), 1.0)
    expected = np.sqrt((0.5 * kernel) ** 2 + (0.5 * 2 * kernel) ** 2)
    np.testing.assert_allclose(change, expected, rtol=1e-5, atol=1e-7)
    assert np.unravel_index(np.argmax(change), change.shape) == (4, 4)
    unblurred = averaging.change_intensity(left, right, blur_sigma=0)
    assert unblurred[4, 4] == np.float32(np.sqrt(0.5 ** 2 + 1.0 ** 2)) and unblurred.sum() == unblurred[4, 4]


def test_masked_view_keeps_the_pixels_above_the_percentile():
    change = np.arange(100, dtype=np.float32).reshape(10, 10)
    image = np.full([10, 10, 3], -0.5, np.float32)
    masked = averaging.masked_view(image, change, 90.0)
    kept = masked[..., 0] == -0.5
    assert kept.sum() == 10 and kept[9].all()
    np.testing.assert_allclose(masked[~kept], 2 * averaging.FLAT_VALUE - 1)


def test_sample_average_of_an_effective_and_an_ignored_coordinate(small_run, tmp_path):
    generator, model_config = small_run.generator, small_run.config.model
    path = str(tmp_path / "averaging.png")
    effective = averaging.write_sample_average(path, generator, model_config, EFFECTIVE_COORDINATE, num_samples=12)
    with Image.open(path) as image:
        assert image.size == (effective.figure.shape[1], effective.figure.shape[0])
    assert effective.change_map.shape == (SIZE, SIZE) and effective.change_map.min() > 0
    assert effective.left_mean.shape == (SIZE, SIZE, 3)
    assert not np.allclose(effective.left_mean, effective.right_mean)
    assert sorted(effective.masked) == sorted(averaging.PERCENTILES)
    # The 80th-percentile view keeps about a fifth of the pixels.
    kept = np.all(effective.masked[80.0] == effective.right_mean, axis=-1).mean()
    assert 0.15 <= kept <= 0.25

    ignored = averaging.sample_average(generator, model_config, INEFFECTIVE_COORDINATE, num_samples=12)
    assert not ignored.change_map.any()  # exactly zero
    np.testing.assert_array_equal(ignored.left_mean, ignored.right_mean)
    for view in ignored.masked.values():
        np.testing.assert_allclose(view, 2 * averaging.FLAT_VALUE - 1)


def test_block_outputs_show_every_block(small_run, tmp_path):
    generator, model_config = small_run.generator, small_run.config.model
    path = str(tmp_path / "blocks.png")
    result = blocks.write_block_outputs(path, generator, model_config, num_samples=3, seed=5)
    assert result.blocks == [2, 3, 4]
    assert result.images.shape == (3, 3, SIZE, SIZE, 3)
    noise, code = latents(model_config, 5, 0, 3)
    np.testing.assert_allclose(result.images[:, -1], common.generate(generator, noise, code), atol=1e-6)
    # Block 2's image is a 4x4 image upsampled: constant on 4x4 cells.
    block_2 = result.images[:, 0]
    np.testing.assert_array_equal(block_2, np.repeat(np.repeat(block_2[:, ::4, ::4], 4, 1), 4, 2))
    with Image.open(path) as image:
        assert image.size == (result.figure.shape[1], result.figure.shape[0])
        assert image.size[0] >= 3 * 64


def test_sample_average_of_discrete_variables_has_a_mean_per_value():
    generator, model_config = MixedCodeGenerator(), mixed_model()
    result = averaging.sample_average(generator, model_config, 1, num_samples=5, min_display_size=8)
    np.testing.assert_array_equal(result.values, [0, 1, 2])  # any coordinate names the categorical variable
    assert result.coordinate == 1 and result.means.shape == (3, 8, 8, 3)
    # Each category's mean image: its red pattern (the noise's shade is common to all).
    red = result.means[..., 0]
    np.testing.assert_allclose(red - red.mean(axis=0), generator.red - generator.red.mean(axis=0), atol=1e-5)
    np.testing.assert_array_equal(result.left_mean, result.means[0])
    np.testing.assert_array_equal(result.right_mean, result.means[-1])
    # The change map: the blurred change averaged over the pairs of categories.
    pairs = [ndimage.gaussian_filter(np.abs(generator.red[i] - generator.red[j]), 1.0)
             for i, j in ((0, 1), (0, 2), (1, 2))]
    np.testing.assert_allclose(result.change_map, np.mean(pairs, axis=0), atol=1e-5)
    # Top row: 3 means, the change map and the masked views, captioned by category.
    assert result.figure.shape[1] >= (3 + 1 + len(averaging.PERCENTILES)) * 8
    bernoulli = averaging.sample_average(generator, model_config, BERNOULLI, num_samples=5, min_display_size=8)
    np.testing.assert_array_equal(bernoulli.values, [0, 1])
    np.testing.assert_allclose(bernoulli.right_mean[..., 1] - bernoulli.left_mean[..., 1], 0.6, atol=1e-5)
