"""The command line shared by every `experiments/*.py` script: flags -> config -> train.

An experiment script is `launcher.run("exp_condition")`. The preset fixes the experiment;
the flags choose its size (`--size`), the data, and the hardware.
"""

from __future__ import annotations

import logging
import os
import sys

from absl import app, flags

from progressive_infogan import config as configs

FLAGS = flags.FLAGS

flags.DEFINE_string("model_dir", None, "Run directory: config.json, checkpoints, TensorBoard events, samples. "
                    "Rerunning the same command resumes from its newest checkpoint.")
flags.DEFINE_string("data_dir", None, "Directory of per-resolution TFRecords (data_prep/). Default: the "
                    "bundled synthetic faces in data/synthetic_faces, prepared on first use.")
flags.DEFINE_bool("verify_data", False, "Before training, check every record file the run will read against "
                  "the SHA-256 in the dataset's manifest (a full read; sizes are always checked).")
flags.DEFINE_enum("size", "full", ["full", "quick", "smoke"],
                  "full: the thesis configuration (GPU, days). quick: 1/8 width, phases 2..5, 800 steps "
                  "per phase, about 5 minutes on a 2-core CPU. smoke: a few steps per phase, for tests.")
flags.DEFINE_integer("stop_after", None, "Last phase to train (resolution 2^phase); default: the size's.")
flags.DEFINE_float("width_multiplier", None, "Scale every layer's channel count; default: the size's.")
flags.DEFINE_integer("images_per_phase", None, "Images per phase before the min-steps floor (thesis: 384000).")
flags.DEFINE_integer("min_steps", None, "Minimum steps per phase (thesis: 6000).")
flags.DEFINE_string("batch_sizes", None, "Per-phase batch sizes overriding the size's, e.g. '2:64,3:64,4:32'.")
flags.DEFINE_enum("fade", "code", ["code", "text"], "code: alpha rises over the first half of each phase "
                  "(the original code). text: over the whole phase (the thesis text).")
flags.DEFINE_integer("fromrgb_image_diffs", None, "High-pass residual images added to D's fromRGB input "
                     "(the thesis runs most likely used 2; the original HEAD uses 0).")
flags.DEFINE_integer("seed", 0, "Seed of the latents, data order and fresh variables.")
flags.DEFINE_enum("preprocessing", "original", ["original", "plain"], "original: the thesis's crop and "
                  "resize from the next resolution's record. plain: each phase's own record, /127.5-1.")
flags.DEFINE_bool("mirror", False, "Random left-right flips of the real images (the thesis used none).")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker", "tpu"],
                  "tf.distribute strategy: one device, all local GPUs, several machines (TF_CONFIG), or TPU.")
flags.DEFINE_enum("mixed_precision", "float32", ["float32", "mixed_float16", "mixed_bfloat16"],
                  "Keras dtype policy. mixed_float16 adds dynamic loss scaling.")
flags.DEFINE_bool("jit_compile", False, "Compile the training step with XLA.")
flags.DEFINE_bool("deterministic", False, "Enable TF op determinism (slower; makes resumed runs bit-exact).")
flags.DEFINE_integer("summary_every_steps", 700, "TensorBoard scalars and sample grids every N steps.")
flags.DEFINE_float("checkpoint_every_secs", 7200.0, "Checkpoint every N seconds (and at each phase's end).")
flags.DEFINE_float("log_every_secs", 30.0, "Progress line with images/s and ETA every N seconds.")
flags.DEFINE_bool("progress_bar", True, "Show a progress bar per phase.")
flags.DEFINE_bool("export", True, "When training finishes, export the EMA generator (Keras file + SavedModel).")
flags.mark_flag_as_required("model_dir")

SMOKE_BATCH = {phase: 4 for phase in range(2, 11)}
# sysexits.h EX_TEMPFAIL: stopped by SIGTERM/SIGINT after a checkpoint; the same command resumes.
# Callers (reproduce.sh, schedulers) must not take the run for finished.
EXIT_STOPPED = 75


def experiment_config(name: str) -> configs.ExperimentConfig:
    """The preset `name` at the size and with the overrides the flags ask for."""
    config = configs.preset(name)
    if FLAGS.size == "quick":
        config = configs.quick(config)
    elif FLAGS.size == "smoke":
        config = configs.scaled_down(config, width_multiplier=1 / 32, images_per_phase=8, min_steps=2,
                                     stop_after=4, batch_sizes=SMOKE_BATCH, averaging_steps=2)
    schedule = {}
    for field in ("stop_after", "images_per_phase", "min_steps"):
        if getattr(FLAGS, field) is not None:
            schedule[field] = getattr(FLAGS, field)
    if FLAGS.batch_sizes:
        sizes = dict(config.schedule.batch_sizes)
        for item in FLAGS.batch_sizes.split(","):
            phase, size = item.split(":")
            sizes[int(phase)] = int(size)
        schedule["batch_sizes"] = tuple(sorted(sizes.items()))
    if FLAGS.fade == "text":
        schedule["fade_fraction"] = 1.0
    model = {}
    if FLAGS.width_multiplier is not None:
        model["width_multiplier"] = FLAGS.width_multiplier
    if FLAGS.fromrgb_image_diffs is not None:
        model["fromrgb_image_diffs"] = FLAGS.fromrgb_image_diffs
    return config.replace(schedule=schedule, model=model)


def _default_data_dir(config: configs.ExperimentConfig) -> str:
    from progressive_infogan import synthetic_faces

    # The 'original' preprocessing reads one level above the last phase.
    resolution = 2 ** min(config.schedule.stop_after + 1, 10)
    num_images = {"full": 30_000, "quick": 10_000, "smoke": 64}[FLAGS.size]
    directory = os.path.join("data", f"synthetic_faces-{num_images}x{resolution}")
    synthetic_faces.ensure_synthetic_faces(directory, num_images=num_images, resolution=resolution, seed=0)
    return directory


def main(name: str) -> None:
    from progressive_infogan import export, train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    config = experiment_config(name)
    data_dir = FLAGS.data_dir or _default_data_dir(config)
    options = train.RunOptions(
        model_dir=FLAGS.model_dir, data_dir=data_dir, seed=FLAGS.seed, preprocessing=FLAGS.preprocessing,
        mirror=FLAGS.mirror, verify_data=FLAGS.verify_data, strategy=FLAGS.strategy,
        mixed_precision=FLAGS.mixed_precision, jit_compile=FLAGS.jit_compile, deterministic=FLAGS.deterministic,
        summary_every_steps=FLAGS.summary_every_steps, checkpoint_every_secs=FLAGS.checkpoint_every_secs,
        log_every_secs=FLAGS.log_every_secs, progress_bar=FLAGS.progress_bar)
    result = train.train(config, options)
    if result["stopped_by_signal"]:
        logging.warning("stopped at step %d before the end of training; rerun the same command to resume",
                        result["step"])
        sys.exit(EXIT_STOPPED)
    if result["finished"] and FLAGS.export:
        for path in export.export_run(FLAGS.model_dir):
            logging.info("exported %s", path)


def run(name: str) -> None:
    """Entry point of an experiment script."""
    configs.preset(name)  # fail early on a misspelt preset
    app.run(lambda argv: main(name) if len(argv) == 1 else app.usage(shorthelp=True, exitcode=2))
