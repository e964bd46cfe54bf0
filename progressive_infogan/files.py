"""Atomic file writes (and their JSON reader): the one way this project replaces a file that others may read.

A file is written under a temporary name in its own directory, synced to disk, renamed over
the destination and the directory synced. A reader sees the old file or the new one, never
part of one, and after a crash (or a full disk) the old one is intact. The temporary name is
unique per process and call, so that two writers of one path never write into each other's
file; `is_temporary` recognises such leftovers for the cleanups.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
from typing import Any, Iterator, Optional

import numpy as np

TEMPORARY_MARK = ".partial-"
_counter = itertools.count()


def temporary_name(path: str, suffix: str = "") -> str:
    """`<path>.partial-<pid>-<n><suffix>`: beside `path`, unique to this process and call.

    `suffix` keeps an extension that the writing library insists on (Keras: '.keras')."""
    return f"{path}{TEMPORARY_MARK}{os.getpid()}-{next(_counter)}{suffix}"


def is_temporary(name: str) -> bool:
    return TEMPORARY_MARK in os.path.basename(name)


def fsync_file(path: str) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_directory(path: str) -> None:
    # A rename or a new entry is durable only once its directory is synced (POSIX).
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(path: str) -> None:
    """Every file and directory under `path`, then `path` itself: before a directory is renamed."""
    for parent, _, names in os.walk(path, topdown=False):
        for name in names:
            fsync_file(os.path.join(parent, name))
        fsync_directory(parent)


def _parent(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


@contextlib.contextmanager
def atomic_path(path: str, suffix: str = "") -> Iterator[str]:
    """Yields a temporary path to write `path`'s new content to, by any means; on a clean exit
    it is synced and renamed over `path`, on an exception removed."""
    temporary = temporary_name(path, suffix)
    try:
        yield temporary
        fsync_file(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    fsync_directory(_parent(path))


def replace_directory(temporary: str, path: str) -> None:
    """Rename a fully written directory over `path` (removed first: a directory can't be
    renamed over a non-empty one), syncing its files before and the parent after."""
    fsync_tree(temporary)
    if os.path.exists(path):
        shutil.rmtree(path)
    os.replace(temporary, path)
    fsync_directory(_parent(path))


def read_json(path: str) -> Optional[Any]:
    """The JSON value of a file written by `write_json`, or None if there is no such file."""
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def write_text(path: str, text: str) -> None:
    with atomic_path(path) as temporary:
        with open(temporary, "w") as handle:
            handle.write(text)


def write_json(path: str, value: Any, *, trailing_newline: bool = False) -> None:
    """`value` as indented JSON with sorted keys (the form of every JSON file of the project)."""
    write_text(path, json.dumps(value, indent=2, sort_keys=True) + ("\n" if trailing_newline else ""))


def write_npz(path: str, **arrays: np.ndarray) -> None:
    """An uncompressed `np.savez` archive of `arrays`."""
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)
