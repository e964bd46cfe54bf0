"""Export a checkpoint's EMA generator for use outside this project.

Two forms, both mapping (noise, code) -> images in [-1, 1] with BN's moving statistics:
a Keras file (`keras.saving.load_model` rebuilds the phase's generator) and a SavedModel
whose `serving_default` signature needs only TensorFlow.
"""

from __future__ import annotations

import os
import shutil
from typing import List, Optional

import tensorflow as tf

from progressive_infogan import checkpoints


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
    out_dir = out_dir or os.path.join(run.run_dir, "export")
    os.makedirs(out_dir, exist_ok=True)
    keras_path = os.path.join(out_dir, f"generator-{run.step:09d}.keras")
    temporary = keras_path + ".partial.keras"
    run.generator.save(temporary)
    os.replace(temporary, keras_path)
    saved_model = os.path.join(out_dir, f"saved_model-{run.step:09d}")
    temporary = saved_model + ".partial"
    shutil.rmtree(temporary, ignore_errors=True)
    module = _Serving(run.generator, run.alpha)
    tf.saved_model.save(module, temporary, signatures={"serving_default": module.generate})
    shutil.rmtree(saved_model, ignore_errors=True)
    os.replace(temporary, saved_model)
    return [keras_path, saved_model]
