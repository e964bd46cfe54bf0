"""Per-resolution TFRecords in the layout of NVIDIA's progressive_growing_of_gans.

A prepared dataset directory holds one file per resolution 4, 8, ..., max, named
`<prefix>-rNN.tfrecords` (NN = log2 of the resolution, two digits), or, when sharded,
`<prefix>-rNN-SSSSS-of-TTTTT.tfrecords` with images dealt round-robin over the shards
(so an interleave with block length 1 reads them back in the original order). Each
record is a `tf.train.Example` with `data` = raw uint8 pixels in CHW [3, S, S] order and
`shape` = int64 [3, S, S], exactly as NVIDIA's `dataset_tool.py` wrote them, so the
original CelebA-HQ files and ours are read by the same code.

Levels below the top are made with NVIDIA's 2x2 box filter: the float image is averaged
over 2x2 blocks and each level is rounded from that float (the float, not the rounded
level, is carried down, as `dataset_tool.py` did).

Crash safety: a preparation first deletes `manifest.json` and drops a `PREPARING` marker,
writes every file under a `.tmp` name, renames them into place with `os.replace`, and
writes the manifest (with `"complete": true`) last. An interrupted run therefore never
looks complete, and a rerun **starts clean**: it removes the marker's leftovers (the
`.tmp` files and this prefix's record files) and writes everything again.

This module is the format: names, the pyramid, the example encoding, the manifest and the
dataset's fingerprint. tfrecord_writer.py writes a record set; tfrecord_sources.py holds the
image sources (a folder of images, NVIDIA's CelebA-HQ TFRecords, a TFDS dataset).
"""
from __future__ import annotations

import hashlib
import json
import math
import os

import numpy as np
import PIL.Image

from progressive_infogan.errors import UserError

MANIFEST_NAME = "manifest.json"
PREPARING_MARKER = "PREPARING"
MIN_RESOLUTION = 4
MAX_RESOLUTION = 1024
IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm",
    ".pbm", ".pnm", ".tga", ".jp2", ".ico",
)
# The PIL filters a user may pick for the one resize to the top resolution.
RESIZE_FILTERS = {
    "lanczos": PIL.Image.Resampling.LANCZOS,
    "bicubic": PIL.Image.Resampling.BICUBIC,
    "bilinear": PIL.Image.Resampling.BILINEAR,
    "box": PIL.Image.Resampling.BOX,
    "nearest": PIL.Image.Resampling.NEAREST,
}
DOWNSAMPLE_FILTER = "2x2 box, float carried between levels, np.rint per level (NVIDIA dataset_tool)"


class DatasetPreparationError(Exception):
    """A dataset cannot be prepared; the message is one line saying why."""


# --------------------------------------------------------------------------------------
# Naming


def resolution_log2(resolution: int) -> int:
    """log2 of a power-of-two resolution in [4, 1024]; a clear error otherwise."""
    log2 = int(round(math.log2(resolution))) if resolution > 0 else -1
    if resolution < MIN_RESOLUTION or resolution > MAX_RESOLUTION or 2**log2 != resolution:
        raise UserError(
            f"resolution must be a power of two in [{MIN_RESOLUTION}, {MAX_RESOLUTION}], got {resolution}"
        )
    return log2


def record_filename(prefix: str, resolution: int, shard: int = 0, num_shards: int = 1) -> str:
    """File name of one resolution level (and shard) of a record set."""
    level = f"{prefix}-r{resolution_log2(resolution):02d}"
    if num_shards == 1:
        return f"{level}.tfrecords"
    return f"{level}-{shard:05d}-of-{num_shards:05d}.tfrecords"


def pyramid_resolutions(max_resolution: int) -> list[int]:
    """Resolutions 4, 8, ..., max_resolution."""
    return [2**log2 for log2 in range(2, resolution_log2(max_resolution) + 1)]


# --------------------------------------------------------------------------------------
# Pixels and records


def downsample_2x2_box(image: np.ndarray) -> np.ndarray:
    """One 2x2 box-filter step on an HWC array (float32 result, not rounded)."""
    image = image.astype(np.float32)
    return (image[0::2, 0::2] + image[0::2, 1::2] + image[1::2, 0::2] + image[1::2, 1::2]) * 0.25


