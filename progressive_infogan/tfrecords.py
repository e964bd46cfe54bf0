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

Image sources: a folder of images (`write_from_image_folder`), NVIDIA CelebA-HQ
TFRecords (`import_nvidia_tfrecords`), and a locally prepared TFDS dataset
(`write_from_tfds`). All of them funnel into `TFRecordSetWriter`.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime
import glob
import hashlib
import json
import math
import multiprocessing
import os
import re
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import PIL.Image
import tqdm

from progressive_infogan.files import fsync_directory, fsync_file, is_temporary, write_json
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


# --------------------------------------------------------------------------------------
# Writing a record set


def check_writable_directory(out_dir: str) -> None:
    """Create `out_dir` if needed and prove a file can be written there."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        probe = os.path.join(out_dir, ".write-probe")
        with open(probe, "wb") as file:
            file.write(b"ok")
        os.remove(probe)
    except OSError as error:
        raise DatasetPreparationError(f"destination {out_dir} is not writable: {error.strerror or error}") from None


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


def _write_json_atomically(path: str, content: dict) -> None:
    write_json(path, content, trailing_newline=True)


class TFRecordSetWriter:
    """Writes one image set to every resolution level; use as a context manager.

    On a clean exit the files are renamed into place and the manifest is written; on an
    exception every temporary file is removed and no manifest exists, so the directory
    never looks complete.
    """

    def __init__(
        self,
        out_dir: str,
        max_resolution: int,
        *,
        prefix: str | None = None,
        num_shards: int = 1,
        source: dict | None = None,
        resize_filter: str | None = None,
        extra: dict | None = None,
    ):
        import tensorflow as tf

        self.out_dir = out_dir
        self.prefix = prefix or (os.path.basename(os.path.normpath(out_dir)) or "dataset")
        self.resolutions = pyramid_resolutions(max_resolution)[::-1]  # largest first
        if num_shards < 1:
            raise ValueError(f"num_shards must be >= 1, got {num_shards}")
        self.num_shards = num_shards
        self.source = source or {}
        self.resize_filter = resize_filter
        self.extra = dict(extra or {})
        self.count = 0
        check_writable_directory(out_dir)
        self._start_clean()
        self._final_paths = [
            [os.path.join(out_dir, record_filename(self.prefix, resolution, shard, num_shards))
             for shard in range(num_shards)]
            for resolution in self.resolutions
        ]
        self._writers = [[tf.io.TFRecordWriter(path + ".tmp") for path in paths] for paths in self._final_paths]

    def _start_clean(self) -> None:
        # The manifest goes first: from here until the end the directory must not look complete.
        for path in (os.path.join(self.out_dir, MANIFEST_NAME),):
            if os.path.exists(path):
                os.remove(path)
        with open(os.path.join(self.out_dir, PREPARING_MARKER), "w") as file:
            file.write(f"preparation started {datetime.datetime.now(datetime.timezone.utc).isoformat()}\n")
        stale = glob.glob(os.path.join(glob.escape(self.out_dir), "*.tmp"))
        stale += [path for path in glob.glob(os.path.join(glob.escape(self.out_dir), "*")) if is_temporary(path)]
        stale += glob.glob(os.path.join(glob.escape(self.out_dir), glob.escape(self.prefix) + "-r[0-9][0-9]*.tfrecords"))
        for path in stale:
            os.remove(path)

    def add_image(self, image_hwc: np.ndarray) -> None:
        """Adds one square uint8 RGB image at the top resolution."""
        if image_hwc.shape != (self.resolutions[0], self.resolutions[0], 3):
            raise ValueError(f"expected an image of shape {[self.resolutions[0]] * 2 + [3]}, got {list(image_hwc.shape)}")
        self.add_encoded(encode_pyramid(image_hwc))

    def add_encoded(self, records: Sequence[bytes]) -> None:
        """Adds one image given as serialized records, largest level first (see encode_pyramid)."""
        if len(records) != len(self.resolutions):
            raise ValueError(f"expected {len(self.resolutions)} levels, got {len(records)}")
        shard = self.count % self.num_shards
        for writers, record in zip(self._writers, records):
            writers[shard].write(record)
        self.count += 1

    def _close_writers(self) -> None:
        for writers in self._writers:
            for writer in writers:
                writer.close()
        self._writers = []

    def abort(self) -> None:
        self._close_writers()
        for paths in self._final_paths:
            for path in paths:
                if os.path.exists(path + ".tmp"):
                    os.remove(path + ".tmp")

    def finish(self) -> dict:
        """Renames the files into place and writes the manifest (last). Returns the manifest."""
        self._close_writers()
        if self.count == 0:
            self.abort()
            raise DatasetPreparationError("no images were written")
        files = {}
        for resolution, paths in zip(self.resolutions, self._final_paths):
            for shard, path in enumerate(paths):
                fsync_file(path + ".tmp")
                os.replace(path + ".tmp", path)
                files[os.path.basename(path)] = {
                    "resolution": resolution,
                    "shard": shard,
                    "bytes": os.path.getsize(path),
                    "sha256": sha256_of_file(path),
                }
        manifest = {
            "format": "NVIDIA progressive_growing_of_gans TFRecords: Example{data: uint8 CHW [3,S,S], shape}",
            "prefix": self.prefix,
            "count": self.count,
            "resolutions": sorted(self.resolutions),
            "max_resolution": self.resolutions[0],
            "num_shards": self.num_shards,
            "shard_order": "round-robin: image i is in shard i % num_shards",
            "source": self.source,
            "resize_filter": self.resize_filter,
            "downsample_filter": DOWNSAMPLE_FILTER,
            "files": files,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            **self.extra,
            "complete": True,
        }
        # The records' renames are durable before the manifest marks them complete.
        fsync_directory(self.out_dir)
        _write_json_atomically(os.path.join(self.out_dir, MANIFEST_NAME), manifest)
        os.remove(os.path.join(self.out_dir, PREPARING_MARKER))
        return manifest

    def __enter__(self) -> "TFRecordSetWriter":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None and self._writers is not None:
            self.abort()


def write_record_set(
    out_dir: str,
    encoded_images: Iterable[Sequence[bytes]],
    max_resolution: int,
    *,
    total: int | None = None,
    description: str = "writing",
    extra_fn: Callable[[], dict] | None = None,
    **writer_kwargs: Any,
) -> dict:
    """Writes an iterable of per-image record pyramids (see encode_pyramid); returns the manifest.

    `extra_fn` is called after the last image, before the manifest is written, so a
    source can report what it skipped or converted.
    """
    with TFRecordSetWriter(out_dir, max_resolution, **writer_kwargs) as writer:
        for records in tqdm.tqdm(encoded_images, total=total, desc=description, unit="img", smoothing=0.05):
            writer.add_encoded(records)
        if extra_fn is not None:
            writer.extra.update(extra_fn())
        if writer.count == 0:
            reasons = "; ".join(
                f"{entry['count'] if isinstance(entry, dict) else entry} {reason}"
                for reason, entry in writer.extra.get("skipped", {}).items()
            )
            source = writer.source.get("path") or writer.source.get("name") or "the source"
            raise DatasetPreparationError(f"no usable images in {source}" + (f" ({reasons})" if reasons else ""))
        return writer.finish()


@contextlib.contextmanager
def worker_pool(num_workers: int) -> Iterator[Any]:
    """A process pool (fork where the platform has it: workers only run numpy and PIL)."""
    if num_workers <= 1:
        yield None
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pool = context.Pool(num_workers)
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()


def parallel_map(function: Callable, items: Iterable, num_workers: int, chunksize: int = 16) -> Iterator:
    """Ordered map over items, in `num_workers` processes when more than one."""
    if num_workers <= 1:
        yield from map(function, items)
        return
    with worker_pool(num_workers) as pool:
        yield from pool.imap(function, items, chunksize=chunksize)


# --------------------------------------------------------------------------------------
# Source (a): a folder of images


@dataclasses.dataclass(frozen=True)
class ImageFolderOptions:
    """How a folder of arbitrary images becomes square RGB images at one resolution."""

    resolution: int
    center_crop: bool = False  # crop non-square images to their central square; else skip them
    resize_filter: str = "lanczos"  # PIL filter for the one resize to `resolution`
    allow_upscale: bool = False  # images smaller than `resolution` are skipped unless set


def list_image_files(folder: str) -> list[str]:
    """Image files under `folder` (recursive, by extension), sorted for a stable order."""
    if not os.path.exists(folder):
        raise DatasetPreparationError(f"source {folder} does not exist")
    if not os.path.isdir(folder):
        raise DatasetPreparationError(f"source {folder} is not a directory")
    paths = []
    for root, _, names in os.walk(folder):
        paths += [os.path.join(root, name) for name in names if name.lower().endswith(IMAGE_EXTENSIONS)]
    if not paths:
        raise DatasetPreparationError(f"no image files ({', '.join(IMAGE_EXTENSIONS[:4])}, ...) found under {folder}")
    return sorted(paths)


def square_rgb_image(image: PIL.Image.Image, options: ImageFolderOptions) -> tuple[np.ndarray | None, str, str]:
    """(uint8 HWC array or None, original mode, reason skipped or "") for one PIL image."""
    mode = image.mode
    width, height = image.size
    if width != height:
        if not options.center_crop:
            return None, mode, f"not square ({width}x{height}); pass center_crop to crop it"
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    side = image.size[0]
    if side < options.resolution and not options.allow_upscale:
        return None, mode, f"smaller than the requested resolution ({side} < {options.resolution})"
    if mode != "RGB":
        if mode in ("I;16", "I;16B", "I;16L", "I"):
            # 16/32-bit greyscale: scale to 8 bits rather than clip.
            array = np.asarray(image, dtype=np.float64)
            peak = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
            image = PIL.Image.fromarray(np.rint(array / peak * 255).clip(0, 255).astype(np.uint8), "L")
        elif mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
            # Transparent pixels go on white, not on whatever colour they happen to hold.
            rgba = image.convert("RGBA")
            background = PIL.Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = PIL.Image.alpha_composite(background, rgba)
        image = image.convert("RGB")
    if image.size[0] != options.resolution:
        image = image.resize((options.resolution,) * 2, RESIZE_FILTERS[options.resize_filter])
    return np.asarray(image, dtype=np.uint8), mode, ""


def _load_folder_image(path: str, options: ImageFolderOptions) -> tuple[list[bytes] | None, str, str]:
    """Worker: (records or None, original mode, reason skipped)."""
    if os.path.getsize(path) == 0:
        return None, "", "zero-byte file"
    try:
        with PIL.Image.open(path) as image:
            image.load()
            array, mode, reason = square_rgb_image(image, options)
    except (OSError, SyntaxError, ValueError, PIL.Image.DecompressionBombError) as error:
        return None, "", f"unreadable or corrupt image ({type(error).__name__}: {error})"
    if array is None:
        return None, mode, reason
    return encode_pyramid(array), mode, ""


class _FolderLoader:
    def __init__(self, options: ImageFolderOptions):
        self.options = options

    def __call__(self, path: str):
        return path, _load_folder_image(path, self.options)


def write_from_image_folder(
    folder: str,
    out_dir: str,
    options: ImageFolderOptions,
    *,
    num_shards: int = 1,
    prefix: str | None = None,
    num_workers: int = 2,
    max_images: int | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Converts every readable image under `folder`; returns the manifest.

    Bad files are skipped and reported (one line each, and a count per reason in the
    manifest); a folder with nothing usable is an error and writes nothing.
    """
    if options.resize_filter not in RESIZE_FILTERS:
        raise ValueError(f"resize_filter must be one of {sorted(RESIZE_FILTERS)}, got {options.resize_filter!r}")
    resolution_log2(options.resolution)
    paths = list_image_files(folder)
    if max_images is not None:
        paths = paths[:max_images]
    check_writable_directory(out_dir)
    skipped: dict[str, list[str]] = collections.defaultdict(list)
    converted: collections.Counter = collections.Counter()

    def usable_images() -> Iterator[list[bytes]]:
        for path, (records, mode, reason) in parallel_map(_FolderLoader(options), paths, num_workers):
            if records is None:
                log(f"skipped {path}: {reason}")
                skipped[reason.split(" (")[0]].append(os.path.relpath(path, folder))
                continue
            if mode != "RGB":
                converted[mode] += 1
            yield records

    def report() -> dict:
        if converted:
            log("converted to RGB: " + ", ".join(f"{count} {mode}" for mode, count in sorted(converted.items())))
        return {
            "converted_to_rgb": dict(converted),
            "skipped": {reason: {"count": len(files), "files": files[:100]} for reason, files in skipped.items()},
        }

    source = {"kind": "image_folder", "path": os.path.abspath(folder), "files_found": len(paths),
              "center_crop": options.center_crop, "allow_upscale": options.allow_upscale}
    return write_record_set(
        out_dir, usable_images(), options.resolution, total=len(paths), description="images",
        extra_fn=report, prefix=prefix, num_shards=num_shards, source=source,
        resize_filter=options.resize_filter,
    )


