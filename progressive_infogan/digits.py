"""scikit-learn's bundled 8x8 digits as per-resolution TFRecords: InfoGAN's MNIST check, offline.

`sklearn.datasets.load_digits` ships 1797 grey 8x8 images (values 0..16) with their digit
labels inside the package, so nothing is downloaded. The records hold levels 4x4 and 8x8
(grey replicated to RGB, 0..16 scaled to 0..255); the labels go to `labels.npz` beside them and
are read only to score a trained model (`evaluate_digits`), never for training.
"""

from __future__ import annotations

import json
import math
import os
from typing import Dict, Optional

import numpy as np

from progressive_infogan import tfrecord_writer, tfrecords

RESOLUTION = 8
LABELS_FILE = "labels.npz"
CREDIT = "UCI ML hand-written digits (optdigits test set), as bundled with scikit-learn"


def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """(uint8 [1797, 8, 8, 3], int64 labels [1797]) in scikit-learn's order."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    grey = np.clip(np.round(digits.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1), digits.target.astype(np.int64)


def prepare_digits(out_dir: str) -> dict:
    """Writes levels 4 and 8 of the 1797 digits and their labels; returns the manifest."""
    images, labels = digit_images()
    source = {"kind": "sklearn_digits", "credit": CREDIT, "order": "sklearn.datasets.load_digits()",
              "scaling": "round(value * 255 / 16)"}
    manifest = tfrecord_writer.write_record_set(
        out_dir, (tfrecords.encode_pyramid(np.ascontiguousarray(image)) for image in images), RESOLUTION,
        total=len(images), description="digits", prefix="digits", source=source,
        extra={"labels": f"{LABELS_FILE}: record i shows digit labels[i] (for scoring only)"})
    np.savez(os.path.join(out_dir, LABELS_FILE), labels=labels)
    return manifest


def ensure_digits(out_dir: str) -> str:
    """`out_dir`, prepared unless it already holds a complete set."""
    if not (tfrecords.is_complete(out_dir) and os.path.exists(os.path.join(out_dir, LABELS_FILE))):
        prepare_digits(out_dir)
    return out_dir


def read_labels(data_dir: str) -> np.ndarray:
    with np.load(os.path.join(data_dir, LABELS_FILE)) as data:
        return data["labels"]


def real_digits(data_dir: str, phase: int) -> tuple[np.ndarray, np.ndarray]:
    """(float32 [1797, 2^p, 2^p, 3] in [-1, 1] in record order, labels): every digit once, as
    training's plain preprocessing reads them."""
    from progressive_infogan import data

    dataset = data.make_dataset(data_dir, phase, 256, preprocessing="plain", shuffle_buffer=0, repeat=False,
                                drop_remainder=False)
    images = np.concatenate([np.asarray(batch) for batch in dataset])
    return images, read_labels(data_dir)


def evaluate_digits(run_dir: str, data_dir: str, *, num_batches: int = 50, batch_size: int = 100,
                    seed: int = 0, figure_path: Optional[str] = None) -> Dict[str, float]:
    """The digits check of a trained run with one categorical code variable:

    - "mi_bound", "mi_bound_ceiling": that variable's InfoGAN bound H(c) - NLL on generated
      samples (fresh latents, `num_batches` x `batch_size`) and its ceiling ln K;
    - "generated_accuracy": how often Q's argmax recovers the category G was given;
    - "unsupervised_accuracy": Q's argmax on the 1797 real digits against their labels, after the
      best one-to-one matching of categories to digits (`metrics.category_matching`);
    - what G draws per category (`generated_digits`).

    With `figure_path`, also writes the categories' samples there (`write_category_rows`).
    """
    from progressive_infogan import checkpoints
    from progressive_infogan.metrics import category_matching, infogan

    run = checkpoints.load_run(run_dir)
    layout = run.config.model.code_layout
    categorical = [v for v in layout.variables if v.distribution == "categorical"]
    if len(categorical) != 1:
        raise ValueError(f"{run_dir}: the digits check needs exactly one categorical code variable, "
                         f"the run has {len(categorical)}")
    variable = categorical[0]
    scores = infogan.infogan_metrics(run.generator, run.discriminator, run.config.model, run.phase, run.alpha,
                                     batch_size=batch_size, num_batches=num_batches, seed=seed, progress=False)
    name = f"variable_{variable.index:02d}"
    images, labels = real_digits(data_dir, run.phase)
    logits = np.concatenate([np.asarray(run.discriminator(images[start:start + 256], alpha=run.alpha)[1])
                             for start in range(0, len(images), 256)])
    predicted = logits[:, variable.coordinates.start:variable.coordinates.stop].argmax(axis=1)
    matching = category_matching.best_matching(predicted, labels, variable.categories)
    drawn = generated_digits(run.generator, run.config.model, variable, images, labels, alpha=run.alpha, seed=seed)
    category_of_digit = {int(digit): int(category) for category, digit in matching.pairs}
    if figure_path:
        write_category_rows(figure_path, run.generator, run.config.model, variable, category_of_digit,
                            alpha=run.alpha, seed=seed)
    return {"step": run.step, "phase": run.phase, "mi_bound": scores[f"mi_bound/{name}"],
            "mi_bound_ceiling": scores[f"mi_bound_ceiling/{name}"],
            "mi_bound_fraction": scores[f"mi_bound/{name}"] / math.log(variable.categories),
            "generated_accuracy": scores[f"code_accuracy/{name}"],
            "unsupervised_accuracy": matching.accuracy,
            "category_of_digit": category_of_digit,
            "categories_used": int(len(np.unique(predicted))), **drawn}


