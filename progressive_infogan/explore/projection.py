"""Editing real photos (thesis 9.2): project a photo into (noise, code), then move coordinates.

The projection is a 'shadow image' search as in the Neural Photo Editor: gradient descent
(Adam) on G's inputs to minimise a reconstruction loss, MSE and/or MS-SSIM. It starts from
noise 0 and the Q head's estimate of the code from D(photo); optional restarts start from
random noise (and the same code estimate) and the best candidate wins. All candidates are
optimised together as one batch: G runs in inference mode, so they do not interact.

A discrete code variable cannot be moved by gradient descent as the one-hot vector (or 0/1)
G reads, so it is optimised through logits, starting from Q's (its outputs for a discrete
variable are logits): for the first half of the steps G reads their softmax (Bernoulli:
sigmoid) probabilities, a relaxation that lets the descent move between categories; then each
discrete variable is fixed at its most likely value (`latents.code_of_q`) and the other half
fits the noise and the continuous coordinates to that valid code, so that the projection is a
code G was trained on and an edit starts from a real category. An edit sets a categorical
variable (named by any of its coordinates) to a category, written as its one-hot vector, and a
Bernoulli to 0 or 1 (`check_edits`).

A projection is saved beside its figure (`photo_edits.npz`: noise, code, photo, ...), and
`load_projection` reads it back to edit the same photo again without projecting it anew.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps
from tqdm import tqdm

from progressive_infogan import code_layout, figures, files
from progressive_infogan import latents as latent_inputs
from progressive_infogan.config import ModelConfig
from progressive_infogan.errors import UserError
from progressive_infogan.explore import common, traversal
from progressive_infogan.latents import latents
from progressive_infogan.metrics.ms_ssim import nearest_upscale

LOSSES = ("mse", "msssim", "mse+msssim")
# MS-SSIM's 5 scales with an 11-px filter need >= 176 px: both images are upscaled to this.
MSSSIM_SIZE = 256


def read_photo(path: str) -> Image.Image:
    """A photo file decoded as RGB, upright as a viewer shows it (its EXIF orientation applied).

    Cheap next to loading a model, so the tools call it first: a missing or unreadable
    photo fails at once, with its path."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"photo {path} does not exist")
    try:
        with Image.open(path) as image:
            # Cameras store the sensor's pixels and say in EXIF how to turn them.
            return ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, SyntaxError, ValueError) as error:  # PIL: unidentified, truncated, bad headers
        raise ValueError(f"photo {path} is not a readable image: {error}") from None


