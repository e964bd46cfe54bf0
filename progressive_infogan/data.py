"""Reading per-resolution TFRecords into training batches.

`make_dataset(data_dir, phase, batch_size)` yields float32 NHWC batches
[B, 2^phase, 2^phase, 3] in [-1, 1]. Its default, `preprocessing="original"`, is the
thesis code's pipeline (docs/original_system.md §4.7, `crop_at_center=True`):
phase p reads the record one level up, r(p+1) (capped at the highest level present),
scales x/256*2-1 (so the range is [-1, 0.9921875]), crops the box at offset S//12 of
size 10*S//12 (top-left biased for S=8: Python-2 integer division) and resizes it to
2^p with TF1's legacy bilinear (align_corners=False, no half-pixel centres, no
antialias). `preprocessing="plain"` reads the record at 2^p and scales x/127.5-1.

The per-image work is done per batch: records are shuffled and batched as serialized
strings, then decoded and resized as one tensor. Shuffling is a permutation that does
not look at the elements, so this gives the same images in the same order as the
original map -> shuffle -> batch, and it is several times faster at small phases.
"""
from __future__ import annotations

import glob
import logging
import os
import re
from typing import Iterable

import numpy as np
import tensorflow as tf

from progressive_infogan import tfrecords
from progressive_infogan.errors import MissingPathError, UserError

log = logging.getLogger("progressive_infogan")

PREPROCESSING_MODES = ("original", "plain")
FACTORS_FILENAME = "factors.npz"
_SHARD_PATTERN = re.compile(r"^(?P<prefix>.+)-r(?P<log2>\d\d)-(?P<shard>\d{5})-of-(?P<total>\d{5})\.tfrecords$")


def record_paths(data_dir: str, resolution: int) -> list[str]:
    """The record file(s) holding `resolution` in `data_dir`: one file, or its shards in order."""
    log2 = tfrecords.resolution_log2(resolution)
    if not os.path.isdir(data_dir):
        raise MissingPathError(f"dataset directory {data_dir} does not exist")
    _raise_if_incomplete(data_dir)
    escaped = glob.escape(data_dir)
    single = sorted(glob.glob(os.path.join(escaped, f"*-r{log2:02d}.tfrecords")))
    shards = sorted(glob.glob(os.path.join(escaped, f"*-r{log2:02d}-[0-9]*-of-[0-9]*.tfrecords")))
    prefixes = {os.path.basename(path)[: -len(f"-r{log2:02d}.tfrecords")] for path in single}
    prefixes |= {_SHARD_PATTERN.match(os.path.basename(path))["prefix"] for path in shards
                 if _SHARD_PATTERN.match(os.path.basename(path))}
    if len(prefixes) > 1:
        raise ValueError(f"{data_dir} holds several record sets at {resolution}x{resolution}: {sorted(prefixes)}")
    if single:
        return single
    if shards:
        total = int(_SHARD_PATTERN.match(os.path.basename(shards[0]))["total"])
        if len(shards) != total:
            raise ValueError(f"{data_dir}: {len(shards)} of {total} shards present at {resolution}x{resolution}")
        return shards
    raise MissingPathError(
        f"no record file for {resolution}x{resolution} (*-r{log2:02d}.tfrecords) in {data_dir}; "
        f"available resolutions: {available_resolutions(data_dir)}"
    )


def available_resolutions(data_dir: str) -> list[int]:
    """Resolutions with a record file in `data_dir`, ascending."""
    found = set()
    for path in glob.glob(os.path.join(glob.escape(data_dir), "*-r[0-9][0-9]*.tfrecords")):
        match = re.search(r"-r(\d\d)(-\d{5}-of-\d{5})?\.tfrecords$", path)
        if match:
            found.add(2 ** int(match.group(1)))
    return sorted(found)


def _raise_if_incomplete(data_dir: str) -> None:
    if os.path.exists(os.path.join(data_dir, tfrecords.PREPARING_MARKER)):
        raise ValueError(f"{data_dir} is an unfinished preparation (interrupted?); run the preparation again")
    manifest = tfrecords.read_manifest(data_dir)
    if manifest is not None and manifest.get("complete") is not True:
        raise ValueError(f"{data_dir}/manifest.json does not mark the dataset complete; run the preparation again")


def original_crop_box(size: int) -> tuple[int, int]:
    """(offset, crop size) of the thesis's centre crop for an S x S record (docs/original_system.md §4.7)."""
    return size // 12, 10 * size // 12


def source_resolution(data_dir: str, phase: int, preprocessing: str = "original") -> int:
    """Resolution of the record a phase reads: 2^(p+1) capped at the top level (original), else 2^p."""
    if preprocessing == "plain":
        return 2**phase
    available = available_resolutions(data_dir)
    if not available:
        raise MissingPathError(f"no *-rNN.tfrecords files in {data_dir}")
    return min(2 ** (phase + 1), max(available), tfrecords.MAX_RESOLUTION)


