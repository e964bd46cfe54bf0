"""Tests for progressive_infogan/synthetic_faces.py: determinism, factor locality, sidecar."""
import os

import numpy as np
import pytest

from progressive_infogan import data, synthetic_faces, tfrecord_writer, tfrecords

SIZE = 64


def _with(base, **values):
    vector = base.copy()
    for name, value in values.items():
        vector[synthetic_faces.FACTOR_NAMES.index(name)] = value
    return vector


def _changed(first, second):
    return np.any(first != second, axis=-1)


def _factor_table(seed, num_images):
    return np.stack([synthetic_faces.sample_factors(seed, index) for index in range(num_images)])


def _eye_boxes(factors, size):
    """Pixel boxes (x0, y0, x1, y1, inclusive-exclusive) bounding each eye's white at `size`,
    from the geometry the renderer draws with."""
    g = synthetic_faces.face_geometry(factors)
    boxes = []
    for side in (-1, 1):
        x = g["center_x"] + side * g["eye_dx"]
        boxes.append((
            int(np.floor((x - g["eye_half_width"]) * size)), int(np.floor((g["eye_y"] - g["eye_half_height"]) * size)),
            int(np.ceil((x + g["eye_half_width"]) * size)), int(np.ceil((g["eye_y"] + g["eye_half_height"]) * size)),
        ))
    return boxes


def _eye_mask(factors, size):
    mask = np.zeros((size, size), bool)
    for x0, y0, x1, y1 in _eye_boxes(factors, size):
        mask[y0:y1, x0:x1] = True
    return mask


def test_factor_table():
    assert len(synthetic_faces.FACTOR_NAMES) >= 12
    assert len(set(synthetic_faces.FACTOR_NAMES)) == len(synthetic_faces.FACTOR_NAMES)
    scales = {factor.scale for factor in synthetic_faces.FACTORS}
    assert scales == {"coarse", "middle", "fine", "finest"}
    table = _factor_table(seed=5, num_images=400)
    low, high = synthetic_faces.FACTOR_RANGES.T
    assert np.all(table >= low) and np.all(table <= high)
    # Roughly uniform: every factor covers most of its range.
    assert np.all(table.max(0) - table.min(0) > 0.9 * (high - low))


def test_same_seed_same_bytes_and_index_independence():
    first = synthetic_faces.draw_face(synthetic_faces.sample_factors(7, 3), SIZE)
    again = synthetic_faces.draw_face(synthetic_faces.sample_factors(7, 3), SIZE)
    assert first.dtype == np.uint8 and first.shape == (SIZE, SIZE, 3)
    assert first.tobytes() == again.tobytes()
    assert not np.array_equal(first, synthetic_faces.draw_face(synthetic_faces.sample_factors(8, 3), SIZE))
    np.testing.assert_array_equal(_factor_table(7, 5)[3], synthetic_faces.sample_factors(7, 3))


def test_dict_and_vector_inputs_agree():
    vector = synthetic_faces.factor_vector({"smile": 1.0})
    np.testing.assert_array_equal(synthetic_faces.draw_face({"smile": 1.0}, 32), synthetic_faces.draw_face(vector, 32))
    with pytest.raises(ValueError, match="unknown factor names"):
        synthetic_faces.factor_vector({"freckles": 1.0})


@pytest.mark.parametrize("name, low, high", [("iris_hue", 0.0, 0.6), ("gaze_x", -1.0, 1.0), ("eyelid", 0.0, 1.0)])
def test_finest_factors_change_only_the_eyes(name, low, high):
    for index in range(3):
        base = synthetic_faces.sample_factors(1, index)
        first = synthetic_faces.draw_face(_with(base, **{name: low}), SIZE)
        second = synthetic_faces.draw_face(_with(base, **{name: high}), SIZE)
        changed = _changed(first, second)
        assert changed.any()
        assert not (changed & ~_eye_mask(base, SIZE)).any()
        assert changed.mean() < 0.02


