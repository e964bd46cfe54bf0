"""Tests for progressive_infogan/data.py: the reader and the thesis's preprocessing."""
import json
import logging
import os

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import data, tfrecord_writer, tfrecords
from progressive_infogan.errors import UserError


def _write_set(out_dir, images, **kwargs):
    with tfrecord_writer.TFRecordSetWriter(str(out_dir), images.shape[1], **kwargs) as writer:
        for image in images:
            writer.add_image(image)
        return writer.finish()


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """12 random images at 32x32 (levels 4..32)."""
    out_dir = tmp_path_factory.mktemp("records")
    images = np.random.default_rng(0).integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    _write_set(out_dir, images, prefix="faces")
    return str(out_dir), images


def _all_images(dataset):
    return np.concatenate([batch.numpy() for batch in dataset])


def _legacy_bilinear(image, size):
    """TF1 resize_bilinear, align_corners=False and no half-pixel centres, in numpy."""
    in_size = image.shape[0]
    coords = np.arange(size) * (in_size / size)
    low = np.floor(coords).astype(int)
    high = np.minimum(low + 1, in_size - 1)
    weight = (coords - low)[:, None, None]
    rows = image[low] * (1 - weight) + image[high] * weight
    weight = (coords - low)[None, :, None]
    return rows[:, low] * (1 - weight) + rows[:, high] * weight


def test_crop_table_matches_the_spec():
    table = {8: (0, 6), 16: (1, 13), 32: (2, 26), 64: (5, 53), 128: (10, 106), 256: (21, 213), 512: (42, 426)}
    for size, box in table.items():
        assert data.original_crop_box(size) == box


def test_record_paths(dataset_dir):
    data_dir, _ = dataset_dir
    assert data.record_paths(data_dir, 8) == [os.path.join(data_dir, "faces-r03.tfrecords")]
    assert data.available_resolutions(data_dir) == [4, 8, 16, 32]
    with pytest.raises(FileNotFoundError, match=r"no record file for 64x64 \(\*-r06.tfrecords\).*\[4, 8, 16, 32\]"):
        data.record_paths(data_dir, 64)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.record_paths(os.path.join(data_dir, "nope"), 8)


def test_plain_round_trip_is_exact_at_every_resolution(dataset_dir):
    data_dir, images = dataset_dir
    for phase in (2, 3, 4, 5):
        batches = data.make_dataset(data_dir, phase, 5, preprocessing="plain", shuffle_buffer=0, repeat=False,
                                    drop_remainder=False)
        read = _all_images(batches)
        assert read.shape == (12, 2**phase, 2**phase, 3) and read.dtype == np.float32
        expected = np.stack([tfrecords.image_pyramid(image)[5 - phase] for image in images])
        np.testing.assert_array_equal(np.rint((read + 1) * 127.5).astype(np.uint8), expected)


def test_original_preprocessing_matches_reference(dataset_dir):
    data_dir, images = dataset_dir
    for phase in (2, 3, 4):
        read = _all_images(data.make_dataset(data_dir, phase, 4, shuffle_buffer=0, repeat=False))
        source = 2 ** (phase + 1)
        offset, size = data.original_crop_box(source)
        for index in (0, 7):
            record = tfrecords.image_pyramid(images[index])[5 - phase - 1].astype(np.float64)
            scaled = record / 256.0 * 2.0 - 1.0
            expected = _legacy_bilinear(scaled[offset:offset + size, offset:offset + size], 2**phase)
            np.testing.assert_allclose(read[index], expected, atol=2e-6)
            tf_reference = tf.compat.v1.image.resize_bilinear(
                scaled[None, offset:offset + size, offset:offset + size].astype(np.float32), [2**phase] * 2,
                align_corners=False, half_pixel_centers=False)[0]
            np.testing.assert_allclose(read[index], tf_reference, atol=1e-6)


def test_original_phase_reads_the_top_level_when_capped(dataset_dir):
    data_dir, images = dataset_dir
    assert data.source_resolution(data_dir, 4) == 32
    assert data.source_resolution(data_dir, 5) == 32  # r06 absent: capped at the top level
    read = _all_images(data.make_dataset(data_dir, 5, 4, shuffle_buffer=0, repeat=False))
    expected = _legacy_bilinear(images[0].astype(np.float64)[2:28, 2:28] / 128.0 - 1.0, 32)
    np.testing.assert_allclose(read[0], expected, atol=2e-6)


def test_value_range_is_minus_one_to_0_9921875(tmp_path):
    images = np.zeros((2, 16, 16, 3), np.uint8)
    images[1] = 255
    _write_set(tmp_path, images)
    read = _all_images(data.make_dataset(str(tmp_path), 3, 2, shuffle_buffer=0, repeat=False))
    assert read[0].min() == read[0].max() == -1.0
    assert read[1].min() == read[1].max() == 0.9921875


def test_shuffle_repeat_batch_and_mirror(dataset_dir):
    data_dir, images = dataset_dir
    batches = data.make_dataset(data_dir, 5, 8, preprocessing="plain", mirror=True, seed=3)
    first = [batch.numpy() for batch, _ in zip(batches, range(6))]
    assert all(batch.shape == (8, 32, 32, 3) for batch in first)  # repeats past 12 images, full batches
    flat = np.rint((np.concatenate(first) + 1) * 127.5).astype(np.uint8)
    flipped = 0
    for image in flat:
        straight = [np.array_equal(image, original) for original in images]
        mirrored = [np.array_equal(image, original[:, ::-1]) for original in images]
        assert any(straight) or any(mirrored)
        flipped += any(mirrored)
    assert 0 < flipped < len(flat)
    shuffled = np.rint((first[0] + 1) * 127.5).astype(np.uint8)
    assert not all(np.array_equal(shuffled[i], images[i]) or np.array_equal(shuffled[i], images[i][:, ::-1])
                   for i in range(8))


