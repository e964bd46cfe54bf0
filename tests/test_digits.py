"""Tests for progressive_infogan/digits.py: the bundled 8x8 digits as records, labels aside."""

import numpy as np
import pytest

from progressive_infogan import digits, tfrecords


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    return digits.ensure_digits(str(tmp_path_factory.mktemp("digits")))


def test_the_records_hold_every_digit_at_4_and_8_px_with_labels_aside(digits_dir):
    manifest = tfrecords.read_manifest(digits_dir)
    assert manifest["count"] == 1797 and manifest["resolutions"] == [4, 8]
    images, labels = digits.real_digits(digits_dir, 3)
    assert images.shape == (1797, 8, 8, 3) and labels.shape == (1797,)
    assert np.bincount(labels).min() >= 170  # about 180 of each digit
    source, source_labels = digits.digit_images()
    np.testing.assert_array_equal(labels, source_labels)
    # Record order is sklearn's, pixels 0..16 -> -1..1 (plain preprocessing), grey in every channel.
    np.testing.assert_allclose(images, source / 127.5 - 1.0, atol=1e-6)
    assert images.min() == -1.0 and images.max() == 1.0
    small, _ = digits.real_digits(digits_dir, 2)
    assert small.shape == (1797, 4, 4, 3)


def test_prepared_data_is_reused(digits_dir):
    stamp = tfrecords.read_manifest(digits_dir)
    assert digits.ensure_digits(digits_dir) == digits_dir
    assert tfrecords.read_manifest(digits_dir) == stamp