# --------------------------------------------------------------------------------------
# Source (b): NVIDIA CelebA-HQ TFRecords

_LEVEL_PATTERN = re.compile(r"^(?P<prefix>.+)-r(?P<log2>\d\d)\.tfrecords$")


def find_nvidia_levels(src_dir: str) -> tuple[str, dict[int, str]]:
    """(prefix, {resolution: path}) of unsharded `*-rNN.tfrecords` files in `src_dir`."""
    if not os.path.isdir(src_dir):
        raise DatasetPreparationError(f"source {src_dir} does not exist or is not a directory")
    by_prefix: dict[str, dict[int, str]] = collections.defaultdict(dict)
    for name in sorted(os.listdir(src_dir)):
        match = _LEVEL_PATTERN.match(name)
        if match:
            by_prefix[match["prefix"]][2 ** int(match["log2"])] = os.path.join(src_dir, name)
    if not by_prefix:
        raise DatasetPreparationError(f"no *-rNN.tfrecords files in {src_dir}")
    if len(by_prefix) > 1:
        raise DatasetPreparationError(f"several record sets in {src_dir}: {sorted(by_prefix)}; keep one per directory")
    prefix, levels = next(iter(by_prefix.items()))
    expected = pyramid_resolutions(max(levels))
    missing = sorted(set(expected) - set(levels))
    if missing:
        raise DatasetPreparationError(f"{src_dir}: levels missing for resolutions {missing}")
    return prefix, levels


