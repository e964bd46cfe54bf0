"""The image sources a record set is prepared from: a folder of images (`write_from_image_folder`),
NVIDIA's CelebA-HQ TFRecords (`import_nvidia_tfrecords`) and a locally prepared TFDS dataset
(`write_from_tfds`). All of them funnel into tfrecord_writer.TFRecordSetWriter."""
from __future__ import annotations

import collections
import dataclasses
import datetime
import os
import re
from typing import Any, Callable, Iterator

import numpy as np
import PIL.Image
import tqdm

from progressive_infogan.tfrecords import (
    DOWNSAMPLE_FILTER, DatasetPreparationError, IMAGE_EXTENSIONS, MANIFEST_NAME, RESIZE_FILTERS, decode_example,
    encode_pyramid, pyramid_resolutions, resolution_log2, sha256_of_file,
)
from progressive_infogan.tfrecord_writer import (
    check_writable_directory, parallel_map, write_json_atomically, write_record_set,
)

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
            write_json_atomically(os.path.join(src_dir, MANIFEST_NAME + ".probe"), {})
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
        write_json_atomically(os.path.join(src_dir, MANIFEST_NAME), manifest)
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
