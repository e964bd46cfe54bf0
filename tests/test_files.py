"""Atomic writes (files.py)."""

import os

import numpy as np
import pytest

from progressive_infogan import files


def test_a_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = str(tmp_path / "a.json")
    files.write_json(path, {"b": 1, "a": [2]})
    files.write_json(path, {"b": 2}, trailing_newline=True)
    assert open(path).read() == '{\n  "b": 2\n}\n'
    assert os.listdir(tmp_path) == ["a.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    path = str(tmp_path / "a.txt")
    files.write_text(path, "old")
    with pytest.raises(RuntimeError):
        with files.atomic_path(path) as temporary:
            with open(temporary, "w") as handle:
                handle.write("half")
            raise RuntimeError("disk full")
    assert open(path).read() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_temporary_names_are_unique_per_process_and_call(tmp_path):
    path = str(tmp_path / "a.npz")
    first, second = files.temporary_name(path), files.temporary_name(path, ".keras")
    assert first != second and f".partial-{os.getpid()}-" in first and second.endswith(".keras")
    assert files.is_temporary(first) and not files.is_temporary(path)


def test_an_archive_is_written_atomically_and_reads_back(tmp_path):
    path = str(tmp_path / "a.npz")
    files.write_npz(path, x=np.arange(3), y=np.eye(2))
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["x"], np.arange(3))
        np.testing.assert_array_equal(archive["y"], np.eye(2))
    assert os.listdir(tmp_path) == ["a.npz"]


def test_the_rename_comes_after_the_file_is_synced_and_the_directory_is_synced_after(tmp_path, monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))),
                                                 fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", b)), replace(a, b)))
    path = str(tmp_path / "a.txt")
    files.write_text(path, "x")
    kinds = [kind for kind, _ in events]
    assert kinds == ["fsync", "replace", "fsync"]
    assert events[0][1].startswith(path + ".partial-") and events[2][1] == str(tmp_path)
