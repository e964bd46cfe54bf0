"""Checkpoints of a run directory, and loading a trained generator for evaluation.

A checkpoint is a directory ``checkpoints/ckpt-<step>/`` holding

- ``variables.npz``: every variable by name (``generator/...``, ``discriminator/...``,
  ``ema/generator/...``, ``g_adam/...``, ``d_adam/...``): the same name-keyed state that
  growth imports, so resuming and growing share one mechanism;
- ``state.json``: step, phase, the alpha of the last step, what else the loop needs, and
  the size and SHA-256 of every other file (``files``);
- optionally ``data.*``: the tf.data iterator's position;
- ``pinned`` (empty) in each phase's final checkpoint: `prune` keeps it besides the newest
  ones, so a finished phase can be evaluated, exported or grown from later.

It is written under a temporary name, synced to disk and renamed into place, so a killed
write never leaves a checkpoint that can't be read. A checkpoint damaged afterwards (a
truncated or overwritten file, a lost state.json) fails its checks when it is loaded:
`load_newest` then falls back to the next older one and sets the damaged one aside as
``*.corrupt``, and refuses to go on when none loads, rather than start over beside them.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import logging
import os
import re
import shutil
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

from progressive_infogan import growth, networks, rundir
from progressive_infogan.config import ExperimentConfig
from progressive_infogan.errors import MissingPathError
from progressive_infogan.files import fsync_directory, fsync_file

log = logging.getLogger("progressive_infogan")

_NAME = re.compile(r"^ckpt-(\d+)$")
VARIABLES_FILE = "variables.npz"
STATE_FILE = "state.json"
PINNED_FILE = "pinned"
EMA_PREFIX = "ema/"
PARTIAL_SUFFIX = ".partial"
CORRUPT_SUFFIX = ".corrupt"


class CheckpointError(Exception):
    """A checkpoint that can't be used; the message names the directory or file."""


def checkpoint_dir(run_dir: str, step: int) -> str:
    return os.path.join(rundir.checkpoints_dir(run_dir), f"ckpt-{step:09d}")


def _checkpoint_directories(run_dir: str) -> List[Tuple[int, str]]:
    """(step, path) of every ``ckpt-<step>`` directory, complete or not, oldest first."""
    root = rundir.checkpoints_dir(run_dir)
    if not os.path.isdir(root):
        return []
    found = []
    for name in os.listdir(root):
        match = _NAME.match(name)
        path = os.path.join(root, name)
        if match and os.path.isdir(path):
            found.append((int(match.group(1)), path))
    return sorted(found)


def list_checkpoints(run_dir: str) -> List[Tuple[int, str]]:
    """(step, path) of every complete checkpoint, oldest first."""
    return [(step, path) for step, path in _checkpoint_directories(run_dir)
            if os.path.isfile(os.path.join(path, STATE_FILE))]


def has_any_checkpoint(run_dir: str) -> bool:
    """Whether the run ever wrote a checkpoint, readable or not (an interrupted write's aside)."""
    root = rundir.checkpoints_dir(run_dir)
    return os.path.isdir(root) and any(_NAME.match(name.split(CORRUPT_SUFFIX)[0]) for name in os.listdir(root))


def latest_checkpoint(run_dir: str) -> Optional[str]:
    checkpoints = list_checkpoints(run_dir)
    return checkpoints[-1][1] if checkpoints else None


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def _relative_files(directory: str) -> List[str]:
    found = []
    for parent, _, names in os.walk(directory):
        found.extend(os.path.relpath(os.path.join(parent, name), directory) for name in names)
    return sorted(found)


def clear_partial(run_dir: str) -> List[str]:
    """Remove the temporary directories of interrupted checkpoint writes; returns them.

    Only for a trainer that owns the run directory: another one's write in progress looks the same."""
    removed = sorted(glob.glob(os.path.join(glob.escape(rundir.checkpoints_dir(run_dir)), "*" + PARTIAL_SUFFIX)))
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def is_pinned(path: str) -> bool:
    return os.path.isfile(os.path.join(path, PINNED_FILE))


