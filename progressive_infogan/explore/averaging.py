"""Sample averaging (thesis Fig. 10; docs/original_system.md §5.9, NBU `avg_change`).

N random samples with one coordinate fixed at -value and at +value; the pixel-wise mean of
each set shows the coordinate's primary feature, because features it does not control
systematically average out. The change-intensity map is the per-sample |right - left|,
Gaussian-blurred (sigma 1 per channel), averaged over samples, L2 over channels. The masked
views show the +value mean image where the change exceeds a percentile, flat 0.8 elsewhere.

A discrete variable is set to each of its values instead (`latents.traversal_values`): a
Bernoulli's 0 and 1, a categorical variable's K categories (a mean image and a row of samples
per category); its change map is over every pair of its values (`value_pairs`) and the masked
views show its last value's mean.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from progressive_infogan import figures
from progressive_infogan import latents as latent_inputs
from progressive_infogan.config import ModelConfig
from progressive_infogan.explore import common, traversal
from progressive_infogan.latents import latents

PERCENTILES = (99.5, 99.0, 98.0, 95.0, 90.0, 80.0)
# The masked views' background, as a display intensity in [0, 1] (light grey).
FLAT_VALUE = 0.8


@dataclasses.dataclass
class SampleAverage:
    coordinate: int
    value: float
    left_mean: np.ndarray  # float [H, W, 3] in [-1, 1]: mean with the coordinate at -value
    right_mean: np.ndarray  # ... at +value
    mid_mean: np.ndarray  # ... unmodified samples
    change_map: np.ndarray  # float [H, W] >= 0
    masked: Dict[float, np.ndarray]  # percentile -> float [H, W, 3] in [-1, 1]
    figure: np.ndarray  # uint8
    values: Sequence[float] = ()  # what the coordinate was set to: -value, +value or a discrete variable's values
    means: Optional[np.ndarray] = None  # float [values, H, W, 3]: the mean at each (left_mean, ..., right_mean)


def change_intensity(left: np.ndarray, right: np.ndarray, blur_sigma: float = 1.0) -> np.ndarray:
    """[N, H, W, 3] pairs -> [H, W]: mean over samples of blur(|right - left|), L2 over channels."""
    difference = np.abs(np.asarray(right, np.float64) - np.asarray(left, np.float64))
    if blur_sigma > 0:
        difference = ndimage.gaussian_filter(difference, sigma=(0, blur_sigma, blur_sigma, 0))
    return np.sqrt(np.sum(np.mean(difference, axis=0) ** 2, axis=-1)).astype(np.float32)


def value_pairs(images: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(first, second) [N * P, H, W, 3]: the images of a traversal [N, V, H, W, 3] at every pair of its values.

    Two values (a continuous coordinate at -k and +k, a Bernoulli's 0 and 1) are one pair, the
    images as they are; a categorical variable's K categories have no order, so its change is
    that between any two of them: all K (K - 1) / 2 pairs."""
    pairs = list(itertools.combinations(range(images.shape[1]), 2))
    if len(pairs) == 1:
        return images[:, 0], images[:, 1]
    return np.concatenate([images[:, i] for i, _ in pairs]), np.concatenate([images[:, j] for _, j in pairs])


def masked_view(image: np.ndarray, change_map: np.ndarray, percentile: float,
                flat_value: float = FLAT_VALUE) -> np.ndarray:
    """`image` where the change exceeds its `percentile`, flat grey elsewhere (nothing where it is 0)."""
    threshold = np.percentile(change_map, percentile)
    keep = (change_map > threshold)[..., None]
    return np.where(keep, image, np.float32(2.0 * flat_value - 1.0)).astype(np.float32)


def heatmap(change_map: np.ndarray, maximum: float = None) -> np.ndarray:
    """[H, W] >= 0 -> float [H, W, 3] in [-1, 1], black (none) to white (the largest change)."""
    maximum = float(np.max(change_map)) if maximum is None else maximum
    scaled = change_map / maximum if maximum > 0 else np.zeros_like(change_map)
    return np.repeat(scaled[..., None] * 2.0 - 1.0, 3, axis=-1).astype(np.float32)


def sample_average(generator, model_config: ModelConfig, coordinate: int, num_samples: int = 30,
                   value: float = 2.5, alpha: float = 1.0, seed: int = 0, blur_sigma: float = 1.0,
                   percentiles: Sequence[float] = PERCENTILES,
                   min_display_size: int = figures.MIN_DISPLAY_SIZE) -> SampleAverage:
    noise, code = map(np.asarray, latents(model_config, seed, 0, num_samples))
    discrete = model_config.code_layout.variable_of(coordinate).discrete
    values = list(latent_inputs.traversal_values(model_config, coordinate)) if discrete else [-value, value]
    swept_noise, swept_code = latent_inputs.with_variable_values(model_config, noise, code, coordinate, values)
    images = common.generate(generator, swept_noise, swept_code, alpha=alpha)
    images = images.reshape((num_samples, len(values)) + images.shape[1:])
    means = np.stack([images[:, index].mean(axis=0) for index in range(len(values))])
    mid = common.generate(generator, noise, code, alpha=alpha)
    change_map = change_intensity(*value_pairs(images), blur_sigma)
    result = SampleAverage(
        coordinate=coordinate, value=value, left_mean=means[0], right_mean=means[-1],
        mid_mean=mid.mean(axis=0), change_map=change_map,
        masked={p: masked_view(means[-1], change_map, p) for p in percentiles}, figure=None, values=values,
        means=means)
    result.figure = sample_average_figure(model_config, result, images[:5].swapaxes(0, 1), min_display_size)
    return result


def sample_average_figure(model_config: ModelConfig, result: SampleAverage, samples: np.ndarray,
                          min_display_size: int = figures.MIN_DISPLAY_SIZE) -> np.ndarray:
    """Top: the mean at each value (left, right), change map, masked views. Below: a few samples
    ([values, n, H, W, 3]) at each value."""
    size = result.change_map.shape[0]
    scale = figures.display_scale(size, min_display_size)

    def panel(image, text):
        return figures.caption(figures.upscale(figures.to_uint8(image), scale), text)

    texts = [traversal.value_text(model_config, result.coordinate, value) for value in result.values]
    top = [panel(mean, f"mean, {text}") for mean, text in zip(result.means, texts)]
    top += [panel(heatmap(result.change_map), f"change (max {result.change_map.max():.3f})")]
    top += [panel(image, f">p{percentile:g}") for percentile, image in result.masked.items()]
    rows = [figures.stack_horizontally(top, padding=4)]
    for value_samples, text in zip(samples, texts):
        grid = figures.image_grid(figures.upscale(figures.to_uint8(value_samples[None]), scale))
        rows.append(figures.caption(grid, f"samples, {text}"))
    caption = traversal.variable_caption(model_config, result.coordinate)
    return figures.caption(figures.stack_vertically(rows), f"Sample averaging: {caption}")


def write_sample_average(path: str, generator, model_config: ModelConfig, coordinate: int, **options) -> SampleAverage:
    result = sample_average(generator, model_config, coordinate, **options)
    figures.write_png(path, result.figure)
    return result
