"""A run directory's layout and its files: the only module that knows their names.

    <run_dir>/
      config.json      the experiment (ExperimentConfig): a resume must match it, or grow it (a later stop_after)
      identity.json    what else the run is: absolute data path, dataset fingerprint (and drawing), seed
      run_options.json how the latest launch ran (RunOptions): rewritten by each launch
      launches.jsonl   one JSON object per launch: command line, host, versions, code, start step
      train.log        the log lines of every launch, appended
      lock             pid, host and start of the training that holds the directory
      metrics.jsonl    one JSON object per evaluation, appended by `evaluate`
      checkpoints/     ckpt-<step>/ (checkpoints.py owns what is inside)
      tensorboard/     TensorBoard events
      samples/         sample grids written during training
      export/          exported generators (export.py)

Each file has one writer here, and one reader: a table or a figure can be rebuilt from run
directories alone, and a change of layout is a change of this module.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import socket
import time
from typing import Any, Dict, List, Mapping, Optional

from progressive_infogan import config as configs
from progressive_infogan import files
from progressive_infogan.errors import MissingPathError, UserError

log = logging.getLogger("progressive_infogan")

CONFIG_FILE = "config.json"
IDENTITY_FILE = "identity.json"
RUN_OPTIONS_FILE = "run_options.json"
LOCK_FILE = "lock"
METRICS_FILE = "metrics.jsonl"
LAUNCHES_FILE = "launches.jsonl"
TRAIN_LOG_FILE = "train.log"
CHECKPOINTS_DIR = "checkpoints"
TENSORBOARD_DIR = "tensorboard"
SAMPLES_DIR = "samples"
EXPORT_DIR = "export"


def checkpoints_dir(run_dir: str) -> str:
    return os.path.join(run_dir, CHECKPOINTS_DIR)


def tensorboard_dir(run_dir: str) -> str:
    return os.path.join(run_dir, TENSORBOARD_DIR)


def samples_dir(run_dir: str) -> str:
    return os.path.join(run_dir, SAMPLES_DIR)


def export_dir(run_dir: str) -> str:
    return os.path.join(run_dir, EXPORT_DIR)


def metrics_path(run_dir: str) -> str:
    return os.path.join(run_dir, METRICS_FILE)


def launches_path(run_dir: str) -> str:
    return os.path.join(run_dir, LAUNCHES_FILE)


def train_log_path(run_dir: str) -> str:
    return os.path.join(run_dir, TRAIN_LOG_FILE)


# --- config.json ----------------------------------------------------------------------------

def has_config(run_dir: str) -> bool:
    return os.path.isfile(os.path.join(run_dir, CONFIG_FILE))


def read_config(run_dir: str) -> configs.ExperimentConfig:
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise MissingPathError(f"{run_dir} is not a run directory: no {CONFIG_FILE}")
    with open(path) as handle:
        return configs.ExperimentConfig.from_json(handle.read())


def experiment_name(run_dir: str) -> Optional[str]:
    """config.json's experiment name, without parsing the rest (None without a config.json)."""
    stored = files.read_json(os.path.join(run_dir, CONFIG_FILE))
    return stored["name"] if stored else None


def check_config(config: configs.ExperimentConfig, run_dir: str) -> bool:
    """Whether `run_dir` already records `config`, or one that `config` grows (configs.grows: a
    larger stop_after only); raises UserError if it records another."""
    if not has_config(run_dir):
        return False
    # Parsed, not compared as text: a field added to the configs since the run started
    # reads as its default, so older runs still resume.
    stored = read_config(run_dir)
    changed = configs.differences(stored, config)
    if changed and not configs.grows(stored, config):
        raise UserError(
            f"{run_dir} holds a run of {stored.name} with a different configuration ({'; '.join(changed)}); "
            "pass the same flags to resume it (a larger --stop_after alone grows it), or choose a new --model_dir")
    return True


