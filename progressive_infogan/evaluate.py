"""Evaluate any checkpoint: every registered metric -> one line of the run's metrics.jsonl.

    python -m progressive_infogan.evaluate --run_dir=runs/exp_condition [--step=N]
        [--metrics=fid,msssim_diversity,infogan,isolation] [--protocol=thesis|quick]

`--metrics=disentanglement` (beyond the thesis; synthetic faces only) scores the code against
the dataset's ground-truth factors: MIG, DCI, SAP, modularity and the scale alignment
(docs/disentanglement_metrics.md).

The generator is the checkpoint's EMA generator with BN moving statistics; real images
come from the run's own data through its training preprocessing (docs/design.md §7).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Dict, Optional, Sequence, Tuple

from absl import flags

from progressive_infogan import checkpoints, command_line, metrics, rundir
from progressive_infogan import config as configs
from progressive_infogan.metrics.aggregation import to_jsonable

THESIS_METRICS = ("fid", "msssim_diversity", "infogan", "isolation")

# Each size's protocol (config.SIZES): the same computations, fewer samples below the thesis size.
PROTOCOLS = {size.protocol: size.evaluation for size in configs.SIZES.values()}
assert all(PROTOCOLS[size.protocol] == size.evaluation for size in configs.SIZES.values()), \
    "sizes that share a protocol name must share its sample counts"


def real_images(data_dir: str, phase: int, preprocessing: str, seed: int) -> metrics.RealImages:
    from progressive_infogan import data, tfrecords

    dataset_id = f"{tfrecords.dataset_identity(data_dir)}-{preprocessing}"
    resize_filter = "legacy bilinear from the next level" if preprocessing == "original" else "box"

    def batches(batch_size):
        dataset = data.make_dataset(data_dir, phase, batch_size, preprocessing=preprocessing, seed=seed)
        return (batch.numpy() for batch in dataset)

    def all_batches(batch_size):
        dataset = data.make_dataset(data_dir, phase, batch_size, preprocessing=preprocessing, repeat=False,
                                    shuffle_buffer=0, drop_remainder=False)
        return (batch.numpy() for batch in dataset)

    return metrics.RealImages(batches=batches, all_batches=all_batches, dataset_id=dataset_id,
                              resolution=2 ** phase, resize_filter=resize_filter, data_dir=data_dir,
                              preprocessing=preprocessing)


def evaluate(path: str, metric_names: Sequence[str] = THESIS_METRICS, protocol: str = "thesis",
             step: Optional[int] = None, data_dir: Optional[str] = None,
             settings: Optional[metrics.EvalSettings] = None, write: bool = True) -> Dict[str, object]:
    """Score a run's checkpoint and append the line to `<run_dir>/metrics.jsonl`.

    `protocol` names the sample counts of PROTOCOLS, or labels the line when `settings` are given.
    """
    if settings is None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
        settings = PROTOCOLS[protocol]
    run = checkpoints.load_run(path, step=step)
    options = rundir.read_run_options(run.run_dir)
    data_dir = data_dir or rundir.recorded_data_dir(run.run_dir)
    needs_data = any(name in ("fid", "fid_standard", "msssim_diversity", "disentanglement") for name in metric_names)
    if needs_data and not data_dir:
        raise ValueError(f"{run.run_dir} does not record its data directory; pass --data_dir")
    real = real_images(data_dir, run.phase, options.get("preprocessing", "original"), settings.seed) if data_dir else None
    scores: Dict[str, float] = {}
    timings = {}
    for name in metric_names:
        started = time.time()
        scores.update(metrics.get(name)(run, real, settings))
        timings[name] = round(time.time() - started, 2)
    line = {"experiment": run.config.name, "step": run.step, "phase": run.phase, "alpha": run.alpha,
            "checkpoint": os.path.relpath(run.checkpoint, run.run_dir), "protocol": protocol,
            "settings": dataclasses.asdict(settings), "resize_filter": real.resize_filter if real else None,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds": timings,
            "metrics": to_jsonable(scores)}
    if write:
        rundir.append_metrics_line(run.run_dir, line)
    return line


def already_evaluated(run_dir: str, protocol: str, step: Optional[int] = None) -> bool:
    """Whether metrics.jsonl has a line for this protocol at `step` (default: the newest checkpoint)."""
    available = checkpoints.list_checkpoints(run_dir)
    if not available:
        return False
    step = available[-1][0] if step is None else step
    return any(line.get("protocol") == protocol and line.get("step") == step
               for line in rundir.read_metrics_lines(run_dir))


# --- Command line ---------------------------------------------------------------------------

def define_flags(flag_values: flags.FlagValues) -> None:
    def count(name, help_text):
        flags.DEFINE_integer(name, None, help_text, flag_values=flag_values)

    flags.DEFINE_string("run_dir", None, "Run directory (its newest checkpoint) or a checkpoint directory.",
                        flag_values=flag_values)
    flags.DEFINE_integer("step", None, "Evaluate the checkpoint of this step instead of the newest.",
                         flag_values=flag_values)
    flags.DEFINE_string("metrics", ",".join(THESIS_METRICS),
                        f"Comma-separated metrics; known: {', '.join(metrics.names())}.", flag_values=flag_values)
    flags.DEFINE_enum("protocol", "thesis", list(PROTOCOLS),
                      "Sample counts: thesis (5k FID images, 2000 MS-SSIM pairs, 3000 InfoGAN batches, 128 "
                      "isolation images) or those of the experiment scripts' other sizes: "
                      + "; ".join(f"{protocol} (--size=" + "/".join(size.name for size in configs.SIZES.values()
                                                              if size.protocol == protocol) + ")"
                                  for protocol in PROTOCOLS if protocol != "thesis") + ".",
                      flag_values=flag_values)
    flags.DEFINE_string("data_dir", None, "Real images; default: the data directory the run trained on.",
                        flag_values=flag_values)
    # The sample counts: each overrides the protocol's (flag name = EvalSettings field).
    count("seed", "Seed of the generated samples (default 0).")
    count("batch_size", "Images per batch; default: the phase's training batch (as the original).")
    count("fid_num_images", "FID, thesis protocol: generated and real images (thesis 5000).")
    count("msssim_num_pairs", "MS-SSIM diversity: consecutive pairs (thesis 2000).")
    count("infogan_num_batches", "InfoGAN penalty / code reconstruction error: batches (thesis 3000).")
    count("isolation_num_images", "Isolation: base samples per coordinate (thesis 128).")
    count("standard_fid_num_images", "FID, standard protocol: generated images per draw (50000).")
    count("standard_fid_draws", "FID, standard protocol: independent draws (3).")
    count("disentanglement_num_images", "Disentanglement (MIG, DCI, SAP, modularity): images per view, 2/3 for "
          "training (15000).")
    flags.DEFINE_enum("factor_predictor", None, ["standard", "smoke"],
                      "Disentanglement, generative view: the factor predictor's training settings (standard).",
                      flag_values=flag_values)
    flags.DEFINE_bool("skip_if_done", False, "Do nothing if metrics.jsonl already has this protocol at this step.",
                      flag_values=flag_values)
    flags.mark_flag_as_required("run_dir", flag_values=flag_values)


def settings_from_flags(flag_values: flags.FlagValues) -> Tuple[str, metrics.EvalSettings]:
    """(protocol label, sample counts) of the parsed flags: the protocol's counts, overridden by any
    count given as a flag; such a line is labelled '<protocol>-custom', so that it cannot pass for
    the protocol's in the tables."""
    overrides = command_line.fields_from_flags(metrics.EvalSettings, flag_values, skip_none=True)
    overrides.pop("progress", None)
    settings = dataclasses.replace(PROTOCOLS[flag_values.protocol], **overrides)
    return (f"{flag_values.protocol}-custom" if overrides else flag_values.protocol), settings


def main(argv: Sequence[str], flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    names = [name for name in flag_values.metrics.split(",") if name]
    protocol, settings = settings_from_flags(flag_values)
    if flag_values.skip_if_done and already_evaluated(flag_values.run_dir, flag_values.protocol, flag_values.step):
        print(f"{flag_values.run_dir}: already evaluated ({flag_values.protocol} protocol); skipping")
        return
    line = evaluate(flag_values.run_dir, names, protocol=protocol, step=flag_values.step,
                    data_dir=flag_values.data_dir, settings=settings)
    # Per-coordinate and per-factor entries (two slashes) stay in the file only.
    summary = {name: value for name, value in line["metrics"].items() if "/coord_" not in name and name.count("/") < 2}
    print(json.dumps({"experiment": line["experiment"], "step": line["step"], "metrics": summary}, indent=2))


if __name__ == "__main__":
    command_line.run(main, define_flags)
