"""Checkpoints of a run directory, and loading a trained generator for evaluation.

A checkpoint is a directory ``checkpoints/ckpt-<step>/`` holding

- ``variables.npz``: every variable by name (``generator/...``, ``discriminator/...``,
  ``ema/generator/...``, ``g_adam/...``, ``d_adam/...``): the same name-keyed state that
  growth imports, so resuming and growing share one mechanism;
- ``state.json``: step, phase, the alpha of the last step, and what else the loop needs;
- optionally ``data/``: the tf.data iterator's position.

It is written under a temporary name and renamed into place, so a killed write never
leaves a checkpoint that can't be read; the newest complete one is found by name.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

from progressive_infogan import growth, networks
from progressive_infogan.config import ExperimentConfig

CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"^ckpt-(\d+)$")
VARIABLES_FILE = "variables.npz"
STATE_FILE = "state.json"
EMA_PREFIX = "ema/"


def checkpoint_dir(run_dir: str, step: int) -> str:
    return os.path.join(run_dir, CHECKPOINT_DIR, f"ckpt-{step:09d}")


def list_checkpoints(run_dir: str) -> List[Tuple[int, str]]:
    """(step, path) of every complete checkpoint, oldest first."""
    root = os.path.join(run_dir, CHECKPOINT_DIR)
    if not os.path.isdir(root):
        return []
    found = []
    for name in os.listdir(root):
        match = _NAME.match(name)
        path = os.path.join(root, name)
        if match and os.path.isfile(os.path.join(path, STATE_FILE)):
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_checkpoint(run_dir: str) -> Optional[str]:
    checkpoints = list_checkpoints(run_dir)
    return checkpoints[-1][1] if checkpoints else None


def save_checkpoint(run_dir: str, step: int, arrays: Mapping[str, np.ndarray], state: Mapping[str, Any],
                    write_extra: Optional[Callable[[str], None]] = None, keep: int = 3) -> str:
    """Atomically write checkpoint `step`; `write_extra(tmp_dir)` may add files. Keeps the newest `keep`."""
    final = checkpoint_dir(run_dir, step)
    temporary = final + ".partial"
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    np.savez(os.path.join(temporary, VARIABLES_FILE), **arrays)
    if write_extra is not None:
        write_extra(temporary)
    # state.json last: its presence marks the directory complete.
    with open(os.path.join(temporary, STATE_FILE), "w") as handle:
        json.dump(dict(state, step=step), handle, indent=2, sort_keys=True)
    if os.path.exists(final):
        shutil.rmtree(final)
    os.replace(temporary, final)
    for _, old in list_checkpoints(run_dir)[:-keep] if keep else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    with open(os.path.join(path, STATE_FILE)) as handle:
        state = json.load(handle)
    with np.load(os.path.join(path, VARIABLES_FILE)) as data:
        arrays = {name: data[name] for name in data.files}
    return arrays, state


def read_config(run_dir: str) -> ExperimentConfig:
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{run_dir} is not a run directory: no config.json")
    with open(path) as handle:
        return ExperimentConfig.from_json(handle.read())


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
    if os.path.isfile(os.path.join(path, STATE_FILE)):
        checkpoint, run_dir = path, os.path.dirname(os.path.dirname(path))
    else:
        run_dir = path
        checkpoints = dict(list_checkpoints(run_dir))
        if not checkpoints:
            raise FileNotFoundError(f"no checkpoint in {run_dir}")
        if step is not None and step not in checkpoints:
            raise FileNotFoundError(f"no checkpoint at step {step} in {run_dir}; have {sorted(checkpoints)}")
        checkpoint = checkpoints[step if step is not None else max(checkpoints)]
    config = read_config(run_dir)
    arrays, state = load_checkpoint(checkpoint)
    phase = int(state["phase"])
    generator = networks.build_generator(config.model, phase)
    discriminator = networks.build_discriminator(config.model, phase)
    source = ema_arrays(arrays) if use_ema else arrays
    growth.import_values(source, growth.named_variables(generator.variables))
    growth.import_values(arrays, growth.named_variables(discriminator.variables))
    return LoadedRun(run_dir=run_dir, checkpoint=checkpoint, config=config, step=int(state["step"]),
                     phase=phase, alpha=float(state["alpha"]), generator=generator, discriminator=discriminator)
