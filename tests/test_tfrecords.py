"""Tests for progressive_infogan/tfrecords.py: layout, box filter, manifest, bad inputs."""
import json
import os

import numpy as np
import PIL.Image
import pytest
import tensorflow as tf

from progressive_infogan import tfrecord_sources, tfrecord_writer, tfrecords


def _random_images(count, size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def _read_level(path):
    return np.stack([tfrecords.decode_example(record) for record in tf.data.TFRecordDataset(path).as_numpy_iterator()])


def _write_set(out_dir, images, **kwargs):
    with tfrecord_writer.TFRecordSetWriter(str(out_dir), images.shape[1], **kwargs) as writer:
        for image in images:
            writer.add_image(image)
        return writer.finish()


def _numpy_box_pyramid(image):
    """Reference: NVIDIA dataset_tool's loop, on CHW as they wrote it."""
    img = image.transpose(2, 0, 1)
    levels = []
    for lod in range(int(np.log2(image.shape[0])) - 1):
        if lod:
            img = img.astype(np.float32)
            img = (img[:, 0::2, 0::2] + img[:, 0::2, 1::2] + img[:, 1::2, 0::2] + img[:, 1::2, 1::2]) * 0.25
        levels.append(np.rint(img).clip(0, 255).astype(np.uint8).transpose(1, 2, 0))
    return levels


def test_record_filename_layout():
    assert tfrecords.record_filename("celeba_hq_tfrecord", 4) == "celeba_hq_tfrecord-r02.tfrecords"
    assert tfrecords.record_filename("x", 1024) == "x-r10.tfrecords"
    assert tfrecords.record_filename("x", 64, 2, 4) == "x-r06-00002-of-00004.tfrecords"
    with pytest.raises(ValueError, match="power of two"):
        tfrecords.record_filename("x", 48)


def test_encoded_example_parses_as_tf_example():
    image = _random_images(1, 8)[0]
    expected = tf.train.Example(features=tf.train.Features(feature={
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=[3, 8, 8])),
        "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.transpose(2, 0, 1).tobytes()])),
    }))
    encoded = tfrecords.encode_example(image)
    # Map entries have no fixed wire order, so the parsed messages are compared, not the bytes.
    assert tf.train.Example.FromString(encoded) == expected
    parsed = tf.io.parse_single_example(encoded, {"data": tf.io.FixedLenFeature([], tf.string),
                                                  "shape": tf.io.FixedLenFeature([3], tf.int64)})
    assert parsed["shape"].numpy().tolist() == [3, 8, 8]


def test_box_pyramid_matches_nvidia_reference():
    image = _random_images(1, 32, seed=3)[0]
    levels = tfrecords.image_pyramid(image)
    reference = _numpy_box_pyramid(image)
    assert [level.shape[0] for level in levels] == [32, 16, 8, 4]
    for level, expected in zip(levels, reference):
        np.testing.assert_array_equal(level, expected)
    # Carrying the float matters: re-averaging the rounded level differs somewhere.
    rounded_twice = np.rint(tfrecords.downsample_2x2_box(levels[1])).astype(np.uint8)
    assert not np.array_equal(rounded_twice, levels[2])