def write_config(config: configs.ExperimentConfig, run_dir: str, replace: bool = False) -> None:
    """Record the run's experiment: a different one is refused (UserError), one that grows the
    recorded one (a larger stop_after) replaces it, and with `replace` (a directory without
    checkpoints, where a failed start left its config) any one does."""
    if has_config(run_dir):
        try:
            stored = read_config(run_dir)
        except (ValueError, KeyError, TypeError) as error:
            if not replace:
                raise
            stored, changed = None, [f"unreadable: {error}"]
        else:
            changed = configs.differences(stored, config)
        if not changed:
            return
        if replace:
            log.warning("%s: replacing the %s of a start that wrote no checkpoint (%s)", run_dir, CONFIG_FILE,
                        "; ".join(changed))
        else:
            check_config(config, run_dir)
            log.info("%s: growing the run from phase %d to phase %d (%s)", run_dir, stored.schedule.stop_after,
                     config.schedule.stop_after, CONFIG_FILE)
    files.write_text(os.path.join(run_dir, CONFIG_FILE), config.to_json())


# --- run_options.json -----------------------------------------------------------------------

def read_run_options(run_dir: str) -> Dict[str, Any]:
    """The latest launch's RunOptions as a dict ({} if none was recorded)."""
    return files.read_json(os.path.join(run_dir, RUN_OPTIONS_FILE)) or {}


def write_run_options(run_dir: str, options: configs.RunOptions) -> None:
    # How this launch ran (data, hardware): not the experiment's identity, so rewritten each time.
    files.write_json(os.path.join(run_dir, RUN_OPTIONS_FILE), dataclasses.asdict(options))


# --- identity.json --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Identity:
    """What a run trains on besides its config: a resume on other data or another seed would
    silently finish a different run."""

    data_dir: str  # absolute; "" when the images come from code (train's dataset_fn)
    dataset_fingerprint: Optional[str]  # tfrecords.dataset_fingerprint; None without a manifest
    seed: int
    drawing: Optional[Dict[str, Any]] = None  # tfrecords.dataset_drawing: a drawn dataset's settings

    def drawn_larger(self, given: "Identity") -> bool:
        """Whether `given`'s dataset is this one's drawn again at a higher resolution, with the
        same generator and settings otherwise: the same faces, which a run grown to a later phase
        (a larger stop_after) needs at that phase's resolution. Its fingerprint differs (each
        level is rendered anew), yet it is the data the run was trained on."""
        if not self.drawing or not given.drawing:
            return False
        rest = lambda drawing: {key: value for key, value in drawing.items() if key != "resolution"}  # noqa: E731
        return (rest(self.drawing) == rest(given.drawing)
                and given.drawing.get("resolution", 0) > self.drawing.get("resolution", 0))

    def differences(self, given: "Identity") -> List[str]:
        changed = []
        if self.seed != given.seed:
            changed.append(f"seed: stored {self.seed}, given {given.seed}")
        if self.dataset_fingerprint != given.dataset_fingerprint and not self.drawn_larger(given):
            changed.append(f"dataset fingerprint: stored {self.dataset_fingerprint} ({self.data_dir or 'no data_dir'}), "
                           f"given {given.dataset_fingerprint} ({given.data_dir or 'no data_dir'})")
        elif self.dataset_fingerprint is None and self.data_dir and given.data_dir and self.data_dir != given.data_dir:
            # Without a manifest the path is all that tells two datasets apart.
            changed.append(f"data_dir: stored {self.data_dir}, given {given.data_dir} (neither has a manifest)")
        return changed


def read_identity(run_dir: str) -> Optional[Identity]:
    stored = files.read_json(os.path.join(run_dir, IDENTITY_FILE))
    if stored is None:
        return None
    return Identity(data_dir=stored.get("data_dir", ""), dataset_fingerprint=stored.get("dataset_fingerprint"),
                    seed=int(stored["seed"]), drawing=stored.get("drawing"))


