"""Losses of the original system (docs/original_system.md §3), written here
because tensorflow-gan cannot run on TF >= 2.16 (docs/design.md §1).

`ProgressiveInfoGANLoss` composes them into the two players' losses of a training step;
the step only calls it. Every function reduces by the mean over the batch it is given.
Under a distribution strategy each replica divides by the number of replicas
(`trainer.py`), so that the summed gradients equal those of one replica on the global batch.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, Sequence

import tensorflow as tf

from progressive_infogan import layers
from progressive_infogan.config import ExperimentConfig

# 0.5 * ln(2 * pi): the Gaussian NLL's constant, included as tf-gan's penalty included it.
GAUSSIAN_NLL_CONSTANT = 0.5 * math.log(2.0 * math.pi)


def _sigmoid_cross_entropy(logits, target):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), target),
                                                                  logits=logits))


def generator_loss(fake_logits):
    """tf-gan's modified generator loss: mean CE(D(G(z)), 1)."""
    return _sigmoid_cross_entropy(fake_logits, 1.0)


def discriminator_loss(real_logits, fake_logits, label_smoothing: float = 0.25):
    """tf-gan's modified discriminator loss with one-sided label smoothing.

    The real target is 1 * (1 - s) + 0.5 * s (0.875 for s = 0.25); fakes are not smoothed.
    """
    real_target = 1.0 - 0.5 * label_smoothing
    return _sigmoid_cross_entropy(real_logits, real_target) + _sigmoid_cross_entropy(fake_logits, 0.0)


def gaussian_nll_per_coordinate(code, mu):
    """-mean_batch log N(c_i; mu_i, 1) for every coordinate i: [K]."""
    return tf.reduce_mean(0.5 * tf.square(code - mu), axis=0) + GAUSSIAN_NLL_CONSTANT


# Learned log sigma is clipped to [-LOG_SIGMA_LIMIT, LOG_SIGMA_LIMIT]: a Q that grows certain on
# a code G ignores would otherwise drive the NLL (and the penalty) to -inf.
LOG_SIGMA_LIMIT = 5.0


def gaussian_nll_learned_sigma_per_coordinate(code, mu, log_sigma):
    """-mean_batch log N(c_i; mu_i, sigma_i^2) with Q's log sigma_i (clipped): [K]."""
    log_sigma = tf.clip_by_value(log_sigma, -LOG_SIGMA_LIMIT, LOG_SIGMA_LIMIT)
    return (tf.reduce_mean(0.5 * tf.square((code - mu) * tf.exp(-log_sigma)) + log_sigma, axis=0)
            + GAUSSIAN_NLL_CONSTANT)


def categorical_nll(one_hot, logits):
    """-mean_batch log softmax(logits)[c] of one categorical variable (c one-hot [N, K]): a scalar."""
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=one_hot, logits=logits))


def bernoulli_nll_per_coordinate(bits, logits):
    """-mean_batch log Bernoulli(b_i; sigmoid(logit_i)) for every 0/1 coordinate i: [k]."""
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=bits, logits=logits), axis=0)


def _segments(layout):
    """Runs of consecutive variables that one op scores: a categorical variable alone, else the
    longest run of one distribution. (distribution, coordinate start, stop)."""
    runs = []
    for variable in layout.variables:
        start, stop = variable.coordinates.start, variable.coordinates.stop
        if runs and variable.distribution != "categorical" and runs[-1][0] == variable.distribution:
            runs[-1] = (variable.distribution, runs[-1][1], stop)
        else:
            runs.append((variable.distribution, start, stop))
    return runs


def nll_per_variable(layout, code, q, log_sigma=None):
    """-mean_batch log Q(c_v | x) of every code variable v of `layout` (code_layout.py): [V].

    `q` is Q's output, one number per coordinate: a Gaussian mean (sigma 1) for a normal or
    uniform variable (InfoGAN's Q for both), a categorical variable's softmax logits, a Bernoulli
    one's sigmoid logit. For the thesis's code (all N(0, 1)) this is `gaussian_nll_per_coordinate`.
    `log_sigma` [N, K] (`ModelConfig.q_learned_sigma`) replaces the continuous variables' sigma = 1.
    """
    if layout.all_normal and log_sigma is None:
        return gaussian_nll_per_coordinate(code, q)
    parts = []
    for distribution, start, stop in _segments(layout):
        c, predicted = code[:, start:stop], q[:, start:stop]
        if distribution == "categorical":
            parts.append(categorical_nll(c, predicted)[None])
        elif distribution == "bernoulli":
            parts.append(bernoulli_nll_per_coordinate(c, predicted))
        elif log_sigma is not None:
            parts.append(gaussian_nll_learned_sigma_per_coordinate(c, predicted, log_sigma[:, start:stop]))
        else:
            parts.append(gaussian_nll_per_coordinate(c, predicted))
    return tf.concat(parts, axis=0) if parts else tf.zeros([0], code.dtype)


def typed_mutual_information_penalty(layout, nll, active, weight: float = 10.0, discrete_weight=None):
    """sum_v lambda_v * active_v * NLL_v / (number of active variables): the MI penalty of a code
    with discrete variables. lambda_v is `discrete_weight` for categorical and Bernoulli variables
    (InfoGAN: 1) and `weight` for continuous ones; `nll` is `nll_per_variable`, `active` the 0/1
    coordinates of `mutual_information_penalty` (a variable's first coordinate decides for it).

    A categorical variable counts once, as a coordinate of the thesis's code does, so for an
    all-continuous code this is `mutual_information_penalty`."""
    discrete_weight = weight if discrete_weight is None else discrete_weight
    weights = tf.constant([discrete_weight if v.discrete else weight for v in layout.variables], nll.dtype)
    active = tf.gather(tf.cast(active, nll.dtype), list(layout.first_coordinates()))
    return tf.reduce_sum(weights * active * nll) / tf.maximum(tf.reduce_sum(active), 1.0)


