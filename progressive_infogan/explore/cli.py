"""Command line of the exploration tools.

  python -m progressive_infogan.explore.cli <tool> --run_dir=RUN --out=DIR [flags]

  traversal      --coordinates=block:3 --num_samples=4 --steps=7     -> traversal.png
  averaging      --coordinates=5,17 --num_samples=30 --value=2.5     -> sample_averaging_C<id>.png
  blocks         --num_samples=4                                     -> block_outputs.png
  animation      --coordinates=block:2 --grid_size=2 --coord_resolution=32 --coords_batch=8
                                                                     -> animation[_partNN].gif (+ .mp4 with ffmpeg)
  interpolation  --interpolation=slerp --interpolation_points=4     -> interpolation.gif (+ .mp4)
  summary        --coordinates=all --num_samples=8 --name_factors=auto -> summary.md, contact_sheet.png, strips/
  project        --photo=face.jpg --edits='C5=2.5;C5=-2.5' --loss=mse --projection_steps=300
                                                                     -> photo_edits.png, photo_edits.npz
                 --from_latents=photo_edits.npz --edits=...          (edits a saved projection again)
  examples       (one of each, for the README)                       -> all of the above

Every tool loads the run's newest checkpoint (or --step) with the EMA generator and writes
its files into --out. --coordinates defaults to those that feed G at the checkpoint's phase.
On a synthetic-faces run (factors.npz beside its records) `summary` also names each
coordinate after the ground-truth factor it correlates with most (explore/factors.py).
"""

from __future__ import annotations

import json
import os
from typing import Sequence

from absl import app, flags

from progressive_infogan import command_line

TOOLS = ("traversal", "averaging", "blocks", "animation", "interpolation", "summary", "project", "examples")

def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)  # every flag goes to `flag_values`
    flags.DEFINE_string("run_dir", None, "Run directory (config.json + checkpoints/) or one checkpoint directory.",
                        **fv)
    flags.DEFINE_string("out", None, "Output directory; created if missing.", **fv)
    flags.DEFINE_integer("step", None, "Checkpoint step to load; default: the newest.", **fv)
    flags.DEFINE_string("coordinates", "effective",
                        "Which code coordinates: 'all', 'effective' (those that feed G at the checkpoint's phase), "
                        "'block:3' or 'block:2,3', or ids like '5,17,40'.", **fv)
    flags.DEFINE_integer("num_samples", None, "Samples: traversal rows (default 4), averaging set size (default 30), "
                         "summary samples per coordinate (default 8).", **fv)
    flags.DEFINE_integer("steps", 7, "Traversal columns: values linspace(-amplitude, amplitude, steps).", **fv)
    flags.DEFINE_float("amplitude", 3.0, "Traversal / animation range: values in [-amplitude, amplitude].", **fv)
    flags.DEFINE_float("value", 2.5, "Sample averaging and summary: the coordinate is fixed at -value and +value.",
                       **fv)
    flags.DEFINE_integer("seed", 0, "Seed of the sampled (noise, code) inputs.", **fv)
    flags.DEFINE_integer("coord_resolution", 32, "Animation: number of values per coordinate.", **fv)
    flags.DEFINE_integer("grid_size", 2, "Animation: grid_size x grid_size faces.", **fv)
    flags.DEFINE_integer("frame_size", 256, "Animation: approximate frame side in pixels.", **fv)
    flags.DEFINE_integer("coords_batch", 8, "Animation: coordinates per file (animation_partNN.gif); frames are "
                         "held in memory, 70 per coordinate at the default resolution.", **fv)
    flags.DEFINE_integer("interpolation_points", 4, "Interpolation: random key points per face (the walk loops).", **fv)
    flags.DEFINE_integer("interpolation_steps", 24, "Interpolation: frames between two key points.", **fv)
    flags.DEFINE_enum("interpolation", "slerp", ["slerp", "linear"], "Interpolation: path between key points.", **fv)
    flags.DEFINE_boolean("mp4", True, "Animations: also write an MP4 when ffmpeg is on PATH.", **fv)
    flags.DEFINE_string("photo", None, "project: the photo file (centre-cropped and resized to the model's "
                        "resolution). Default: an image the model generates from --seed + 1000.", **fv)
    flags.DEFINE_string("edits", None, "project: edits, ';' between edits and ',' between coordinates of one edit, "
                        "by figure label or id, e.g. 'C5=2.5;C5=-2.5;17=1,18=-1'; a categorical variable (any of "
                        "its coordinates) is set to a category 0..K-1, a Bernoulli to 0 or 1. Default: the first two "
                        "coordinates at -2.5 and +2.5 (a discrete variable at each of its values).", **fv)
    flags.DEFINE_string("from_latents", None, "project: edit a saved projection (the photo_edits.npz written "
                        "beside an earlier photo_edits.png) instead of projecting a photo.", **fv)
    flags.DEFINE_enum("edit_mode", "set", ["set", "add"], "project: set the coordinates to the values or add them.",
                      **fv)
    flags.DEFINE_integer("projection_steps", 300, "project: Adam steps.", **fv)
    flags.DEFINE_float("learning_rate", 0.05, "project: Adam learning rate.", **fv)
    flags.DEFINE_enum("loss", "mse", ["mse", "msssim", "mse+msssim"], "project: reconstruction loss.", **fv)
    flags.DEFINE_integer("restarts", 0, "project: extra random starting points (the best one is kept).", **fv)
    flags.DEFINE_enum("name_factors", "auto", ["auto", "on", "off"],
                      "summary: name coordinates after ground-truth factors with a regressor trained on the run's "
                      "data (cached). auto: when the run's data has factors.npz; on: required; off: never.", **fv)
    flags.DEFINE_string("factor_data_dir", None, "summary: dataset with factors.npz for --name_factors; default: "
                        "the run's data_dir (run_options.json).", **fv)
    flags.DEFINE_integer("factor_images", 4000, "summary: images the factor regressor trains on.", **fv)
    flags.DEFINE_float("min_factor_r2", 0.5, "summary: a factor names coordinates only if the regressor reads it "
                       "with held-out R^2 >= this.", **fv)
    flags.DEFINE_float("min_factor_correlation", 0.3, "summary: a coordinate is named only when |r| >= this.", **fv)
    flags.DEFINE_float("min_factor_swing", 0.25, "summary: a coordinate is named only after a factor it moves by "
                       "at least this many of the factor's dataset standard deviations between -value and +value.",
                       **fv)
    flags.DEFINE_float("prior_weight", 0.0, "project: weight of mean(latent^2), which keeps latents near the prior.",
                       **fv)
    flags.mark_flags_as_required(["run_dir", "out"], **fv)


