"""Images/s of the compiled training step (trainer.PhaseTrainer.step) per phase and width, against
the FLOPs of one step and this machine's peak measured in the same run; with --compare, the lean
step (the default) timed against the reference step (the step as first written) side by side.

    python benchmarks/train_throughput.py                      # CPU default: phases 2,3,4, widths 1 and 1/8
    python benchmarks/train_throughput.py --compare --phases=2,3,4,5 --width_multipliers=0.125
    python benchmarks/train_throughput.py --compare --mixed_precision=mixed_bfloat16 --width_multipliers=0.125

On a GPU (all phases of a thesis run, with the options a GPU run would use; larger peak
problems get closer to the GPU's peak):

    python benchmarks/train_throughput.py --phases=2,3,4,5,6,7 --steps=20 --windows=5 \\
        --mixed_precision=mixed_bfloat16 --jit_compile --matmul_size=8192

(from the repository root, with the project installed: `pip install -e .[cpu]`, or
`PYTHONPATH=.`). Each (phase, width) gets a fresh PhaseTrainer under the default strategy and
a constant random real batch, so no input pipeline cost enters. The warm-up steps (the first
one traces, and with --jit_compile compiles) are left out; then --windows windows of --steps
steps are timed, each synchronised at its end by reading a returned loss, and the table gives
their median and spread (min-max). With --compare the two steps start from the same weights
and their windows alternate (lean, reference, lean, ...), so that a load change on a shared
machine falls on both; `lean/ref` is the ratio of their median images/s.

FLOPs of one step: the `analytic` count of the convolutions and matmuls, from the layer shapes
(forward G + 2 D passes, backward ~2x forward for the D update through both D passes, and D's
input gradients plus G's full backward for the G update: 3 F_G + 7 F_D per image), is the one
the GFLOP/s and `of peak` columns use. TF's graph profiler (float_operation) on the traced step
is printed beside it: it also counts ops the runtime prunes, so it reads higher.

The peak is the best GFLOP/s of chained square matmuls and of chained 3x3 convolutions, each
in a tf.function, measured before and after the training steps (best of all). With
--mixed_precision the peak in the compute dtype is measured too and `of peak` uses it. The
`cores` column is the process's CPU time over the wall time of the timed windows: on a shared
CPU, well under the core count means other processes took part of the machine during that row.
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
from progressive_infogan.trainer import PhaseTrainer


def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string("experiment", "exp_condition", "Thesis experiment preset (config.preset name).",
                        flag_values=flag_values)
    flags.DEFINE_list("phases", ["2", "3", "4"], "Phases to measure (resolution 2^phase); 2,3,4,5,6,7 on a GPU.",
                      flag_values=flag_values)
    flags.DEFINE_integer("steps", 2, "Training steps per timed window.", flag_values=flag_values)
    flags.DEFINE_integer("windows", 5, "Timed windows per (phase, width[, step]): the table gives their median "
                         "and min-max.", flag_values=flag_values)
    flags.DEFINE_integer("warmup_steps", 1, "Untimed steps before timing (the first traces / compiles the step).",
                         flag_values=flag_values)
    flags.DEFINE_list("width_multipliers", ["1.0", "0.125"],
                      "Width multipliers to compare; the first is the reference of the full/this ratios "
                      "(1.0 = the thesis width, 0.125 = the CPU sizes' width).", flag_values=flag_values)
    flags.DEFINE_integer("batch_size", None, "Global batch for every phase; default: the thesis batch of each phase "
                         "(128, 128, 64, 32, 16, 6 for phases 2..7).", flag_values=flag_values)
    flags.DEFINE_enum("mixed_precision", "float32", list(config_lib.PRECISIONS), "Keras dtype policy of the step.",
                      flag_values=flag_values)
    flags.DEFINE_bool("jit_compile", False, "Compile the step with XLA (tf.function(jit_compile=True)).",
                      flag_values=flag_values)
    flags.DEFINE_enum("step", "lean", list(config_lib.STEPS), "The step to time (without --compare).",
                      flag_values=flag_values)
    flags.DEFINE_bool("compare", False, "Time the lean step and the reference step side by side, in alternating "
                      "windows, and print lean/reference.", flag_values=flag_values)
    flags.DEFINE_float("alpha", 0.5, "Fade alpha fed to the phases above the first (any value traces the same "
                       "graph and does the same work).", flag_values=flag_values)
    flags.DEFINE_integer("matmul_size", 2048, "Side of the square matrices of the matmul peak (8192 on a GPU).",
                         flag_values=flag_values)
    flags.DEFINE_integer("peak_chain", 4, "Matmuls / convolutions chained in one call of the peak measurement.",
                         flag_values=flag_values)
    flags.DEFINE_integer("peak_repeats", 5, "Timed calls of each peak measurement (the best one counts), each time.",
                         flag_values=flag_values)


def _best_gflops(function, arguments, flops: float, repeats: int) -> float:
    function(*arguments).numpy()  # trace, and warm the kernels
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function(*arguments).numpy()
        best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


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

    return _best_gflops(chained, (a, b), chain * 2.0 * size ** 3, repeats)


def conv_peak_gflops(chain: int, repeats: int, dtype, batch: int = 16, size: int = 32, channels: int = 256) -> float:
    """Best GFLOP/s of `chain` chained 3x3 'SAME' convolutions (channels -> channels) in one call."""
    rng = np.random.default_rng(1)
    x = tf.constant(rng.standard_normal((batch, size, size, channels)), dtype)
    kernel = tf.constant(rng.standard_normal((3, 3, channels, channels)) / np.sqrt(9 * channels), dtype)

    @tf.function
    def chained(inputs, weights):
        for _ in range(chain):
            inputs = tf.nn.conv2d(inputs, weights, strides=1, padding="SAME")
        return tf.reduce_sum(tf.cast(inputs[:1, :1, :1, :1], tf.float32))

    return _best_gflops(chained, (x, kernel), chain * 2.0 * batch * size * size * 9 * channels * channels, repeats)


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


def analytic_flops(trainer: PhaseTrainer, batch: int) -> int:
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


class _Timed:
    """One step implementation at one (phase, width): its trainer, and its timed windows."""

    def __init__(self, experiment, phase: int, step_kind: str, model_dir: str, flag_values, state=None):
        options = config_lib.RunOptions(model_dir=model_dir, mixed_precision=flag_values.mixed_precision,
                                        jit_compile=flag_values.jit_compile, progress_bar=False, step=step_kind)
        self.trainer = PhaseTrainer(experiment, phase, tf.distribute.get_strategy(), options)
        if state is not None:
            self.trainer.import_state(state)
        self.batch = self.trainer.global_batch
        size = 2 ** phase
        self.real = tf.constant(np.random.default_rng(phase).uniform(-1, 1, (self.batch, size, size, 3)), tf.float32)
        self.alpha = 1.0 if phase == experiment.schedule.first_phase else flag_values.alpha
        self.steps = flag_values.steps
        self.next_step = 0
        self.rates, self.cpu_seconds, self.wall_seconds = [], 0.0, 0.0
        start = time.perf_counter()
        self._run(flag_values.warmup_steps)
        self.warmup_seconds = time.perf_counter() - start

    def _run(self, steps: int) -> None:
        for _ in range(steps):
            scalars, _ = self.trainer.step(self.real, self.next_step, self.alpha)
            self.next_step += 1
        scalars["loss/discriminator"].numpy()

    def window(self) -> None:
        start, start_cpu = time.perf_counter(), time.process_time()
        self._run(self.steps)
        seconds = time.perf_counter() - start
        self.rates.append(self.steps * self.batch / seconds)
        self.cpu_seconds += time.process_time() - start_cpu
        self.wall_seconds += seconds

    @property
    def median(self) -> float:
        return float(np.median(self.rates))

    def profiler_flops(self) -> int:
        try:
            concrete = self.trainer._step.get_concrete_function(
                self.real, tf.constant(0, tf.int64), tf.constant(self.alpha, tf.float32))
            return profiler_flops(concrete.graph)
        except Exception as error:  # noqa: BLE001 - a profiler failure leaves only the analytic count
            print(f"  (profiler failed: {type(error).__name__}: {error})")
            return 0


def measure(config, phase: int, width: float, model_dir: str, flag_values: flags.FlagValues):
    """The timed step kinds of one (phase, width), their windows alternating: [(kind, _Timed)]."""
    experiment = config.replace(model=dict(width_multiplier=width))
    if flag_values.batch_size:
        sizes = dict(experiment.schedule.batch_sizes)
        sizes[phase] = flag_values.batch_size
        experiment = experiment.replace(schedule=dict(batch_sizes=config_lib._freeze(sizes)))
    kinds = ["lean", "reference"] if flag_values.compare else [flag_values.step]
    timed = []
    for kind in kinds:
        state = timed[0][1].trainer.state_arrays() if timed else None
        timed.append((kind, _Timed(experiment, phase, kind, model_dir, flag_values, state)))
    for _ in range(flag_values.windows):
        for _, one in timed:
            one.window()
    return timed


def main(argv, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    if flag_values.warmup_steps < 1 or flag_values.steps < 1 or flag_values.windows < 1:
        raise app.UsageError("--warmup_steps, --steps and --windows must be at least 1")
    keras.mixed_precision.set_global_policy(flag_values.mixed_precision)
    compute_dtype = tf.as_dtype(keras.mixed_precision.global_policy().compute_dtype)
    config = config_lib.preset(flag_values.experiment)
    phases = [int(phase) for phase in flag_values.phases]
    widths = [float(width) for width in flag_values.width_multipliers]
    dtypes = [tf.float32] + ([compute_dtype] if compute_dtype != tf.float32 else [])
    chain, repeats = flag_values.peak_chain, flag_values.peak_repeats

    def peaks():
        return {dtype.name: {"matmul": matmul_peak_gflops(flag_values.matmul_size, chain, repeats, dtype),
                             "conv": conv_peak_gflops(chain, repeats, dtype)} for dtype in dtypes}

    peak_before = peaks()
    rows = []
    with tempfile.TemporaryDirectory() as model_dir:
        for phase in phases:
            for width in widths:
                for kind, one in measure(config, phase, width, model_dir, flag_values):
                    rows.append((phase, width, kind, one, analytic_flops(one.trainer, one.batch), one.profiler_flops()))
                    print(f"  measured phase {phase} width {width:g} {kind}: {one.median:.2f} images/s "
                          f"(warm-up {one.warmup_seconds:.1f} s)", flush=True)
    peak_after = peaks()
    peak = {name: max(*peak_before[name].values(), *peak_after[name].values()) for name in peak_before}
    reference_peak = peak[compute_dtype.name]

    print(f"\nexperiment {flag_values.experiment}, {flag_values.mixed_precision}, "
          f"jit_compile={flag_values.jit_compile}, {flag_values.windows} windows of {flag_values.steps} steps after "
          f"{flag_values.warmup_steps} warm-up, device {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}")
    for name in peak:
        print(f"peak {name}: {peak[name]:,.1f} GFLOP/s, the best of matmul {flag_values.matmul_size}^2 x {chain} "
              f"(before {peak_before[name]['matmul']:,.1f}, after {peak_after[name]['matmul']:,.1f}) and 3x3 conv "
              f"16x32x32x256 x {chain} (before {peak_before[name]['conv']:,.1f}, "
              f"after {peak_after[name]['conv']:,.1f})")
    print(f"GFLOP/s and 'of peak' use the analytic FLOPs, against the {compute_dtype.name} peak; 'profiler' is TF's "
          f"graph count of the same step.\n'cores' = this process's CPU time / wall time while timed: well below "
          f"the machine's {os.cpu_count()} cores on a CPU means other processes took part of it.\n")
    header = (f"{'phase':>5} {'width':>6} {'step':>9} {'batch':>5} {'images/s':>9} {'min-max':>15} "
              f"{'analytic':>9} {'profiler':>9} {'GFLOP/s':>8} {'of peak':>7} {'full/this':>9} "
              f"{'lean/ref':>8} {'cores':>5} {'warm-up s':>9}")
    print(header)
    print("-" * len(header))
    full_rate, lean_rate = {}, {}
    for phase, width, kind, one, analytic, profiled in rows:
        full_rate.setdefault((phase, kind), one.median)  # the first width of the phase is the reference
        if kind == "lean":
            lean_rate[(phase, width)] = one.median
        ratio = f"{lean_rate[(phase, width)] / one.median:>8.3f}" if flag_values.compare and kind == "reference" else ""
        achieved = analytic * one.median / one.batch / 1e9
        spread = f"{min(one.rates):.1f}-{max(one.rates):.1f}"
        print(f"{phase:>5} {width:>6g} {kind:>9} {one.batch:>5} {one.median:>9.2f} {spread:>15} "
              f"{analytic / 1e9:>9.3f} {profiled / 1e9:>9.3f} {achieved:>8.1f} {achieved / reference_peak:>7.1%} "
              f"{full_rate[(phase, kind)] / one.median:>9.3f} {ratio:>8} {one.cpu_seconds / one.wall_seconds:>5.2f} "
              f"{one.warmup_seconds:>9.1f}")


if __name__ == "__main__":
    command_line.run(main, define_flags)
