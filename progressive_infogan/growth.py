"""Growth from phase p-1 to phase p: import every variable by name.

Phase p is a fresh Keras model. Every variable of the phase p-1 model whose path also
exists in the new model (weights, biases, BN betas and moving statistics) is copied; only
the new block's variables keep their fresh initialisation. The same name-keyed copy
carries the training state (optimizer slots and step, EMA shadows; see `trainer.py`).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, List, Mapping

import numpy as np


@dataclasses.dataclass
class ImportReport:
    imported: List[str]
    fresh: List[str]  # in the new model only: the new block's variables
    dropped: List[str]  # in the old model only (e.g. the fromRGB of a block that stopped fading)


def named_variables(variables: Iterable) -> Dict[str, object]:
    named = {}
    for variable in variables:
        if variable.path in named:
            raise ValueError(f"two variables share the path {variable.path!r}")
        named[variable.path] = variable
    return named


def import_values(source: Mapping[str, object], target: Mapping[str, object]) -> ImportReport:
    """Assign each target variable the value of the source variable (or array) of the same name."""
    imported = []
    for name, variable in target.items():
        if name not in source:
            continue
        value = np.asarray(source[name])
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"cannot import {name!r}: shape {tuple(value.shape)} in the source, "
                             f"{tuple(variable.shape)} in the new model")
        variable.assign(value)
        imported.append(name)
    return ImportReport(imported=imported,
                        fresh=[name for name in target if name not in source],
                        dropped=[name for name in source if name not in target])