def bound_summaries(layout, nll) -> Dict[str, tf.Tensor]:
    """InfoGAN's lower bound on I(c_v; G(z, c)), H(c_v) - NLL_v, of every variable, beside its
    ceiling H(c_v) for discrete ones (ln K categorical, ln 2 fair Bernoulli; a continuous
    variable's differential entropy bounds nothing): "mi_bound/variable_<v>_<distribution>",
    "mi_bound/ceiling_<v>_<distribution>"."""
    scalars = {}
    for variable in layout.variables:
        name = f"{variable.index:02d}_{variable.distribution}"
        scalars[f"mi_bound/variable_{name}"] = variable.entropy - nll[variable.index]
        if variable.discrete:
            scalars[f"mi_bound/ceiling_{name}"] = tf.constant(variable.entropy, nll.dtype)
    return scalars


def mutual_information_penalty(code, mu, active, weight: float = 10.0):
    """weight * mean over the active coordinates of their Gaussian NLL (sigma = 1).

    `active` is a 0/1 vector over the K coordinates (schedule.mi_active_coordinates):
    every coordinate for most variants, including those whose Q head does not exist yet
    (mu = 0; they add a constant but count in the denominator).
    """
    nll = gaussian_nll_per_coordinate(code, mu)
    active = tf.cast(active, nll.dtype)
    return weight * tf.reduce_sum(active * nll) / tf.maximum(tf.reduce_sum(active), 1.0)


def consistency_terms(block_images: Sequence[tf.Tensor]) -> Dict[int, tf.Tensor]:
    """Block -> MSE between block d's combined image and block d-1's, both pooled to 2^(d-1).

    `block_images` are the combined images of blocks 2..p at full resolution (G's output
    list). Pooling the nearest-upsampled image of block d-1 back to its own resolution
    recovers it exactly, so term_d = MSE(avgpool2(rgb_comb_d), rgb_comb_{d-1}) at 2^(d-1).
    For d = p, rgb_comb_p = (1-a) up(rgb_{p-1}) + a rgb_p, so the term scales with a^2.
    No stop-gradient: both blocks are pulled together.
    """
    phase = len(block_images) + 1
    terms = {}
    for block in range(3, phase + 1):
        factor = 2 ** (phase - block + 1)
        current = layers.downscale2d(block_images[block - 2], factor)
        previous = layers.downscale2d(block_images[block - 3], factor)
        terms[block] = tf.reduce_mean(tf.square(current - previous))
    return terms


@dataclasses.dataclass(frozen=True)
class StepLosses:
    """One step's losses: what each player minimises, and the terms they are made of."""

    generator: tf.Tensor
    discriminator: tf.Tensor
    # Scalars under their summary names: "loss/generator", "loss/discriminator",
    # "loss/generator_gan", "loss/discriminator_gan", "loss/mutual_information",
    # "loss/consistency", and "consistency/block_<d>" for each consistency term.
    terms: Dict[str, tf.Tensor]
    # [V] per code variable (`nll_per_variable`; per coordinate for the thesis's code), for the summaries.
    nll_per_variable: tf.Tensor


class ProgressiveInfoGANLoss:
    """The original's loss composition (docs/original_system.md §3.4):

      G: non-saturating GAN loss + MI penalty + consistency loss
      D: label-smoothed GAN loss + MI penalty (Q's heads are part of D, so both players
         minimise the penalty, as in tf-gan's InfoGAN)

    The consistency loss constrains G's blocks only, so D never sees it.
    """

    def __init__(self, config: ExperimentConfig):
        self.loss_config = config.loss
        self.layout = config.model.code_layout
        self._uses_mi = bool((config.loss.mi_weight or config.loss.discrete_mi_weight) and config.model.code_size)

    def __call__(self, *, real_logits, fake_logits, code, mu, block_images: Sequence[tf.Tensor],
                 mi_active, log_sigma=None) -> StepLosses:
        """`block_images` is G's output list (blocks 2..p, the last one G's image), `mu` Q's
        prediction on that last image (one number per coordinate: `nll_per_variable`),
        `mi_active` the 0/1 coordinates in the penalty, `log_sigma` Q's learned sigma (None: 1)."""
        config = self.loss_config
        g_gan = generator_loss(fake_logits)
        d_gan = discriminator_loss(real_logits, fake_logits, config.label_smoothing)
        nll = nll_per_variable(self.layout, code, mu, log_sigma)
        if not self._uses_mi:
            mi = tf.constant(0.0)
        elif self.layout.all_normal and log_sigma is None:  # the thesis's expression, op for op
            mi = mutual_information_penalty(code, mu, mi_active, config.mi_weight)
        else:
            mi = typed_mutual_information_penalty(self.layout, nll, mi_active, config.mi_weight,
                                                  config.discrete_mi_weight)
        consistency = consistency_terms(block_images) if config.consistency_weight else {}
        consistency_loss = (config.consistency_weight * tf.add_n(list(consistency.values())) if consistency
                            else tf.constant(0.0))
        g_loss = g_gan + mi + consistency_loss
        d_loss = d_gan + mi
        terms = {"loss/generator": g_loss, "loss/discriminator": d_loss, "loss/generator_gan": g_gan,
                 "loss/discriminator_gan": d_gan, "loss/mutual_information": mi,
                 "loss/consistency": consistency_loss}
        terms.update({f"consistency/block_{block}": term for block, term in consistency.items()})
        return StepLosses(generator=g_loss, discriminator=d_loss, terms=terms, nll_per_variable=nll)