def _check_record(serialized: bytes, resolution: int, path: str, index: int) -> None:
    try:
        image = decode_example(serialized)
    except Exception as error:  # noqa: BLE001 - any parse failure is the same user error
        raise DatasetPreparationError(f"{path}: record {index} is not a valid image record ({error})") from None
    if image.shape != (resolution, resolution, 3):
        raise DatasetPreparationError(
            f"{path}: record {index} has shape HWC {list(image.shape)}, expected {[resolution, resolution, 3]}"
        )


def _count_and_check(path: str, resolution: int, check_every: int) -> int:
    import tensorflow as tf

    count = 0
    try:
        for count, serialized in enumerate(tf.data.TFRecordDataset(path).as_numpy_iterator(), start=1):
            if check_every and (count - 1) % check_every == 0:
                _check_record(serialized, resolution, path, count - 1)
    except tf.errors.DataLossError as error:
        raise DatasetPreparationError(f"{path} is truncated or corrupt after {count} records ({error.message})") from None
    return count


def import_nvidia_tfrecords(
    src_dir: str,
    out_dir: str | None = None,
    *,
    num_shards: int = 1,
    check_every: int = 1000,
    hash_files: bool = True,
) -> dict:
    """Validates NVIDIA `*-rNN.tfrecords` and writes a manifest; returns it.

    With `out_dir` None (or equal to `src_dir`) the files are used in place and only
    `manifest.json` is added. Otherwise the records are copied, without re-encoding,
    into `num_shards` shards per level in `out_dir`. Every level is counted in full;
    one record in `check_every` is decoded and its shape checked.
    """
    prefix, levels = find_nvidia_levels(src_dir)
    counts = {}
    for resolution in tqdm.tqdm(sorted(levels), desc="validating levels", unit="level"):
        counts[resolution] = _count_and_check(levels[resolution], resolution, check_every)
    if len(set(counts.values())) != 1:
        raise DatasetPreparationError(f"{src_dir}: levels hold different numbers of records: {counts}")
    count = next(iter(counts.values()))
    if count == 0:
        raise DatasetPreparationError(f"{src_dir}: the record files are empty")
    source = {"kind": "nvidia_tfrecords", "path": os.path.abspath(src_dir)}
    in_place = out_dir is None or os.path.abspath(out_dir) == os.path.abspath(src_dir)
    if in_place:
        if num_shards != 1:
            raise DatasetPreparationError("re-sharding needs an output directory different from the source")
        try:
            _write_json_atomically(os.path.join(src_dir, MANIFEST_NAME + ".probe"), {})
            os.remove(os.path.join(src_dir, MANIFEST_NAME + ".probe"))
        except OSError:
            raise DatasetPreparationError(f"{src_dir} is not writable; give an output directory to copy into") from None
        files = {
            os.path.basename(path): {
                "resolution": resolution, "shard": 0, "bytes": os.path.getsize(path),
                "sha256": sha256_of_file(path) if hash_files else None,
            }
            for resolution, path in sorted(levels.items())
        }
        manifest = {
            "format": "NVIDIA progressive_growing_of_gans TFRecords: Example{data: uint8 CHW [3,S,S], shape}",
            "prefix": prefix, "count": count, "resolutions": sorted(levels), "max_resolution": max(levels),
            "num_shards": 1, "source": source, "resize_filter": "as prepared by NVIDIA",
            "downsample_filter": DOWNSAMPLE_FILTER, "files": files,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(), "complete": True,
        }
        _write_json_atomically(os.path.join(src_dir, MANIFEST_NAME), manifest)
        return manifest

    import tensorflow as tf

    def copied_records() -> Iterator[list[bytes]]:
        readers = [tf.data.TFRecordDataset(levels[resolution]).as_numpy_iterator()
                   for resolution in sorted(levels, reverse=True)]
        yield from (list(records) for records in zip(*readers))

    return write_record_set(
        out_dir, copied_records(), max(levels), total=count, description="copying", prefix=prefix,
        num_shards=num_shards, source=source, resize_filter="as prepared by NVIDIA",
    )


