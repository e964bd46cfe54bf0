"""One real training step of `trainer.PhaseTrainer`, checked term by term against a reference
re-derived here in plain TF (the loss formulas of docs/original_system.md §3-4,
Adam's update rule, the EMA rule), not by calling `losses`.

Every hyperparameter the step reads is given a non-default value, so that a step which
hard-codes the default (lambda = 10, smoothing 0.25, beta_2 = 0.99, decay 0.999, ...) fails.
The step's gradients are read back exactly from Adam's first moment: after one step from
zero slots, m = (1 - beta_1) g.
"""

import math
import types

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import config as configs
from progressive_infogan.trainer import PhaseTrainer

PHASE, BATCH, ALPHA, STEP = 3, 4, 0.5, 20
MI_WEIGHT, LABEL_SMOOTHING, CONSISTENCY_WEIGHT = 3.5, 0.1, 30.0
G_LEARNING_RATE, D_LEARNING_RATE, BETA_1, BETA_2, EPSILON, EMA_DECAY = 3e-4, 7e-4, 0.3, 0.95, 1e-4, 0.75
NOISE_SIZE, CODE_SIZES = 24, ((2, 3), (3, 5), (4, 2))  # 10 coordinates; block 4's has no head at phase 3

CONFIG = configs.scaled_down(configs.preset("exp_consistency_30"), width_multiplier=1 / 32, images_per_phase=0,
                             min_steps=12, stop_after=PHASE, batch_sizes={2: BATCH, 3: BATCH}).replace(
    model=dict(noise_size=NOISE_SIZE, code_sizes=CODE_SIZES),
    loss=dict(mi_weight=MI_WEIGHT, label_smoothing=LABEL_SMOOTHING),
    optimizer=dict(g_learning_rate=G_LEARNING_RATE, d_learning_rate=D_LEARNING_RATE, beta_1=BETA_1,
                   beta_2=BETA_2, epsilon=EPSILON, ema_decay=EMA_DECAY))
CODE_SIZE = sum(count for _, count in CODE_SIZES)


class _RecordingGenerator:
    """The trainer's generator, recording the latents the step feeds it."""

    def __init__(self, generator, batch):
        self._wrapped = generator
        self.noise = tf.Variable(tf.zeros([batch, NOISE_SIZE]), trainable=False)
        self.code = tf.Variable(tf.zeros([batch, CODE_SIZE]), trainable=False)

    def __getattr__(self, name):
        return getattr(self._wrapped, name)

    def __call__(self, noise, code, **kwargs):
        self.noise.assign(noise)
        self.code.assign(code)
        return self._wrapped(noise, code, **kwargs)


def _trainer(config, phase, tmp_path):
    trainer = PhaseTrainer(config, phase, tf.distribute.get_strategy(),
                                 configs.RunOptions(model_dir=str(tmp_path), deterministic=True))
    recorder = _RecordingGenerator(trainer.generator, config.schedule.batch_size(phase))
    trainer.generator = recorder
    return trainer, recorder


def _cross_entropy(logits, target):
    # -t log sigmoid(x) - (1 - t) log(1 - sigmoid(x))
    return tf.reduce_mean(target * tf.nn.softplus(-logits) + (1.0 - target) * tf.nn.softplus(logits))


def _reference_losses(generator, discriminator, noise, code, real, alpha):
    fakes = generator(noise, code, alpha=alpha, training=True)
    fake_logits, mu = discriminator(fakes[-1], alpha=alpha, training=True)
    real_logits, _ = discriminator(real, alpha=alpha, training=True)
    g_gan = _cross_entropy(fake_logits, 1.0)
    # tf-gan's one-sided smoothing: real target 1 * (1 - s) + 0.5 * s.
    d_gan = _cross_entropy(real_logits, 1.0 - 0.5 * LABEL_SMOOTHING) + _cross_entropy(fake_logits, 0.0)
    # Every coordinate is in the penalty of a non-gradual variant, headless ones (mu = 0) too.
    nll = tf.reduce_mean(0.5 * tf.square(code - mu), axis=0) + 0.5 * math.log(2.0 * math.pi)
    mi = MI_WEIGHT * tf.reduce_mean(nll)
    # Phase 3 has one consistency term: block 3's combined image against block 2's, both at 4x4.
    pooled = [tf.nn.avg_pool2d(image, 2, 2, "VALID") for image in fakes]
    consistency = CONSISTENCY_WEIGHT * tf.reduce_mean(tf.square(pooled[1] - pooled[0]))
    return {"generator": g_gan + mi + consistency, "discriminator": d_gan + mi, "generator_gan": g_gan,
            "discriminator_gan": d_gan, "mutual_information": mi, "consistency": consistency}


