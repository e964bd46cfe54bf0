"""Tests for progressive_infogan/digits.py: the bundled 8x8 digits as records, labels aside."""

import numpy as np
import pytest

from progressive_infogan import digits, tfrecords


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    return digits.ensure_digits(str(tmp_path_factory.mktemp("digits")))


def test_the_records_hold_every_digit_at_4_and_8_px_with_labels_aside(digits_dir):
    manifest = tfrecords.read_manifest(digits_dir)
    assert manifest["count"] == 1797 and manifest["resolutions"] == [4, 8]
    images, labels = digits.real_digits(digits_dir, 3)
    assert images.shape == (1797, 8, 8, 3) and labels.shape == (1797,)
    assert np.bincount(labels).min() >= 170  # about 180 of each digit
    source, source_labels = digits.digit_images()
    np.testing.assert_array_equal(labels, source_labels)
    # Record order is sklearn's, pixels 0..16 -> -1..1 (plain preprocessing), grey in every channel.
    np.testing.assert_allclose(images, source / 127.5 - 1.0, atol=1e-6)
    assert images.min() == -1.0 and images.max() == 1.0
    small, _ = digits.real_digits(digits_dir, 2)
    assert small.shape == (1797, 4, 4, 3)


def test_prepared_data_is_reused(digits_dir):
    stamp = tfrecords.read_manifest(digits_dir)
    assert digits.ensure_digits(digits_dir) == digits_dir
    assert tfrecords.read_manifest(digits_dir) == stamp


class _DrawsDigits:
    """A stand-in G at 8 px: category k of the 10-way code draws a real image of digit
    `digit_of(k, s)`, chosen by the sample's first noise value s."""

    def __init__(self, images, labels, digit_of):
        self.of_digit = {digit: images[labels == digit] for digit in range(10)}
        self.digit_of = digit_of

    def __call__(self, noise, code, alpha=1.0, training=False):
        categories, samples = np.argmax(code[:, :10], axis=1), np.asarray(noise)[:, 0]
        images = []
        for k, s in zip(categories, samples):
            candidates = self.of_digit[self.digit_of(k, s)]
            images.append(candidates[int(abs(s) * 1e4) % len(candidates)])
        return [np.stack(images)]


@pytest.mark.parametrize("digit_of, share, drawn, purity", [
    (lambda k, s: (k + 3) % 10, [0.1] * 10, 10, 1.0),  # every digit, one per category
    (lambda k, s: 5, [0] * 5 + [1] + [0] * 4, 1, 1.0),  # G drops every digit but 5
    (lambda k, s: (k + (s > 0)) % 10, [0.1] * 10, 10, 0.5),  # each category mixes two digits
])
def test_generated_digits_tell_dropped_digits_from_mixed_categories(digits_dir, digit_of, share, drawn, purity):
    from progressive_infogan import config as configs

    model = configs.ModelConfig(**configs.code_spec({2: [configs.categorical(10), configs.uniform(2)]}),
                                injection="append")
    variable = model.code_layout.variables[0]
    images, labels = digits.real_digits(digits_dir, 3)
    # The 1000 noise draws are about half positive; the mixed case's shares are 0.1 only on average. The classifier
    # misreads about 1% of the real digits it was fitted on.
    result = digits.generated_digits(_DrawsDigits(images, labels, digit_of), model, variable, images, labels,
                                     per_category=1000, seed=0)
    assert result["classifier_accuracy"] > 0.95
    np.testing.assert_allclose(result["digit_share"], share, atol=0.02)
    assert result["digits_drawn"] == drawn
    assert result["category_purity"] == pytest.approx(purity, abs=0.03)


def test_the_category_figure_has_one_row_per_category_captioned_with_its_digit(tmp_path):
    from PIL import Image

    from progressive_infogan import config as configs
    from progressive_infogan import figures

    model = configs.ModelConfig(**configs.code_spec({2: [configs.categorical(10), configs.uniform(2)]}),
                                injection="append")
    variable = model.code_layout.variables[0]

    def grey_per_category(noise, code, alpha=1.0, training=False):  # category k: a flat grey of level k
        levels = np.argmax(np.asarray(code)[:, :10], axis=1) / 4.5 - 1.0
        return [np.broadcast_to(levels[:, None, None, None], (len(levels), 8, 8, 3)).astype(np.float32)]

    path = str(tmp_path / "categories.png")
    figure = digits.write_category_rows(path, grey_per_category, model, variable, {7: 0, 3: 1}, num_samples=4)
    with Image.open(path) as image:
        np.testing.assert_array_equal(np.asarray(image), figure)
    row_height = figures.CAPTION_HEIGHT + 32  # 8 px samples shown at 32 px, under a caption
    assert figure.shape == (10 * row_height + 9 * 2, 4 * 32 + 3 * 2, 3)
    for category in range(10):
        top = category * (row_height + 2) + figures.CAPTION_HEIGHT
        cells = figure[top:top + 32, :, 0]
        level = figures.to_uint8(np.float32(category / 4.5 - 1.0))
        assert (cells[:, :32] == level).all() and (cells[:, -32:] == level).all(), category
    width = figure.shape[1]
    for category, text in ((0, "category 0: digit 7"), (1, "category 1: digit 3"), (2, "category 2: digit none")):
        top = category * (row_height + 2)
        strip = figures.caption(np.zeros([1, width, 3], np.uint8), text)[:figures.CAPTION_HEIGHT]
        np.testing.assert_array_equal(figure[top:top + figures.CAPTION_HEIGHT], strip)
