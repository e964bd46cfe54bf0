"""Export a checkpoint's EMA generator for use outside this project.

Two forms, both mapping (noise, code) -> images in [-1, 1] with BN's moving statistics:
a Keras file (`keras.saving.load_model` rebuilds the phase's generator) and a SavedModel
whose `serving_default` signature needs only TensorFlow. Each also records its experiment,
step, phase and alpha (`loader.export_metadata`), so that `progressive_infogan.load` gives
back what the checkpoint gives.

The Keras file holds this package's classes, and Keras 3 imports no module outside Keras
while loading: `import progressive_infogan` (which registers them) before
`keras.saving.load_model`, or use `progressive_infogan.load`. The SavedModel needs neither.

    python -m progressive_infogan.export --checkpoint=RUN_OR_CHECKPOINT [--step=N] [--out=DIR]
"""

from __future__ import annotations

import json
import os
import shutil
from typing import List, Optional, Sequence

import tensorflow as tf
from absl import flags

from progressive_infogan import checkpoints, command_line, files, loader, rundir


class _Serving(tf.Module):
    def __init__(self, generator, alpha: float):
        super().__init__()
        # Only the variables are tracked; the Keras model stays out of the object graph, or
        # tf.saved_model would try to trace its call with a signature it cannot infer.
        self.weights = list(generator.variables)
        model = generator.config

        @tf.function(input_signature=[tf.TensorSpec([None, model.noise_size], tf.float32, name="noise"),
                                      tf.TensorSpec([None, model.code_size], tf.float32, name="code")])
        def generate(noise, code):
            blocks = generator(noise, code, alpha=alpha, training=False)
            outputs = {"images": blocks[-1]}
            outputs.update({f"block_{block}": image for block, image in enumerate(blocks, start=2)})
            return outputs

        self.generate = generate


def export_run(path: str, step: Optional[int] = None, out_dir: Optional[str] = None) -> List[str]:
    """Write `generator-<step>.keras` and `saved_model-<step>/` for a run's checkpoint."""
    run = checkpoints.load_run(path, step=step)
    out_dir = out_dir or rundir.export_dir(run.run_dir)
    os.makedirs(out_dir, exist_ok=True)
    keras_path = os.path.join(out_dir, f"generator-{run.step:09d}.keras")
    with files.atomic_path(keras_path, suffix=".keras") as temporary:  # Keras insists on the extension
        run.generator.save(temporary)
    metadata = json.dumps(loader.export_metadata(run.config.name, run.step, run.phase, run.alpha, run.config.model),
                          indent=2, sort_keys=True)
    files.write_text(loader.keras_metadata_path(keras_path), metadata)
    saved_model = os.path.join(out_dir, f"saved_model-{run.step:09d}")
    temporary = files.temporary_name(saved_model)
    try:
        module = _Serving(run.generator, run.alpha)
        tf.saved_model.save(module, temporary, signatures={"serving_default": module.generate})
        os.makedirs(os.path.dirname(os.path.join(temporary, loader.SAVED_MODEL_METADATA)), exist_ok=True)
        files.write_text(os.path.join(temporary, loader.SAVED_MODEL_METADATA), metadata)
        files.replace_directory(temporary, saved_model)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return [keras_path, saved_model]


def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string("checkpoint", None, "A run directory (its newest checkpoint, or --step) or one checkpoint "
                        "directory.", flag_values=flag_values)
    flags.DEFINE_integer("step", None, "With a run directory: the checkpoint of this step.", flag_values=flag_values)
    flags.DEFINE_string("out", None, "Output directory; default: the run directory's export/.",
                        flag_values=flag_values)
    flags.mark_flag_as_required("checkpoint", flag_values=flag_values)


def main(argv: Sequence[str], flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    for path in export_run(flag_values.checkpoint, step=flag_values.step, out_dir=flag_values.out):
        print(path)


if __name__ == "__main__":
    command_line.run(main, define_flags)