@pytest.fixture(scope="module")
def stepped(tmp_path_factory):
    trainer, recorder = _trainer(CONFIG, PHASE, tmp_path_factory.mktemp("step"))
    # Shadows unequal to their variables, so that the EMA check tells shadow from variable.
    rng = np.random.default_rng(3)
    for shadow in trainer.ema.values():
        shadow.assign(shadow + rng.normal(0.0, 0.1, shadow.shape).astype(np.float32))
    real = tf.random.stateless_uniform([BATCH, 2 ** PHASE, 2 ** PHASE, 3], [4, 2], -1.0, 1.0)
    before = trainer.state_arrays()
    scalars, _ = trainer.step(real, STEP, ALPHA)
    after = trainer.state_arrays()
    noise, code = recorder.noise.numpy(), recorder.code.numpy()

    # The reference, on the pre-step weights and the latents the step drew.
    trainer.import_state(before)
    generator, discriminator = recorder._wrapped, trainer.discriminator
    with tf.GradientTape(persistent=True) as tape:
        reference = _reference_losses(generator, discriminator, tf.constant(noise), tf.constant(code), real, ALPHA)
    gradients = {}
    for player, model in (("generator", generator), ("discriminator", discriminator)):
        variables = model.trainable_variables
        for variable, gradient in zip(variables, tape.gradient(reference[player], variables)):
            gradients[variable.path] = np.zeros(variable.shape, np.float32) if gradient is None else gradient.numpy()
    del tape
    trainer.import_state(after)
    return types.SimpleNamespace(trainer=trainer, before=before, after=after, noise=noise, code=code,
                                 scalars={name: float(value) for name, value in scalars.items()},
                                 reference={name: float(value) for name, value in reference.items()},
                                 gradients=gradients)


@pytest.mark.parametrize("term", ["generator", "discriminator", "generator_gan", "discriminator_gan",
                                  "mutual_information", "consistency"])
def test_the_step_reports_each_loss_term_of_the_reference(stepped, term):
    assert stepped.scalars[f"loss/{term}"] == pytest.approx(stepped.reference[term], rel=1e-5, abs=1e-6)


def _player(name):
    return "g_adam" if name.startswith("generator/") else "d_adam"


def _step_gradient(stepped, name):
    return stepped.after[f"{_player(name)}/m/{name}"] / (1.0 - BETA_1)


@pytest.mark.parametrize("player", ["generator", "discriminator"])
def test_the_step_follows_the_gradient_of_the_reference_loss(stepped, player):
    """MI in both players' losses, consistency in G's only, smoothing from the config: each
    changes some variable's gradient (the Q heads', the toRGBs', D's)."""
    names = [name for name in stepped.gradients if name.startswith(player + "/")]
    assert names
    # Tolerance on the player's overall gradient scale: biases that feed batch norm get float
    # noise for a gradient (see test_train), in the step and in the reference alike.
    scale = max(np.abs(stepped.gradients[name]).max() for name in names)
    for name in names:
        np.testing.assert_allclose(_step_gradient(stepped, name), stepped.gradients[name],
                                   rtol=1e-3, atol=1e-5 * scale, err_msg=name)


def test_the_q_heads_are_trained_by_the_mi_term(stepped):
    # Without the MI term in D's loss the Q heads would get no gradient at all.
    for name in ("discriminator/q_block_2/kernel", "discriminator/q_block_3/kernel"):
        assert np.abs(stepped.gradients[name]).max() > 0, name
        assert np.abs(_step_gradient(stepped, name)).max() > 0, name


