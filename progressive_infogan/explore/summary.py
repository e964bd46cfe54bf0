"""A feature summary of a whole model (thesis Appendix 12.1), with automatic descriptions.

For every coordinate: a small traversal strip, how much it changes the image
(mean |img(+k) - img(-k)| over samples), where the change acts (the centroid and spread of
the sample-averaging change map, classified into face regions) and whether it is a change
of colour or of structure. Coordinates are ranked by the size of their change; the result
is a markdown table and a PNG contact sheet.

Colour vs structure: the change of each image's per-channel mean and deviation (colour,
brightness, contrast) against the change that remains after every image is normalised per
channel (shapes moving). The colour share is colour energy / (colour + structure energy).

With ground-truth factors (e.g. the synthetic faces dataset), each coordinate is named after
the factor that follows it most closely (`factor_effects`, then `name_coordinates`): a
`factor_predictor(images) -> [N, F]` reads the factors off generated images (`explore.factors`
trains one on the run's data). A coordinate is named only when |r| >= `min_correlation`, only after a factor it
moves by at least `min_swing` standard deviations (r alone is blind to the size of an
effect) and, given the predictor's held-out R^2 per factor, only after factors it reads with
R^2 >= `min_factor_r2`: a factor the predictor can't see (the iris hue of a 16 px face)
never names anything.

A discrete code variable is one feature, one row: a categorical(K) variable (named by its first
coordinate) and a Bernoulli step through their values (`latents.traversal_values`), their change
is the mean over every pair of values (`averaging.value_pairs`) and their strips show every value.
A categorical variable's categories have no order, so it is named after a factor by the
correlation ratio eta (how much of the factor's change its category explains) instead of r.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from progressive_infogan import figures
from progressive_infogan import latents as latent_inputs
from progressive_infogan.config import ModelConfig
from progressive_infogan.explore import averaging, common, traversal
from progressive_infogan.latents import latents

FactorPredictor = Callable[[np.ndarray], np.ndarray]

# Vertical bands of an aligned, centred face crop (CelebA-HQ), as fractions of the height.
FACE_BANDS = ((0.35, "top / hair"), (0.5, "eyes band"), (0.65, "nose / centre"), (1.01, "mouth / chin"))
# A change spread like a uniform one (std of U[0, 1] is 0.289) in both directions is global.
WHOLE_IMAGE_SPREAD = 0.24
COLOUR_KIND_THRESHOLDS = (0.3, 0.6)  # below: structure; above: colour; between: both.
# A mean pixel change at or below this is none: a coordinate G ignores still moves pixels by about 1e-8, because
# kernels round by batch position, and an 8-bit pixel step is 8e-3.
NO_CHANGE = 1e-6


@dataclasses.dataclass
class CoordinateFeature:
    coordinate: int
    block: int
    change: float  # mean |img(+k) - img(-k)| in [-1, 1] units
    region: str
    centroid: Tuple[float, float]  # (y, x) as fractions of the image side
    spread: Tuple[float, float]  # weighted std of (y, x), fractions
    border_fraction: float  # share of the change outside the central head ellipse
    colour_fraction: float
    kind: str  # "colour", "structure", "colour + structure" or "none"
    factor: Optional[str] = None  # the named factor (None: no readable factor correlates enough)
    factor_correlation: Optional[float] = None
    best_factor: Optional[str] = None  # the readable factor with the largest |r|, named or not
    best_correlation: Optional[float] = None
    factor_swing: Optional[float] = None  # |change| of the best factor over [-k, k], in factor scales
    variable: str = ""  # a discrete variable's kind ('categorical K', 'bernoulli'; traversal.variable_kind)

    @property
    def statistic(self) -> str:
        """What the correlations are: Pearson r, or eta for a categorical variable (`factor_effects`)."""
        return "eta" if self.variable.startswith("categorical") else "r"

    @property
    def label(self) -> str:
        return traversal.caption_text(self.coordinate, self.block, self.variable)

    @property
    def factor_text(self) -> str:
        """The summary's factor column: the named factor, else the best one that fell short."""
        swing = "" if self.factor_swing is None else f", swing {self.factor_swing:.2f} sd"
        if self.kind == "none":
            return ""
        if self.factor is not None:
            return (f"correlates most with {self.factor} "
                    f"({association_text(self.statistic, self.factor_correlation)}{swing})")
        if self.best_factor is not None:
            best = association_text(self.statistic, self.best_correlation)
            return f"no factor (best: {self.best_factor}, {best}{swing})"
        return ""

    @property
    def base_description(self) -> str:
        return "no visible effect" if self.kind == "none" else f"{self.kind}, {self.region}"

    @property
    def description(self) -> str:
        text = self.base_description
        if self.kind != "none" and self.factor is not None:
            text += f"; follows {self.factor} ({association_text(self.statistic, self.factor_correlation)})"
        return text


