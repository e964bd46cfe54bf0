"""Images/s of the compiled training step (train.PhaseTrainer.step) per phase and width,
against the FLOPs of one step and this machine's float32 matmul peak, measured in the same run.

    python benchmarks/train_throughput.py                      # CPU default: phases 2,3,4, widths 1 and 1/8
    python benchmarks/train_throughput.py --phases=2 --steps=5 --batch_size=32

On a GPU (all phases of a thesis run, with the options a GPU run would use; a larger matmul
gets closer to the GPU's peak):

    python benchmarks/train_throughput.py --phases=2,3,4,5,6,7 --steps=50 --warmup_steps=5 \\
        --mixed_precision=mixed_bfloat16 --jit_compile --matmul_size=8192

(from the repository root, with the project installed: `pip install -e .[cpu]`, or
`PYTHONPATH=.`). Each (phase, width) gets a fresh PhaseTrainer under the default strategy and
a constant random real batch, so no input pipeline cost enters. The warm-up steps (the first
one traces, and with --jit_compile compiles) are timed separately and left out; the timed
steps are synchronised once at the end by reading a returned loss.

FLOPs of one step: TF's graph profiler (float_operation) on the step's traced graph, which
counts convolutions and matmuls forward and backward plus the elementwise ops it has
statistics for; the `analytic` column is an independent count of the convolutions and
matmuls only, from the layer shapes (forward G + 2 D passes, backward ~2x forward for the
D update through both D passes, and D's input gradients plus G's full backward for the G
update: 3 F_G + 7 F_D). When the profiler fails, the analytic count is used and marked.

The matmul peak is the best of several chained square float32 `tf.linalg.matmul`s in a
tf.function, measured before and after the training steps (best of both). With
--mixed_precision the peak in the compute dtype is measured too and the `of peak` column
uses it. Printed ratios: achieved GFLOP/s to the matmul peak, and per phase the speed of
the full width over each reduced one (images/s full / images/s reduced). The `cores` column
is the process's CPU time over the wall time of the timed steps: on a shared CPU, well under
the core count means other processes took part of the machine during that row.
"""
import os
import tempfile
import time

from absl import app
from absl import flags
import keras
import numpy as np
import tensorflow as tf

from progressive_infogan import command_line
from progressive_infogan import config as config_lib
from progressive_infogan import train


def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string("experiment", "exp_condition", "Thesis experiment preset (config.preset name).",
                        flag_values=flag_values)
    flags.DEFINE_list("phases", ["2", "3", "4"], "Phases to measure (resolution 2^phase); 2,3,4,5,6,7 on a GPU.",
                      flag_values=flag_values)
    flags.DEFINE_integer("steps", 2, "Timed training steps per (phase, width), after the warm-up steps.",
                         flag_values=flag_values)
    flags.DEFINE_integer("warmup_steps", 1, "Untimed steps before timing (the first traces / compiles the step).",
                         flag_values=flag_values)
    flags.DEFINE_list("width_multipliers", ["1.0", "0.125"],
                      "Width multipliers to compare; the first is the reference of the speed ratios "
                      "(1.0 = the thesis width, 0.125 = the CPU 'quick' width).", flag_values=flag_values)
    flags.DEFINE_integer("batch_size", None, "Global batch for every phase; default: the thesis batch of each phase "
                         "(128, 128, 64, 32, 16, 6 for phases 2..7).", flag_values=flag_values)
    flags.DEFINE_enum("mixed_precision", "float32", list(config_lib.PRECISIONS), "Keras dtype policy of the step.",
                      flag_values=flag_values)
    flags.DEFINE_bool("jit_compile", False, "Compile the step with XLA (tf.function(jit_compile=True)).",
                      flag_values=flag_values)
    flags.DEFINE_float("alpha", 0.5, "Fade alpha fed to the phases above the first (any value traces the same "
                       "graph and does the same work).", flag_values=flag_values)
    flags.DEFINE_integer("matmul_size", 2048, "Side of the square matrices of the matmul peak (8192 on a GPU).",
                         flag_values=flag_values)
    flags.DEFINE_integer("matmul_chain", 4, "Matmuls chained in one tf.function call of the peak measurement.",
                         flag_values=flag_values)
    flags.DEFINE_integer("matmul_repeats", 5, "Timed calls of the peak measurement (best one counts), each time.",
                         flag_values=flag_values)


