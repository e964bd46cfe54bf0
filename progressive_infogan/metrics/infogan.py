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

A code with discrete variables (`ModelConfig.code_variables`) is scored per variable v, each with
its own type's Q (`losses.nll_per_variable`): the penalty is its NLL (a categorical variable's
cross-entropy); the reconstruction error is mean |c - mu| for a continuous variable and the error
rate (1 - accuracy of Q's argmax / logit > 0) for a discrete one. Beside them: "code_accuracy",
"mi_bound" = H(c_v) - NLL_v and its ceiling "mi_bound_ceiling" = H(c_v) (discrete only), each
under ".../variable_<v>" and ".../<distribution>" (the mean over that type's variables). The
per-coordinate and per-block keys stay, with each variable's value on every coordinate it spans.
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
        log_sigma = None
        if model_config.q_learned_sigma:
            _, mu, log_sigma = discriminator.code_distribution(images, alpha=alpha)
        else:
            _, mu = discriminator(images, alpha=alpha)
        mu = tf.cast(mu, tf.float32)
        if layout.all_normal and log_sigma is None:
            penalty = losses.gaussian_nll_per_coordinate(code, mu)
            error = tf.reduce_mean(tf.abs(code - mu), axis=0)
            return penalty, error, tf.zeros_like(error)
        return losses.nll_per_variable(layout, code, mu, log_sigma), *_errors_and_accuracies(layout, code, mu)

    layout = model_config.code_layout
    return batch_scores


def _errors_and_accuracies(layout, code, q):
    """Per variable: reconstruction error (mean |c - mu|, or the error rate of a discrete one) and
    accuracy (0 for continuous ones): two [V] tensors."""
    errors, accuracies = [], []
    for variable in layout.variables:
        start, stop = variable.coordinates.start, variable.coordinates.stop
        c, predicted = code[:, start:stop], q[:, start:stop]
        if variable.distribution == "categorical":
            right = tf.cast(tf.equal(tf.argmax(c, -1), tf.argmax(predicted, -1)), tf.float32)
        elif variable.distribution == "bernoulli":
            right = tf.cast(tf.equal(c[:, 0] > 0.5, predicted[:, 0] > 0.0), tf.float32)
        else:
            errors.append(tf.reduce_mean(tf.abs(c[:, 0] - predicted[:, 0])))
            accuracies.append(tf.constant(0.0))
            continue
        accuracy = tf.reduce_mean(right)
        errors.append(1.0 - accuracy)
        accuracies.append(accuracy)
    return tf.stack(errors), tf.stack(accuracies)


def _typed_scores(layout, penalty: np.ndarray, error: np.ndarray, accuracy: np.ndarray) -> Dict[str, float]:
    """The per-variable and per-type keys of a code with discrete variables."""
    per_variable = {"infogan_penalty": penalty, "code_reconstruction_error": error,
                    "mi_bound": np.array([v.entropy for v in layout.variables]) - penalty}
    scores: Dict[str, float] = {}
    for distribution in dict.fromkeys(v.distribution for v in layout.variables):
        members = [v for v in layout.variables if v.distribution == distribution]
        indices = [v.index for v in members]
        for metric_name, values in per_variable.items():
            scores[f"{metric_name}/{distribution}"] = float(np.mean(values[indices]))
        if members[0].discrete:
            scores[f"code_accuracy/{distribution}"] = float(np.mean(accuracy[indices]))
            scores[f"mi_bound_ceiling/{distribution}"] = float(np.mean([v.entropy for v in members]))
    for variable in layout.variables:
        name = f"variable_{variable.index:02d}"
        for metric_name, values in per_variable.items():
            scores[f"{metric_name}/{name}"] = float(values[variable.index])
        if variable.discrete:
            scores[f"code_accuracy/{name}"] = float(accuracy[variable.index])
            scores[f"mi_bound_ceiling/{name}"] = variable.entropy
    return scores


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
    layout = model_config.code_layout
    count = len(layout.variables)  # = the code size for the thesis's code
    penalty_sum, error_sum, accuracy_sum = (np.zeros([count], np.float64) for _ in range(3))
    if count and num_batches > 0:
        batch_scores = _batch_function(generator, discriminator, model_config, alpha, batch_size, seed)
        for index in tqdm(range(num_batches), desc="InfoGAN metrics", disable=not progress, unit="batch"):
            penalty, error, accuracy = batch_scores(tf.constant(index, tf.int64))
            penalty_sum += penalty.numpy()
            error_sum += error.numpy()
            accuracy_sum += accuracy.numpy()
        penalty_sum /= num_batches
        error_sum /= num_batches
        accuracy_sum /= num_batches
    else:
        penalty_sum[:] = error_sum[:] = accuracy_sum[:] = math.nan
    # Each variable's value on every coordinate it spans (the identity for the thesis's code).
    spread = np.array([v.index for v in layout.variables for _ in v.coordinates], np.int64)
    scores = aggregate("infogan_penalty", penalty_sum[spread], model_config, phase)
    scores.update(aggregate("code_reconstruction_error", error_sum[spread], model_config, phase))
    if not layout.all_normal or model_config.q_learned_sigma:
        scores.update(_typed_scores(layout, penalty_sum, error_sum, accuracy_sum))
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