def image_pyramid(image: np.ndarray, min_resolution: int = MIN_RESOLUTION) -> list[np.ndarray]:
    """uint8 HWC levels of a square RGB image, largest first, down to `min_resolution`.

    NVIDIA's exporter kept the float average between levels and rounded each level from
    it; rounding and re-averaging would drift by up to half a grey level per level.
    """
    size = image.shape[0]
    if image.ndim != 3 or image.shape[1] != size or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected a square uint8 RGB image [S, S, 3], got {image.dtype} {list(image.shape)}")
    resolution_log2(size)
    levels = [image]
    level = image
    while level.shape[0] > min_resolution:
        level = downsample_2x2_box(level)
        levels.append(np.rint(level).clip(0, 255).astype(np.uint8))
    return levels


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    return _varint((field_number << 3) | 2) + _varint(len(payload)) + payload


def encode_example(image_hwc: np.ndarray) -> bytes:
    """Serialized `tf.train.Example` {data: CHW uint8 bytes, shape: [3, S, S]} of one image.

    Written by hand (the protobuf wire format is small and stable) so that worker
    processes can encode records without touching TensorFlow; `tests/test_tfrecords.py`
    checks it against `tf.train.Example`.
    """
    chw = np.ascontiguousarray(np.transpose(image_hwc, (2, 0, 1)), dtype=np.uint8)
    shape_packed = b"".join(_varint(dim) for dim in chw.shape)
    # Feature{int64_list=3}: Int64List{value=1 packed}.
    shape_feature = _length_delimited(3, _length_delimited(1, shape_packed))
    # Feature{bytes_list=1}: BytesList{value=1}.
    data_feature = _length_delimited(1, _length_delimited(1, chw.tobytes()))

    def map_entry(key: str, feature: bytes) -> bytes:
        return _length_delimited(1, _length_delimited(1, key.encode()) + _length_delimited(2, feature))

    # Example{features=1}: Features{map<string, Feature> feature=1}. Map entries have no
    # fixed wire order; any order parses to the same message.
    features = map_entry("shape", shape_feature) + map_entry("data", data_feature)
    return _length_delimited(1, features)


def encode_pyramid(image_hwc: np.ndarray) -> list[bytes]:
    """Serialized records for every level of one image, largest first."""
    return [encode_example(level) for level in image_pyramid(image_hwc)]


def decode_example(serialized: bytes) -> np.ndarray:
    """uint8 HWC image from one record (eager; for tests, tools and validation)."""
    import tensorflow as tf

    example = tf.train.Example.FromString(serialized)
    feature = example.features.feature
    data = feature["data"].bytes_list.value[0]
    if "shape" in feature:
        shape = list(feature["shape"].int64_list.value)
    else:
        side = int(round(math.sqrt(len(data) / 3)))
        shape = [3, side, side]
    if len(shape) != 3 or shape[0] != 3 or int(np.prod(shape)) != len(data):
        raise ValueError(f"record has {len(data)} bytes and shape {shape}; expected CHW [3, S, S]")
    return np.frombuffer(data, np.uint8).reshape(shape).transpose(1, 2, 0)


def sha256_of_file(path: str, chunk_bytes: int = 1 << 24) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()

def read_manifest(data_dir: str) -> dict | None:
    """The manifest of a prepared directory, or None if there is none (or it is unreadable)."""
    path = os.path.join(data_dir, MANIFEST_NAME)
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def is_complete(data_dir: str) -> bool:
    """True when the directory holds a finished preparation."""
    manifest = read_manifest(data_dir)
    return bool(
        manifest
        and manifest.get("complete") is True
        and not os.path.exists(os.path.join(data_dir, PREPARING_MARKER))
    )


def dataset_fingerprint(data_dir: str) -> str | None:
    """SHA-256 of the manifest's file list (each record file's name, size and SHA-256): the same
    for the same records wherever they lie and whenever they were prepared; None without a manifest."""
    listed = (read_manifest(data_dir) or {}).get("files")
    if not listed:
        return None
    return hashlib.sha256(json.dumps(listed, sort_keys=True).encode()).hexdigest()


def dataset_drawing(data_dir: str) -> dict | None:
    """The settings a dataset drawn by code was drawn with (its manifest's "parameters", which
    synthetic_faces records: generator, version, count, resolution, seed, ...); None for a dataset
    prepared from image files, or without a manifest."""
    parameters = (read_manifest(data_dir) or {}).get("parameters")
    return parameters if isinstance(parameters, dict) else None


def dataset_identity(data_dir: str) -> str:
    """A name for cached statistics of a dataset: its directory name and a hash of its
    manifest's file checksums (of its absolute path where there is no manifest)."""
    manifest = read_manifest(data_dir) or {}
    key = manifest.get("files") or os.path.abspath(data_dir)
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]
    return f"{os.path.basename(os.path.normpath(data_dir))}-{digest}"