def _run_tool(tool: str, flag_values: flags.FlagValues) -> None:
    # Imported here: flag parsing and usage errors need none of the tools.
    from progressive_infogan import checkpoints
    from progressive_infogan.explore import (animation, averaging, blocks, common, examples, projection, summary,
                                             traversal)
    from progressive_infogan.latents import latents

    out = flag_values.out
    if tool == "project" and flag_values.from_latents and flag_values.photo:
        raise app.UsageError("give --photo (project it) or --from_latents (a saved projection), not both")
    photo_image = None
    if tool in ("project", "examples") and flag_values.photo:
        try:  # before the model, which takes far longer to load
            photo_image = projection.read_photo(flag_values.photo)
        except (OSError, ValueError) as error:
            raise app.UsageError(f"--photo: {error}") from None
    if tool == "project" and flag_values.edits:
        projection.parse_edits(flag_values.edits)  # a malformed edit fails before the model loads
    if tool == "examples":
        written = examples.write_examples(flag_values.run_dir, out, step=flag_values.step,
                                          photo_path=flag_values.photo, seed=flag_values.seed,
                                          coord_resolution=flag_values.coord_resolution, mp4=flag_values.mp4,
                                          interpolation_points=flag_values.interpolation_points,
                                          interpolation_steps=flag_values.interpolation_steps,
                                          projection_steps=flag_values.projection_steps)
        print(json.dumps(written, indent=2))
        return
    run = checkpoints.load_run(flag_values.run_dir, step=flag_values.step)
    generator, model_config, alpha = run.generator, run.config.model, run.alpha
    edits = (projection.parse_edits(flag_values.edits, model_config.code_size, model_config, flag_values.edit_mode)
             if flag_values.edits else None)
    os.makedirs(out, exist_ok=True)  # after the checks: a mistake leaves no empty folder behind
    # A categorical variable's coordinates are one variable (its first coordinate): one figure, one animation.
    coordinates = traversal.traversed_coordinates(
        model_config, common.select_coordinates(model_config, flag_values.coordinates, run.phase))
    if not coordinates and tool not in ("blocks", "interpolation"):
        raise app.UsageError(f"no code coordinates selected by --coordinates={flag_values.coordinates!r} "
                             f"(the model's code has {model_config.code_size})")
    print(f"{run.config.name}: step {run.step}, phase {run.phase}, alpha {alpha:.3f}; "
          f"{len(coordinates)} coordinates")
    if tool == "traversal":
        path = os.path.join(out, "traversal.png")
        traversal.write_traversal(path, generator, model_config, coordinates,
                                  num_samples=flag_values.num_samples or 4, steps=flag_values.steps,
                                  amplitude=flag_values.amplitude, alpha=alpha, seed=flag_values.seed, progress=True)
        print(path)
    elif tool == "averaging":
        for coordinate in coordinates:
            path = os.path.join(out, f"sample_averaging_C{coordinate}.png")
            averaging.write_sample_average(path, generator, model_config, coordinate,
                                           num_samples=flag_values.num_samples or 30, value=flag_values.value,
                                           alpha=alpha, seed=flag_values.seed)
            print(path)
    elif tool == "blocks":
        path = os.path.join(out, "block_outputs.png")
        blocks.write_block_outputs(path, generator, model_config, num_samples=flag_values.num_samples or 4,
                                   alpha=alpha, seed=flag_values.seed)
        print(path)
    elif tool == "animation":
        batch = flag_values.coords_batch
        parts = [coordinates[i:i + batch] for i in range(0, len(coordinates), batch)]
        for part, part_coordinates in enumerate(parts):
            frames, _ = animation.coordinate_animation_frames(
                generator, model_config, part_coordinates, grid_size=flag_values.grid_size,
                coord_resolution=flag_values.coord_resolution, amplitude=flag_values.amplitude, alpha=alpha,
                seed=flag_values.seed, frame_size=flag_values.frame_size, progress=True)
            name = "animation" if len(parts) == 1 else f"animation_part{part:02d}"
            for path in animation.write_animation(os.path.join(out, name), frames, mp4=flag_values.mp4):
                print(path)
    elif tool == "interpolation":
        frames = animation.interpolation_frames(
            generator, model_config, num_points=flag_values.interpolation_points,
            steps_between=flag_values.interpolation_steps, grid_size=flag_values.grid_size,
            method=flag_values.interpolation, alpha=alpha, seed=flag_values.seed, frame_size=flag_values.frame_size,
            progress=True)
        for path in animation.write_animation(os.path.join(out, "interpolation"), frames, mp4=flag_values.mp4):
            print(path)
    elif tool == "summary":
        factor_options = _factor_options(run, flag_values)
        result = summary.write_feature_summary(
            out, generator, model_config, coordinates, num_samples=flag_values.num_samples or 8,
            amplitude=flag_values.value, alpha=alpha, seed=flag_values.seed, progress=True,
            title=f"Feature summary: {run.config.name}, step {run.step}, phase {run.phase}", **factor_options)
        if factor_options:
            for feature in sorted(result.features, key=lambda f: f.coordinate):
                print(f"C{feature.coordinate} (block {feature.block}): {feature.factor_text or feature.description}")
        print(os.path.join(out, "summary.md"))
    elif tool == "project":
        size = 2 ** run.phase
        if photo_image is not None:
            photo = projection.fit_photo(photo_image, size)
        elif not flag_values.from_latents:
            noise, code = latents(model_config, flag_values.seed + 1000, 0, 1)
            photo = common.generate(generator, noise, code, alpha=alpha)[0]
        edits = edits or projection.default_edits(model_config, coordinates)
        path = os.path.join(out, "photo_edits.png")
        if flag_values.from_latents:
            result, _, _ = projection.write_edits_from_latents(path, flag_values.from_latents, generator, model_config,
                                                               edits, mode=flag_values.edit_mode, alpha=alpha)
            print(f"edited {flag_values.from_latents} (reconstruction MSE {result.mse:.5f}); {path}")
            return
        result, _, _ = projection.write_photo_edits(
            path, generator, run.discriminator, model_config, photo, edits, mode=flag_values.edit_mode, alpha=alpha,
            steps=flag_values.projection_steps, learning_rate=flag_values.learning_rate, loss=flag_values.loss,
            restarts=flag_values.restarts, seed=flag_values.seed, prior_weight=flag_values.prior_weight, progress=True)
        print(f"reconstruction MSE {result.mse:.5f} (start {result.initial_mse:.5f}); {path}; "
              f"latents: {projection.latents_path(path)}")


