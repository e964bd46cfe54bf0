"""One way in to a trained generator, whatever form it comes in: `progressive_infogan.load(path)`.

A path may be

- a run directory (its newest checkpoint, or `step`) or one checkpoint directory: the EMA
  generator with BN's moving statistics, as every tool loads it;
- an exported Keras file (`generator-<step>.keras`), with the sidecar `generator-<step>.json`
  that `export` writes beside it (the fade's alpha is not part of the Keras model);
- an exported SavedModel directory (`saved_model-<step>/`): only TensorFlow runs it, and
  `assets.extra/progressive_infogan.json` inside it says what it is.

Every form gives the same callable: (noise [N, Z], code [N, K]) -> images [N, H, W, 3] in
[-1, 1], plus the model's configuration where the form records it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any, Callable, Dict, Optional

import numpy as np

from progressive_infogan import files
from progressive_infogan.config import ModelConfig
from progressive_infogan.errors import MissingPathError, UserError

log = logging.getLogger("progressive_infogan")

# What an export says about itself: beside the Keras file, and inside the SavedModel (TF
# loads nothing from assets.extra/, which is there for files like this one).
SAVED_MODEL_METADATA = os.path.join("assets.extra", "progressive_infogan.json")
KERAS_SUFFIX = ".keras"
KINDS = ("run", "checkpoint", "keras", "saved_model")

Render = Callable[[np.ndarray, np.ndarray], np.ndarray]


def keras_metadata_path(keras_path: str) -> str:
    return keras_path[:-len(KERAS_SUFFIX)] + ".json" if keras_path.endswith(KERAS_SUFFIX) else keras_path + ".json"


@dataclasses.dataclass(frozen=True)
class LoadedGenerator:
    """A trained generator: call it with (noise, code) for images in [-1, 1]."""

    source: str  # the path it was loaded from (absolute)
    kind: str  # one of KINDS
    noise_size: int
    code_size: int
    resolution: int
    alpha: float  # the fade's alpha the images are rendered with (the checkpoint's)
    model_config: Optional[ModelConfig]  # None only for a SavedModel without metadata
    phase: Optional[int]
    step: Optional[int]
    experiment: Optional[str]
    render: Render = dataclasses.field(repr=False)
    # The Keras `networks.Generator` (EMA weights) of a run, checkpoint or Keras file; None for a SavedModel.
    keras_model: Any = dataclasses.field(default=None, repr=False)

    def __call__(self, noise, code, batch_size: int = 64) -> np.ndarray:
        noise = np.asarray(noise, np.float32).reshape(-1, self.noise_size)
        code = np.asarray(code, np.float32).reshape(len(noise), self.code_size)
        parts = [self.render(noise[start:start + batch_size], code[start:start + batch_size])
                 for start in range(0, len(noise), batch_size)]
        if not parts:
            return np.zeros([0, self.resolution, self.resolution, 3], np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def describe(self) -> str:
        name = self.experiment or "generator"
        where = f"step {self.step}, " if self.step is not None else ""
        phase = f"phase {self.phase}, " if self.phase is not None else ""
        return f"{name} ({self.kind}): {where}{phase}{self.resolution}x{self.resolution}, alpha {self.alpha:.3f}"


def export_metadata(experiment: str, step: int, phase: int, alpha: float, model_config: ModelConfig) -> Dict:
    """What an export records about itself (read back by `load`)."""
    return {"experiment": experiment, "step": int(step), "phase": int(phase), "alpha": float(alpha),
            "model": dataclasses.asdict(model_config)}


def _keras_render(generator, alpha: float) -> Render:
    def render(noise, code):
        return np.asarray(generator(noise, code, alpha=alpha, training=False)[-1], np.float32)
    return render


def _from_checkpoint(path: str, step: Optional[int]) -> LoadedGenerator:
    from progressive_infogan import checkpoints

    run = checkpoints.load_run(path, step=step)
    kind = "checkpoint" if os.path.abspath(path) == os.path.abspath(run.checkpoint) else "run"
    model = run.config.model
    return LoadedGenerator(source=os.path.abspath(path), kind=kind, noise_size=model.noise_size,
                           code_size=model.code_size, resolution=2 ** run.phase, alpha=run.alpha, model_config=model,
                           phase=run.phase, step=run.step, experiment=run.config.name,
                           render=_keras_render(run.generator, run.alpha), keras_model=run.generator)


def _from_keras(path: str) -> LoadedGenerator:
    import keras

    from progressive_infogan import networks  # noqa: F401 -- registers the Generator class with Keras

    generator = keras.saving.load_model(path)
    if not isinstance(generator, networks.Generator):
        raise ValueError(f"{path} holds a {type(generator).__name__}, not a progressive_infogan generator")
    metadata = files.read_json(keras_metadata_path(path)) or {}
    if "alpha" not in metadata:
        log.warning("%s: no %s beside it; rendering with alpha 1 (right unless the checkpoint was mid-fade)",
                    path, os.path.basename(keras_metadata_path(path)))
    alpha = float(metadata.get("alpha", 1.0))
    model = generator.config
    return LoadedGenerator(source=path, kind="keras", noise_size=model.noise_size, code_size=model.code_size,
                           resolution=2 ** generator.phase, alpha=alpha, model_config=model, phase=generator.phase,
                           step=metadata.get("step"), experiment=metadata.get("experiment"),
                           render=_keras_render(generator, alpha), keras_model=generator)


def _from_saved_model(path: str) -> LoadedGenerator:
    import tensorflow as tf

    serving = tf.saved_model.load(path).signatures["serving_default"]
    inputs = serving.structured_input_signature[1]
    if set(inputs) != {"noise", "code"}:
        raise ValueError(f"{path}: a SavedModel whose serving_default takes {sorted(inputs)}, "
                         "not a progressive_infogan export (noise, code)")
    noise_size, code_size = int(inputs["noise"].shape[-1]), int(inputs["code"].shape[-1])
    resolution = int(serving.structured_outputs["images"].shape[1])
    metadata = files.read_json(os.path.join(path, SAVED_MODEL_METADATA)) or {}
    model = ModelConfig.from_dict(metadata["model"]) if "model" in metadata else None

    def render(noise, code):
        return serving(noise=tf.constant(noise), code=tf.constant(code))["images"].numpy()

    # Without metadata the alpha is unknown, but it is baked into the graph either way.
    return LoadedGenerator(source=path, kind="saved_model", noise_size=noise_size, code_size=code_size,
                           resolution=resolution, alpha=float(metadata.get("alpha", 1.0)), model_config=model,
                           phase=metadata.get("phase"), step=metadata.get("step"),
                           experiment=metadata.get("experiment"), render=render)


def load(path: str, step: Optional[int] = None) -> LoadedGenerator:
    """The generator at `path`: a run directory, a checkpoint directory, a .keras file or a SavedModel.

    `step` picks a run directory's checkpoint (default: the newest). Raises FileNotFoundError
    or ValueError (as `errors.UserError`) with a message that names the path and what it expected."""
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(path):
        raise MissingPathError(f"{path}: no such file or directory")
    is_export = os.path.isfile(path) or os.path.isfile(os.path.join(path, "saved_model.pb"))
    if step is not None and is_export:
        raise UserError(f"{path} is an export of one checkpoint: step={step} applies only to run directories")
    if os.path.isfile(path):
        if path.endswith(KERAS_SUFFIX):
            return _from_keras(path)
        raise UserError(f"{path} is not a run directory, a checkpoint, a {KERAS_SUFFIX} file or a SavedModel")
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return _from_saved_model(path)
    return _from_checkpoint(path, step)