def check_identity(run_dir: str, given: Identity, allow_changes: bool = False) -> Optional[Identity]:
    """The identity `run_dir` records (None if it records none). A different one is refused with a
    UserError naming stored vs given, unless `allow_changes` (then a warning says it).

    A run recorded before identities were (no identity.json) is checked against the seed of its
    run_options.json, the only part it recorded."""
    stored = read_identity(run_dir)
    if stored is not None and stored.drawing is None and stored.data_dir:
        # Recorded before drawings were: the manifest tells, while the data is still what was recorded.
        from progressive_infogan import tfrecords

        if stored.dataset_fingerprint and tfrecords.dataset_fingerprint(stored.data_dir) == stored.dataset_fingerprint:
            stored = dataclasses.replace(stored, drawing=tfrecords.dataset_drawing(stored.data_dir))
    if stored is not None:
        changed = stored.differences(given)
        if stored.drawn_larger(given):
            log.info("%s: training on %s, its dataset drawn at %s px (was %s px at %s)", run_dir, given.data_dir,
                     given.drawing.get("resolution"), stored.drawing.get("resolution"), stored.data_dir)
    else:
        options = read_run_options(run_dir)
        changed = ([f"seed: stored {options['seed']}, given {given.seed}"]
                   if "seed" in options and int(options["seed"]) != given.seed else [])
    if changed and not allow_changes:
        raise UserError(f"{run_dir} was trained on other data or with another seed ({'; '.join(changed)}); "
                        "pass the same --seed and --data_dir to resume it, --allow_changed_data to resume it "
                        "with these anyway, or choose a new --model_dir")
    if changed:
        log.warning("%s: resuming with a changed identity (%s), as --allow_changed_data asks", run_dir,
                    "; ".join(changed))
    return stored