def phase_record_paths(data_dir: str, phase: int, preprocessing: str = "original") -> list[str]:
    """The record file(s) that phase `phase` reads."""
    return record_paths(data_dir, source_resolution(data_dir, phase, preprocessing))


def check_top_resolution(data_dir: str, last_phase: int) -> None:
    """UserError unless the dataset holds the last phase's resolution: the 'original' preprocessing
    would otherwise feed that phase the top level upscaled, and the run would train on blurred images."""
    if not os.path.isdir(data_dir):
        raise MissingPathError(f"dataset directory {data_dir} does not exist")
    available = available_resolutions(data_dir)
    if not available:
        raise MissingPathError(f"no *-rNN.tfrecords files in {data_dir}")
    needed = 2 ** last_phase
    if max(available) < needed:
        raise UserError(f"{data_dir} tops out at {max(available)}x{max(available)}, but the run's last phase "
                        f"(phase {last_phase}) trains at {needed}x{needed}: prepare the data at --resolution={needed} "
                        f"or more, or stop earlier (--stop_after)")


def check_records(data_dir: str, phases: Iterable[int], preprocessing: str = "original",
                  verify_hashes: bool = False) -> list[str]:
    """Check every record file the phases read against the manifest, before a run starts.

    Each must be listed, of its recorded size and, with `verify_hashes` (a full read), of
    its recorded SHA-256. A damaged file otherwise fails only when its phase starts, or
    halfway through it. A dataset below the last phase's resolution is refused
    (`check_top_resolution`). Returns the paths checked; raises ValueError naming the first bad one.
    """
    phases = list(phases)
    check_top_resolution(data_dir, max(phases))
    paths = sorted({path for phase in phases for path in phase_record_paths(data_dir, phase, preprocessing)})
    manifest_path = os.path.join(data_dir, tfrecords.MANIFEST_NAME)
    manifest = tfrecords.read_manifest(data_dir)
    if manifest is None and os.path.exists(manifest_path):
        raise ValueError(f"{manifest_path} is unreadable; run the preparation again")
    listed = (manifest or {}).get("files")
    if not listed:
        log.warning("%s: %s; record sizes and hashes not checked", data_dir,
                    "no manifest.json" if manifest is None else "the manifest lists no files")
        return paths
    unhashed = []
    for path in paths:
        entry = listed.get(os.path.basename(path))
        if entry is None:
            raise ValueError(f"{path} is not in {manifest_path}; run the preparation again")
        size = os.path.getsize(path)
        if "bytes" in entry and size != entry["bytes"]:
            raise ValueError(f"{path} has {size} bytes, {entry['bytes']} in {manifest_path} "
                             "(truncated or replaced?); run the preparation again")
        if verify_hashes:
            if "sha256" not in entry:
                unhashed.append(os.path.basename(path))
            elif tfrecords.sha256_of_file(path) != entry["sha256"]:
                raise ValueError(f"{path} does not match its SHA-256 in {manifest_path} (damaged); "
                                 "run the preparation again")
    if unhashed:
        log.warning("%s has no hashes for %s: only their sizes were checked", manifest_path, ", ".join(unhashed))
    elif verify_hashes:
        log.info("%d record files match the hashes of %s", len(paths), manifest_path)
    return paths


def _check_first_record(paths: list[str], resolution: int) -> None:
    """Reads one record eagerly so that a wrong-size dataset fails here, with its path."""
    for serialized in tf.data.TFRecordDataset(paths[:1]).take(1).as_numpy_iterator():
        try:
            image = tfrecords.decode_example(serialized)
        except Exception as error:  # noqa: BLE001
            raise ValueError(f"{paths[0]}: first record is not an image record ({error})") from None
        if image.shape != (resolution, resolution, 3):
            raise ValueError(
                f"{paths[0]}: records hold CHW {[image.shape[2], image.shape[0], image.shape[1]]} images, "
                f"expected [3, {resolution}, {resolution}] for this file's level"
            )
        return
    raise ValueError(f"{paths[0]} holds no records")


def decode_batch(serialized: tf.Tensor, resolution: int) -> tf.Tensor:
    """uint8 NHWC [B, S, S, 3] from a batch of serialized records (CHW pixels)."""
    features = tf.io.parse_example(serialized, {"data": tf.io.FixedLenFeature([], tf.string)})
    expected_bytes = 3 * resolution * resolution
    lengths = tf.strings.length(features["data"])
    with tf.control_dependencies([
        tf.debugging.assert_equal(
            lengths, expected_bytes,
            message=f"a record does not hold a [3, {resolution}, {resolution}] uint8 image ({expected_bytes} bytes)",
        )
    ]):
        pixels = tf.io.decode_raw(features["data"], tf.uint8)
    chw = tf.reshape(pixels, [-1, 3, resolution, resolution])
    return tf.transpose(chw, [0, 2, 3, 1])


