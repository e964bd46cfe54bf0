"""InfoGAN penalty and code reconstruction error (docs/original_system.md §5.4, §5.5).

Both measure how well D's Q head recovers the code from G's images. For every batch, fresh
z, c ~ N(0, 1) go through G (eval mode: EMA weights, BN moving statistics when the
generator comes from `checkpoints.load_run`) and then D, whose Q gives the Gaussian means
mu (sigma fixed at 1). Per coordinate i:

- InfoGAN penalty = mean over batches of -mean_batch log N(c_i; mu_i, 1)
  = mean_batch 0.5 (c_i - mu_i)^2 + 0.5 ln(2 pi). A positive NLL, lower is better; the
  constant 0.9189 is included and lambda is not applied, as in the original.
- Code reconstruction error = mean over batches of mean_batch |c_i - mu_i|.

With a perfect Q they are 0.9189 and 0; with mu = 0 they are 1.4189 and sqrt(2/pi) = 0.798.

Thesis protocol: 3000 batches at the phase's training batch size (6 at phase 7).
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Optional

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from progressive_infogan import losses
from progressive_infogan.config import ModelConfig, ScheduleConfig
from progressive_infogan.metrics.aggregation import aggregate
from progressive_infogan.latents import latents
from progressive_infogan.metrics.common import batch_size_of

HALF_LOG_2PI = losses.GAUSSIAN_NLL_CONSTANT  # 0.9189385
THESIS_NUM_BATCHES = 3000


def thesis_batch_size(phase: int) -> int:
    """The phase's training batch size of the thesis schedule (128, 128, 64, 32, 16, 6 for phases 2..7)."""
    return ScheduleConfig().batch_size(phase)


def _batch_function(generator: Callable, discriminator: Callable, model_config: ModelConfig, alpha: float,
                    batch_size: int, seed: int):
    @tf.function
    def batch_scores(index):
        noise, code = latents(model_config, seed, index, batch_size)
        images = generator(noise, code, alpha=alpha, training=False)[-1]
        _, mu = discriminator(images, alpha=alpha)
        mu = tf.cast(mu, tf.float32)
        penalty = losses.gaussian_nll_per_coordinate(code, mu)
        error = tf.reduce_mean(tf.abs(code - mu), axis=0)
        return penalty, error

    return batch_scores


def infogan_metrics(generator: Callable, discriminator: Callable, model_config: ModelConfig, phase: int,
                    alpha: float = 1.0, *, batch_size: Optional[int] = None,
                    num_batches: int = THESIS_NUM_BATCHES, seed: int = 0, progress: bool = True) -> Dict[str, float]:
    """InfoGAN penalty and code reconstruction error, per coordinate and aggregated by block.

    Args:
      generator: ``generator(noise, code, alpha=, training=False) -> [image per block]``; the
        last image (NHWC in [-1, 1]) is scored. A `networks.Generator` or any callable.
      discriminator: ``discriminator(images, alpha=) -> (logits [N], mu [N, K])``.
      model_config: gives K, the noise size and the block of each coordinate.
      phase: the model's phase (the blocks 2..phase get an aggregate).
      alpha: the fade weight the model is evaluated at (1 at the end of a phase).
      batch_size: images per batch; default (None) the thesis' training batch of `phase`.
      num_batches: batches of fresh (z, c); the thesis used 3000.
      seed: batch b draws `latents(model_config, seed, b, batch_size)`.
      progress: show a tqdm bar.

    Returns:
      ``{"infogan_penalty/overall", "infogan_penalty/block_<b>", "infogan_penalty/coord_<i>",
      and the same for "code_reconstruction_error"}``; `per_coordinate` turns the coord
      entries back into an array. Empty blocks (and everything, if K = 0) are NaN.
    """
    batch_size = thesis_batch_size(phase) if batch_size is None else int(batch_size)
    code_size = model_config.code_size
    penalty_sum = np.zeros([code_size], np.float64)
    error_sum = np.zeros([code_size], np.float64)
    if code_size and num_batches > 0:
        batch_scores = _batch_function(generator, discriminator, model_config, alpha, batch_size, seed)
        for index in tqdm(range(num_batches), desc="InfoGAN metrics", disable=not progress, unit="batch"):
            penalty, error = batch_scores(tf.constant(index, tf.int64))
            penalty_sum += penalty.numpy()
            error_sum += error.numpy()
        penalty_sum /= num_batches
        error_sum /= num_batches
    else:
        penalty_sum[:] = error_sum[:] = math.nan
    scores = aggregate("infogan_penalty", penalty_sum, model_config, phase)
    scores.update(aggregate("code_reconstruction_error", error_sum, model_config, phase))
    return scores


def per_coordinate(scores: Dict[str, float], metric: str) -> np.ndarray:
    """The "<metric>/coord_<i>" entries of a scores dict as an array indexed by coordinate."""
    prefix = f"{metric}/coord_"
    items = sorted((int(key[len(prefix):]), value) for key, value in scores.items() if key.startswith(prefix))
    return np.array([value for _, value in items], np.float64)


def metric(run, real, settings) -> Dict[str, float]:
    """Registry entry: the thesis protocol's InfoGAN penalty and code reconstruction error."""
    return infogan_metrics(run.generator, run.discriminator, run.config.model, run.phase, run.alpha,
                           batch_size=batch_size_of(run, settings), num_batches=settings.infogan_num_batches,
                           seed=settings.seed, progress=settings.progress)