def write_identity(run_dir: str, identity: Identity, replace: bool = False) -> None:
    """Record the identity once (a run recorded before identities were gets the first resume's).
    With `replace` (a directory with no checkpoint, an allowed change, or a dataset drawn larger)
    it is rewritten; the identities it replaces are kept in the record's `earlier` list."""
    path = os.path.join(run_dir, IDENTITY_FILE)
    stored = files.read_json(path)
    if stored is not None:
        same = all(stored.get(key) == value for key, value in dataclasses.asdict(identity).items())
        if same or not replace:
            return
    record = dict(dataclasses.asdict(identity), recorded=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    if stored is not None:
        record["earlier"] = stored.pop("earlier", []) + [stored]
    files.write_json(path, record)


def run_seed(run_dir: str) -> int:
    """The run's seed: its identity's, else the latest launch's, else RunOptions' default 0."""
    identity = read_identity(run_dir)
    if identity is not None:
        return identity.seed
    return int(read_run_options(run_dir).get("seed", 0))


def recorded_data_dir(run_dir: str) -> Optional[str]:
    """The data directory a run trained on, as a usable path, or None if it records none:
    identity.json's absolute path, else (a run recorded before identities were) run_options.json's."""
    identity = read_identity(run_dir)
    if identity is not None and identity.data_dir:
        return identity.data_dir
    data_dir = str(read_run_options(run_dir).get("data_dir") or "")
    return resolve_recorded_path(run_dir, data_dir) if data_dir else None


def resolve_recorded_path(run_dir: str, path: str) -> str:
    """A path recorded relative to some working directory: as it is if absolute or found from this
    one, else relative to the directory the run was started from (the run dir minus its recorded
    `model_dir`, else its parent's parent, else its parent) where it exists there."""
    if os.path.isabs(path) or os.path.isdir(path):
        return path
    run_dir = os.path.abspath(run_dir)
    roots = []
    model_dir = str(read_run_options(run_dir).get("model_dir") or "")
    model_dir = os.path.normpath(model_dir) if model_dir else ""
    if model_dir and not os.path.isabs(model_dir) and run_dir.endswith(os.sep + model_dir):
        roots.append(run_dir[: -len(model_dir) - 1])
    roots += [os.path.dirname(os.path.dirname(run_dir)), os.path.dirname(run_dir)]
    for root in roots:
        candidate = os.path.join(root, path)
        if os.path.isdir(candidate):
            return candidate
    return path


# --- JSON lines: metrics.jsonl, launches.jsonl ------------------------------------------------

def _append_line(path: str, record: Mapping[str, Any]) -> None:
    """Append `record` as one line, in a single write: concurrent writers' lines never
    interleave. After a torn line (a killed writer) it starts a new line, so this one is intact."""
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(descriptor).st_size
        if size and os.pread(descriptor, 1, size - 1) != b"\n":
            line = b"\n" + line
        os.write(descriptor, line)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_lines(path: str) -> List[Dict[str, Any]]:
    """Every record of a JSON-lines file, in file order ([] without the file). A line that is
    not a JSON object (a torn write) is skipped with a warning naming `path:line`."""
    if not os.path.isfile(path):
        return []
    records = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                log.warning("%s:%d: skipping a malformed line (%s)", path, number, error)
                continue
            if not isinstance(record, dict):
                log.warning("%s:%d: skipping a line that is not a JSON object", path, number)
                continue
            records.append(record)
    return records


def append_metrics_line(run_dir: str, record: Mapping[str, Any]) -> None:
    """Append one evaluation (evaluators may run concurrently on one run)."""
    _append_line(metrics_path(run_dir), record)


def read_metrics_lines(run_dir: str) -> List[Dict[str, Any]]:
    """Every evaluation of a run, in file order; torn lines skipped with a warning."""
    return _read_lines(metrics_path(run_dir))


def has_metrics(run_dir: str) -> bool:
    return os.path.isfile(metrics_path(run_dir))


def append_launch(run_dir: str, record: Mapping[str, Any]) -> None:
    """Record one launch of training (provenance.launch_record), beside the earlier ones."""
    _append_line(launches_path(run_dir), record)


def read_launches(run_dir: str) -> List[Dict[str, Any]]:
    """Every launch of a run, oldest first ([] for a run older than launches.jsonl)."""
    return _read_lines(launches_path(run_dir))


# --- lock -----------------------------------------------------------------------------------

class RunLock:
    """The training that holds a run directory, for the training's whole life.

    An exclusive `flock` on `<run_dir>/lock`, which records pid, host and start: the kernel
    drops the lock when its process ends, however it ends, so a lock file that nobody holds is
    stale (its trainer died) and is taken over. A second trainer is refused with a UserError."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.path = os.path.join(run_dir, LOCK_FILE)
        self._descriptor: Optional[int] = None

    def acquire(self) -> "RunLock":
        os.makedirs(self.run_dir, exist_ok=True)
        while True:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read_holder(descriptor)
                os.close(descriptor)
                raise UserError(f"{self.run_dir} is in use by pid {holder.get('pid', '?')} on "
                                f"{holder.get('host', '?')} since {holder.get('since', '?')} ({self.path}); "
                                "wait for that training to end, or choose another --model_dir") from None
            # A holder that released between our open and flock unlinked the file we opened.
            try:
                same = os.stat(self.path).st_ino == os.fstat(descriptor).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(descriptor)
        previous = _read_holder(descriptor)
        if previous:
            log.warning("%s: taking over a stale lock: pid %s on %s (since %s) ended without releasing it",
                        self.path, previous.get("pid", "?"), previous.get("host", "?"), previous.get("since", "?"))
        record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                             "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, sort_keys=True)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, (record + "\n").encode(), 0)
        os.fsync(descriptor)
        self._descriptor = descriptor
        return self

    def release(self) -> None:
        if self._descriptor is None:
            return
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        os.close(self._descriptor)  # drops the flock
        self._descriptor = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(descriptor: int) -> Dict[str, Any]:
    try:
        text = os.pread(descriptor, 4096, 0).decode(errors="replace")
        holder = json.loads(text) if text.strip() else {}
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
        return {"pid": "?", "host": "?", "since": "? (unreadable lock file)"}
