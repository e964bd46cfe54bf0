import json
import os

import numpy as np
import pytest

from explore_fixtures import (BERNOULLI, CATEGORICAL, EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE, NORMAL,
                              MixedCodeGenerator, mixed_model, small_config)
from progressive_infogan.explore import summary


def blob(y, x, size=32, sigma=2.0):
    yy, xx = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5, indexing="ij")
    return np.exp(-((yy - y * size) ** 2 + (xx - x * size) ** 2) / (2 * sigma ** 2))


@pytest.mark.parametrize("y, x, region", [(0.15, 0.5, "top / hair"), (0.42, 0.35, "eyes band"),
                                          (0.58, 0.5, "nose / centre"), (0.8, 0.5, "mouth / chin"),
                                          (0.08, 0.06, "background / border")])
def test_face_region_of_a_blob(y, x, region):
    name, centroid, spread, _ = summary.face_region(blob(y, x))
    assert name == region
    assert centroid == pytest.approx((y, x), abs=0.03)
    assert max(spread) < 0.1


def test_face_region_of_uniform_and_empty_maps():
    assert summary.face_region(np.ones([16, 16]))[0] == "whole image"
    assert summary.face_region(np.zeros([16, 16]))[0] == "nowhere"


def test_colour_fraction_separates_colour_from_structure():
    rng = np.random.default_rng(0)
    minus = np.tanh(rng.standard_normal([4, 16, 16, 3]))
    recoloured = minus * np.array([1.3, 0.8, 1.0]) + np.array([0.1, -0.2, 0.05])
    moved = np.roll(minus, 3, axis=2)
    assert summary.colour_fraction(minus, recoloured) > 0.99
    assert summary.colour_fraction(minus, moved) < 0.1
    assert summary.change_kind(0.1, 0.99) == "colour" and summary.change_kind(0.1, 0.05) == "structure"
    assert summary.change_kind(0.0, 0.0) == "none"


def test_feature_summary_ranks_and_writes(small_run, tmp_path):
    coordinates = [0, EFFECTIVE_COORDINATE, 40, INEFFECTIVE_COORDINATE]
    result = summary.write_feature_summary(str(tmp_path), small_run.generator, small_run.config.model, coordinates,
                                           num_samples=4, strip_samples=2, strip_steps=5)
    changes = [f.change for f in result.features]
    assert changes == sorted(changes, reverse=True)
    assert sorted(f.coordinate for f in result.features) == sorted(coordinates)
    last = result.features[-1]
    assert last.coordinate == INEFFECTIVE_COORDINATE and last.change == 0 and last.kind == "none"
    assert all(f.change > 0 and f.kind != "none" for f in result.features[:-1])
    assert [f.block for f in result.features if f.coordinate == EFFECTIVE_COORDINATE] == [3]
    markdown = (tmp_path / "summary.md").read_text()
    assert markdown.count("\n| ") == 1 + len(coordinates)  # header + one row each
    assert f"| {INEFFECTIVE_COORDINATE} | 6 | 0.0000 |" in markdown
    assert (tmp_path / "contact_sheet.png").stat().st_size > 0
    assert sorted(os.listdir(tmp_path / "strips")) == sorted(f"C{c}.png" for c in coordinates)
    assert f"(strips/C{EFFECTIVE_COORDINATE}.png)" in markdown
    assert result.strips[0].shape[:2] == (2 * 48 + 2, 5 * 48 + 4 * 2)
    # summary.json: the same table for programs (the browser explorer names its sliders after it).
    records = json.loads((tmp_path / "summary.json").read_text())["coordinates"]
    assert [r["coordinate"] for r in records] == [f.coordinate for f in result.features]
    assert records[-1] == dict(records[-1], rank=len(coordinates), coordinate=INEFFECTIVE_COORDINATE, block=6,
                               change=0.0, kind="none", description="no visible effect", factor=None)
    names = summary.coordinate_names(records)
    assert names[INEFFECTIVE_COORDINATE] == "no visible effect"
    assert names[EFFECTIVE_COORDINATE] == next(f.description for f in result.features
                                               if f.coordinate == EFFECTIVE_COORDINATE)


def test_coordinates_are_named_after_their_factor_before_their_description():
    records = [{"coordinate": 3, "description": "colour, eyes band; follows iris_hue (r=+0.90)", "factor": "iris_hue",
                "factor_correlation": 0.9012},
               {"coordinate": 5, "description": "structure, mouth / chin", "factor": None, "factor_correlation": None}]
    assert summary.coordinate_names(records) == {3: "iris_hue (r=+0.90)", 5: "structure, mouth / chin"}