# A digit counts as drawn by G when it is at least a fifth of an even share (1/10) of the samples.
DRAWN_SHARE = 0.02


def category_images(generator, model_config, variable, *, alpha: float, num_samples: int, seed: int) -> np.ndarray:
    """float [num_samples, K, H, W, 3]: each of `num_samples` seeded samples drawn with every
    category of the categorical `variable` (the other codes and the noise kept)."""
    from progressive_infogan import latents as latent_inputs
    from progressive_infogan.explore import common

    noise, code = latent_inputs.latents(model_config, seed, 0, num_samples)
    noise, code = latent_inputs.with_variable_values(model_config, np.asarray(noise), np.asarray(code),
                                                     variable.coordinates.start, range(variable.categories))
    images = common.generate(generator, noise, code, alpha=alpha)  # sample-major
    return images.reshape((num_samples, variable.categories) + images.shape[1:])


def generated_digits(generator, model_config, variable, real_images: np.ndarray, labels: np.ndarray, *,
                     alpha: float = 1.0, per_category: int = 100, seed: int = 0) -> Dict[str, object]:
    """What G draws for each category of the categorical `variable`, read by a digit classifier
    fitted on the real digits (logistic regression on the grey pixels; the labels serve scoring
    only). It tells a G that drops digits from one whose categories mix digits:

    - "digit_share": each digit's share of all generated samples (0.1 each if G draws all evenly);
    - "digits_drawn": how many digits have a share >= DRAWN_SHARE;
    - "category_purity": the share of a category's samples that are its most frequent digit,
      averaged over the categories (1: each category draws one digit);
    - "classifier_accuracy": the classifier on the real digits it was fitted on (its ceiling).
    """
    from sklearn.linear_model import LogisticRegression

    def pixels(images):
        return np.asarray(images)[..., 0].reshape(-1, images.shape[-3] * images.shape[-2])

    classifier = LogisticRegression(max_iter=5000).fit(pixels(real_images), labels)
    images = category_images(generator, model_config, variable, alpha=alpha, num_samples=per_category, seed=seed)
    drawn = classifier.predict(pixels(images)).reshape(per_category, variable.categories)
    share = np.bincount(drawn.ravel(), minlength=int(labels.max()) + 1) / drawn.size
    purity = [np.bincount(drawn[:, category]).max() / per_category for category in range(variable.categories)]
    return {"digit_share": [float(value) for value in share],
            "digits_drawn": int((share >= DRAWN_SHARE).sum()),
            "category_purity": float(np.mean(purity)),
            "classifier_accuracy": float(classifier.score(pixels(real_images), labels))}


def write_category_rows(path: str, generator, model_config, variable, category_of_digit: Dict[int, int], *,
                        alpha: float = 1.0, num_samples: int = 10, seed: int = 0) -> np.ndarray:
    """A PNG with one row per category of `variable`: `num_samples` samples, the same noise and
    other codes in every row, captioned with the digit the matching gave the category."""
    from progressive_infogan import figures

    images = figures.to_uint8(category_images(generator, model_config, variable, alpha=alpha,
                                              num_samples=num_samples, seed=seed))
    scale = figures.display_scale(images.shape[-2], 32)
    digit_of = {category: digit for digit, category in category_of_digit.items()}
    rows = [figures.caption(figures.image_grid(figures.upscale(images[:, category][None], scale)),
                            f"category {category}: digit {digit_of.get(category, 'none')}")
            for category in range(variable.categories)]
    figure = figures.stack_vertically(rows, padding=2)
    figures.write_png(path, figure)
    return figure


def write_json(path: str, value) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