def matmul_peak_gflops(size: int, chain: int, repeats: int, dtype) -> float:
    """Best GFLOP/s of `chain` chained [size, size] matmuls in one tf.function call."""
    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((size, size)), dtype)
    b = tf.constant(rng.standard_normal((size, size)) / np.sqrt(size), dtype)  # keeps the chain's scale

    @tf.function
    def chained(x, y):
        for _ in range(chain):
            x = tf.linalg.matmul(x, y)
        return tf.reduce_sum(tf.cast(x[:1, :1], tf.float32))

    chained(a, b).numpy()  # trace, and warm the kernels
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        chained(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return chain * 2.0 * size ** 3 / best / 1e9


def profiler_flops(graph) -> int:
    """Float operations of a traced graph, by TF's graph profiler (0 if it counts none)."""
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    return int(tf.compat.v1.profiler.profile(graph, cmd="op", options=options).total_float_ops)


def _kernel_flops(layer, resolution: int) -> int:
    """Forward multiply-add FLOPs of one image through every kernel in `layer`: 2 x the
    kernel size, per output pixel for a conv (stride 1, 'SAME', at `resolution`)."""
    total = 0
    for weight in layer.weights:
        if weight.name != "kernel":
            continue
        size = int(np.prod(weight.shape))
        total += 2 * size * (resolution ** 2 if len(weight.shape) == 4 else 1)
    return total


def analytic_flops(trainer: train.PhaseTrainer, batch: int) -> int:
    """Convolutions and matmuls of one training step: 3 F_G + 7 F_D per image (see the docstring)."""
    generator, discriminator = trainer.generator, trainer.discriminator
    g_forward = sum(_kernel_flops(block, 2 ** block.block) for block in generator.blocks)
    d_forward = sum(_kernel_flops(block, 2 ** block.block) for block in discriminator.blocks)
    d_forward += _kernel_flops(discriminator.from_rgb, 2 ** discriminator.phase)
    if discriminator.from_rgb_lower is not None:
        d_forward += _kernel_flops(discriminator.from_rgb_lower, 2 ** (discriminator.phase - 1))
    d_forward += _kernel_flops(discriminator.head, 4)  # its conv runs at 4x4; its dense has rank-2 kernel
    d_forward += _kernel_flops(discriminator.logit, 1)
    d_forward += sum(_kernel_flops(head, 1) for head in discriminator.q_heads.values())
    return batch * (3 * g_forward + 7 * d_forward)


def measure(config, phase: int, width: float, model_dir: str, flag_values: flags.FlagValues):
    """One (phase, width): images/s, CPU cores busy while timed (process CPU time / wall time),
    warm-up seconds, step FLOPs (profiler; 0 if it failed), analytic FLOPs, batch."""
    experiment = config.replace(model=dict(width_multiplier=width))
    if flag_values.batch_size:
        sizes = dict(experiment.schedule.batch_sizes)
        sizes[phase] = flag_values.batch_size
        experiment = experiment.replace(schedule=dict(batch_sizes=config_lib._freeze(sizes)))
    options = config_lib.RunOptions(model_dir=model_dir, mixed_precision=flag_values.mixed_precision,
                                    jit_compile=flag_values.jit_compile, progress_bar=False)
    trainer = train.PhaseTrainer(experiment, phase, tf.distribute.get_strategy(), options)
    batch, size = trainer.global_batch, 2 ** phase
    real = tf.constant(np.random.default_rng(phase).uniform(-1, 1, (batch, size, size, 3)).astype(np.float32))
    alpha = 1.0 if phase == experiment.schedule.first_phase else flag_values.alpha

    start = time.perf_counter()
    for step in range(flag_values.warmup_steps):
        scalars, _ = trainer.step(real, step, alpha)
    scalars["loss/discriminator"].numpy()
    warmup_seconds = time.perf_counter() - start

    start, start_cpu = time.perf_counter(), time.process_time()
    for step in range(flag_values.warmup_steps, flag_values.warmup_steps + flag_values.steps):
        scalars, _ = trainer.step(real, step, alpha)
    scalars["loss/discriminator"].numpy()
    seconds = time.perf_counter() - start
    rate, cores = flag_values.steps * batch / seconds, (time.process_time() - start_cpu) / seconds

    analytic = analytic_flops(trainer, batch)
    try:
        concrete = trainer._step.get_concrete_function(
            real, tf.constant(0, tf.int64), tf.constant(alpha, tf.float32))
        flops = profiler_flops(concrete.graph)
    except Exception as error:  # noqa: BLE001 - any profiler failure falls back to the analytic count
        print(f"  (profiler failed on phase {phase} width {width}: {type(error).__name__}: {error})")
        flops = 0
    return rate, cores, warmup_seconds, flops, analytic, batch


def main(argv, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    if flag_values.warmup_steps < 1 or flag_values.steps < 1:
        raise app.UsageError("--warmup_steps and --steps must be at least 1")
    keras.mixed_precision.set_global_policy(flag_values.mixed_precision)
    compute_dtype = tf.as_dtype(keras.mixed_precision.global_policy().compute_dtype)
    config = config_lib.preset(flag_values.experiment)
    phases = [int(phase) for phase in flag_values.phases]
    widths = [float(width) for width in flag_values.width_multipliers]
    peak_args = (flag_values.matmul_size, flag_values.matmul_chain, flag_values.matmul_repeats)

    def peaks():
        result = {"float32": matmul_peak_gflops(*peak_args, tf.float32)}
        if compute_dtype != tf.float32:
            result[compute_dtype.name] = matmul_peak_gflops(*peak_args, compute_dtype)
        return result

    peak_before = peaks()
    rows = []
    with tempfile.TemporaryDirectory() as model_dir:
        for phase in phases:
            for width in widths:
                measured = measure(config, phase, width, model_dir, flag_values)
                rate, cores, warmup_seconds, flops, analytic, batch = measured
                rows.append((phase, width, batch, rate, cores, warmup_seconds, flops, analytic))
                print(f"  measured phase {phase} width {width:g}: {rate:.2f} images/s "
                      f"(warm-up {warmup_seconds:.1f} s)", flush=True)
    peak_after = peaks()
    peak = {name: max(peak_before[name], peak_after[name]) for name in peak_before}
    reference = peak[compute_dtype.name]

    print(f"\nexperiment {flag_values.experiment}, {flag_values.mixed_precision}, "
          f"jit_compile={flag_values.jit_compile}, "
          f"{flag_values.steps} timed steps after {flag_values.warmup_steps} warm-up, device "
          f"{'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}")
    for name in peak:
        print(f"matmul peak {name} ({flag_values.matmul_size}^2 x {flag_values.matmul_chain} chained): "
              f"{peak[name]:,.1f} GFLOP/s (before {peak_before[name]:,.1f}, after {peak_after[name]:,.1f})")
    print(f"step GFLOP: TF profiler (float_operation) on the step graph; '*' = profiler failed, "
          f"analytic count used. 'of peak' is relative to the {compute_dtype.name} matmul peak.\n"
          f"'cores' = this process's CPU time / wall time while timed: well below the machine's "
          f"{os.cpu_count()} cores on a CPU means other processes took part of it.\n")
    header = (f"{'phase':>5} {'width':>6} {'batch':>5} {'images/s':>10} {'step GFLOP':>11} {'analytic':>9} "
              f"{'GFLOP/s':>9} {'of peak':>8} {'full/this':>9} {'cores':>5} {'warm-up s':>9}")
    print(header)
    print("-" * len(header))
    full_rate = {}
    for phase, width, batch, rate, cores, warmup_seconds, flops, analytic in rows:
        full_rate.setdefault(phase, rate)  # the first width of the phase is the reference
        used = flops if flops else analytic
        achieved = used * rate / batch / 1e9
        mark = " " if flops else "*"
        print(f"{phase:>5} {width:>6g} {batch:>5} {rate:>10.2f} {used / 1e9:>10.2f}{mark} {analytic / 1e9:>9.2f} "
              f"{achieved:>9.1f} {achieved / reference:>8.1%} {full_rate[phase] / rate:>9.3f} {cores:>5.2f} "
              f"{warmup_seconds:>9.1f}")


if __name__ == "__main__":
    command_line.run(main, define_flags)