def prune(run_dir: str, keep: int) -> List[str]:
    """Remove the complete checkpoints older than the newest `keep` (0: keep all), except pinned
    ones; returns the removed paths."""
    removed = []
    for _, old in list_checkpoints(run_dir)[:-keep] if keep else []:
        if not is_pinned(old):
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    return removed


def save_checkpoint(run_dir: str, step: int, arrays: Mapping[str, np.ndarray], state: Mapping[str, Any],
                    write_extra: Optional[Callable[[str], None]] = None, keep: int = 3, pin: bool = False) -> str:
    """Atomically write checkpoint `step`; `write_extra(tmp_dir)` may add files. Keeps the newest
    `keep` and the pinned ones; with `pin` this one is pinned."""
    root = rundir.checkpoints_dir(run_dir)
    if not os.path.isdir(root):
        os.makedirs(root)
        fsync_directory(run_dir)
    final = checkpoint_dir(run_dir, step)
    temporary = final + PARTIAL_SUFFIX
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    np.savez(os.path.join(temporary, VARIABLES_FILE), **arrays)
    if write_extra is not None:
        write_extra(temporary)
    if pin:
        # Inside the directory before the rename: the checkpoint appears pinned or not at all.
        open(os.path.join(temporary, PINNED_FILE), "w").close()
    files = {}
    for name in _relative_files(temporary):
        path = os.path.join(temporary, name)
        fsync_file(path)
        files[name] = {"bytes": os.path.getsize(path), "sha256": _sha256(path)}
    # state.json last: its presence marks the directory complete, its file list what complete means.
    with open(os.path.join(temporary, STATE_FILE), "w") as handle:
        json.dump(dict(state, step=step, files=files), handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    fsync_directory(temporary)
    if os.path.exists(final):
        shutil.rmtree(final)
    os.replace(temporary, final)
    fsync_directory(root)
    prune(run_dir, keep)
    return final


def _read_state(path: str) -> Dict[str, Any]:
    state_path = os.path.join(path, STATE_FILE)
    if not os.path.isfile(state_path):
        present = ", ".join(sorted(os.listdir(path))) or "nothing"
        raise CheckpointError(f"{state_path} is missing (the directory holds {present})")
    try:
        with open(state_path) as handle:
            state = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CheckpointError(f"{state_path} is unreadable: {error}") from None
    if not isinstance(state, dict) or not all(key in state for key in ("step", "phase", "alpha")):
        raise CheckpointError(f"{state_path} lacks step, phase or alpha")
    match = _NAME.match(os.path.basename(os.path.normpath(path)))
    if match and int(match.group(1)) != state["step"]:
        raise CheckpointError(f"{state_path} is of step {state['step']}, not the directory's {int(match.group(1))}")
    return state


def _check_files(path: str, files: Mapping[str, Mapping[str, Any]]) -> None:
    for name, expected in sorted(files.items()):
        file_path = os.path.join(path, name)
        if not os.path.isfile(file_path):
            raise CheckpointError(f"{file_path} is missing")
        size = os.path.getsize(file_path)
        if size != expected["bytes"]:
            raise CheckpointError(f"{file_path} has {size} bytes, {expected['bytes']} when written (truncated?)")
        if _sha256(file_path) != expected["sha256"]:
            raise CheckpointError(f"{file_path} does not match its SHA-256 of when it was written (damaged)")


def _read_arrays(file_path: str) -> Dict[str, np.ndarray]:
    # No pickles: a checkpoint holds plain arrays, and unpickling a damaged or foreign file runs code.
    try:
        with np.load(file_path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise CheckpointError(f"{file_path} is missing") from None
    except Exception as error:  # noqa: BLE001 - zipfile, numpy and the OS each raise their own kinds
        raise CheckpointError(f"{file_path} is unreadable: {error}") from None


def load_checkpoint(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """(arrays, state) of one checkpoint directory; CheckpointError names what is wrong."""
    state = _read_state(path)
    # The file list describes the checkpoint, not the run. Checkpoints written before files
    # were listed are checked only as far as they can be read.
    _check_files(path, state.pop("files", {}))
    return _read_arrays(os.path.join(path, VARIABLES_FILE)), state


@dataclasses.dataclass(frozen=True)
class Restored:
    """The checkpoint a run resumes from."""

    path: str
    step: int
    arrays: Dict[str, np.ndarray]
    state: Dict[str, Any]


def _set_aside(path: str) -> str:
    target, number = path + CORRUPT_SUFFIX, 1
    while os.path.exists(target):
        target, number = f"{path}{CORRUPT_SUFFIX}-{number}", number + 1
    os.replace(path, target)
    return target


def load_newest(run_dir: str, set_aside: bool = True) -> Optional[Restored]:
    """The newest checkpoint of `run_dir` that loads, or None in a run directory without any.

    Each newer one that does not load is renamed ``*.corrupt`` (with `set_aside`) and named
    in a warning. Raises CheckpointError when there are checkpoints and none loads: a run
    must not start again at step 0 and later prune them.
    """
    failures = []
    for step, path in reversed(_checkpoint_directories(run_dir)):
        try:
            arrays, state = load_checkpoint(path)
        except CheckpointError as error:
            failures.append((path, error))
            continue
        for bad, error in failures:
            if set_aside:
                log.warning("checkpoint %s does not load (%s); renamed it %s and resuming from %s",
                            bad, error, os.path.basename(_set_aside(bad)), path)
            else:
                log.warning("checkpoint %s does not load (%s); resuming from %s", bad, error, path)
        return Restored(path=path, step=int(state["step"]), arrays=arrays, state=state)
    corrupt = sorted(glob.glob(os.path.join(glob.escape(rundir.checkpoints_dir(run_dir)),
                                            "*" + CORRUPT_SUFFIX + "*")))
    if failures or corrupt:
        reasons = [f"  {error}" for _, error in failures] + [f"  {path}: set aside earlier" for path in corrupt]
        raise CheckpointError(
            f"{run_dir} has checkpoints but none of them loads:\n" + "\n".join(reasons) +
            f"\nRefusing to start again at step 0 over them; move {rundir.checkpoints_dir(run_dir)} "
            "aside to start over.")
    return None


@dataclasses.dataclass
class LoadedRun:
    """A trained model ready for evaluation: G with EMA weights and BN moving statistics."""

    run_dir: str
    checkpoint: str
    config: ExperimentConfig
    step: int
    phase: int
    alpha: float
    generator: networks.Generator
    discriminator: networks.Discriminator


def ema_arrays(arrays: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """G's variables with the EMA shadows in place of the raw trainable weights."""
    values = {name: value for name, value in arrays.items() if name.startswith("generator/")}
    for name, value in arrays.items():
        if name.startswith(EMA_PREFIX):
            values[name[len(EMA_PREFIX):]] = value
    return values


def load_run(path: str, step: Optional[int] = None, use_ema: bool = True) -> LoadedRun:
    """Load a run directory's newest checkpoint (or `step`), or a checkpoint directory."""
    path = os.path.abspath(path)
    if not os.path.isdir(path):
        raise MissingPathError(f"{path}: no such directory (a run directory or a checkpoint directory)")
    if os.path.isfile(os.path.join(path, STATE_FILE)):
        checkpoint, run_dir = path, os.path.dirname(os.path.dirname(path))
    else:
        run_dir = path
        checkpoints = dict(list_checkpoints(run_dir))
        if not checkpoints:
            rundir.read_config(run_dir)  # a directory that is no run at all says so
            raise MissingPathError(f"no checkpoint in {run_dir}")
        if step is not None and step not in checkpoints:
            raise MissingPathError(f"no checkpoint at step {step} in {run_dir}; have {sorted(checkpoints)}")
        checkpoint = checkpoints[step if step is not None else max(checkpoints)]
    config = rundir.read_config(run_dir)
    arrays, state = load_checkpoint(checkpoint)
    phase = int(state["phase"])
    generator = networks.build_generator(config.model, phase)
    discriminator = networks.build_discriminator(config.model, phase)
    source = ema_arrays(arrays) if use_ema else arrays
    growth.import_values(source, growth.named_variables(generator.variables))
    growth.import_values(arrays, growth.named_variables(discriminator.variables))
    return LoadedRun(run_dir=run_dir, checkpoint=checkpoint, config=config, step=int(state["step"]),
                     phase=phase, alpha=float(state["alpha"]), generator=generator, discriminator=discriminator)
