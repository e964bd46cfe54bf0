"""Disentanglement of a run against the synthetic faces' ground-truth factors (issue 10).

Two views of one checkpoint, each scored with every metric of `disentanglement` and with
the scale alignment of `scale_alignment`:

- encoder: Q's mean of every code coordinate on the dataset's real images (the first N in
  record order, at the model's resolution through the run's preprocessing), against their
  true factors (`factors.npz`): the standard protocol, where Q plays the encoder;
- generative: fresh (z, c) through the EMA generator (BN moving statistics), the factors of
  the images read by the project's factor predictor (`explore/factors.py`), against c.
  A factor the predictor does not read (held-out R^2 below `factors.DEFAULT_MIN_R2`) is
  left out of this view; its R^2 is reported beside the scores.

A discrete code variable keeps one column per coordinate in both views, in the units of a
probability: the encoder view reads Q's logits of a categorical variable as its softmax
probabilities (a Bernoulli's as its sigmoid), the generative view has the sampled one-hot vector
(0/1), the probabilities of a certain Q. Raw logits are no representation of their own (adding
the same number to a variable's K logits changes nothing), an argmax would throw away Q's
uncertainty, and one category-index column would give the categories an order they do not have;
K indicator columns are how a regressor (DCI's trees, SAP's correlations) and MIG's
per-column histograms read a categorical variable, and they keep every column in the block that
`scale_alignment.coordinate_blocks` gives it.

Score names: ``<score>/<view>`` (e.g. ``mig/encoder``, ``dci_disentanglement/generative``),
``<score>/<view>/<factor>`` per factor, ``scale_alignment_matrix/<view>/<factor>/block_<b>``
for the factor x block heatmap, and ``factor_predictor_r2/<factor>``. A model without a code
(exp_noinfo) has nothing to score and returns no scores.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from absl import flags
from tqdm import tqdm

from progressive_infogan import command_line
from progressive_infogan.latents import code_of_q, latents
from progressive_infogan.metrics import disentanglement, scale_alignment

VIEWS = ("encoder", "generative")
ENCODER_BATCH = 128
GENERATOR_BATCH = 64  # eval mode: the batch size changes nothing but the speed
PER_FACTOR_SCORES = {"mig": "mig_per_factor", "dci_completeness": "dci_completeness_per_factor",
                     "dci_informativeness_test": "dci_informativeness_test_per_factor", "sap": "sap_per_factor"}


def predictor_settings(name: str):
    """The factor predictor's training settings of an evaluation protocol."""
    from progressive_infogan.explore import factors

    settings = {"standard": factors.TrainingSettings(),
                # Seconds, for tests: it reads nothing, which the generative view then reports.
                "smoke": factors.TrainingSettings(num_images=64, epochs=1, batch_size=16, width=4)}
    if name not in settings:
        raise ValueError(f"unknown factor predictor settings {name!r}; known: {', '.join(settings)}")
    return settings[name]


# --- The two views -------------------------------------------------------------------------

def encoder_view(run, data_dir: str, preprocessing: str, num_images: int, batch_size: int = ENCODER_BATCH,
                 progress: bool = False) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """(Q's estimate of the code [N, K], true factors [N, F], factor names) on the first `num_images`
    images: the means of continuous coordinates, the probabilities of discrete variables."""
    from progressive_infogan import data

    table = data.read_factors(data_dir)
    names = [str(name) for name in table["names"]]
    count = min(int(num_images), len(table["factors"]))
    dataset = data.make_dataset(data_dir, run.phase, batch_size, preprocessing=preprocessing, repeat=False,
                                shuffle_buffer=0, drop_remainder=False)
    codes, seen = [], 0
    with tqdm(total=count, desc="encoder view", disable=not progress, unit="image") as bar:
        for batch in dataset:
            batch = batch[:count - seen]
            q = run.discriminator(batch, alpha=run.alpha)[1]
            codes.append(np.asarray(code_of_q(run.config.model, q), np.float64))
            seen += len(codes[-1])
            bar.update(len(codes[-1]))
            if seen >= count:
                break
    codes = np.concatenate(codes) if codes else np.zeros([0, run.config.model.code_size])
    if len(codes) != count:
        raise ValueError(f"{data_dir}: read {len(codes)} images, expected {count}")
    return codes, np.asarray(table["factors"][:count], np.float64), names