def test_the_optimizers_carry_the_configured_adam_hyperparameters(stepped):
    trainer = stepped.trainer
    for optimizer, learning_rate in ((trainer.g_optimizer, G_LEARNING_RATE), (trainer.d_optimizer, D_LEARNING_RATE)):
        assert float(optimizer.learning_rate) == pytest.approx(learning_rate, rel=1e-6)
        assert optimizer.beta_1 == pytest.approx(BETA_1)
        assert optimizer.beta_2 == pytest.approx(BETA_2)
        assert optimizer.epsilon == pytest.approx(EPSILON)


def test_the_update_is_adams_first_step_with_the_configured_hyperparameters(stepped):
    assert stepped.after["g_adam/iterations"] == 1 and stepped.after["d_adam/iterations"] == 1
    for name in stepped.gradients:
        player = _player(name)
        learning_rate = G_LEARNING_RATE if player == "g_adam" else D_LEARNING_RATE
        m, v = stepped.after[f"{player}/m/{name}"], stepped.after[f"{player}/v/{name}"]
        gradient = m / (1.0 - BETA_1)
        np.testing.assert_allclose(v, (1.0 - BETA_2) * gradient ** 2, rtol=1e-4, atol=1e-30, err_msg=name)
        # Bias-corrected step size at step 1: lr * sqrt(1 - beta_2) / (1 - beta_1).
        step_size = learning_rate * math.sqrt(1.0 - BETA_2) / (1.0 - BETA_1)
        delta = stepped.after[name].astype(np.float64) - stepped.before[name]
        # atol: the float32 rounding of the weights themselves (about 1e-7 at magnitude 1).
        np.testing.assert_allclose(delta, -step_size * m / (np.sqrt(v) + EPSILON), rtol=1e-3, atol=3e-7,
                                   err_msg=name)


def test_the_ema_shadows_move_towards_the_updated_variables_at_the_configured_decay(stepped):
    shadows = [name for name in stepped.after if name.startswith("ema/")]
    assert len(shadows) == sum(name.startswith("generator/") for name in stepped.gradients)
    moved = sum(not np.array_equal(stepped.after[name[len("ema/"):]], stepped.before[name[len("ema/"):]])
                for name in shadows)
    assert moved > len(shadows) // 2  # so that a shadow following the old variable would be caught
    for shadow in shadows:
        variable = shadow[len("ema/"):]
        expected = EMA_DECAY * stepped.before[shadow] + (1.0 - EMA_DECAY) * stepped.after[variable]
        np.testing.assert_allclose(stepped.after[shadow], expected, rtol=1e-5, atol=1e-6, err_msg=shadow)


def test_the_step_feeds_g_a_fresh_noise_and_code_of_the_configured_sizes(stepped):
    assert stepped.noise.shape == (BATCH, NOISE_SIZE) and stepped.code.shape == (BATCH, CODE_SIZE)
    assert len(np.unique(stepped.code, axis=0)) == BATCH and len(np.unique(stepped.noise, axis=0)) == BATCH
    # Independent streams: continuous draws from two streams never share a value.
    assert not np.intersect1d(stepped.noise, stepped.code).size


def test_the_latents_are_independent_standard_normals(tmp_path):
    """Moments of the noise and code of one step at a large batch (phase 2, 4096 draws)."""
    batch = 4096
    config = CONFIG.replace(schedule=dict(batch_sizes=((2, batch), (3, BATCH))))
    trainer, recorder = _trainer(config, 2, tmp_path)
    trainer.step(tf.random.stateless_uniform([batch, 4, 4, 3], [5, 1], -1.0, 1.0), STEP, 1.0)
    noise, code = recorder.noise.numpy().astype(np.float64), recorder.code.numpy().astype(np.float64)
    for name, draws in (("noise", noise), ("code", code)):
        # Standard errors at n = 4096 per coordinate: mean 0.016, sd 0.011, kurtosis 0.08.
        np.testing.assert_allclose(draws.mean(0), 0.0, atol=0.07, err_msg=f"{name} mean")
        np.testing.assert_allclose(draws.std(0), 1.0, atol=0.05, err_msg=f"{name} sd")
        kurtosis = np.mean(draws ** 4, 0) / np.mean(draws ** 2, 0) ** 2  # 3 for a normal, 1.8 for a uniform
        np.testing.assert_allclose(kurtosis, 3.0, atol=0.35, err_msg=f"{name} kurtosis")
        correlation = np.corrcoef(draws, rowvar=False) - np.eye(draws.shape[1])
        assert np.abs(correlation).max() < 0.08, name
    assert np.abs((noise[:, :, None] * code[:, None, :]).mean(0)).max() < 0.08  # noise and code independent