def test_sharded_set_reads_back_in_written_order(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (7, 8, 8, 3), dtype=np.uint8)
    _write_set(tmp_path, images, num_shards=3)
    assert len(data.record_paths(str(tmp_path), 8)) == 3
    read = _all_images(data.make_dataset(str(tmp_path), 3, 7, preprocessing="plain", shuffle_buffer=0, repeat=False))
    np.testing.assert_array_equal(np.rint((read + 1) * 127.5).astype(np.uint8), images)


def test_wrong_shape_records_give_a_clear_error(tmp_path):
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    with tf.io.TFRecordWriter(str(wrong / "x-r03.tfrecords")) as writer:
        writer.write(tfrecords.encode_example(np.zeros((4, 4, 3), np.uint8)))
    with pytest.raises(ValueError, match=r"x-r03.tfrecords: records hold CHW \[3, 4, 4\] images, expected \[3, 8, 8\]"):
        data.make_dataset(str(wrong), 3, 1, preprocessing="plain")
    # A bad record after a good first one fails when it is read.
    later = tmp_path / "later"
    later.mkdir()
    with tf.io.TFRecordWriter(str(later / "x-r03.tfrecords")) as writer:
        writer.write(tfrecords.encode_example(np.zeros((8, 8, 3), np.uint8)))
        writer.write(tfrecords.encode_example(np.zeros((4, 4, 3), np.uint8)))
    batches = data.make_dataset(str(later), 3, 2, preprocessing="plain", shuffle_buffer=0, repeat=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"does not hold a \[3, 8, 8\] uint8 image"):
        _all_images(batches)


def test_unfinished_preparation_is_refused(tmp_path):
    images = np.zeros((2, 8, 8, 3), np.uint8)

    def failing():
        yield tfrecords.encode_pyramid(images[0])
        raise KeyboardInterrupt

    _write_set(tmp_path, images)
    with pytest.raises(KeyboardInterrupt):
        tfrecord_writer.write_record_set(str(tmp_path), failing(), 8)
    with pytest.raises(ValueError, match="unfinished preparation"):
        data.make_dataset(str(tmp_path), 3, 1)


def test_bad_arguments(dataset_dir):
    data_dir, _ = dataset_dir
    with pytest.raises(ValueError, match="preprocessing must be one of"):
        data.make_dataset(data_dir, 3, 1, preprocessing="fancy")
    with pytest.raises(FileNotFoundError, match=r"-r06.tfrecords"):
        data.make_dataset(data_dir, 6, 1, preprocessing="plain")


@pytest.fixture
def fresh_set(tmp_path):
    """A record set of its own (levels 4..32) for a test to damage."""
    images = np.random.default_rng(1).integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    _write_set(tmp_path, images, prefix="faces")
    return str(tmp_path)


def test_check_records_refuses_a_truncated_file_that_a_later_phase_reads(fresh_set):
    top = os.path.join(fresh_set, "faces-r05.tfrecords")
    size = os.path.getsize(top)
    with open(top, "r+b") as handle:
        handle.truncate(size - 100)
    # Phases 2 and 3 read r03 and r04 (the level above): intact.
    assert data.check_records(fresh_set, [2, 3]) == [os.path.join(fresh_set, f"faces-r0{n}.tfrecords") for n in (3, 4)]
    with pytest.raises(ValueError, match=f"{top} has {size - 100} bytes, {size} in .*manifest.json"):
        data.check_records(fresh_set, [2, 3, 4])


def test_check_records_with_hashes_finds_a_damaged_file_of_the_right_size(fresh_set):
    path = os.path.join(fresh_set, "faces-r04.tfrecords")
    with open(path, "r+b") as handle:
        handle.seek(os.path.getsize(path) // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    data.check_records(fresh_set, [2, 3, 4])  # sizes only
    with pytest.raises(ValueError, match=f"{path} does not match its SHA-256"):
        data.check_records(fresh_set, [2, 3, 4], verify_hashes=True)


def test_check_records_says_what_it_could_not_check(fresh_set, caplog):
    manifest_path = os.path.join(fresh_set, tfrecords.MANIFEST_NAME)
    manifest = tfrecords.read_manifest(fresh_set)
    for entry in manifest["files"].values():
        del entry["sha256"]
    with open(manifest_path, "w") as handle:
        json.dump(manifest, handle)
    with caplog.at_level(logging.INFO, logger="progressive_infogan"):
        data.check_records(fresh_set, [2], verify_hashes=True)
    assert "has no hashes for faces-r03.tfrecords: only their sizes were checked" in caplog.text
    os.remove(manifest_path)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="progressive_infogan"):
        data.check_records(fresh_set, [2])
    assert "no manifest.json; record sizes and hashes not checked" in caplog.text


def test_a_dataset_below_the_last_phase_is_refused_before_training(fresh_set):
    # Levels 4..32: phase 5 (32x32) is the most it can feed; phase 6 would read 32x32 upscaled.
    data.check_records(fresh_set, [2, 3, 4, 5])
    with pytest.raises(UserError, match=r"tops out at 32x32, but the run's last phase \(phase 6\) trains at 64x64"):
        data.check_records(fresh_set, [2, 3, 4, 5, 6])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.check_top_resolution(os.path.join(fresh_set, "nope"), 3)
