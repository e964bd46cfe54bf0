"""Where a launch of training came from: command line, host, library versions, code version.

A run directory records one such record per launch (rundir.append_launch), so that a result
can be traced back to the code and the software that produced it, after the fact and on
another machine. Nothing here may stop a training: every probe falls back to None.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import platform
import socket
import subprocess
import sys
from typing import Any, Dict, Iterator, Optional

log = logging.getLogger("progressive_infogan")

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# git on a slow or hung network file system must not hold up a launch for long.
_GIT_TIMEOUT_SECS = 10.0


def _git(*args: str) -> Optional[str]:
    """git's stripped output in the package's directory, or None if git fails, is absent or hangs."""
    try:
        done = subprocess.run(["git", "-C", _PACKAGE_DIR, *args], capture_output=True, text=True,
                              timeout=_GIT_TIMEOUT_SECS, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _package_version() -> Optional[str]:
    try:
        from importlib import metadata

        return metadata.version("progressive-infogan")
    except Exception:  # noqa: BLE001 - not installed, or broken metadata: the module's own version
        try:
            import progressive_infogan

            return getattr(progressive_infogan, "__version__", None)
        except Exception:  # noqa: BLE001
            return None


def code_version() -> Optional[str]:
    """The git commit of the package's checkout, with "+dirty" when `git status` shows changes;
    the installed package's version outside a checkout; None if neither can be told. Never raises."""
    try:
        top = _git("rev-parse", "--show-toplevel")
        # An installed package can lie inside some other repository (a virtualenv in a project):
        # only a checkout of this project, with the package at its top, has the commit of this code.
        if top and os.path.realpath(os.path.join(top, "progressive_infogan")) == os.path.realpath(_PACKAGE_DIR):
            commit = _git("rev-parse", "HEAD")
            if commit:
                status = _git("status", "--porcelain")
                # Status unknown (None) is not reported as clean.
                return commit + ("" if status == "" else "+dirty")
        return _package_version()
    except Exception as error:  # noqa: BLE001 - provenance is a record, never a reason to fail
        log.warning("code version unknown: %s", error)
        return None


def library_versions() -> Dict[str, Optional[str]]:
    """Versions of the libraries a result depends on; with TensorFlow's CUDA and cuDNN where built with them."""
    versions: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in ("tensorflow", "keras", "numpy"):
        module = sys.modules.get(name)
        try:
            if module is None:
                module = __import__(name)
            versions[name] = str(module.__version__)
        except Exception:  # noqa: BLE001
            versions[name] = None
    try:
        import tensorflow as tf

        build = tf.sysconfig.get_build_info()
        for key in ("cuda_version", "cudnn_version"):
            if build.get(key):
                versions[key] = str(build[key])
    except Exception:  # noqa: BLE001 - a CPU-only or unusual build: nothing to add
        pass
    return versions


def _working_directory() -> Optional[str]:
    try:
        return os.getcwd()
    except OSError:  # removed since the process started
        return None


def launch_record(*, start_step: int, dataset_fingerprint: Optional[str]) -> Dict[str, Any]:
    """One line of launches.jsonl: this process's launch, starting at `start_step` completed steps."""
    return {
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(sys.argv),
        "cwd": _working_directory(),
        "host": socket.gethostname(),
        "versions": library_versions(),
        "code_version": code_version(),
        "start_step": start_step,
        "dataset_fingerprint": dataset_fingerprint,
    }


@contextlib.contextmanager
def log_to_file(path: str) -> Iterator[logging.Handler]:
    """Append every log line of the process (the root logger's: the package's, absl's, TensorFlow's
    Python ones) to `path` while the block runs; the handler is removed after it, so that several
    trainings in one process (tests, notebooks) each log to their own file only."""
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)  # no file for a launch that logs nothing
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        handler.close()
