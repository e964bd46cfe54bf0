"""Tests for progressive_infogan/metrics/ms_ssim.py."""
import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan.metrics import ms_ssim


def random_images(count, size, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (count, size, size, 3)).astype(np.float32)


def test_nearest_upscale_duplicates_each_pixel_into_a_block():
    images = random_images(2, 4)
    upscaled = ms_ssim.nearest_upscale(images, 256).numpy()
    assert upscaled.shape == (2, 256, 256, 3)
    # Every 64x64 block is one source pixel.
    np.testing.assert_array_equal(upscaled[:, ::64, ::64], images)
    np.testing.assert_array_equal(upscaled[:, 63::64, 63::64], images)
    np.testing.assert_array_equal(upscaled[:, 130, 200], images[:, 2, 3])
    # Same as TF's nearest-neighbour resize, which the original used, for an integer factor.
    np.testing.assert_array_equal(upscaled, tf.image.resize(images, [256, 256], method="nearest").numpy())


def test_nearest_upscale_rejects_non_integer_factors():
    with pytest.raises(ValueError, match="divides"):
        ms_ssim.nearest_upscale(random_images(1, 24), 256)


def test_msssim_diversity_of_identical_pairs_is_zero():
    images = np.repeat(random_images(3, 16), 2, axis=0)  # pairs (0, 1), (2, 3), (4, 5) are equal
    assert ms_ssim.msssim_diversity(images) == pytest.approx(0.0, abs=1e-5)


def test_msssim_diversity_of_different_random_images_is_positive():
    assert ms_ssim.msssim_diversity(random_images(6, 32)) > 0.5


def test_msssim_diversity_pairs_consecutive_images():
    different = random_images(2, 8, seed=1)
    same = random_images(1, 8, seed=2)
    images = np.concatenate([same, same, different])  # pairs: (same, same), (different[0], different[1])
    pair_values = ms_ssim.msssim_pairs(images[0::2], images[1::2])
    assert pair_values[0] == pytest.approx(1.0, abs=1e-5)
    assert pair_values[1] < 0.5
    assert ms_ssim.msssim_diversity(images) == pytest.approx(1.0 - pair_values.mean(), abs=1e-6)


def test_msssim_pairs_is_tf_ssim_multiscale_on_shifted_256px_images():
    first, second = random_images(3, 64, seed=3), random_images(3, 64, seed=4)
    second = 0.5 * first + 0.5 * second  # partly similar, so MS-SSIM is well inside (0, 1)
    expected = tf.image.ssim_multiscale(
        ms_ssim.nearest_upscale(first) + 1.0, ms_ssim.nearest_upscale(second) + 1.0, max_val=2.0)
    np.testing.assert_allclose(ms_ssim.msssim_pairs(first, second, batch_size=2), expected.numpy(), atol=1e-6)
