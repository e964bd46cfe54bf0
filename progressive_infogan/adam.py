"""The players' Adam optimizers, and their state as named variables for checkpoints.

The original trained with TF1's `tf.train.AdamOptimizer`, whose dense update is TF's
ApplyAdam kernel:

    lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    m <- m + (1 - beta_1) (g - m),  v <- v + (1 - beta_2) (g^2 - v)
    w <- w - lr_t * m / (sqrt(v) + epsilon)

epsilon is added to sqrt(v) after the bias correction has been folded into lr_t
("epsilon hat" in Kingma & Ba's notation), not to the bias-corrected sqrt(v_hat). Keras 3's
Adam computes the same update in about 20 separate ops per variable; `FusedAdam` runs it as
that one kernel, which matters where a step is bound by op overhead (reduced widths on a CPU).
"""

from __future__ import annotations

from typing import Dict

import keras
import tensorflow as tf


class FusedAdam(keras.optimizers.Adam):
    """Keras's Adam (its slots, step count and hyperparameters) with TF1's fused update kernel."""

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        local_step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].value.handle, v=self._velocities[index].value.handle,
            beta1_power=tf.pow(beta_1, local_step), beta2_power=tf.pow(beta_2, local_step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype))


def make_adam(learning_rate: float, optimizer_config, mixed_precision: str, fused: bool = True):
    """A player's optimizer: `FusedAdam`, or with `fused=False` Keras's own (the same update in
    separate ops); wrapped in a loss-scale optimizer under mixed_float16."""
    kind = FusedAdam if fused else keras.optimizers.Adam
    optimizer = kind(learning_rate=learning_rate, beta_1=optimizer_config.beta_1, beta_2=optimizer_config.beta_2,
                     epsilon=optimizer_config.epsilon)
    if mixed_precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def optimizer_state(prefix: str, optimizer) -> Dict[str, tf.Variable]:
    """Adam's step count and per-variable slots, named after the variables they belong to
    (`prefix`/iterations, `prefix`/m/<variable path>, `prefix`/v/<variable path>)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    state = {f"{prefix}/iterations": inner.iterations}
    # Keras keeps the slots in private lists, in the order of the variables it was built on.
    for variable, momentum, velocity in zip(inner._trainable_variables, inner._momentums, inner._velocities):
        state[f"{prefix}/m/{variable.path}"] = momentum
        state[f"{prefix}/v/{variable.path}"] = velocity
    return state