def generative_view(run, predictor, num_images: int, seed: int, batch_size: int = GENERATOR_BATCH,
                    progress: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """(sampled codes [N, K], predicted factors of the generated images [N, F])."""
    codes, predicted = [], []
    num_batches = -(-int(num_images) // batch_size)
    for index in tqdm(range(num_batches), desc="generative view", disable=not progress, unit="batch"):
        noise, code = latents(run.config.model, seed, index, batch_size)
        images = run.generator(noise, code, alpha=run.alpha, training=False)[-1]
        codes.append(np.asarray(code, np.float64))
        predicted.append(np.asarray(predictor(np.asarray(images, np.float32)), np.float64))
    if not codes:
        return np.zeros([0, run.config.model.code_size]), np.zeros([0, 0])
    return np.concatenate(codes)[:num_images], np.concatenate(predicted)[:num_images]


# --- Scores of one view ----------------------------------------------------------------------

def view_scores(view: str, codes: np.ndarray, factors: np.ndarray, factor_names: Sequence[str],
                blocks: np.ndarray, random_state: int, *, n_jobs: Optional[int] = -1,
                num_permutations: int = scale_alignment.NUM_PERMUTATIONS,
                explicitness: bool = True) -> Tuple[Dict[str, float], Dict[str, object]]:
    """(named float scores, the raw results: importance matrix, alignment) of one view."""
    raw = disentanglement.all_scores(codes, factors, random_state, explicitness=explicitness, n_jobs=n_jobs)
    scores = {f"{name}/{view}": float(raw[name]) for name in disentanglement.SCALAR_SCORES if name in raw}
    for score, key in PER_FACTOR_SCORES.items():
        for name, value in zip(factor_names, raw[key]):
            scores[f"{score}/{view}/{name}"] = float(value)
    alignment = scale_alignment.scale_alignment(raw["importance"], blocks, scale_alignment.scale_ranks_of(factor_names),
                                                random_state, num_permutations)
    scores[f"scale_alignment/{view}"] = alignment["rho"]
    for key in ("null_mean", "null_low", "null_high", "p_value"):
        scores[f"scale_alignment_{key}/{view}"] = alignment[key]
    for name, row, mean_block in zip(factor_names, alignment["matrix"], alignment["mean_block"]):
        scores[f"scale_alignment_mean_block/{view}/{name}"] = float(mean_block)
        for block, value in zip(alignment["block_ids"], row):
            scores[f"scale_alignment_matrix/{view}/{name}/block_{block}"] = float(value)
    raw["alignment"] = alignment
    return scores, raw


@dataclasses.dataclass(frozen=True)
class GroundTruthSettings:
    num_images: int = 15_000  # per view; 2/3 train: disentanglement_lib's 10000 / 5000
    factor_predictor: str = "standard"  # a name of `predictor_settings`
    seed: int = 0
    n_jobs: Optional[int] = -1  # DCI's regressors in parallel threads, one per factor
    num_permutations: int = scale_alignment.NUM_PERMUTATIONS
    explicitness: bool = True
    progress: bool = False


def factor_data(run, data_dir: Optional[str] = None) -> Tuple[str, str]:
    """(data directory with factors.npz, preprocessing) of a run; ValueError if it has none."""
    from progressive_infogan.explore import factors

    found, preprocessing, reason = factors.run_factor_data(run.run_dir, data_dir)
    if found is None:
        raise ValueError(f"disentanglement needs ground-truth factors: {reason}")
    return found, preprocessing


def ground_truth_scores(run, settings: GroundTruthSettings = GroundTruthSettings(), *,
                        data_dir: Optional[str] = None, views: Sequence[str] = VIEWS, cache_dir: Optional[str] = None
                        ) -> Tuple[Dict[str, float], Dict[str, Dict[str, object]]]:
    """(named scores, per view the raw results with "factor_names") of a loaded run."""
    from progressive_infogan.explore import factors

    if run.config.model.code_size == 0:
        return {}, {}
    unknown = set(views) - set(VIEWS)
    if unknown:
        raise ValueError(f"unknown views {sorted(unknown)}; known: {VIEWS}")
    data_dir, preprocessing = factor_data(run, data_dir)
    blocks, _ = scale_alignment.coordinate_blocks(run.config.model)
    options = dict(n_jobs=settings.n_jobs, num_permutations=settings.num_permutations,
                   explicitness=settings.explicitness)
    scores: Dict[str, float] = {}
    raws: Dict[str, Dict[str, object]] = {}
    if "encoder" in views:
        codes, true_factors, names = encoder_view(run, data_dir, preprocessing, settings.num_images,
                                                  progress=settings.progress)
        view, raws["encoder"] = view_scores("encoder", codes, true_factors, names, blocks, settings.seed, **options)
        raws["encoder"]["factor_names"] = names
        scores.update(view)
    if "generative" in views:
        predictor = factors.cached_factor_predictor(data_dir, 2 ** run.phase, preprocessing,
                                                    predictor_settings(settings.factor_predictor), cache_dir=cache_dir)
        names = list(predictor.factor_names)
        r2 = np.asarray(predictor.r2, np.float64)
        readable = r2 >= factors.DEFAULT_MIN_R2
        for name, value in zip(names, r2):
            scores[f"factor_predictor_r2/{name}"] = float(value)
        scores["factor_predictor_num_readable"] = float(readable.sum())
        excluded = [name for name, ok in zip(names, readable) if not ok]
        if excluded:
            print(f"generative view: leaving out factors the predictor reads with R^2 < {factors.DEFAULT_MIN_R2}: "
                  + ", ".join(f"{name} ({value:.2f})" for name, value in zip(names, r2) if value < factors.DEFAULT_MIN_R2))
        if readable.any():
            codes, predicted = generative_view(run, predictor, settings.num_images, settings.seed,
                                               progress=settings.progress)
            kept = [name for name, ok in zip(names, readable) if ok]
            view, raws["generative"] = view_scores("generative", codes, predicted[:, readable], kept, blocks,
                                                   settings.seed, **options)
            raws["generative"]["factor_names"] = kept
            scores.update(view)
        raws.setdefault("generative", {})["excluded_factors"] = excluded
    return scores, raws


def metric(run, real, settings) -> Dict[str, float]:
    """Registry entry: both views at the protocol's sample counts."""
    options = GroundTruthSettings(num_images=settings.disentanglement_num_images,
                                  factor_predictor=settings.factor_predictor, seed=settings.seed,
                                  progress=settings.progress)
    scores, _ = ground_truth_scores(run, options, data_dir=real.data_dir if real is not None else None)
    return scores


def heatmap_from_scores(scores: Mapping[str, float], view: str, path: str, title: str = "") -> Optional[str]:
    """Draw a view's factor x block matrix from named scores (a metrics.jsonl line's), with
    the factors in their coarse-to-fine order; None if the scores have no such matrix."""
    from progressive_infogan import synthetic_faces

    prefix = f"scale_alignment_matrix/{view}/"
    cells = {}
    for key, value in scores.items():
        if key.startswith(prefix):
            name, block = key[len(prefix):].rsplit("/block_", 1)
            cells[(name, int(block))] = math.nan if value is None else float(value)
    if not cells:
        return None
    names = [name for name in synthetic_faces.FACTOR_NAMES if any(key[0] == name for key in cells)]
    blocks = sorted({block for _, block in cells})
    matrix = np.array([[cells.get((name, block), math.nan) for block in blocks] for name in names])
    scale_names = {rank: scale for scale, rank in scale_alignment.SCALE_RANKS.items()}
    labels = [f"{name} ({scale_names[int(rank)]})" for name, rank in zip(names, scale_alignment.scale_ranks_of(names))]
    label = f"{title} {view} view".strip()
    rho = scores.get(f"scale_alignment/{view}")
    if rho is not None and math.isfinite(rho):
        label += f"\nrho = {rho:+.2f}"
        low, high = scores.get(f"scale_alignment_null_low/{view}"), scores.get(f"scale_alignment_null_high/{view}")
        p_value = scores.get(f"scale_alignment_p_value/{view}")
        if low is not None and high is not None and p_value is not None and math.isfinite(p_value):
            label += f", null 95% [{low:+.2f}, {high:+.2f}], p = {p_value:.3f}"
    return scale_alignment.plot_heatmap(matrix, names, blocks, path, title=label, factor_labels=labels)


# --- Command line ---------------------------------------------------------------------------

def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string("run_dir", None, "Run directory evaluated with --metrics=disentanglement.",
                        flag_values=flag_values)
    flags.DEFINE_string("protocol", None, "Use the newest evaluation of this protocol (default: the newest).",
                        flag_values=flag_values)
    flags.DEFINE_string("out", ".", "Directory for scale_alignment_<view>.png.", flag_values=flag_values)
    flags.mark_flag_as_required("run_dir", flag_values=flag_values)


def main(argv: Sequence[str], flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Draw the scale-alignment heatmaps of a run's newest evaluation with these scores."""
    import os

    from progressive_infogan import tables

    del argv
    result = tables.read_run(flag_values.run_dir, protocol=flag_values.protocol)
    if result is None:
        raise SystemExit(f"{flag_values.run_dir}: no metrics.jsonl line" + (
            f" of protocol {flag_values.protocol}" if flag_values.protocol else ""))
    os.makedirs(flag_values.out, exist_ok=True)
    for view in VIEWS:
        path = heatmap_from_scores(result.metrics, view, os.path.join(flag_values.out, f"scale_alignment_{view}.png"),
                                   title=f"{result.experiment} step {result.step}")
        if path:
            print(path)
        elif view == "generative" and result.metrics.get("factor_predictor_num_readable") == 0:
            print("generative view: the factor predictor reads no factor (factor_predictor_r2/*), nothing to draw")
        else:
            print(f"{view} view: not evaluated (run evaluate with --metrics=disentanglement)")


if __name__ == "__main__":
    command_line.run(main, define_flags)
