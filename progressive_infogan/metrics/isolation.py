"""MS-SSIM and MSE feature isolation (docs/original_system.md §5.6).

How little the rest of the image changes when one code coordinate moves. For coordinate i,
ceil(num_images / batch) batches of (z, c) ~ N(0, 1) are drawn; the "mid" images have
c_i = 0 and the shifted images c_i = k for k in {-3, -2, -1, 1, 2, 3} (k * sigma with the
code's sigma = 1), everything else identical. Per shifted image:

- MS-SSIM isolation: MS-SSIM(up(image_k) + 1, up(image_mid) + 1, max_val=2), `up` = nearest
  (pixel duplication) upscale to 256x256, TF's defaults otherwise. Higher = more isolated.
- MSE isolation: -mean_{H,W,C} (image_k - image_mid)^2 at native resolution. Closer to 0 =
  more isolated.

Per coordinate, the mean over all 6 * batch * reps values (phase 7: 792); then aggregated
by block like the other per-coordinate metrics.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from progressive_infogan.config import ModelConfig
from progressive_infogan.metrics.aggregation import aggregate
from progressive_infogan.latents import latents
from progressive_infogan.metrics.common import batch_size_of
from progressive_infogan.metrics.infogan import thesis_batch_size
from progressive_infogan.metrics.ms_ssim import nearest_upscale

THESIS_NUM_IMAGES = 128
THESIS_K_VALUES = (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)
MSSSIM_RESOLUTION = 256


def _rep_function(generator: Callable, model_config: ModelConfig, alpha: float, batch_size: int,
                  k_values: Sequence[float], seed: int, msssim_resolution: int):
    code_size = model_config.code_size
    # The mid value 0 first, then every k: one generator call for the 1 + len(k) variants.
    values = tf.constant([0.0] + [float(k) for k in k_values], tf.float32)
    variants = len(k_values) + 1

    @tf.function
    def rep_scores(index, coordinate):
        noise, code = latents(model_config, seed, index, batch_size)
        one_hot = tf.one_hot(coordinate, code_size, dtype=tf.float32)
        # [variants, batch, K]: c with c_i replaced by the variant's value.
        codes = code[None] * (1.0 - one_hot) + values[:, None, None] * one_hot
        images = generator(tf.tile(noise, [variants, 1]), tf.reshape(codes, [variants * batch_size, code_size]),
                           alpha=alpha, training=False)[-1]
        images = tf.cast(images, tf.float32)
        images = tf.reshape(images, [variants, batch_size] + images.shape[1:].as_list())
        mid = tf.tile(images[:1], [variants - 1, 1, 1, 1, 1])
        shifted = images[1:]
        flat_shape = [(variants - 1) * batch_size] + images.shape[2:].as_list()
        mid, shifted = tf.reshape(mid, flat_shape), tf.reshape(shifted, flat_shape)
        mse = -tf.reduce_mean(tf.square(shifted - mid), axis=[1, 2, 3])
        msssim = tf.image.ssim_multiscale(nearest_upscale(shifted, msssim_resolution) + 1.0,
                                          nearest_upscale(mid, msssim_resolution) + 1.0, max_val=2.0)
        # An image compared with itself has MS-SSIM 1 by definition; TF's float32 arithmetic
        # gives 1 +- 3e-6, which would blur "coordinate ignored" into "nearly ignored".
        identical = tf.reduce_all(tf.equal(shifted, mid), axis=[1, 2, 3])
        msssim = tf.where(identical, tf.ones_like(msssim), msssim)
        return msssim, mse

    return rep_scores


def isolation_per_coordinate(generator: Callable, model_config: ModelConfig, alpha: float = 1.0, *,
                             batch_size: int, reps: int, coordinates: Optional[Sequence[int]] = None,
                             k_values: Sequence[float] = THESIS_K_VALUES, seed: int = 0,
                             msssim_resolution: int = MSSSIM_RESOLUTION,
                             progress: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """(MS-SSIM isolation, MSE isolation) of each coordinate in `coordinates` (default: all K).

    Coordinate i, rep r draws its (z, c) batch as `latents(model_config, seed, i * reps + r, batch_size)`.
    """
    coordinates = list(range(model_config.code_size)) if coordinates is None else list(coordinates)
    msssim = np.full([len(coordinates)], math.nan)
    mse = np.full([len(coordinates)], math.nan)
    if not coordinates or reps <= 0:
        return msssim, mse
    rep_scores = _rep_function(generator, model_config, alpha, batch_size, k_values, seed, msssim_resolution)
    bar = tqdm(total=len(coordinates) * reps, desc="Isolation", disable=not progress, unit="batch")
    for position, coordinate in enumerate(coordinates):
        msssim_values, mse_values = [], []
        for rep in range(reps):
            scores = rep_scores(tf.constant(coordinate * reps + rep, tf.int64), tf.constant(coordinate, tf.int32))
            msssim_values.append(scores[0].numpy())
            mse_values.append(scores[1].numpy())
            bar.update()
        msssim[position] = np.mean(np.concatenate(msssim_values).astype(np.float64))
        mse[position] = np.mean(np.concatenate(mse_values).astype(np.float64))
    bar.close()
    return msssim, mse


def isolation_metrics(generator: Callable, model_config: ModelConfig, phase: int, alpha: float = 1.0, *,
                      batch_size: Optional[int] = None, num_images: int = THESIS_NUM_IMAGES,
                      k_values: Sequence[float] = THESIS_K_VALUES, seed: int = 0,
                      msssim_resolution: int = MSSSIM_RESOLUTION, progress: bool = True) -> Dict[str, float]:
    """MS-SSIM and MSE isolation of every coordinate, aggregated by block.

    Args:
      generator: ``generator(noise, code, alpha=, training=False) -> [image per block]``; the
        last image (NHWC in [-1, 1]) is scored. Evaluate with BN moving statistics
        (`training=False`), so a coordinate's variants may share one batch.
      model_config: gives K, the noise size and the block of each coordinate.
      phase: the model's phase (the blocks 2..phase get an aggregate).
      alpha: the fade weight the model is evaluated at.
      batch_size: default (None) the thesis' training batch of `phase`.
      num_images: base samples per coordinate, rounded up to whole batches:
        reps = ceil(num_images / batch_size). The thesis used 128.
      k_values: the values c_i takes besides the mid value 0 (thesis: +-1, +-2, +-3 sigma, sigma = 1).
      seed: base of the stateless sampling seeds.
      msssim_resolution: the nearest-neighbour upscale before MS-SSIM (thesis: 256).
      progress: show a tqdm bar.

    Returns:
      ``{"msssim_isolation/overall", ".../block_<b>", ".../coord_<i>", and the same for
      "mse_isolation"}``; empty blocks are NaN.
    """
    batch_size = thesis_batch_size(phase) if batch_size is None else int(batch_size)
    reps = math.ceil(num_images / batch_size)
    msssim, mse = isolation_per_coordinate(generator, model_config, alpha, batch_size=batch_size, reps=reps,
                                           k_values=k_values, seed=seed, msssim_resolution=msssim_resolution,
                                           progress=progress)
    scores = aggregate("msssim_isolation", msssim, model_config, phase)
    scores.update(aggregate("mse_isolation", mse, model_config, phase))
    return scores


def metric(run, real, settings) -> Dict[str, float]:
    """Registry entry: MS-SSIM and MSE isolation on the thesis protocol."""
    return isolation_metrics(run.generator, run.config.model, run.phase, run.alpha,
                             batch_size=batch_size_of(run, settings), num_images=settings.isolation_num_images,
                             seed=settings.seed, progress=settings.progress)
