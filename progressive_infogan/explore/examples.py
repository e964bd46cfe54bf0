"""One example of every exploration figure for a run directory (for the README)."""

from __future__ import annotations

import json
import os
from typing import Dict, Optional

from progressive_infogan import checkpoints
from progressive_infogan.explore import animation, averaging, blocks, common, projection, summary, traversal
from progressive_infogan.latents import latents


def _top_per_block(features, count: int):
    chosen: Dict[int, list] = {}
    for feature in features:  # ranked, largest change first
        if feature.kind != "none" and len(chosen.setdefault(feature.block, [])) < count:
            chosen[feature.block].append(feature.coordinate)
    return [c for block in sorted(chosen) for c in chosen[block]]


def write_examples(run_dir: str, out_dir: str, step: Optional[int] = None, photo_path: Optional[str] = None,
                   seed: int = 0, summary_samples: int = 8, averaging_samples: int = 30, projection_steps: int = 300,
                   coord_resolution: int = 32, interpolation_points: int = 4, interpolation_steps: int = 24,
                   mp4: bool = True, progress: bool = True) -> Dict[str, list]:
    """Write the feature summary, traversals, sample averaging, block outputs, a coordinate
    animation, an interpolation animation and a photo edit into `out_dir`; the paths, by figure.

    Without `photo_path`, the 'photo' is an image the model generated itself (seed + 1000),
    which shows the projection's accuracy rather than how well real photos fit."""
    photo_image = projection.read_photo(photo_path) if photo_path else None  # fails before the model loads
    run = checkpoints.load_run(run_dir, step=step)
    generator, model_config, alpha = run.generator, run.config.model, run.alpha
    os.makedirs(out_dir, exist_ok=True)
    written: Dict[str, list] = {}
    coordinates = common.select_coordinates(model_config, "effective", run.phase)

    feature_summary = summary.write_feature_summary(
        os.path.join(out_dir, "summary"), generator, model_config, coordinates, num_samples=summary_samples,
        alpha=alpha, seed=seed, progress=progress,
        title=f"Feature summary: {run.config.name}, step {run.step}, phase {run.phase}")
    written["summary"] = [os.path.join(out_dir, "summary", name) for name in ("summary.md", "contact_sheet.png")]
    strongest = [f.coordinate for f in feature_summary.features if f.kind != "none"] or coordinates[:1]

    path = os.path.join(out_dir, "traversal.png")
    traversal.write_traversal(path, generator, model_config, _top_per_block(feature_summary.features, 2) or strongest[:2],
                              alpha=alpha, seed=seed, progress=progress)
    written["traversal"] = [path]

    path = os.path.join(out_dir, f"sample_averaging_C{strongest[0]}.png")
    averaging.write_sample_average(path, generator, model_config, strongest[0], num_samples=averaging_samples,
                                   alpha=alpha, seed=seed)
    written["sample_averaging"] = [path]

    path = os.path.join(out_dir, "block_outputs.png")
    blocks.write_block_outputs(path, generator, model_config, alpha=alpha, seed=seed)
    written["block_outputs"] = [path]

    frames, _ = animation.coordinate_animation_frames(generator, model_config, strongest[:3], grid_size=2,
                                                      coord_resolution=coord_resolution, alpha=alpha, seed=seed,
                                                      progress=progress)
    written["animation"] = animation.write_animation(os.path.join(out_dir, "animation"), frames, mp4=mp4)
    frames = animation.interpolation_frames(generator, model_config, num_points=interpolation_points,
                                            steps_between=interpolation_steps, alpha=alpha, seed=seed,
                                            progress=progress)
    written["interpolation"] = animation.write_animation(os.path.join(out_dir, "interpolation"), frames, mp4=mp4)

    size = 2 ** run.phase
    if photo_image is not None:
        photo = projection.fit_photo(photo_image, size)
    else:
        noise, code = latents(model_config, seed + 1000, 0, 1)
        photo = common.generate(generator, noise, code, alpha=alpha)[0]
    edits = projection.default_edits(model_config, strongest)
    path = os.path.join(out_dir, "photo_edits.png")
    result, _, _ = projection.write_photo_edits(path, generator, run.discriminator, model_config, photo, edits,
                                                alpha=alpha, steps=projection_steps, learning_rate=0.05,
                                                progress=progress)
    with open(os.path.join(out_dir, "photo_edits.json"), "w") as handle:
        json.dump({"photo": photo_path or f"generated (seed {seed + 1000})", "mse": result.mse,
                   "initial_mse": result.initial_mse, "steps": projection_steps,
                   "edits": [{str(k): v for k, v in e.items()} for e in edits]}, handle, indent=2)
    written["photo_edits"] = [path, os.path.join(out_dir, "photo_edits.json")]
    return written