def original_preprocess(images_uint8: tf.Tensor, resolution: int, target: int) -> tf.Tensor:
    """The thesis's per-image transform on a [B, S, S, 3] uint8 batch -> [B, target, target, 3]."""
    images = tf.cast(images_uint8, tf.float32) / 256.0 * 2.0 - 1.0
    offset, size = original_crop_box(resolution)
    images = images[:, offset:offset + size, offset:offset + size, :]
    return tf.raw_ops.ResizeBilinear(
        images=images, size=[target, target], align_corners=False, half_pixel_centers=False
    )


def plain_preprocess(images_uint8: tf.Tensor) -> tf.Tensor:
    return tf.cast(images_uint8, tf.float32) / 127.5 - 1.0


def random_mirror(images: tf.Tensor, seed: int | None) -> tf.Tensor:
    """Flips each image left-right with probability 1/2."""
    flip = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], seed=seed) < 0.5
    return tf.where(flip, tf.reverse(images, axis=[2]), images)


def make_dataset(
    data_dir: str,
    phase: int,
    batch_size: int,
    *,
    preprocessing: str = "original",
    mirror: bool = False,
    shuffle_buffer: int | None = None,
    seed: int | None = None,
    repeat: bool = True,
    num_parallel_calls: int = tf.data.AUTOTUNE,
    drop_remainder: bool = True,
) -> tf.data.Dataset:
    """float32 NHWC batches [batch_size, 2^phase, 2^phase, 3] in [-1, 1] for one phase.

    `shuffle_buffer=None` uses the original's 10 * batch_size; 0 keeps the file order.
    `drop_remainder` stays True for training (fixed batch shapes); set it False with
    `repeat=False` to see every image once.
    """
    if preprocessing not in PREPROCESSING_MODES:
        raise ValueError(f"preprocessing must be one of {PREPROCESSING_MODES}, got {preprocessing!r}")
    target = 2**phase
    tfrecords.resolution_log2(target)
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"dataset directory {data_dir} does not exist")
    _raise_if_incomplete(data_dir)
    resolution = source_resolution(data_dir, phase, preprocessing)
    paths = phase_record_paths(data_dir, phase, preprocessing)
    _check_first_record(paths, resolution)

    if len(paths) == 1:
        records = tf.data.TFRecordDataset(paths, buffer_size=8 << 20)
    else:
        # Round-robin shards read back in the written order (see tfrecords.py).
        records = tf.data.Dataset.from_tensor_slices(paths).interleave(
            lambda path: tf.data.TFRecordDataset(path, buffer_size=8 << 20),
            cycle_length=len(paths), block_length=1, num_parallel_calls=len(paths), deterministic=True,
        )
    if repeat:
        records = records.repeat()
    buffer = 10 * batch_size if shuffle_buffer is None else shuffle_buffer
    if buffer > 1:
        records = records.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    records = records.batch(batch_size, drop_remainder=drop_remainder)

    def to_images(serialized: tf.Tensor) -> tf.Tensor:
        images = decode_batch(serialized, resolution)
        if preprocessing == "original":
            images = original_preprocess(images, resolution, target)
        else:
            images = plain_preprocess(images)
        if mirror:
            images = random_mirror(images, seed)
        return images

    images = records.map(to_images, num_parallel_calls=num_parallel_calls, deterministic=True)
    # Under MultiWorkerMirroredStrategy each worker keeps its share of every global batch: a phase has
    # one record file (or a few shards), too few to split by file, and the seeded shuffle gives every
    # worker the same batches to share. The policy means nothing to other strategies.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return images.with_options(options).prefetch(tf.data.AUTOTUNE)


def read_factors(data_dir: str) -> dict[str, np.ndarray]:
    """The ground-truth factors sidecar of a synthetic dataset, in record order.

    Returns {"factors": float32 [N, F], "names": str [F], "ranges": float32 [F, 2]}.
    """
    path = os.path.join(data_dir, FACTORS_FILENAME)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist (only synthetic datasets have ground-truth factors)")
    with np.load(path, allow_pickle=False) as archive:
        factors = {key: archive[key] for key in ("factors", "names", "ranges")}
    manifest = tfrecords.read_manifest(data_dir)
    if manifest is not None and manifest.get("count") not in (None, len(factors["factors"])):
        raise ValueError(f"{path} has {len(factors['factors'])} rows but the dataset has {manifest['count']} images")
    return factors
