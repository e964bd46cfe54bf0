"""Losses of the original system (docs/original_system.md §3), written here
because tensorflow-gan cannot run on TF >= 2.16 (docs/design.md §1).

Every function reduces by the mean over the batch it is given. Under a distribution
strategy each replica divides by the number of replicas (`train.py`), so that the summed
gradients equal those of one replica on the global batch.
"""

from __future__ import annotations

import math
from typing import Dict, Sequence

import tensorflow as tf

from progressive_infogan import layers

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


def consistency_loss(block_images: Sequence[tf.Tensor], weight: float):
    """weight * sum of the consistency terms; added to the generator loss only."""
    terms = consistency_terms(block_images)
    if not terms:
        return tf.constant(0.0)
    return weight * tf.add_n(list(terms.values()))