def association_text(statistic: str, value: float) -> str:
    """'r=+0.90', or 'eta=0.90' (eta has no sign: a categorical variable's categories have no order)."""
    return f"eta={value:.2f}" if statistic == "eta" else f"r={value:+.2f}"


def face_region(change_map: np.ndarray) -> Tuple[str, Tuple[float, float], Tuple[float, float], float]:
    """(region, centroid (y, x), spread (y, x), border fraction) of a [H, W] change map."""
    total = float(np.sum(change_map))
    if total <= 0:
        return "nowhere", (0.5, 0.5), (0.0, 0.0), 0.0
    height, width = change_map.shape
    y, x = np.meshgrid((np.arange(height) + 0.5) / height, (np.arange(width) + 0.5) / width, indexing="ij")
    weights = change_map / total
    centroid = (float(np.sum(weights * y)), float(np.sum(weights * x)))
    spread = (float(np.sqrt(np.sum(weights * (y - centroid[0]) ** 2))),
              float(np.sqrt(np.sum(weights * (x - centroid[1]) ** 2))))
    # Face and hair of an aligned crop roughly fill this ellipse; the rest is background.
    inside_head = ((y - 0.5) / 0.5) ** 2 + ((x - 0.5) / 0.36) ** 2 <= 1.0
    border_fraction = float(np.sum(weights[~inside_head]))
    if min(spread) > WHOLE_IMAGE_SPREAD:
        region = "whole image"
    elif border_fraction > 0.5:
        region = "background / border"
    else:
        region = next(name for limit, name in FACE_BANDS if centroid[0] < limit)
    return region, centroid, spread, border_fraction


def colour_fraction(minus_images: np.ndarray, plus_images: np.ndarray) -> float:
    """Share of the change that is colour: per image and channel, the change of the mean and
    standard deviation (colour, brightness, contrast) against the change left after each image
    is normalised to zero mean and unit deviation per channel (structure), both as energies in
    the -k image's units."""
    minus = np.asarray(minus_images, np.float64).reshape(len(minus_images), -1, 3)
    plus = np.asarray(plus_images, np.float64).reshape(len(plus_images), -1, 3)
    mean_minus, mean_plus = minus.mean(axis=1), plus.mean(axis=1)
    std_minus, std_plus = minus.std(axis=1), plus.std(axis=1)
    colour = np.sum((mean_plus - mean_minus) ** 2 + (std_plus - std_minus) ** 2)

    def normalised(images, mean, std):
        return (images - mean[:, None]) / np.maximum(std[:, None], 1e-6)

    structure_shift = normalised(plus, mean_plus, std_plus) - normalised(minus, mean_minus, std_minus)
    structure = np.sum(std_minus ** 2 * np.mean(structure_shift ** 2, axis=1))
    return float(colour / (colour + structure)) if colour + structure > 0 else 0.0


def change_kind(change: float, fraction: float) -> str:
    if change <= NO_CHANGE:
        return "none"
    low, high = COLOUR_KIND_THRESHOLDS
    return "colour" if fraction > high else "structure" if fraction < low else "colour + structure"


def describe_coordinate(model_config: ModelConfig, coordinate: int, minus_images: np.ndarray,
                        plus_images: np.ndarray, blur_sigma: float = 1.0) -> CoordinateFeature:
    """A coordinate's feature from its samples at -k and +k ([N, H, W, 3] each; a discrete
    variable's at every pair of its values, `averaging.value_pairs`)."""
    change = float(np.mean(np.abs(plus_images - minus_images)))
    change = change if change > NO_CHANGE else 0.0
    region, centroid, spread, border = face_region(averaging.change_intensity(minus_images, plus_images, blur_sigma))
    fraction = colour_fraction(minus_images, plus_images)
    return CoordinateFeature(coordinate=coordinate, block=common.coordinate_block(model_config, coordinate),
                             change=change, region=region if change > 0 else "nowhere", centroid=centroid,
                             spread=spread, border_fraction=border, colour_fraction=fraction,
                             kind=change_kind(change, fraction),
                             variable=traversal.variable_kind(model_config, coordinate))