def fit_photo(image: Image.Image, resolution: int) -> np.ndarray:
    """float32 [resolution, resolution, 3] in [-1, 1]: centre-cropped to a square, resized."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((resolution, resolution), Image.LANCZOS)
    return np.asarray(image, np.float32) / 127.5 - 1.0


def load_photo(path: str, resolution: int) -> np.ndarray:
    """A photo file as float32 [resolution, resolution, 3] in [-1, 1] (read_photo, then fit_photo)."""
    return fit_photo(read_photo(path), resolution)


MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian_filter(images, size: int = 11, sigma: float = 1.5):
    coordinates = tf.range(size, dtype=tf.float32) - (size - 1) / 2.0
    kernel = tf.exp(-tf.square(coordinates) / (2.0 * sigma ** 2))
    kernel = kernel / tf.reduce_sum(kernel)
    channels = int(images.shape[-1])
    horizontal = tf.tile(tf.reshape(kernel, [1, size, 1, 1]), [1, 1, channels, 1])
    vertical = tf.tile(tf.reshape(kernel, [size, 1, 1, 1]), [1, 1, channels, 1])
    images = tf.nn.depthwise_conv2d(images, horizontal, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(images, vertical, [1, 1, 1, 1], "VALID")


def msssim(a, b, max_val: float = 2.0, size: int = MSSSIM_SIZE):
    """Per-image MS-SSIM of [N, H, W, 3] images in [-1, 1], nearest-upscaled to >= `size` px and
    shifted to [0, 2] (the thesis metric's convention).

    The same formula as `tf.image.ssim_multiscale` (5 scales, 11-px Gaussian, sigma 1.5,
    k1 0.01, k2 0.03), except that negative contrast-structure terms are clipped to a small
    positive value before the fractional powers, so that it has finite gradients everywhere
    (tf's version returns NaN for them) and can be a loss."""
    a = nearest_upscale(a, size) + 1.0
    b = nearest_upscale(b, size) + 1.0
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    factors = []
    for scale, weight in enumerate(MSSSIM_WEIGHTS):
        if scale:
            a = tf.nn.avg_pool2d(a, 2, 2, "VALID")
            b = tf.nn.avg_pool2d(b, 2, 2, "VALID")
        mean_a, mean_b = _gaussian_filter(a), _gaussian_filter(b)
        variance_a = _gaussian_filter(a * a) - mean_a * mean_a
        variance_b = _gaussian_filter(b * b) - mean_b * mean_b
        covariance = _gaussian_filter(a * b) - mean_a * mean_b
        luminance = (2.0 * mean_a * mean_b + c1) / (mean_a * mean_a + mean_b * mean_b + c1)
        contrast_structure = (2.0 * covariance + c2) / (variance_a + variance_b + c2)
        value = contrast_structure if scale < len(MSSSIM_WEIGHTS) - 1 else luminance * contrast_structure
        # Mean over space, then over channels, as tf.image.ssim_multiscale.
        value = tf.reduce_mean(value, axis=[1, 2])
        factors.append(tf.pow(tf.maximum(value, 1e-6), weight))
    return tf.reduce_mean(tf.reduce_prod(tf.stack(factors, axis=-1), axis=-1), axis=-1)


def reconstruction_loss(images, target, loss: str = "mse"):
    """Per-image loss [N]: 'mse', 'msssim' (1 - MS-SSIM) or 'mse+msssim' (their sum)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    total = 0.0
    if "mse" in loss.split("+"):
        total += tf.reduce_mean(tf.square(images - target), axis=[1, 2, 3])
    if "msssim" in loss.split("+"):
        total += 1.0 - msssim(images, target)
    return total


@dataclasses.dataclass
class Projection:
    photo: np.ndarray  # float [H, W, 3]
    noise: np.ndarray  # [1, Z]
    code: np.ndarray  # [1, K]
    reconstruction: np.ndarray  # float [H, W, 3]
    mse: float  # of the reconstruction, [-1, 1] units
    initial_mse: float  # of the starting point (noise 0, Q's code; its discrete variables' most likely values)
    losses: np.ndarray  # [steps] the chosen candidate's loss per step


def estimate_code(discriminator, photo: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Q's estimate of the code [1, K] (zeros for coordinates whose head does not exist yet): the
    means of continuous coordinates, the logits of discrete variables (`latents.code_of_q`)."""
    _, mu = discriminator(np.asarray(photo, np.float32)[None], alpha=alpha)
    return np.asarray(mu, np.float32)


def project(generator, discriminator, model_config: ModelConfig, photo: np.ndarray, steps: int = 200,
            learning_rate: float = 0.05, loss: str = "mse", restarts: int = 0, alpha: float = 1.0, seed: int = 0,
            prior_weight: float = 0.0, progress: bool = False) -> Projection:
    """Find (noise, code) with G(noise, code) close to `photo` (float [H, W, 3] in [-1, 1]).

    `prior_weight` adds prior_weight * mean(latent^2), which keeps the latents near the
    N(0, 1) shell where the coordinates keep their meaning."""
    photo = np.asarray(photo, np.float32)
    size = 2 ** generator.phase
    if photo.shape != (size, size, 3):
        raise ValueError(f"photo must be [{size}, {size}, 3] for this phase-{generator.phase} model, got {photo.shape}")
    candidates = 1 + restarts
    code_estimate = estimate_code(discriminator, photo, alpha)
    start_code = np.asarray(latent_inputs.code_of_q(model_config, code_estimate, most_likely=True), np.float32)
    start_noise = np.zeros([candidates, model_config.noise_size], np.float32)
    if restarts:
        start_noise[1:] = latents(model_config, seed, 0, restarts)[0]
    noise = tf.Variable(start_noise)
    code = tf.Variable(np.repeat(code_estimate, candidates, axis=0))
    code_input = _CodeInput(model_config, code)
    target = tf.constant(np.repeat(photo[None], candidates, axis=0))
    variables = [noise, code]
    # Adam by hand: the optimiser state lives in plain tf.Variables next to the latents.
    beta_1, beta_2, epsilon = 0.9, 0.999, 1e-8
    first = [tf.Variable(tf.zeros_like(v)) for v in variables]
    second = [tf.Variable(tf.zeros_like(v)) for v in variables]
    alpha = tf.constant(alpha, tf.float32)

    def objective():
        images = generator(noise, code_input(), alpha=alpha, training=False)[-1]
        per_candidate = reconstruction_loss(images, target, loss)
        if prior_weight:
            latent = tf.concat([noise, code_input.continuous(code)], axis=-1)
            per_candidate += prior_weight * tf.reduce_mean(tf.square(latent), axis=-1)
        return per_candidate

    @tf.function
    def step(iteration):
        with tf.GradientTape() as tape:
            per_candidate = objective()
            total = tf.reduce_sum(per_candidate)
        gradients = tape.gradient(total, variables)
        t = tf.cast(iteration + 1, tf.float32)
        for variable, gradient, m, v in zip(variables, gradients, first, second):
            m.assign(beta_1 * m + (1 - beta_1) * gradient)
            v.assign(beta_2 * v + (1 - beta_2) * tf.square(gradient))
            m_hat = m / (1 - beta_1 ** t)
            v_hat = v / (1 - beta_2 ** t)
            variable.assign_sub(learning_rate * m_hat / (tf.sqrt(v_hat) + epsilon))
        return per_candidate

    initial = common.generate(generator, start_noise[:1], start_code, alpha=float(alpha))[0]
    history = []
    for iteration in tqdm(range(steps), desc="projection", disable=not progress):
        if iteration == steps // 2:
            code_input.fix_discrete()
        history.append(step(tf.constant(iteration)).numpy())
    code_input.fix_discrete()  # (no steps: the start)
    final = objective().numpy()
    best = int(np.argmin(final))
    best_noise, best_code = noise.numpy()[best:best + 1], np.asarray(code_input())[best:best + 1]
    reconstruction = common.generate(generator, best_noise, best_code, alpha=float(alpha))[0]
    losses = np.asarray([h[best] for h in history] + [final[best]], np.float32)
    return Projection(photo=photo, noise=best_noise, code=best_code, reconstruction=reconstruction,
                      mse=float(np.mean((reconstruction - photo) ** 2)),
                      initial_mse=float(np.mean((initial - photo) ** 2)), losses=losses)


class _CodeInput:
    """G's code input from the optimised code variable [candidates, K] (see the module's docstring):
    the variable itself when every variable is continuous; otherwise the discrete variables read as
    probabilities of their logits until `fix_discrete`, then as the most likely values they had."""

    def __init__(self, model_config: ModelConfig, code: tf.Variable):
        self.model_config, self.code = model_config, code
        self.discrete_columns = np.array([distribution not in code_layout.CONTINUOUS for distribution
                                          in model_config.code_layout.distribution_of_coordinates()], bool)
        self.any_discrete = bool(self.discrete_columns.any())
        if self.any_discrete:
            self.relaxed = tf.Variable(True)
            self.fixed = tf.Variable(tf.zeros_like(code))

    def __call__(self):
        if not self.any_discrete:
            return self.code
        probabilities = latent_inputs.code_of_q(self.model_config, self.code)
        use_fixed = tf.logical_and(tf.constant(self.discrete_columns), tf.logical_not(self.relaxed))
        return tf.where(use_fixed, self.fixed, probabilities)

    def fix_discrete(self) -> None:
        """From now on each discrete variable holds its most likely value (once: later calls change nothing)."""
        if self.any_discrete and bool(self.relaxed.numpy()):
            self.fixed.assign(latent_inputs.code_of_q(self.model_config, self.code, most_likely=True))
            self.relaxed.assign(False)

    def continuous(self, code):
        """The continuous coordinates of `code` (the prior term: a one-hot vector has no N(0, 1) shell)."""
        return tf.boolean_mask(code, ~self.discrete_columns, axis=1) if self.any_discrete else code


def edited_code(code: np.ndarray, edits: Mapping[int, float], mode: str = "set",
                model_config: Optional[ModelConfig] = None) -> np.ndarray:
    """A copy of `code` [1, K] with each edited coordinate set to (mode 'set') or moved by (mode 'add') its value.

    With `model_config`, an edit of a discrete variable sets the variable (`check_edits`): a
    categorical one, named by any of its coordinates, to that category as its one-hot vector."""
    if mode not in ("set", "add"):
        raise ValueError(f"mode must be 'set' or 'add', got {mode!r}")
    code = np.array(code, np.float32)
    if model_config is not None:
        check_edits(model_config, [edits], mode)
    for coordinate, value in edits.items():
        if model_config is not None and model_config.code_layout.variable_of(coordinate).discrete:
            _, code = latent_inputs.with_variable_values(model_config, np.zeros([len(code), 0]), code, coordinate,
                                                         [value])
            continue
        code[:, coordinate] = value if mode == "set" else code[:, coordinate] + value
    return code


def check_edits(model_config: ModelConfig, edits: Sequence[Mapping[int, float]], mode: str = "set") -> None:
    """UserError unless every edit suits its variable: a discrete variable is only set (mode 'set'),
    a categorical one to a category 0..K-1 and once per edit, a Bernoulli to 0 or 1."""
    layout = model_config.code_layout
    for one_edit in edits:
        variables = set()
        for coordinate, value in one_edit.items():
            variable = layout.variable_of(coordinate)
            if not variable.discrete:
                continue
            kind = traversal.variable_kind(model_config, coordinate)
            allowed = latent_inputs.traversal_values(model_config, coordinate)
            choices = f"one of {int(allowed[0])}..{int(allowed[-1])}"
            if mode != "set":
                raise UserError(f"--edits: C{coordinate} is a {kind} variable: it can only be set "
                                f"(--edit_mode=set) to {choices}")
            if value not in allowed:
                raise UserError(f"--edits: C{coordinate}={value:g}: a {kind} variable takes {choices}")
            if variable.index in variables:
                raise UserError(f"--edits: one edit sets the {kind} variable C{variable.coordinates.start}.."
                                f"C{variable.coordinates.stop - 1} twice")
            variables.add(variable.index)


def default_edits(model_config: ModelConfig, coordinates: Sequence[int], value: float = 2.5) -> list:
    """One edit per value of the first two variables among `coordinates`: a continuous coordinate
    at -value and +value, a discrete variable at each of its values."""
    edits = []
    for coordinate in traversal.traversed_coordinates(model_config, coordinates)[:2]:
        discrete = model_config.code_layout.variable_of(coordinate).discrete
        values = latent_inputs.traversal_values(model_config, coordinate) if discrete else (-value, value)
        edits += [{coordinate: float(v)} for v in values]
    return edits


def edit(generator, projection: Projection, edits: Mapping[int, float], mode: str = "set",
         alpha: float = 1.0, model_config: Optional[ModelConfig] = None) -> np.ndarray:
    """The projected photo re-rendered with its code edited: float [H, W, 3]."""
    code = edited_code(projection.code, edits, mode, model_config)
    return common.generate(generator, projection.noise, code, alpha=alpha)[0]


def parse_edits(text: str, code_size: Optional[int] = None, model_config: Optional[ModelConfig] = None,
                mode: str = "set") -> list:
    """'C5=2.0,C17=-1;3=+1.5' -> [{5: 2.0, 17: -1.0}, {3: 1.5}]: ';' separates edits, ',' joins
    coordinates, named by their figure label (C5) or id (5); checked against the code's size when
    given, and with `model_config` against its discrete variables' values (`check_edits`)."""
    edits = [code_layout.parse_coordinate_values(group, "--edits", code_size, bare=True)
             for group in filter(None, (part.strip() for part in text.split(";")))]
    if model_config is not None:
        check_edits(model_config, edits, mode)
    return edits


def edit_figure(projection: Projection, edited_images: Sequence[np.ndarray], labels: Sequence[str],
                min_display_size: int = 128) -> np.ndarray:
    """photo | reconstruction | edits, captioned; uint8."""
    scale = figures.display_scale(projection.photo.shape[0], min_display_size)
    images = [projection.photo, projection.reconstruction] + list(edited_images)
    texts = ["photo", f"reconstruction (MSE {projection.mse:.4f})"] + list(labels)
    panels = [figures.caption(figures.upscale(figures.to_uint8(image), scale), text) for image, text in zip(images, texts)]
    return figures.stack_horizontally(panels, padding=4)


def edit_projection(generator, projection: Projection, edits: Sequence[Mapping[int, float]], mode: str = "set",
                    alpha: float = 1.0, model_config: Optional[ModelConfig] = None):
    """Apply each edit to a projection in turn; (edited images, figure)."""
    edited = [edit(generator, projection, one_edit, mode, alpha, model_config) for one_edit in edits]
    sign = "" if mode == "set" else "+"

    def text(coordinate, value):  # a discrete variable's value is a category or 0 / 1
        if model_config is not None and model_config.code_layout.variable_of(coordinate).discrete:
            return f"C{coordinate}={traversal.value_text(model_config, coordinate, value)}"
        return f"C{coordinate}{'=' if mode == 'set' else '+='}{value:{sign}.1f}"

    labels = [", ".join(text(c, v) for c, v in one_edit.items()) for one_edit in edits]
    return edited, edit_figure(projection, edited, labels)


def edit_photo(generator, discriminator, model_config: ModelConfig, photo: np.ndarray,
               edits: Sequence[Mapping[int, float]], mode: str = "set", alpha: float = 1.0,
               **projection_options):
    """Project `photo`, apply each edit in turn; (projection, edited images, figure)."""
    projection = project(generator, discriminator, model_config, photo, alpha=alpha, **projection_options)
    edited, figure = edit_projection(generator, projection, edits, mode, alpha, model_config)
    return projection, edited, figure


def latents_path(figure_path: str) -> str:
    """Where a figure's projection is saved: beside it, `<name>.npz`."""
    return os.path.splitext(figure_path)[0] + ".npz"


def save_projection(path: str, projection: Projection) -> str:
    """Write the projection (its noise [1, Z] and code [1, K], and the photo it was fitted to) as .npz."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    files.write_npz(path, **{field.name: np.asarray(getattr(projection, field.name))
                             for field in dataclasses.fields(Projection)})
    return path


def load_projection(path: str, generator, model_config: ModelConfig, alpha: float = 1.0) -> Projection:
    """A saved projection, re-rendered by `generator` (its reconstruction and MSE are this model's)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no saved projection (the .npz beside a photo_edits.png)")
    with np.load(path) as data:
        fields = {name: data[name] for name in data.files}
    missing = {"noise", "code", "photo"} - set(fields)
    if missing:
        raise ValueError(f"{path} is not a saved projection: no {', '.join(sorted(missing))}")
    noise, code, photo = (np.asarray(fields[name], np.float32) for name in ("noise", "code", "photo"))
    size = 2 ** generator.phase
    if noise.shape != (1, model_config.noise_size) or code.shape != (1, model_config.code_size) \
            or photo.shape != (size, size, 3):
        raise ValueError(f"{path} was projected with another model: noise {noise.shape}, code {code.shape}, photo "
                         f"{photo.shape}; this one takes (1, {model_config.noise_size}), "
                         f"(1, {model_config.code_size}) and ({size}, {size}, 3)")
    reconstruction = common.generate(generator, noise, code, alpha=alpha)[0]
    return Projection(photo=photo, noise=noise, code=code, reconstruction=reconstruction,
                      mse=float(np.mean((reconstruction - photo) ** 2)),
                      initial_mse=float(fields.get("initial_mse", np.nan)),
                      losses=np.asarray(fields.get("losses", np.zeros([0])), np.float32))


def write_photo_edits(path: str, generator, discriminator, model_config: ModelConfig, photo: np.ndarray,
                      edits: Sequence[Mapping[int, float]], **options):
    """The edit figure at `path` and its projection beside it (`latents_path`)."""
    projection, edited, figure = edit_photo(generator, discriminator, model_config, photo, edits, **options)
    figures.write_png(path, figure)
    save_projection(latents_path(path), projection)
    return projection, edited, figure


def write_edits_from_latents(path: str, latents_file: str, generator, model_config: ModelConfig,
                             edits: Sequence[Mapping[int, float]], mode: str = "set", alpha: float = 1.0):
    """Edit a saved projection again: the figure at `path`; (projection, edited images, figure)."""
    projection = load_projection(latents_file, generator, model_config, alpha)
    edited, figure = edit_projection(generator, projection, edits, mode, alpha, model_config)
    figures.write_png(path, figure)
    return projection, edited, figure
