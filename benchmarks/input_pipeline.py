"""Throughput of the training input pipeline (progressive_infogan.data.make_dataset).

    python benchmarks/input_pipeline.py                        # a small synthetic set, made in a temp dir
    python benchmarks/input_pipeline.py --data_dir=data/synthetic_faces --phases=2,5,7

Prints images/s per phase against what a GPU training step needs. The stated need is
batch 128 x 20 steps/s = 2,560 images/s at phase 2 (a small 4x4 step on one GPU is
roughly that fast); larger phases need less, because their steps are slower, so the
phase-2 figure is the bound that matters.
"""
import tempfile
import time

from absl import flags

from progressive_infogan import command_line, data, synthetic_faces


def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string("data_dir", None, "Prepared dataset to read; default: a 2,000-face 128x128 set made in a "
                        "temp dir.", flag_values=flag_values)
    flags.DEFINE_list("phases", ["2", "4", "6"], "Phases to measure (resolution 2^phase).", flag_values=flag_values)
    flags.DEFINE_integer("batch_size", 128, "Batch size.", flag_values=flag_values)
    flags.DEFINE_float("seconds", 4.0, "Measuring time per phase, after one warm-up batch.", flag_values=flag_values)
    flags.DEFINE_enum("preprocessing", "original", list(data.PREPROCESSING_MODES), "Reader preprocessing.",
                      flag_values=flag_values)
    flags.DEFINE_float("needed_images_per_second", 128 * 20.0, "Images/s a GPU needs at phase 2 (batch 128 x 20 "
                       "steps/s).", flag_values=flag_values)


def measure(data_dir: str, phase: int, batch_size: int, preprocessing: str, seconds: float) -> float:
    batches = iter(data.make_dataset(data_dir, phase, batch_size, preprocessing=preprocessing, seed=0))
    next(batches)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        count += int(next(batches).shape[0])
    return count / (time.perf_counter() - started)


def main(argv, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    with tempfile.TemporaryDirectory() as temporary:
        data_dir = flag_values.data_dir
        if data_dir is None:
            data_dir = temporary
            synthetic_faces.prepare_synthetic_faces(data_dir, num_images=2000, resolution=128, seed=0)
        need = flag_values.needed_images_per_second
        print(f"need at phase 2: {need:,.0f} images/s (batch 128 x 20 steps/s)")
        for phase in map(int, flag_values.phases):
            rate = measure(data_dir, phase, flag_values.batch_size, flag_values.preprocessing, flag_values.seconds)
            print(f"phase {phase} ({2**phase}x{2**phase}, batch {flag_values.batch_size}): {rate:,.0f} images/s "
                  f"= {rate / need:.1f}x the phase-2 need")


if __name__ == "__main__":
    command_line.run(main, define_flags)