class FakeGenerator:
    """Images whose red level follows code[3] and whose green level follows code[5] (and noise)."""

    def __init__(self, size=8):
        self.size = size

    def __call__(self, noise, code, alpha=1.0, training=False):
        code = np.asarray(code)
        red = np.tanh(code[:, 3])
        green = 0.5 * np.tanh(code[:, 5]) + 0.3 * np.tanh(np.asarray(noise)[:, 0])
        image = np.zeros([len(code), self.size, self.size, 3], np.float32)
        image[..., 0] = red[:, None, None]
        image[..., 1] = green[:, None, None]
        return [image]


def fake_predictor(images):
    return np.stack([images[..., 0].mean(axis=(1, 2)), images[..., 1].mean(axis=(1, 2)),
                     images[..., 2].mean(axis=(1, 2))], axis=-1)


def test_factor_correlations_name_coordinates_after_their_factor():
    model_config = small_config().model
    correlations, _ = summary.factor_effects(FakeGenerator(), model_config, [0, 3, 5], fake_predictor,
                                             num_samples=6, steps=5)
    assert correlations.shape == (3, 3)
    assert correlations[1, 0] > 0.95 and correlations[2, 1] > 0.95
    assert abs(correlations[0]).max() == 0  # coordinate 0 changes nothing
    names = summary.name_coordinates(correlations, ["redness", "greenness", "blueness"])
    assert [name for name, _ in names] == [None, "redness", "greenness"]
    result = summary.feature_summary(FakeGenerator(), model_config, [0, 3, 5], num_samples=4,
                                     factor_predictor=fake_predictor, factor_names=["redness", "greenness", "blueness"],
                                     min_display_size=8)
    descriptions = {f.coordinate: f.description for f in result.features}
    assert "follows redness" in descriptions[3] and "follows greenness" in descriptions[5]
    assert descriptions[0] == "no visible effect"
    assert {f.coordinate: f.kind for f in result.features}[3] == "colour"


def test_a_discrete_variable_is_one_row_that_steps_through_its_values(tmp_path):
    generator, model_config = MixedCodeGenerator(), mixed_model()
    result = summary.write_feature_summary(str(tmp_path), generator, model_config, list(range(8)), num_samples=4,
                                           strip_samples=2, strip_steps=5, min_display_size=8,
                                           factor_predictor=fake_predictor, factor_names=["red", "green", "blue"],
                                           factor_scales=[1.0, 1.0, 1.0])
    features = {f.coordinate: f for f in result.features}
    assert sorted(features) == [CATEGORICAL, BERNOULLI, NORMAL, 5, 6, 7]  # the 3 one-hot coordinates: one row
    assert [features[c].variable for c in (CATEGORICAL, BERNOULLI, NORMAL)] == ["categorical 3", "bernoulli", ""]
    # Strips: the 3 categories, the Bernoulli's 0 and 1, strip_steps values of a continuous coordinate.
    width = lambda columns: columns * 8 + (columns - 1) * 2  # noqa: E731
    assert [result.strips[c].shape[1] for c in (CATEGORICAL, BERNOULLI, NORMAL)] == [width(3), width(2), width(5)]
    # The change of a categorical variable is the mean over its pairs of categories (only red changes),
    # a Bernoulli's that from 0 to 1 (green moves by 0.6).
    red = generator.red
    pairs = [np.abs(red[i] - red[j]).mean() for i, j in ((0, 1), (0, 2), (1, 2))]
    assert features[CATEGORICAL].change == pytest.approx(np.mean(pairs) / 3, rel=1e-5)
    assert features[BERNOULLI].change == pytest.approx(0.6 / 3, rel=1e-5)
    # Named by eta: red's mean follows the category (levels +0.5, -0.5, +0.5: no order, r would miss it),
    # its swing the range of red's category means.
    correlations = dict(zip(sorted(features), result.correlations[:, 0]))
    swings = dict(zip(sorted(features), result.swings))
    assert correlations[CATEGORICAL] == pytest.approx(1.0, abs=1e-4)
    assert swings[CATEGORICAL][0] == pytest.approx(1.0, rel=1e-4)
    assert features[CATEGORICAL].factor == "red" and "eta=1.00" in features[CATEGORICAL].factor_text
    assert swings[BERNOULLI][1] == pytest.approx(0.6, rel=1e-4) and features[BERNOULLI].factor == "green"
    assert "r=+1.00" in features[BERNOULLI].factor_text
    records = {r["coordinate"]: r for r in json.loads((tmp_path / "summary.json").read_text())["coordinates"]}
    assert records[CATEGORICAL]["variable"] == "categorical 3" and "variable" not in records[NORMAL]
    assert summary.coordinate_names(records.values())[CATEGORICAL] == "red (eta=1.00)"
    markdown = (tmp_path / "summary.md").read_text()
    assert f"| {CATEGORICAL} (categorical 3) | 2 |" in markdown and "correlation ratio eta" in markdown
