"""Traversal grids: one coordinate swept over [-amplitude, amplitude], everything else fixed.

Rows are different (noise, code) samples; columns set the coordinate to linspace(-3, 3, steps).
One panel per coordinate, captioned with its id and block (thesis Figs. 8-19). A discrete variable's
columns step through its values instead (`latents.traversal_values`): a categorical(K) variable's
K categories, one-hot in its K coordinates (one panel for the variable), a Bernoulli's 0 and 1.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Sequence

import numpy as np
from tqdm import tqdm

from progressive_infogan import figures
from progressive_infogan import latents as latent_inputs
from progressive_infogan.config import ModelConfig
from progressive_infogan.errors import UserError
from progressive_infogan.explore import common
from progressive_infogan.latents import latents, with_coordinate_values


@dataclasses.dataclass
class Traversal:
    coordinates: List[int]
    values: np.ndarray  # [steps]
    images: np.ndarray  # float [coordinates, samples, steps, H, W, 3] in [-1, 1]
    figure: np.ndarray  # uint8 [H', W', 3]


def traversal_values(steps: int = 7, amplitude: float = 3.0) -> np.ndarray:
    return np.linspace(-amplitude, amplitude, steps).astype(np.float32)


def coordinate_traversal(generator, noise: np.ndarray, code: np.ndarray, coordinate: int,
                         values: Sequence[float], alpha: float = 1.0, batch_size: int = 64,
                         model_config: ModelConfig = None) -> np.ndarray:
    """float [samples, len(values), H, W, 3]: each sample with `coordinate` set to each value
    (with `model_config`, its variable: a categorical one's values are categories)."""
    if model_config is None:
        swept_noise, swept_code = with_coordinate_values(noise, code, coordinate, values)
    else:
        swept_noise, swept_code = latent_inputs.with_variable_values(model_config, noise, code, coordinate, values)
    images = common.generate(generator, swept_noise, swept_code, alpha=alpha, batch_size=batch_size)
    return images.reshape((len(noise), len(values)) + images.shape[1:])


def traversal_panel(model_config: ModelConfig, coordinate: int, images: np.ndarray, values: Sequence[float],
                    scale: int) -> np.ndarray:
    """uint8 panel of one coordinate's traversal, captioned 'C<id> (block b)' and the values."""
    grid = figures.image_grid(figures.upscale(figures.to_uint8(images), scale))
    text = f"{variable_caption(model_config, coordinate)}: " + " ".join(
        value_text(model_config, coordinate, value) for value in values)
    return figures.caption(grid, text)


def variable_kind(model_config: ModelConfig, coordinate: int) -> str:
    """'categorical K' or 'bernoulli' for a discrete variable, '' for a continuous one."""
    variable = model_config.code_layout.variable_of(coordinate)
    if not variable.discrete:
        return ""
    return f"categorical {variable.categories}" if variable.distribution == "categorical" else "bernoulli"


def variable_caption(model_config: ModelConfig, coordinate: int) -> str:
    """How the figures name a coordinate's variable: 'C<id> (block b)', with its kind when discrete."""
    return caption_text(coordinate, common.coordinate_block(model_config, coordinate),
                        variable_kind(model_config, coordinate))


def caption_text(coordinate: int, block: int, kind: str = "") -> str:
    return f"C{coordinate} (block {block}, {kind})" if kind else f"C{coordinate} (block {block})"


def value_text(model_config: ModelConfig, coordinate: int, value: float) -> str:
    """A value as the figures print it: '+1.5' for a continuous variable, the category (or 0 / 1) for a discrete one."""
    return str(int(value)) if model_config.code_layout.variable_of(coordinate).discrete else f"{value:+.1f}"


def traversed_coordinates(model_config: ModelConfig, coordinates: Sequence[int]) -> List[int]:
    """`coordinates` with each categorical variable's coordinates reduced to its first: one panel
    steps through all its categories."""
    layout = model_config.code_layout
    chosen = []
    for coordinate in coordinates:
        first = layout.variable_of(coordinate).coordinates.start
        coordinate = first if layout.variable_of(coordinate).distribution == "categorical" else coordinate
        if coordinate not in chosen:
            chosen.append(coordinate)
    return chosen


def traversal(generator, model_config: ModelConfig, coordinates: Sequence[int], num_samples: int = 4,
              steps: int = 7, amplitude: float = 3.0, alpha: float = 1.0, seed: int = 0,
              min_display_size: int = figures.MIN_DISPLAY_SIZE, progress: bool = False) -> Traversal:
    """Traversal grids of `coordinates` for the same `num_samples` samples (seeded). Every chosen
    variable must have the same number of values (a categorical variable's is K); `write_traversal`
    takes any mix."""
    noise, code = map(np.asarray, latents(model_config, seed, 0, num_samples))
    coordinates = traversed_coordinates(model_config, coordinates)
    swept = {coordinate: latent_inputs.traversal_values(model_config, coordinate, steps, amplitude)
             for coordinate in coordinates}
    counts = {coordinate: len(values) for coordinate, values in swept.items()}
    if len(set(counts.values())) > 1:
        raise UserError(f"a traversal's coordinates must take the same number of values, got {counts} "
                        "(a categorical variable takes its K categories); write_traversal groups them")
    values = next(iter(swept.values())) if swept else traversal_values(steps, amplitude)
    all_images, panels = [], []
    for coordinate in tqdm(coordinates, desc="traversal", disable=not progress):
        values = swept[coordinate]
        images = coordinate_traversal(generator, noise, code, coordinate, values, alpha, model_config=model_config)
        scale = figures.display_scale(images.shape[-2], min_display_size)
        all_images.append(images)
        panels.append(traversal_panel(model_config, coordinate, images, values, scale))
    return Traversal(coordinates=list(coordinates), values=values, images=np.stack(all_images),
                     figure=figures.stack_vertically(panels))


def write_traversal(path: str, generator, model_config: ModelConfig, coordinates: Sequence[int],
                    **options) -> List[Traversal]:
    """`traversal(...)` written as one PNG at `path`, for variables of any kinds: those taking
    different numbers of values (a categorical variable's K categories beside a continuous one's
    `steps`) are traversed in one group per kind, for the same samples, and the groups' panels
    stacked. Returns the groups' traversals, in order of their first coordinate in `coordinates`."""
    layout = model_config.code_layout
    groups: Dict[int, List[int]] = {}
    for coordinate in traversed_coordinates(model_config, coordinates):
        groups.setdefault(layout.variable_of(coordinate).categories, []).append(coordinate)
    results = [traversal(generator, model_config, group, **options) for group in groups.values()]
    figures.write_png(path, figures.stack_vertically([result.figure for result in results]))
    return results
