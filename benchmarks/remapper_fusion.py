"""Why Grappler's remapper fails on the training step, and what fixing it buys (issue 14).

    python benchmarks/remapper_fusion.py                          # phases 3,4 at 1/8 width
    python benchmarks/remapper_fusion.py --phases=2,3 --width_multipliers=1.0

The remapper fuses Conv2D + bias add + LeakyRelu into one _FusedConv2D. tf.nn.leaky_relu's
gradient, LeakyReluGrad, reads the activation's *input* (the bias add's output), which the
fusion removes, so the rewrite is invalid and Grappler drops the whole remapper pass for the
step graph ("remapper failed: ... fanout '.../LeakyReluGrad' exist for missing node
'.../conv/add'"). A leaky ReLU whose gradient reads its *output* instead (the same numbers:
y > 0 exactly when x > 0, for a positive slope) leaves the bias add without that fanout, and the
pass then succeeds.

This script builds two trainers of the same phase: one with the package's leaky ReLU, one with
the output-gradient version. It reports whether the remapper failed in each (from TensorFlow's
own log, on stderr), then times alternating windows of steps on the same batch and prints the
ratio per window. Run it with PYTHONPATH=. from the repository root.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")  # the remapper's failure is an ERROR-level C++ line

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import flags  # noqa: E402

from progressive_infogan import command_line  # noqa: E402
from progressive_infogan import config as configs  # noqa: E402
from progressive_infogan import layers  # noqa: E402
from progressive_infogan.trainer import PhaseTrainer  # noqa: E402

def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string("experiment", "exp_condition", "Thesis experiment preset (config.preset name).",
                        flag_values=flag_values)
    flags.DEFINE_list("phases", ["3", "4"], "Phases to time.", flag_values=flag_values)
    flags.DEFINE_list("width_multipliers", ["0.125"], "Channel width multipliers (1.0 = the thesis width).",
                      flag_values=flag_values)
    flags.DEFINE_integer("windows", 8, "Timed windows per variant; the ratio is given per window.",
                         flag_values=flag_values)
    flags.DEFINE_integer("steps", 5, "Steps per window.", flag_values=flag_values)


def _output_gradient_leaky_relu(inputs, slope: float = 0.2):
    @tf.custom_gradient
    def leaky_relu(x):
        y = tf.nn.leaky_relu(x, alpha=slope)
        return y, lambda dy: tf.where(y > 0, dy, dy * slope)

    return leaky_relu(inputs)


def _first_step_log(trainer: PhaseTrainer, real) -> tuple:
    """Run (and so optimise) the step once with fd 2 captured; returns (losses, the C++ log)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            scalars, _ = trainer.step(real, 0, 0.5)
            losses = {name: float(value) for name, value in scalars.items() if name.startswith("loss/")}
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        return losses, captured.read()


def measure(phase: int, width: float, flag_values: flags.FlagValues) -> None:
    config = configs.preset(flag_values.experiment).replace(model={"width_multiplier": width})
    options = configs.RunOptions(model_dir=tempfile.mkdtemp(), progress_bar=False)
    batch, size = config.schedule.batch_size(phase), 2 ** phase
    real = tf.constant(np.random.default_rng(phase).uniform(-1, 1, (batch, size, size, 3)), tf.float32)
    package_leaky_relu = layers.leaky_relu
    trainers, losses = {}, {}
    try:
        for name, leaky_relu in (("input-gradient (package)", package_leaky_relu),
                                 ("output-gradient", _output_gradient_leaky_relu)):
            layers.leaky_relu = leaky_relu  # networks look it up when the step is traced, just below
            trainer = PhaseTrainer(config, phase, tf.distribute.get_strategy(), options)
            losses[name], log = _first_step_log(trainer, real)
            failed = "remapper failed" in log
            print(f"phase {phase} width {width}: {name} leaky ReLU: remapper "
                  f"{'FAILED' if failed else 'ran'}", flush=True)
            trainers[name] = trainer
    finally:
        layers.leaky_relu = package_leaky_relu
    first, second = losses.values()
    print("  first-step losses, largest difference: "
          f"{max(abs(first[key] - second[key]) for key in first):.2e}")
    rates = {name: [] for name in trainers}
    for window in range(flag_values.windows):
        for name, trainer in trainers.items():
            start = time.perf_counter()
            for step in range(flag_values.steps):
                scalars, _ = trainer.step(real, 1 + window * flag_values.steps + step, 0.5)
            scalars["loss/discriminator"].numpy()
            rates[name].append(flag_values.steps * batch / (time.perf_counter() - start))
    package, output = rates.values()
    ratios = [o / p for o, p in zip(output, package)]
    print(f"  images/s median: package {np.median(package):.1f}, output-gradient {np.median(output):.1f}; "
          f"ratio per window median {np.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})",
          flush=True)


def main(argv, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    for width in flag_values.width_multipliers:
        for phase in flag_values.phases:
            measure(int(phase), float(width), flag_values)


if __name__ == "__main__":
    command_line.run(main, define_flags)
