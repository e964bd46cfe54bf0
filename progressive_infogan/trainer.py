"""One phase's models, optimizers and EMA, and its compiled training step (docs/original_system.md §4).

Every step runs one forward pass shared by both players and applies the G and D updates
together (the original's simultaneous steps). The whole training state is one name-keyed
set of variables (`PhaseTrainer.named_state`): the models, the generator's EMA shadows
and both optimizers' slots and step counts. Growing to the next phase and resuming from a
checkpoint both import that set by name into freshly built models (`train.train`).
"""

from __future__ import annotations

from typing import Dict, Mapping

import keras
import numpy as np
import tensorflow as tf

from progressive_infogan import adam, checkpoints, growth, losses, networks, schedule
from progressive_infogan.config import ExperimentConfig, RunOptions
from progressive_infogan.latents import latents


def _sanitize(gradients, variables):
    """Per variable: a gradient with any NaN/Inf element becomes zeros (no update under beta1 = 0).

    A variable the loss does not reach (the toRGB of a block below the fade, whose image
    is weighted by 1 - alpha = 0 in the original) gets a zero gradient, as it did there.
    """
    return [tf.zeros_like(v) if g is None else tf.where(tf.reduce_all(tf.math.is_finite(g)), g, tf.zeros_like(g))
            for g, v in zip(gradients, variables)]


def _sanitize_lean(gradients, variables):
    """`_sanitize` in fewer ops: a sum is non-finite exactly when an element is (0 * x is NaN
    for x = +-Inf or NaN, 0 otherwise), one IsFinite checks every variable's sum, and the zero
    is broadcast rather than built per variable."""
    present = [g for g in gradients if g is not None]
    if not present:
        return [tf.zeros_like(v) for v in variables]
    finite = tf.unstack(tf.math.is_finite(tf.stack([tf.reduce_sum(g * 0.0) for g in present])))
    finite = iter(finite)
    return [tf.zeros_like(v) if g is None else tf.where(next(finite), g, 0.0) for g, v in zip(gradients, variables)]