def test_background_colour_changes_only_the_background():
    base = synthetic_faces.sample_factors(2, 0)
    first = synthetic_faces.draw_face(_with(base, background_hue=0.1), SIZE)
    second = synthetic_faces.draw_face(_with(base, background_hue=0.6), SIZE)
    changed = _changed(first, second)
    assert changed.mean() > 0.3  # a coarse, image-wide change
    assert changed[0, 0] and changed[0, -1]
    geometry = synthetic_faces.face_geometry(base)
    center = (int(geometry["center_y"] * SIZE), int(geometry["center_x"] * SIZE))
    assert not changed[center[0] - 6:center[0] + 6, center[1] - 4:center[1] + 4].any()  # the face is untouched


def test_head_position_moves_the_whole_head():
    base = synthetic_faces.sample_factors(3, 0)
    first = synthetic_faces.draw_face(_with(base, head_x=-1.0), SIZE)
    second = synthetic_faces.draw_face(_with(base, head_x=1.0), SIZE)
    changed = _changed(first, second)
    assert changed.mean() > 0.3
    # The eyes move right by 2 * 0.12 of the width.
    before, after = _eye_boxes(_with(base, head_x=-1.0), SIZE), _eye_boxes(
        _with(base, head_x=1.0), SIZE)
    assert abs((after[0][0] - before[0][0]) - 0.24 * SIZE) <= 1


def test_prepare_writes_levels_and_factors_in_order(tmp_path):
    out_dir = str(tmp_path / "faces")
    manifest = synthetic_faces.prepare_synthetic_faces(out_dir, num_images=6, resolution=32, seed=4, num_workers=2)
    assert manifest["count"] == 6 and manifest["resolutions"] == [4, 8, 16, 32] and manifest["complete"]
    factors = data.read_factors(out_dir)
    assert factors["factors"].shape == (6, synthetic_faces.NUM_FACTORS) and factors["factors"].dtype == np.float32
    assert tuple(factors["names"]) == synthetic_faces.FACTOR_NAMES
    np.testing.assert_array_equal(factors["ranges"], synthetic_faces.FACTOR_RANGES)
    read = np.concatenate([batch.numpy() for batch in data.make_dataset(
        out_dir, 5, 3, preprocessing="plain", shuffle_buffer=0, repeat=False)])
    for index in range(6):
        np.testing.assert_array_equal(synthetic_faces.sample_factors(4, index), factors["factors"][index])
        expected = synthetic_faces.draw_face(factors["factors"][index], 32)
        np.testing.assert_array_equal(np.rint((read[index] + 1) * 127.5).astype(np.uint8), expected)


def test_ensure_prepares_only_when_needed(tmp_path):
    out_dir = str(tmp_path / "faces")
    first = synthetic_faces.ensure_synthetic_faces(out_dir, 3, 8, 0, num_workers=1)
    again = synthetic_faces.ensure_synthetic_faces(out_dir, 3, 8, 0, num_workers=1)
    assert again["created"] == first["created"]
    changed = synthetic_faces.ensure_synthetic_faces(out_dir, 4, 8, 0, num_workers=1)
    assert changed["count"] == 4 and changed["created"] != first["created"]
    # A set that lost its manifest (interrupted) is prepared again.
    os.remove(os.path.join(out_dir, tfrecords.MANIFEST_NAME))
    assert synthetic_faces.ensure_synthetic_faces(out_dir, 4, 8, 0, num_workers=1)["count"] == 4
    assert tfrecords.is_complete(out_dir)


def test_ensure_refuses_to_overwrite_another_dataset(tmp_path):
    with tfrecord_writer.TFRecordSetWriter(str(tmp_path), 4, source={"kind": "image_folder"}) as writer:
        writer.add_image(np.zeros((4, 4, 3), np.uint8))
        writer.finish()
    with pytest.raises(tfrecords.DatasetPreparationError, match="holds another dataset \\(image_folder\\)"):
        synthetic_faces.ensure_synthetic_faces(str(tmp_path), 2, 4, 0)
    assert tfrecords.is_complete(str(tmp_path))


def test_read_factors_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="only synthetic datasets have ground-truth factors"):
        data.read_factors(str(tmp_path))