def test_round_trip_every_level_and_manifest(tmp_path):
    images = _random_images(5, 16)
    manifest = _write_set(tmp_path, images, prefix="set", source={"kind": "test"})
    for resolution in (4, 8, 16):
        path = tmp_path / f"set-r{int(np.log2(resolution)):02d}.tfrecords"
        read = _read_level(str(path))
        expected = np.stack([_numpy_box_pyramid(image)[int(np.log2(16 // resolution))] for image in images])
        np.testing.assert_array_equal(read, expected)
        assert manifest["files"][path.name]["sha256"] == tfrecords.sha256_of_file(str(path))
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk["complete"] is True and on_disk["count"] == 5 and on_disk["resolutions"] == [4, 8, 16]
    assert not (tmp_path / tfrecords.PREPARING_MARKER).exists()
    assert tfrecords.is_complete(str(tmp_path))


def test_shards_are_round_robin(tmp_path):
    images = _random_images(7, 8)
    _write_set(tmp_path, images, prefix="s", num_shards=3)
    shard1 = _read_level(str(tmp_path / "s-r03-00001-of-00003.tfrecords"))
    np.testing.assert_array_equal(shard1, images[1::3])


def test_interrupted_write_never_looks_complete(tmp_path):
    images = _random_images(4, 8)
    _write_set(tmp_path, images, prefix="p")
    assert tfrecords.is_complete(str(tmp_path))

    def failing_images():
        yield tfrecords.encode_pyramid(images[0])
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        tfrecord_writer.write_record_set(str(tmp_path), failing_images(), 8, prefix="p")
    names = set(os.listdir(tmp_path))
    assert "manifest.json" not in names
    assert not [name for name in names if name.endswith(".tmp")]
    assert tfrecords.PREPARING_MARKER in names
    assert not tfrecords.is_complete(str(tmp_path))
    # A rerun starts clean and finishes.
    _write_set(tmp_path, images[:2], prefix="p")
    assert tfrecords.read_manifest(str(tmp_path))["count"] == 2
    assert len(_read_level(str(tmp_path / "p-r03.tfrecords"))) == 2


def _save(path, array, mode=None, **kwargs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    PIL.Image.fromarray(array, mode).save(path, **kwargs)


def test_image_folder_conversions_and_skips(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    _save(str(src / "a_rgb.png"), rgb)
    _save(str(src / "nested" / "b_gray.png"), rng.integers(0, 256, (20, 20), dtype=np.uint8))
    _save(str(src / "c_rgba.png"), rng.integers(0, 256, (16, 16, 4), dtype=np.uint8))
    PIL.Image.fromarray(rgb).convert("P").save(str(src / "d_palette.png"))
    PIL.Image.fromarray(rgb).convert("CMYK").save(str(src / "e_cmyk.jpg"))
    _save(str(src / "f_wide.png"), rng.integers(0, 256, (16, 24, 3), dtype=np.uint8))
    _save(str(src / "g_small.png"), rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    (src / "h_empty.png").write_bytes(b"")
    (src / "i_corrupt.jpg").write_bytes(b"this is not a jpeg at all")
    good_png = (src / "a_rgb.png").read_bytes()
    (src / "j_truncated.png").write_bytes(good_png[: len(good_png) // 2])
    logs = []
    options = tfrecord_sources.ImageFolderOptions(16)
    manifest = tfrecord_sources.write_from_image_folder(str(src), str(out), options, num_workers=1, log=logs.append)
    assert manifest["count"] == 5
    assert manifest["converted_to_rgb"] == {"L": 1, "RGBA": 1, "P": 1, "CMYK": 1}
    skipped = {reason: entry["count"] for reason, entry in manifest["skipped"].items()}
    assert skipped == {"zero-byte file": 1, "unreadable or corrupt image": 2, "not square": 1,
                       "smaller than the requested resolution": 1}
    assert any("h_empty.png: zero-byte file" in line for line in logs)
    assert any("j_truncated.png: unreadable or corrupt image" in line for line in logs)
    assert any("f_wide.png: not square (24x16); pass center_crop" in line for line in logs)
    assert any("g_small.png: smaller than the requested resolution (8 < 16)" in line for line in logs)
    top = _read_level(str(out / "out-r04.tfrecords"))
    np.testing.assert_array_equal(top[0], rgb)  # sorted order, no resize at the same size
    # With center_crop the wide image is kept (and converted by the 2 worker processes).
    manifest = tfrecord_sources.write_from_image_folder(
        str(src), str(out), tfrecord_sources.ImageFolderOptions(16, center_crop=True), num_workers=2, log=logs.append)
    assert manifest["count"] == 6


def test_bad_sources_and_destinations(tmp_path):
    options = tfrecord_sources.ImageFolderOptions(8)
    with pytest.raises(tfrecords.DatasetPreparationError, match=r"source .*missing does not exist"):
        tfrecord_sources.write_from_image_folder(str(tmp_path / "missing"), str(tmp_path / "o"), options)
    (tmp_path / "empty").mkdir()
    with pytest.raises(tfrecords.DatasetPreparationError, match="no image files .* found under"):
        tfrecord_sources.write_from_image_folder(str(tmp_path / "empty"), str(tmp_path / "o"), options)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.png").write_bytes(b"")
    (bad / "y.png").write_bytes(b"garbage")
    with pytest.raises(tfrecords.DatasetPreparationError, match=r"no usable images in .*1 zero-byte file; 1 unreadable"):
        tfrecord_sources.write_from_image_folder(str(bad), str(tmp_path / "o2"), options, log=lambda line: None)
    assert not (tmp_path / "o2" / "manifest.json").exists()
    assert not [name for name in os.listdir(tmp_path / "o2") if name.endswith((".tmp", ".tfrecords"))]
    _save(str(tmp_path / "ok" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    blocker = tmp_path / "file_not_dir"
    blocker.write_text("x")
    with pytest.raises(tfrecords.DatasetPreparationError, match="destination .*file_not_dir/out is not writable"):
        tfrecord_sources.write_from_image_folder(str(tmp_path / "ok"), str(blocker / "out"), options)
    if os.geteuid() != 0:  # root writes anywhere, so a read-only directory proves nothing there
        readonly = tmp_path / "readonly"
        readonly.mkdir(mode=0o500)
        with pytest.raises(tfrecords.DatasetPreparationError, match="is not writable"):
            tfrecord_sources.write_from_image_folder(str(tmp_path / "ok"), str(readonly), options)


def test_nvidia_records_validate_in_place_and_reshard(tmp_path):
    images = _random_images(6, 16)
    nvidia = tmp_path / "celeba"
    _write_set(nvidia, images, prefix="celeba_hq_tfrecord")
    (nvidia / "manifest.json").unlink()
    manifest = tfrecord_sources.import_nvidia_tfrecords(str(nvidia), check_every=1)
    assert manifest["count"] == 6 and manifest["resolutions"] == [4, 8, 16] and manifest["complete"]
    assert tfrecords.is_complete(str(nvidia))
    out = tmp_path / "resharded"
    tfrecord_sources.import_nvidia_tfrecords(str(nvidia), str(out), num_shards=2)
    np.testing.assert_array_equal(_read_level(str(out / "celeba_hq_tfrecord-r04-00001-of-00002.tfrecords")),
                                  images[1::2])


def test_nvidia_bad_inputs(tmp_path):
    with pytest.raises(tfrecords.DatasetPreparationError, match="does not exist"):
        tfrecord_sources.import_nvidia_tfrecords(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(tfrecords.DatasetPreparationError, match=r"no \*-rNN.tfrecords files"):
        tfrecord_sources.import_nvidia_tfrecords(str(tmp_path / "empty"))
    # A wrong-shape record in the r03 file.
    wrong = tmp_path / "wrong"
    _write_set(wrong, _random_images(2, 8), prefix="w")
    with tf.io.TFRecordWriter(str(wrong / "w-r03.tfrecords")) as writer:
        writer.write(tfrecords.encode_example(_random_images(1, 4)[0]))
    with pytest.raises(tfrecords.DatasetPreparationError, match=r"w-r03.tfrecords: record 0 has shape HWC \[4, 4, 3\]"):
        tfrecord_sources.import_nvidia_tfrecords(str(wrong), check_every=1)
    # A truncated file.
    truncated = tmp_path / "truncated"
    _write_set(truncated, _random_images(3, 8), prefix="t")
    path = truncated / "t-r03.tfrecords"
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(tfrecords.DatasetPreparationError, match="t-r03.tfrecords is truncated or corrupt after 2 records"):
        tfrecord_sources.import_nvidia_tfrecords(str(truncated))


def test_tfds_never_downloads(tmp_path):
    with pytest.raises(tfrecords.DatasetPreparationError, match="'mnist' is not prepared in .*never downloads"):
        tfrecord_sources.write_from_tfds("mnist", str(tmp_path / "o"), tfrecord_sources.ImageFolderOptions(8),
                                  tfds_data_dir=str(tmp_path / "tfds"))
    with pytest.raises(tfrecords.DatasetPreparationError, match="give its manual directory"):
        tfrecord_sources.write_from_tfds("celeb_a_hq/128", str(tmp_path / "o"), tfrecord_sources.ImageFolderOptions(8),
                                  tfds_data_dir=str(tmp_path / "tfds"))
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_tfds_conversion_of_a_locally_prepared_dataset(tmp_path):
    import tensorflow_datasets as tfds

    class TinyRectangles(tfds.core.GeneratorBasedBuilder):
        """Five non-square RGB images, prepared from memory (nothing to download)."""

        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
                {"image": tfds.features.Image(shape=(12, 10, 3)), "label": tfds.features.ClassLabel(num_classes=2)}))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            rng = np.random.default_rng(0)
            for index in range(5):
                yield index, {"image": rng.integers(0, 256, (12, 10, 3), dtype=np.uint8), "label": index % 2}

    tfds_dir = str(tmp_path / "tfds")
    TinyRectangles(data_dir=tfds_dir).download_and_prepare()
    options = tfrecord_sources.ImageFolderOptions(8, center_crop=True)
    manifest = tfrecord_sources.write_from_tfds("tiny_rectangles", str(tmp_path / "o"), options, tfds_data_dir=tfds_dir)
    assert manifest["count"] == 5 and manifest["resolutions"] == [4, 8]
    assert manifest["source"]["kind"] == "tfds"
    with pytest.raises(tfrecords.DatasetPreparationError, match=r"no usable images in tiny_rectangles \(5 not square \(10x12\); pass center_crop to crop it\)"):
        tfrecord_sources.write_from_tfds("tiny_rectangles", str(tmp_path / "o2"), tfrecord_sources.ImageFolderOptions(8),
                                  tfds_data_dir=tfds_dir, log=lambda line: None)
