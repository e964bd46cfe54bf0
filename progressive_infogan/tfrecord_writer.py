"""Writing a record set in the format of tfrecords.py: every resolution level of each image, under
temporary names renamed into place, and the manifest last (the crash safety that module describes);
and the process pool that the sources decode their images in."""
from __future__ import annotations

import contextlib
import datetime
import glob
import multiprocessing
import os
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import tqdm

from progressive_infogan.tfrecords import (
    DOWNSAMPLE_FILTER, DatasetPreparationError, MANIFEST_NAME, PREPARING_MARKER, encode_pyramid,
    pyramid_resolutions, record_filename, sha256_of_file,
)
from progressive_infogan.files import fsync_directory, fsync_file, is_temporary, write_json

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



def write_json_atomically(path: str, content: dict) -> None:
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
        write_json_atomically(os.path.join(self.out_dir, MANIFEST_NAME), manifest)
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