# --- the lean step (issue 14) against the reference step: same inputs, same numbers ------------
MIXED_SIGMA_CONFIG = CONFIG.replace(
    model=dict(**configs.code_spec({2: [configs.categorical(4), configs.uniform(), configs.bernoulli()],
                                    3: [configs.categorical(3), configs.normal(2)]}), q_learned_sigma=True),
    loss=dict(discrete_mi_weight=1.0))


def _one_step(config, step_kind, state, tmp_path):
    trainer = PhaseTrainer(config, PHASE, tf.distribute.get_strategy(),
                                 configs.RunOptions(model_dir=str(tmp_path), deterministic=True, step=step_kind))
    if state is not None:
        trainer.import_state(state)
    before = trainer.state_arrays()
    real = tf.random.stateless_uniform([BATCH, 2 ** PHASE, 2 ** PHASE, 3], [4, 2], -1.0, 1.0)
    scalars, vectors = trainer.step(real, STEP, ALPHA)
    return before, {name: float(value) for name, value in scalars.items()}, vectors, trainer.state_arrays()


@pytest.mark.parametrize("config", [CONFIG, MIXED_SIGMA_CONFIG], ids=["thesis_code", "mixed_codes_learned_sigma"])
def test_the_lean_step_computes_what_the_reference_step_computes(config, tmp_path):
    """Fused Adam, fused batch norm, the lean sanitiser and EMA: every loss, gradient, slot,
    moving statistic and weight of one step agree."""
    start, reference_scalars, reference_vectors, reference = _one_step(config, "reference", None, tmp_path / "a")
    _, lean_scalars, lean_vectors, lean = _one_step(config, "lean", start, tmp_path / "b")
    assert sorted(lean_scalars) == sorted(reference_scalars) and sorted(lean) == sorted(reference)
    for name, value in reference_scalars.items():
        assert lean_scalars[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    for name, value in reference_vectors.items():
        np.testing.assert_allclose(lean_vectors[name].numpy(), value.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    gradients = {name[len("g_adam/m/"):]: reference[name] / (1.0 - BETA_1)
                 for name in reference if name.startswith(("g_adam/m/", "d_adam/m/"))}
    scale = {player: max(np.abs(g).max() for name, g in gradients.items() if name.startswith(player))
             for player in ("generator/", "discriminator/")}
    for name, value in reference.items():
        variable = name.split("/", 2)[-1] if name.startswith(("g_adam/", "d_adam/")) else name
        variable = variable[len("ema/"):] if variable.startswith("ema/") else variable
        player_scale = scale.get(variable.split("/")[0] + "/", 0.0)
        if name.startswith(("g_adam/m/", "d_adam/m/")):  # gradients: as in the reference test above
            np.testing.assert_allclose(lean[name], value, rtol=1e-3, atol=1e-5 * player_scale * (1 - BETA_1),
                                       err_msg=name)
        elif variable in gradients and np.abs(gradients[variable]).max() <= 1e-4 * player_scale:
            # A bias that feeds batch norm gets float noise for a gradient, which Adam normalises to
            # a full step in both steps alike: compared through its gradient only.
            assert variable.startswith("generator/") and variable.endswith("/bias"), name
            continue
        else:
            np.testing.assert_allclose(lean[name], value, rtol=1e-4, atol=1e-5, err_msg=name)
