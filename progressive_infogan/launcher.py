"""The command line shared by every `experiments/*.py` script: flags -> typed configs -> train.

An experiment script is `launcher.run("exp_condition")`. The preset fixes the experiment;
the flags choose its size (`--size`, a row of `config.SIZES`), the data and the hardware.
Flags follow the project's one convention (`command_line`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from typing import Mapping, Optional, Sequence

from absl import flags

from progressive_infogan import command_line
from progressive_infogan import config as configs
from progressive_infogan.errors import UserError


def define_flags(flag_values: flags.FlagValues) -> None:
    """The flags of an experiment script (its `--help`)."""
    flags.DEFINE_string("model_dir", None, "Run directory: config.json, checkpoints, TensorBoard events, samples. "
                        "Rerunning the same command resumes from its newest checkpoint.", flag_values=flag_values)
    flags.DEFINE_string("data_dir", None, "Directory of per-resolution TFRecords (data_prep/). Default: on a "
                        "resume, the directory the run was started on (the same faces drawn larger beside it when a "
                        "larger --stop_after grows a run past it); else the bundled synthetic faces in "
                        "data/synthetic_faces-<N>x<px>, prepared on first use.",
                        flag_values=flag_values)
    flags.DEFINE_bool("allow_changed_data", False, "Resume a run although --seed or the dataset (its manifest's "
                      "fingerprint) differ from those it was started with (identity.json); refused without it.",
                      flag_values=flag_values)
    flags.DEFINE_bool("verify_data", False, "Before training, check every record file the run will read against "
                      "the SHA-256 in the dataset's manifest (a full read; sizes are always checked).",
                      flag_values=flag_values)
    flags.DEFINE_enum("size", "full", list(configs.SIZES),
                      " ".join(f"{size.name}: {size.description}." for size in configs.SIZES.values())
                      + " A size also picks evaluate's protocol and the default dataset (config.SIZES).",
                      flag_values=flag_values)
    flags.DEFINE_integer("stop_after", None, "Last phase to train (resolution 2^phase); default: the size's. "
                         "A larger one than a run's grows it: it goes on into the new phases.",
                         flag_values=flag_values)
    flags.DEFINE_float("width_multiplier", None, "Scale every layer's channel count; default: the size's.",
                       flag_values=flag_values)
    flags.DEFINE_integer("images_per_phase", None, "Images per phase before the min-steps floor (thesis: 384000).",
                         flag_values=flag_values)
    flags.DEFINE_integer("min_steps", None, "Minimum steps per phase (thesis: 6000).", flag_values=flag_values)
    flags.DEFINE_string("batch_sizes", None, "Per-phase batch sizes overriding the size's, e.g. '2:64,3:64,4:32'.",
                        flag_values=flag_values)
    flags.DEFINE_enum("fade", "code", ["code", "text"], "code: alpha rises over the first half of each phase "
                      "(the original code). text: over the whole phase (the thesis text).", flag_values=flag_values)
    flags.DEFINE_integer("fromrgb_image_diffs", None, "High-pass residual images added to D's fromRGB input "
                         "(the thesis runs most likely used 2; the original HEAD uses 0).", flag_values=flag_values)
    flags.DEFINE_multi_string("override", [], "Any config field, as SECTION.FIELD=VALUE (VALUE in JSON), e.g. "
                              "--override=loss.mi_weight=5 --override=model.d_head_units=512; applied last and "
                              "recorded in config.json. Sections: model, schedule, loss, optimizer (config.py).",
                              flag_values=flag_values)
    flags.DEFINE_integer("seed", 0, "Seed of the latents, data order and fresh variables.", flag_values=flag_values)
    flags.DEFINE_enum("preprocessing", "original", ["original", "plain"], "original: the thesis's crop and "
                      "resize from the next resolution's record. plain: each phase's own record, /127.5-1.",
                      flag_values=flag_values)
    flags.DEFINE_bool("mirror", False, "Random left-right flips of the real images (the thesis used none).",
                      flag_values=flag_values)
    flags.DEFINE_enum("strategy", "default", list(configs.STRATEGIES), "tf.distribute strategy: one device, all "
                      "local GPUs, several machines (TF_CONFIG), or TPU.", flag_values=flag_values)
    flags.DEFINE_enum("mixed_precision", "float32", list(configs.PRECISIONS),
                      "Keras dtype policy. mixed_float16 adds dynamic loss scaling.", flag_values=flag_values)
    flags.DEFINE_bool("jit_compile", False, "Compile the training step with XLA.", flag_values=flag_values)
    flags.DEFINE_enum("step", "lean", list(configs.STEPS), "How the training step computes, not what: lean "
                      "(fused Adam and batch norm, fewer ops) or reference (op by op, as "
                      "first written; benchmarks/train_throughput.py --compare times one against the other).",
                      flag_values=flag_values)
    flags.DEFINE_bool("deterministic", False, "Enable TF op determinism (slower; makes resumed runs bit-exact, on CPU "
                      "with TF_ENABLE_ONEDNN_OPTS=0: oneDNN's kernels round by memory alignment).",
                      flag_values=flag_values)
    flags.DEFINE_integer("summary_every_steps", 700, "TensorBoard scalars and sample grids every N steps.",
                         flag_values=flag_values)
    flags.DEFINE_float("checkpoint_every_secs", 7200.0, "Checkpoint every N seconds (and at each phase's end).",
                       flag_values=flag_values)
    flags.DEFINE_integer("keep_checkpoints", 3, "Newest checkpoints kept in <model_dir>/checkpoints (0: all); "
                         "each phase's final checkpoint is kept besides them.", flag_values=flag_values)
    flags.DEFINE_float("log_every_secs", 30.0, "Progress line with images/s and ETA every N seconds.",
                       flag_values=flag_values)
    flags.DEFINE_bool("progress_bar", True, "Show a progress bar per phase.", flag_values=flag_values)
    flags.DEFINE_bool("export", True, "When training finishes, export the EMA generator (Keras file + SavedModel).",
                      flag_values=flag_values)
    flags.mark_flag_as_required("model_dir", flag_values=flag_values)


# sysexits.h EX_TEMPFAIL: stopped by SIGTERM/SIGINT after a checkpoint; the same command resumes.
# Callers (reproduce.sh, schedulers) must not take the run for finished.
EXIT_STOPPED = 75


def experiment_config(name: str, size: configs.Size, *, stop_after: Optional[int] = None,
                      width_multiplier: Optional[float] = None, images_per_phase: Optional[int] = None,
                      min_steps: Optional[int] = None, batch_sizes: Optional[Mapping[int, int]] = None,
                      fade: str = "code", fromrgb_image_diffs: Optional[int] = None,
                      overrides: Sequence[str] = ()) -> configs.ExperimentConfig:
    """The preset `name` at `size`, with the fields the command line overrides (None: the size's),
    then the 'section.field=value' `overrides`."""
    config = size.apply(configs.preset(name))
    schedule = {field: value for field, value in
                (("stop_after", stop_after), ("images_per_phase", images_per_phase), ("min_steps", min_steps))
                if value is not None}
    if batch_sizes:
        schedule["batch_sizes"] = tuple(sorted({**dict(config.schedule.batch_sizes), **batch_sizes}.items()))
    if fade == "text":
        schedule["fade_fraction"] = 1.0
    model = {}
    if width_multiplier is not None:
        model["width_multiplier"] = width_multiplier
    if fromrgb_image_diffs is not None:
        model["fromrgb_image_diffs"] = fromrgb_image_diffs
    config = config.replace(schedule=schedule, model=model)
    for assignment in overrides:
        config = configs.override(config, assignment)
    return config


def parse_batch_sizes(text: Optional[str]) -> dict:
    """'2:64,3:64' -> {2: 64, 3: 64}."""
    sizes = {}
    for item in (text or "").split(","):
        if item:
            phase, size = item.split(":")
            sizes[int(phase)] = int(size)
    return sizes


@dataclasses.dataclass(frozen=True)
class Launch:
    """What an experiment command does, built from its flags by `launch_from_flags`."""

    size: configs.Size  # the --size row: also picks the default dataset
    config: configs.ExperimentConfig  # the experiment at that size, with the flags' overrides
    options: configs.RunOptions  # data_dir "": the size's synthetic faces (`default_data_dir`)
    export: bool  # export the EMA generator when training finishes


def launch_from_flags(name: str, flag_values: flags.FlagValues) -> Launch:
    """The one conversion of an experiment script's parsed flags into typed configs (pure)."""
    size = configs.size(flag_values.size)
    config = experiment_config(
        name, size, stop_after=flag_values.stop_after, width_multiplier=flag_values.width_multiplier,
        images_per_phase=flag_values.images_per_phase, min_steps=flag_values.min_steps,
        batch_sizes=parse_batch_sizes(flag_values.batch_sizes), fade=flag_values.fade,
        fromrgb_image_diffs=flag_values.fromrgb_image_diffs, overrides=flag_values.override)
    options = command_line.fields_from_flags(configs.RunOptions, flag_values)
    options["data_dir"] = options["data_dir"] or ""
    return Launch(size=size, config=config, options=configs.RunOptions(**options), export=flag_values.export)


def _default_resolution(config: configs.ExperimentConfig) -> int:
    # The 'original' preprocessing reads one level above the last phase.
    return 2 ** min(config.schedule.stop_after + 1, configs.MAX_PHASE)


def _default_name(size: configs.Size, resolution: int) -> str:
    return f"synthetic_faces-{size.dataset_images}x{resolution}"


def default_data_dir(size: configs.Size, config: configs.ExperimentConfig, root: str = "data") -> str:
    """The size's synthetic faces at the resolution `config` reads, in `root`, prepared on first use."""
    from progressive_infogan import synthetic_faces

    resolution = _default_resolution(config)
    directory = os.path.join(root, _default_name(size, resolution))
    synthetic_faces.ensure_synthetic_faces(directory, num_images=size.dataset_images, resolution=resolution, seed=0)
    return directory


def run_data_dir(model_dir: str, size: configs.Size, config: configs.ExperimentConfig) -> Optional[str]:
    """The absolute data directory a run records, for a resume without --data_dir (None for a new run):
    a default dataset built anew beside another working directory would finish the run on other data.

    A run started on the size's default dataset and grown past its resolution (a larger --stop_after)
    gets that dataset drawn at the new resolution, beside the recorded one (rundir.Identity.drawn_larger)."""
    from progressive_infogan import rundir

    identity = rundir.read_identity(model_dir)
    if identity is None or not identity.data_dir:
        return None
    smaller_defaults = {_default_name(size, 2 ** phase) for phase in range(configs.MIN_PHASE, configs.MAX_PHASE + 1)
                        if 2 ** phase < _default_resolution(config)}
    if os.path.basename(os.path.normpath(identity.data_dir)) in smaller_defaults:
        return default_data_dir(size, config, root=os.path.dirname(identity.data_dir))
    if not os.path.isdir(identity.data_dir):
        raise UserError(f"{model_dir} was trained on {identity.data_dir}, which no longer exists; "
                        "pass --data_dir with the same dataset")
    return identity.data_dir


def gpus() -> list:
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def main(name: str, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    from progressive_infogan import export, train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    launch = launch_from_flags(name, flag_values)
    if launch.size.name == "full" and not gpus():
        logging.warning("--size=full is the thesis configuration, days on a GPU, and this machine shows TensorFlow "
                        "no GPU: expect it to take far longer (--size=quick runs in minutes on a CPU)")
    options = launch.options
    if not options.data_dir:
        options = dataclasses.replace(options, data_dir=run_data_dir(options.model_dir, launch.size, launch.config)
                                      or default_data_dir(launch.size, launch.config))
    result = train.train(launch.config, options)
    if result["stopped_by_signal"]:
        logging.warning("stopped at step %d before the end of training; rerun the same command to resume",
                        result["step"])
        sys.exit(EXIT_STOPPED)
    if result["finished"] and launch.export and result["chief"]:  # only the chief writes the run directory
        for path in export.export_run(options.model_dir):
            logging.info("exported %s", path)


def run(name: str) -> None:
    """Entry point of an experiment script."""
    configs.preset(name)  # fail early on a misspelt preset

    def script_main(argv: Sequence[str]) -> None:
        del argv
        main(name)

    command_line.run(script_main, define_flags)