class PhaseTrainer:
    """The models, optimizers and EMA of one phase, and its compiled training step."""

    def __init__(self, config: ExperimentConfig, phase: int, strategy: tf.distribute.Strategy, options: RunOptions):
        self.config = config
        self.phase = phase
        self.strategy = strategy
        self.options = options
        self.global_batch = config.schedule.batch_size(phase)
        if self.global_batch % strategy.num_replicas_in_sync:
            raise ValueError(f"phase {phase}'s batch {self.global_batch} does not split over "
                             f"{strategy.num_replicas_in_sync} replicas")
        model = config.model
        # Fresh variables depend only on (seed, phase), so a resumed run grows exactly as an
        # uninterrupted one does.
        keras.utils.set_random_seed(options.seed * 1009 + phase)
        self.mi_active = tf.constant(schedule.mi_active_coordinates(model, config.schedule, phase))
        self.loss = losses.ProgressiveInfoGANLoss(config)
        with strategy.scope():
            # options.step: "lean" (the default) and "reference" compute the same step; lean in fewer ops.
            self.lean = options.step == "lean"
            self.generator = networks.build_generator(model, phase, fused_batch_norm=self.lean)
            self.discriminator = networks.build_discriminator(model, phase)
            # EMA shadows start at the variables' (fresh) values; imported ones are overwritten.
            self.ema = {v.path: tf.Variable(v.value, trainable=False, name="ema",
                                            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
                        for v in self.generator.trainable_variables}
            self.g_optimizer = adam.make_adam(config.optimizer.g_learning_rate, config.optimizer,
                                              options.mixed_precision, fused=self.lean)
            self.d_optimizer = adam.make_adam(config.optimizer.d_learning_rate, config.optimizer,
                                              options.mixed_precision, fused=self.lean)
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.discriminator.trainable_variables)
        # XLA compiles the whole step on one device; across replicas it clusters what it can.
        single_device = strategy.num_replicas_in_sync == 1
        self._step = tf.function(self._distributed_step, jit_compile=options.jit_compile and single_device)
        self._ema_generator = None

    # --- state ------------------------------------------------------------------------
    def named_state(self) -> Dict[str, tf.Variable]:
        state = growth.named_variables(self.generator.variables + self.discriminator.variables)
        state.update({checkpoints.EMA_PREFIX + name: shadow for name, shadow in self.ema.items()})
        state.update(adam.optimizer_state("g_adam", self.g_optimizer))
        state.update(adam.optimizer_state("d_adam", self.d_optimizer))
        return state

    def state_arrays(self) -> Dict[str, np.ndarray]:
        return {name: variable.numpy() for name, variable in self.named_state().items()}

    def import_state(self, arrays: Mapping[str, np.ndarray]) -> growth.ImportReport:
        return growth.import_values(arrays, self.named_state())

    def ema_generator(self) -> networks.Generator:
        """A generator with the EMA weights and BN moving statistics, for sampling."""
        if self._ema_generator is None:
            self._ema_generator = networks.build_generator(self.config.model, self.phase)
        values = {v.path: v.numpy() for v in self.generator.variables}
        values.update({name: shadow.numpy() for name, shadow in self.ema.items()})
        growth.import_values(values, growth.named_variables(self._ema_generator.variables))
        return self._ema_generator

    # --- the step ---------------------------------------------------------------------
    def _replica_step(self, real, step, alpha):
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        batch = self.global_batch // replicas
        start = context.replica_id_in_sync_group * batch
        noise, code = latents(self.config.model, self.options.seed, step, self.global_batch)
        noise, code = noise[start:start + batch], code[start:start + batch]
        config = self.config

        g_variables = self.generator.trainable_variables
        d_variables = self.discriminator.trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            fakes = self.generator(noise, code, alpha=alpha, training=True)
            # D runs twice, not once on [fakes; reals]: G's gradient would then flow back through
            # the real half too (benchmarks/README.md measured that step 0.88x as fast).
            fake_logits, mu, log_sigma = self.discriminator.code_distribution(fakes[-1], alpha, training=True)
            real_logits, _ = self.discriminator(real, alpha=alpha, training=True)
            step_losses = self.loss(real_logits=real_logits, fake_logits=fake_logits, code=code, mu=mu,
                                    block_images=fakes, mi_active=self.mi_active, log_sigma=log_sigma)
            # Gradients are summed over replicas: each replica contributes its mean / replicas.
            g_scaled, d_scaled = step_losses.generator / replicas, step_losses.discriminator / replicas
            if isinstance(self.g_optimizer, keras.optimizers.LossScaleOptimizer):
                g_scaled = self.g_optimizer.scale_loss(g_scaled)
                d_scaled = self.d_optimizer.scale_loss(d_scaled)
        g_gradients = tape.gradient(g_scaled, g_variables)
        d_gradients = tape.gradient(d_scaled, d_variables)
        del tape
        if isinstance(self.g_optimizer, keras.optimizers.LossScaleOptimizer):
            # The loss-scale optimizer skips a step with non-finite gradients itself.
            g_gradients = [tf.zeros_like(v) if g is None else g for g, v in zip(g_gradients, g_variables)]
            d_gradients = [tf.zeros_like(v) if g is None else g for g, v in zip(d_gradients, d_variables)]
        else:
            sanitize = _sanitize_lean if self.lean else _sanitize
            g_gradients, d_gradients = sanitize(g_gradients, g_variables), sanitize(d_gradients, d_variables)
        self.d_optimizer.apply_gradients(zip(d_gradients, d_variables))
        self.g_optimizer.apply_gradients(zip(g_gradients, g_variables))
        decay = config.optimizer.ema_decay
        for variable in g_variables:
            shadow = self.ema[variable.path]
            if self.lean:  # the same average, one op fewer
                shadow.assign_sub((1.0 - decay) * (shadow - variable))
            else:
                shadow.assign(decay * shadow + (1.0 - decay) * variable)

        scalars = dict(step_losses.terms)
        scalars.update({"d/real_logit": tf.reduce_mean(real_logits), "d/fake_logit": tf.reduce_mean(fake_logits)})
        layout = config.model.code_layout
        if layout.all_normal and not config.model.q_learned_sigma:
            vectors = {"mi/nll_per_coordinate": step_losses.nll_per_variable,
                       "mi/abs_error_per_coordinate": tf.reduce_mean(tf.abs(code - mu), 0)}
        else:
            vectors = {"mi/nll_per_variable": step_losses.nll_per_variable}
            scalars.update(losses.bound_summaries(layout, step_losses.nll_per_variable))
        return scalars, vectors

    def _distributed_step(self, real, step, alpha):
        scalars, vectors = self.strategy.run(self._replica_step, args=(real, step, alpha))
        reduce = lambda value: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)  # noqa: E731
        return ({name: reduce(value) for name, value in scalars.items()},
                {name: reduce(value) for name, value in vectors.items()})

    def step(self, real, step: int, alpha: float):
        return self._step(real, tf.constant(step, tf.int64), tf.constant(alpha, tf.float32))