def _factor_options(run, flag_values: flags.FlagValues) -> dict:
    """feature_summary's factor arguments for --name_factors (empty: no naming)."""
    if flag_values.name_factors == "off":
        return {}
    from progressive_infogan.explore import factors

    settings = factors.TrainingSettings(num_images=flag_values.factor_images)
    try:
        result = factors.factor_predictor_for_run(run, data_dir=flag_values.factor_data_dir, settings=settings)
    except (OSError, ValueError) as error:
        if flag_values.name_factors == "on":
            raise
        print(f"factor naming skipped: {error}")
        result = None
    if result is None:
        if flag_values.name_factors == "on":
            raise app.UsageError("--name_factors=on but the run's data has no ground-truth factors (see above); "
                                 "pass --factor_data_dir or --name_factors=auto")
        return {}
    return {"factor_predictor": result.predictor, "factor_names": result.factor_names,
            "factor_r2": result.r2_per_factor, "factor_scales": result.predictor.factor_scales,
            "min_factor_r2": flag_values.min_factor_r2, "min_correlation": flag_values.min_factor_correlation,
            "min_swing": flag_values.min_factor_swing}


def main(argv: Sequence[str], flag_values: flags.FlagValues = flags.FLAGS) -> None:
    if len(argv) != 2 or argv[1] not in TOOLS:
        raise app.UsageError(f"usage: python -m progressive_infogan.explore.cli <tool> --run_dir=... --out=...; "
                             f"tools: {', '.join(TOOLS)}")
    _run_tool(argv[1], flag_values)


if __name__ == "__main__":
    command_line.run(main, define_flags, takes_arguments=True)
