"""What a launch records of where it came from (provenance.py)."""

import logging
import os
import subprocess

import pytest

from progressive_infogan import provenance

PACKAGE_DIR = os.path.dirname(os.path.abspath(provenance.__file__))


def _git(*args):
    try:
        done = subprocess.run(["git", "-C", PACKAGE_DIR, *args], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the tests do not run from a git checkout")
    return done.stdout.strip()


def test_the_code_version_is_the_checkout_s_commit_marked_dirty_by_changes():
    # The tests run from a checkout: its HEAD, "+dirty" exactly when git status lists anything.
    dirty = _git("status", "--porcelain") != ""
    assert provenance.code_version() == _git("rev-parse", "HEAD") + ("+dirty" if dirty else "")


def test_without_git_the_code_version_is_the_package_s_and_nothing_raises(monkeypatch):
    import progressive_infogan

    def missing(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", missing)
    assert provenance.code_version() == progressive_infogan.__version__


def test_a_hung_git_falls_back_after_its_timeout(monkeypatch):
    calls = []

    def hung(command, **kwargs):
        calls.append(kwargs.get("timeout"))
        raise subprocess.TimeoutExpired(command, kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", hung)
    monkeypatch.setattr(provenance, "_package_version", lambda: None)
    assert provenance.code_version() is None
    assert calls and all(timeout is not None and timeout <= 10 for timeout in calls)


def test_an_unknown_status_is_not_reported_clean(monkeypatch):
    real_git = provenance._git
    monkeypatch.setattr(provenance, "_git", lambda *args: None if args[0] == "status" else real_git(*args))
    assert provenance.code_version() == _git("rev-parse", "HEAD") + "+dirty"


def test_a_log_file_gets_the_lines_of_its_block_only(tmp_path):
    path = str(tmp_path / "train.log")
    logger = logging.getLogger("progressive_infogan.test")
    logger.setLevel(logging.INFO)
    with provenance.log_to_file(path):
        logger.info("inside the block")
    logger.info("after the block")
    text = open(path).read()
    assert "INFO progressive_infogan.test: inside the block" in text and "after the block" not in text