# --------------------------------------------------------------------------------------
# Source (c): a TFDS dataset prepared on this machine

# Builders whose only input is the manual directory, so preparing them cannot download.
MANUAL_ONLY_TFDS_BUILDERS = ("celeb_a_hq",)


def _tfds_image_key(features: Any) -> str:
    import tensorflow_datasets as tfds

    keys = [key for key, feature in features.items() if isinstance(feature, tfds.features.Image)]
    if not keys:
        raise DatasetPreparationError(f"the TFDS dataset has no image feature (features: {sorted(features)})")
    return "image" if "image" in keys else keys[0]


def write_from_tfds(
    name: str,
    out_dir: str,
    options: ImageFolderOptions,
    *,
    split: str = "train",
    tfds_data_dir: str | None = None,
    manual_dir: str | None = None,
    num_shards: int = 1,
    prefix: str | None = None,
    max_images: int | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Converts a TFDS dataset already on this machine; never downloads.

    `name` may carry a config and version (`celeb_a_hq/512`). A dataset that is not
    prepared in `tfds_data_dir` is an error, except a manual-download-only builder
    (celeb_a_hq) when `manual_dir` is given: that is prepared from the manual files.
    """
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=tfds_data_dir)
    except Exception as error:  # noqa: BLE001 - tfds raises several types for unknown names
        raise DatasetPreparationError(f"TFDS dataset {name!r} is not known to tensorflow_datasets: {error}") from None
    if not builder.is_prepared():
        base_name = name.split("/")[0].split(":")[0]
        if manual_dir and base_name in MANUAL_ONLY_TFDS_BUILDERS:
            log(f"preparing TFDS {name} from the manual directory {manual_dir}")
            builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
        else:
            hint = (" (give its manual directory to prepare it from local files)"
                    if base_name in MANUAL_ONLY_TFDS_BUILDERS else "")
            raise DatasetPreparationError(
                f"TFDS dataset {name!r} is not prepared in {builder.data_dir}; this tool never downloads{hint}"
            )
    image_key = _tfds_image_key(builder.info.features)
    dataset = builder.as_dataset(split=split, shuffle_files=False)
    total = builder.info.splits[split].num_examples
    if max_images is not None:
        dataset = dataset.take(max_images)
        total = min(total, max_images)
    skipped: collections.Counter = collections.Counter()
    converted: collections.Counter = collections.Counter()

    def usable_images() -> Iterator[list[bytes]]:
        for example in dataset.as_numpy_iterator():
            array = example[image_key]
            if array.ndim == 3 and array.shape[2] == 1:
                array = array[:, :, 0]
            image = PIL.Image.fromarray(array)
            rgb, mode, reason = square_rgb_image(image, options)
            if rgb is None:
                skipped[reason] += 1
                continue
            if mode != "RGB":
                converted[mode] += 1
            yield encode_pyramid(rgb)

    def report() -> dict:
        for reason, count in skipped.items():
            log(f"skipped {count} images: {reason}")
        return {"converted_to_rgb": dict(converted), "skipped": dict(skipped)}

    source = {"kind": "tfds", "name": name, "split": split, "data_dir": builder.data_dir,
              "center_crop": options.center_crop}
    return write_record_set(
        out_dir, usable_images(), options.resolution, total=total, description=f"tfds {name}",
        extra_fn=report, prefix=prefix or base_prefix(name), num_shards=num_shards, source=source,
        resize_filter=options.resize_filter,
    )


def base_prefix(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "dataset"


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