def factor_effects(generator, model_config: ModelConfig, coordinates: Sequence[int],
                   factor_predictor: FactorPredictor, num_samples: int = 16, steps: int = 7,
                   amplitude: float = 2.5, alpha: float = 1.0, seed: int = 0,
                   factor_scales: Optional[Sequence[float]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """(correlations, swings), each [coordinates, F], of the intervention that sets a coordinate
    to linspace(-amplitude, amplitude, steps) with everything else fixed, pooled over the
    samples after removing each sample's mean (only the coordinate moves).

    correlation: Pearson r between the coordinate's value and each predicted factor; it is
    blind to the size of the effect (a faint but consistent nudge has |r| near 1).
    swing: how far the predicted factor moves from -amplitude to +amplitude (least-squares
    slope * 2 * amplitude, absolute) in units of `factor_scales` (e.g. the factor's standard
    deviation over the dataset); default: the standard deviation of all the predictions.

    A discrete variable takes its values instead (`latents.traversal_values`): a Bernoulli's 0 and
    1 (r is the point-biserial correlation, the swing the change of the factor's mean), a
    categorical variable's K categories, which have no order, so its correlation is the
    correlation ratio eta = sqrt(between-category / total sum of squares) in [0, 1] and its
    swing the range of the factor's category means."""
    noise, code = map(np.asarray, latents(model_config, seed, 0, num_samples))
    correlations, changes, predictions = [], [], []
    for coordinate in coordinates:
        values = latent_inputs.traversal_values(model_config, coordinate, steps, amplitude)
        images = traversal.coordinate_traversal(generator, noise, code, coordinate, values, alpha,
                                                model_config=model_config)
        factors = np.asarray(factor_predictor(images.reshape((-1,) + images.shape[2:])), np.float64)
        predictions.append(factors)
        factors = factors.reshape(num_samples, len(values), -1)
        factors = factors - factors.mean(axis=1, keepdims=True)
        if model_config.code_layout.variable_of(coordinate).distribution == "categorical":
            correlation, change = _category_effect(factors)
        else:
            correlation, change = _linear_effect(factors, values)
        correlations.append(correlation)
        changes.append(change)
    if not len(coordinates):
        return np.zeros([0, 0], np.float32), np.zeros([0, 0], np.float32)
    if factor_scales is None:
        factor_scales = np.concatenate(predictions).std(axis=0)
    factor_scales = np.maximum(np.asarray(factor_scales, np.float64), 1e-12)
    swings = np.asarray(changes) / factor_scales
    return np.asarray(correlations, np.float32), swings.astype(np.float32)


def _linear_effect(factors: np.ndarray, values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(Pearson r, |least-squares slope| * value range), each [F], of per-sample centred factors
    [N, V, F] against the values [V] they were read at."""
    centred_values = (values - values.mean()).astype(np.float64)[None, :, None]
    value_energy = float(np.sum(centred_values ** 2)) * len(factors)
    covariance = np.sum(factors * centred_values, axis=(0, 1))
    scale = np.sqrt(np.sum(factors ** 2, axis=(0, 1)) * value_energy)
    correlation = np.where(scale > 0, covariance / np.maximum(scale, 1e-12), 0.0)
    slope = covariance / value_energy if value_energy > 0 else np.zeros_like(covariance)
    return correlation, np.abs(slope) * (values.max() - values.min())


def _category_effect(factors: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(eta, range of the category means), each [F], of per-sample centred factors [N, K, F]."""
    means = factors.mean(axis=0)  # [K, F]; their mean over the categories is 0
    between = len(factors) * np.sum(means ** 2, axis=0)
    total = np.sum(factors ** 2, axis=(0, 1))
    eta = np.where(total > 0, np.sqrt(between / np.maximum(total, 1e-12)), 0.0)
    return eta, means.max(axis=0) - means.min(axis=0)


@dataclasses.dataclass
class FactorMatch:
    """The factor a coordinate correlates with most, among those that may name it."""

    factor: Optional[str]  # None: no readable factor
    correlation: float
    swing: Optional[float]
    eligible: bool  # readable and (with swings) moved by at least min_swing


def best_factors(correlations: np.ndarray, factor_names: Sequence[str],
                 factor_r2: Optional[Sequence[float]] = None, min_factor_r2: float = 0.5,
                 swings: Optional[np.ndarray] = None, min_swing: float = 0.25) -> List[FactorMatch]:
    """Per coordinate, the factor with the largest |r| among the eligible ones: readable
    (R^2 >= min_factor_r2 when `factor_r2` is given) and, when `swings` are given, moved by at
    least `min_swing`; when none is eligible, the readable factor with the largest |r|
    (eligible=False), or no factor when none is readable."""
    readable = np.ones(len(factor_names), bool) if factor_r2 is None else np.asarray(factor_r2) >= min_factor_r2
    matches = []
    for row_index, row in enumerate(np.abs(np.nan_to_num(np.asarray(correlations, np.float64)))):
        swing_row = None if swings is None else np.asarray(swings[row_index], np.float64)
        eligible = readable if swing_row is None else readable & (swing_row >= min_swing)
        pool = eligible if eligible.any() else readable
        if not pool.any():
            matches.append(FactorMatch(None, 0.0, None, False))
            continue
        index = int(np.argmax(np.where(pool, row, -1.0)))
        matches.append(FactorMatch(factor_names[index], float(correlations[row_index][index]),
                                   None if swing_row is None else float(swing_row[index]), bool(eligible.any())))
    return matches


def name_coordinates(correlations: np.ndarray, factor_names: Sequence[str],
                     min_correlation: float = 0.3, factor_r2: Optional[Sequence[float]] = None,
                     min_factor_r2: float = 0.5, swings: Optional[np.ndarray] = None,
                     min_swing: float = 0.25) -> List[Tuple[Optional[str], float]]:
    """(factor name or None, signed correlation) per coordinate: the eligible factor with the
    largest |r| (see `best_factors`), named only when |r| >= min_correlation."""
    return [(m.factor if m.eligible and abs(m.correlation) >= min_correlation else None, m.correlation)
            for m in best_factors(correlations, factor_names, factor_r2, min_factor_r2, swings, min_swing)]


@dataclasses.dataclass
class FeatureSummary:
    features: List[CoordinateFeature]  # ranked, largest change first
    strips: Dict[int, np.ndarray]  # coordinate -> uint8 traversal strip
    contact_sheet: np.ndarray  # uint8
    correlations: Optional[np.ndarray] = None  # [coordinates (input order), F] with a factor predictor
    swings: Optional[np.ndarray] = None  # [coordinates, F]: see factor_effects
    factor_names: Optional[List[str]] = None
    factor_r2: Optional[List[float]] = None  # the predictor's held-out R^2 per factor
    factor_scales_given: bool = False
    min_correlation: float = 0.3
    min_factor_r2: float = 0.5
    min_swing: float = 0.25


def feature_summary(generator, model_config: ModelConfig, coordinates: Sequence[int], num_samples: int = 8,
                    amplitude: float = 2.5, strip_samples: int = 2, strip_steps: int = 5, alpha: float = 1.0,
                    seed: int = 0, factor_predictor: Optional[FactorPredictor] = None,
                    factor_names: Optional[Sequence[str]] = None, factor_r2: Optional[Sequence[float]] = None,
                    factor_scales: Optional[Sequence[float]] = None, min_correlation: float = 0.3,
                    min_factor_r2: float = 0.5, min_swing: float = 0.25, columns: Optional[int] = None,
                    min_display_size: int = 48, progress: bool = False) -> FeatureSummary:
    noise, code = map(np.asarray, latents(model_config, seed, 0, num_samples))
    coordinates = traversal.traversed_coordinates(model_config, coordinates)  # a categorical variable: one row
    features, strips = [], {}
    for coordinate in tqdm(coordinates, desc="feature summary", disable=not progress):
        # -k and +k for a continuous coordinate (2 steps), every value of a discrete variable.
        values = latent_inputs.traversal_values(model_config, coordinate, 2, amplitude)
        images = traversal.coordinate_traversal(generator, noise, code, coordinate, values, alpha,
                                                model_config=model_config)
        features.append(describe_coordinate(model_config, coordinate, *averaging.value_pairs(images)))
        strip_values = latent_inputs.traversal_values(model_config, coordinate, strip_steps, 3.0)
        strip = traversal.coordinate_traversal(generator, noise[:strip_samples], code[:strip_samples], coordinate,
                                               strip_values, alpha, model_config=model_config)
        scale = figures.display_scale(strip.shape[-2], min_display_size)
        strips[coordinate] = figures.image_grid(figures.upscale(figures.to_uint8(strip), scale))
    if factor_predictor is not None:
        if factor_names is None:
            raise ValueError("factor_predictor needs factor_names")
        correlations, swings = factor_effects(generator, model_config, coordinates, factor_predictor,
                                              num_samples=num_samples, amplitude=amplitude, alpha=alpha, seed=seed,
                                              factor_scales=factor_scales)
        matches = best_factors(correlations, factor_names, factor_r2, min_factor_r2, swings, min_swing)
        names = name_coordinates(correlations, factor_names, min_correlation, factor_r2, min_factor_r2, swings,
                                 min_swing)
        for feature, match, (name, correlation) in zip(features, matches, names):
            feature.best_factor, feature.best_correlation, feature.factor_swing = (
                match.factor, match.correlation, match.swing)
            if name is not None:
                feature.factor, feature.factor_correlation = name, correlation
    else:
        correlations = swings = None
    features.sort(key=lambda feature: -feature.change)
    return FeatureSummary(features=features, strips=strips,
                          contact_sheet=contact_sheet(features, strips, columns),
                          correlations=correlations, swings=swings,
                          factor_names=None if factor_names is None else list(factor_names),
                          factor_r2=None if factor_r2 is None else [float(v) for v in factor_r2],
                          factor_scales_given=factor_scales is not None, min_correlation=min_correlation,
                          min_factor_r2=min_factor_r2, min_swing=min_swing)


def contact_sheet(features: Sequence[CoordinateFeature], strips: Dict[int, np.ndarray],
                  columns: Optional[int] = None) -> np.ndarray:
    """Captioned strips in rank order, column by column (default: about square for 2x5 strips)."""
    if columns is None:
        columns = max(1, int(np.ceil(np.sqrt(len(features) / 2))))
    panels = [figures.caption(strips[f.coordinate], f"#{rank + 1} {f.label} change {f.change:.3f}\n{f.description}")
              for rank, f in enumerate(features)]
    per_column = -(-len(panels) // columns)
    column_images = [figures.stack_vertically(panels[i:i + per_column]) for i in range(0, len(panels), per_column)]
    return figures.stack_horizontally(column_images, padding=12)


def factor_markdown(factor_names: Sequence[str], factor_r2: Optional[Sequence[float]], min_correlation: float,
                    min_factor_r2: float, min_swing: float = 0.25, scales_given: bool = True,
                    categorical: bool = False) -> List[str]:
    """The summary's paragraph on ground-truth factors: the rule and the predictor's R^2."""
    scale = ("the factor's standard deviation over the dataset" if scales_given
             else "the standard deviation of the predictions")
    lines = ["Ground-truth factors: each coordinate is set to 7 values in [-k, k] for every sample, a",
             "regressor trained on the real images reads the factors off the generated ones, and the",
             "coordinate is named after the factor with the largest |Pearson r| with its value among the",
             f"factors it moves by a swing >= {min_swing:g} sd (predicted change from -k to +k in units of",
             f"{scale})" + (f" and that the regressor reads with held-out R^2 >= {min_factor_r2:g}"
                            if factor_r2 is not None else ""),
             f"(unreadable factors are listed below); named only when |r| >= {min_correlation:g}.", ""]
    if categorical:
        lines[-1:-1] = ["A categorical variable's categories have no order: it is set to each category, and named by",
                        "the correlation ratio eta instead of |r|, its swing the range of the factor's category means."]
    if factor_r2 is not None:
        lines += ["Held-out R^2 of the regressor per factor:", ""]
        for name, value in zip(factor_names, factor_r2):
            lines.append(f"- {name}: {value:.2f}" + ("" if value >= min_factor_r2 else
                                                       " (unreadable at this resolution: never used as a name)"))
        lines.append("")
    return lines


def summary_markdown(features: Sequence[CoordinateFeature], title: str = "Feature summary",
                     contact_sheet_name: Optional[str] = "contact_sheet.png",
                     strip_directory: Optional[str] = "strips", factors: Optional[FeatureSummary] = None) -> str:
    lines = [f"# {title}", ""]
    if contact_sheet_name:
        lines += [f"![contact sheet]({contact_sheet_name})", ""]
    lines += ["Coordinates ranked by mean |img(+k) - img(-k)|. Region: where the sample-averaged change",
              "map is centred (aligned-face bands); colour share: the part of the change in per-channel",
              "mean and deviation rather than in the per-channel normalised image.", ""]
    if any(f.variable for f in features):
        lines[-1:-1] = ["A discrete variable is one row, at its first coordinate: its change is the mean over every",
                        "pair of its values (a Bernoulli's 0 and 1, a categorical variable's categories)."]
    with_factors = factors is not None and factors.factor_names is not None
    if with_factors:
        lines += factor_markdown(factors.factor_names, factors.factor_r2, factors.min_correlation,
                                 factors.min_factor_r2, factors.min_swing, factors.factor_scales_given,
                                 categorical=any(f.statistic == "eta" for f in features))
    lines += ["| rank | coord | block | change | region | centroid (y, x) | colour share | description | "
              + ("ground-truth factor | " if with_factors else "") + "strip |",
              "|---:|---:|---:|---:|---|---|---:|---|" + ("---|" if with_factors else "") + "---|"]
    for rank, f in enumerate(features):
        description = f"{f.base_description} | {f.factor_text or '-'}" if with_factors else f.description
        coordinate = f"{f.coordinate} ({f.variable})" if f.variable else f"{f.coordinate}"
        lines.append(f"| {rank + 1} | {coordinate} | {f.block} | {f.change:.4f} | {f.region} | "
                     f"({f.centroid[0]:.2f}, {f.centroid[1]:.2f}) | {f.colour_fraction:.2f} | {description} | "
                     + (f"![C{f.coordinate}]({strip_directory}/C{f.coordinate}.png) |" if strip_directory else " |"))
    return "\n".join(lines) + "\n"


SUMMARY_JSON = "summary.json"


def summary_records(features: Sequence[CoordinateFeature]) -> List[Dict[str, object]]:
    """The summary's table as JSON-ready rows, in rank order (what the browser explorer names its sliders after)."""
    records = [{"rank": rank + 1, "coordinate": int(f.coordinate), "block": int(f.block), "change": float(f.change),
                "region": f.region, "kind": f.kind, "colour_fraction": float(f.colour_fraction),
                "description": f.description, "factor": f.factor,
                "factor_correlation": None if f.factor_correlation is None else float(f.factor_correlation)}
               for rank, f in enumerate(features)]
    for record, f in zip(records, features):  # only discrete variables: continuous rows stay as they were
        if f.variable:
            record.update(variable=f.variable, statistic=f.statistic)
    return records


def coordinate_names(records: Sequence[Dict[str, object]]) -> Dict[int, str]:
    """Coordinate -> its name in a summary: the ground-truth factor it follows (and the sign of
    their correlation), else its description."""
    def name(record):
        if record.get("factor"):
            correlation = record.get("factor_correlation")
            statistic = record.get("statistic", "r")
            return record["factor"] + ("" if correlation is None else f" ({association_text(statistic, correlation)})")
        return str(record["description"])
    return {int(record["coordinate"]): name(record) for record in records}


def write_feature_summary(out_dir: str, generator, model_config: ModelConfig, coordinates: Sequence[int],
                          title: str = "Feature summary", **options) -> FeatureSummary:
    """`summary.md`, `summary.json`, `contact_sheet.png` and one traversal strip per coordinate
    (`strips/C<id>.png`) in `out_dir`."""
    result = feature_summary(generator, model_config, coordinates, **options)
    os.makedirs(out_dir, exist_ok=True)
    for coordinate, strip in result.strips.items():
        figures.write_png(os.path.join(out_dir, "strips", f"C{coordinate}.png"), strip)
    figures.write_png(os.path.join(out_dir, "contact_sheet.png"), result.contact_sheet)
    with open(os.path.join(out_dir, "summary.md"), "w") as handle:
        handle.write(summary_markdown(result.features, title, factors=result))
    with open(os.path.join(out_dir, SUMMARY_JSON), "w") as handle:
        json.dump({"title": title, "coordinates": summary_records(result.features)}, handle, indent=2)
    return result
