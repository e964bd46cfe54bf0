import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from explore_fixtures import (BERNOULLI, EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE, NORMAL, PHASE,
                              MixedCodeGenerator, mixed_model)
from progressive_infogan.explore import common, projection
from progressive_infogan.latents import latents

SIZE = 2 ** PHASE
# Projecting an image the model generated itself: 60 Adam steps (lr 0.1) from noise 0 and
# Q's code reach MSE ~0.016 (start ~0.34) on the fixture's random phase-4 model (0.010 to
# 0.030 over the samples of seeds 1..5 and 123; seed 1 is the median).
SELF_PROJECTION_MSE_BOUND = 0.03


def test_projection_recovers_a_generated_image(small_run):
    generator, model_config = small_run.generator, small_run.config.model
    noise, code = latents(model_config, 1, 0, 1)
    photo = common.generate(generator, noise, code)[0]
    result = projection.project(generator, small_run.discriminator, model_config, photo, steps=60,
                                learning_rate=0.1, restarts=1)
    print(f"self-projection MSE {result.mse:.5f} (start {result.initial_mse:.5f})")
    assert result.mse < SELF_PROJECTION_MSE_BOUND
    assert result.mse < 0.2 * result.initial_mse
    assert result.losses.shape == (61,) and result.losses[-1] < result.losses[0]
    np.testing.assert_allclose(result.reconstruction, common.generate(generator, result.noise, result.code)[0],
                               atol=1e-6)


def test_projection_starts_from_the_q_estimate(small_run):
    generator, model_config = small_run.generator, small_run.config.model
    photo = common.generate(generator, *latents(model_config, 4, 0, 1))[0]
    start = projection.project(generator, small_run.discriminator, model_config, photo, steps=0)
    estimate = projection.estimate_code(small_run.discriminator, photo)
    np.testing.assert_allclose(start.code, estimate)
    assert not start.noise.any()
    assert not estimate[0, 48:].any()  # blocks 5 and 6 have no Q head at phase 4
    assert start.mse == pytest.approx(start.initial_mse, rel=1e-5)


def test_msssim_matches_tensorflow_and_has_finite_gradients():
    rng = np.random.default_rng(0)
    a = np.tanh(rng.standard_normal([3, SIZE, SIZE, 3])).astype(np.float32)
    b = np.clip(a + 0.3 * rng.standard_normal(a.shape), -1, 1).astype(np.float32)
    upscale = lambda x: tf.repeat(tf.repeat(x, 16, 1), 16, 2) + 1.0  # noqa: E731
    reference = tf.image.ssim_multiscale(upscale(a), upscale(b), max_val=2.0)
    np.testing.assert_allclose(projection.msssim(a, b), reference, atol=1e-4)
    np.testing.assert_allclose(projection.msssim(a, a), 1.0, atol=1e-5)
    unrelated = tf.Variable(-a)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(projection.reconstruction_loss(unrelated, a, "mse+msssim"))
    assert np.isfinite(tape.gradient(loss, unrelated).numpy()).all()


def test_edits_change_the_image_only_through_effective_coordinates(small_run, tmp_path):
    generator, discriminator, model_config = small_run.generator, small_run.discriminator, small_run.config.model
    photo = common.generate(generator, *latents(model_config, 9, 0, 1))[0]
    edits = [{EFFECTIVE_COORDINATE: 2.5}, {INEFFECTIVE_COORDINATE: 2.5}, {EFFECTIVE_COORDINATE: 1.0, 3: -1.0}]
    path = str(tmp_path / "edits.png")
    result, edited, figure = projection.write_photo_edits(path, generator, discriminator, model_config, photo, edits,
                                                          steps=5)
    assert np.abs(edited[0] - result.reconstruction).max() > 1e-2
    np.testing.assert_array_equal(edited[1], result.reconstruction)
    with Image.open(path) as image:
        assert image.size == (figure.shape[1], figure.shape[0])
        assert image.size[0] >= 5 * 128  # photo, reconstruction, 3 edits at 128 px
    code = np.zeros([1, model_config.code_size], np.float32) + 0.5
    np.testing.assert_array_equal(projection.edited_code(code, {2: 1.0}, "set")[0, :3], [0.5, 0.5, 1.0])
    np.testing.assert_array_equal(projection.edited_code(code, {2: 1.0}, "add")[0, :3], [0.5, 0.5, 1.5])
    assert projection.parse_edits("5=2.5; 5=-2.5;17=1,18=-1") == [{5: 2.5}, {5: -2.5}, {17: 1.0, 18: -1.0}]
    # The figures' labels, as the README's examples write them.
    assert projection.parse_edits("C5=2.5;C17=1, 18=-1", 80) == [{5: 2.5}, {17: 1.0, 18: -1.0}]


def test_load_photo_centre_crops_and_resizes(tmp_path):
    pixels = np.zeros([30, 50, 3], np.uint8)
    pixels[:, 10:40] = 255  # the centred 30x30 square is white, the sides black
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    photo = projection.load_photo(str(tmp_path / "photo.png"), SIZE)
    assert photo.shape == (SIZE, SIZE, 3) and photo.dtype == np.float32
    np.testing.assert_allclose(photo, 1.0, atol=1e-6)


def test_load_photo_turns_the_pixels_upright_by_their_exif_orientation(tmp_path):
    upright = np.zeros([32, 32, 3], np.uint8)
    upright[:8] = 255  # white along the top edge as a viewer shows the photo
    # A camera held sideways stores the sensor's pixels turned and tags orientation 6
    # ("rotate 90 degrees clockwise to display").
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "sideways.jpg", quality=95, exif=exif)
    photo = projection.load_photo(str(tmp_path / "sideways.jpg"), 32)
    assert photo[:6].mean() > 0.9 and photo[10:].mean() < -0.9


def test_read_photo_names_a_missing_or_undecodable_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"photo {tmp_path / 'absent.jpg'} does not exist"):
        projection.read_photo(str(tmp_path / "absent.jpg"))
    (tmp_path / "text.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match=f"photo {tmp_path / 'text.jpg'} is not a readable image"):
        projection.read_photo(str(tmp_path / "text.jpg"))
    Image.fromarray(np.full([64, 64, 3], 90, np.uint8)).save(tmp_path / "whole.jpg")
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "whole.jpg").read_bytes()[:400])
    with pytest.raises(ValueError, match="cut.jpg is not a readable image"):
        projection.read_photo(str(tmp_path / "cut.jpg"))


def test_a_saved_projection_edits_again_without_projecting(small_run, tmp_path):
    generator, discriminator, model_config = small_run.generator, small_run.discriminator, small_run.config.model
    photo = common.generate(generator, *latents(model_config, 5, 0, 1))[0]
    edits = [{EFFECTIVE_COORDINATE: 2.5}, {EFFECTIVE_COORDINATE: -2.5}]
    path = str(tmp_path / "edits.png")
    result, edited, figure = projection.write_photo_edits(path, generator, discriminator, model_config, photo, edits,
                                                          steps=5)
    saved = projection.latents_path(path)
    assert saved == str(tmp_path / "edits.npz")
    with np.load(saved) as data:
        np.testing.assert_array_equal(data["noise"], result.noise)
        np.testing.assert_array_equal(data["code"], result.code)
        np.testing.assert_array_equal(data["photo"], photo)
    again_path = str(tmp_path / "again.png")
    again, edited_again, figure_again = projection.write_edits_from_latents(again_path, saved, generator, model_config,
                                                                            edits)
    assert again.mse == pytest.approx(result.mse, rel=1e-6) and again.initial_mse == pytest.approx(result.initial_mse)
    np.testing.assert_allclose(again.reconstruction, result.reconstruction, atol=1e-6)
    for one, other in zip(edited_again, edited):
        np.testing.assert_allclose(one, other, atol=1e-6)
    np.testing.assert_array_equal(figure_again, figure)
    np.testing.assert_array_equal(np.asarray(Image.open(again_path)), figure)


def test_a_projection_of_another_model_is_refused(small_run, tmp_path):
    model_config = small_run.config.model
    path = str(tmp_path / "other.npz")
    np.savez(path, noise=np.zeros([1, 32], np.float32), code=np.zeros([1, model_config.code_size], np.float32),
             photo=np.zeros([SIZE, SIZE, 3], np.float32))
    with pytest.raises(ValueError, match="projected with another model"):
        projection.load_projection(path, small_run.generator, model_config)
    np.savez(path, noise=np.zeros([1, 64], np.float32))
    with pytest.raises(ValueError, match="not a saved projection: no code, photo"):
        projection.load_projection(path, small_run.generator, model_config)
    with pytest.raises(FileNotFoundError, match="no saved projection"):
        projection.load_projection(str(tmp_path / "missing.npz"), small_run.generator, model_config)


def test_an_edit_of_an_unknown_coordinate_is_a_user_error():
    from progressive_infogan.errors import UserError

    for bad, message in (("C80=1", r"--edits: C80 is not in this model's code \(C0..C79\)"),
                         ("C19", r"--edits: 'C19' is not C<coordinate>=<value>"),
                         ("X=1", r"--edits: 'X=1' is not C<coordinate>=<value>"),
                         ("C3=big", r"--edits: 'C3=big': 'big' is not a number")):
        with pytest.raises(UserError, match=message):
            projection.parse_edits(bad, 80)


class FixedQ:
    """A discriminator whose Q gives every image the same outputs (default 0: a categorical variable's
    logits tie, so its most likely value is category 0; a Bernoulli's is 0)."""

    def __init__(self, q=None, code_size=8):
        self.q = np.zeros([1, code_size], np.float32) if q is None else np.asarray(q, np.float32)

    def __call__(self, images, alpha=1.0):
        return tf.zeros([len(images)]), tf.constant(np.repeat(self.q, len(images), axis=0))


def test_a_projection_finds_discrete_values_through_their_logits_and_ends_on_a_valid_code():
    generator, model_config = MixedCodeGenerator(), mixed_model(noise_size=4)
    target = np.array([[0, 0, 1, 1, 0.8, 0, 0, 0]], np.float32)  # category 2, Bernoulli 1
    photo = np.asarray(generator(np.full([1, 4], 0.5, np.float32), target)[-1])[0]
    # Q says category 0 and Bernoulli 0: the relaxed half moves the logits to the photo's values,
    # the other half fits the rest with them fixed.
    result = projection.project(generator, FixedQ(), model_config, photo, steps=200, learning_rate=0.1)
    np.testing.assert_array_equal(result.code[0, :4], [0, 0, 1, 1])
    assert result.code[0, NORMAL] == pytest.approx(0.8, abs=0.05)
    assert result.mse < 1e-4 < result.initial_mse
    np.testing.assert_allclose(result.reconstruction, np.asarray(generator(result.noise, result.code)[-1])[0],
                               atol=1e-6)
    # Without steps: Q's most likely values, its means as they are.
    q = [[1.0, 3.0, 2.0, -1.0, 0.7, 0.1, 0.0, 0.0]]
    start = projection.project(generator, FixedQ(q), model_config, photo, steps=0)
    np.testing.assert_array_equal(start.code, np.float32([[0, 1, 0, 0, 0.7, 0.1, 0, 0]]))
    assert start.mse == pytest.approx(start.initial_mse, rel=1e-6)


def test_an_edit_sets_a_discrete_variable():
    from progressive_infogan.errors import UserError

    model_config = mixed_model()
    code = np.array([[1, 0, 0, 0, 0.5, 0.5, 0.5, 0.5]], np.float32)
    # Any coordinate of the categorical variable names it; the value is the category, written one-hot.
    np.testing.assert_array_equal(projection.edited_code(code, {1: 2.0}, "set", model_config),
                                  [[0, 0, 1, 0, 0.5, 0.5, 0.5, 0.5]])
    np.testing.assert_array_equal(projection.edited_code(code, {BERNOULLI: 1.0, NORMAL: -1.0}, "set", model_config),
                                  [[1, 0, 0, 1, -1, 0.5, 0.5, 0.5]])
    np.testing.assert_array_equal(projection.edited_code(code, {NORMAL: 1.0}, "add", model_config)[0, NORMAL], 1.5)
    assert projection.parse_edits("C2=1;C3=1,C4=-2.5", 8, model_config) == [{2: 1.0}, {3: 1.0, 4: -2.5}]
    for text, mode, message in (("C1=3", "set", r"C1=3: a categorical 3 variable takes one of 0\.\.2"),
                                ("C3=0.5", "set", r"C3=0.5: a bernoulli variable takes one of 0\.\.1"),
                                ("C0=1,C2=2", "set", r"sets the categorical 3 variable C0\.\.C2 twice"),
                                ("C0=1", "add", r"C0 is a categorical 3 variable: it can only be set")):
        with pytest.raises(UserError, match=message):
            projection.parse_edits(text, 8, model_config, mode)
    # The default edits: a continuous coordinate at -2.5 and +2.5, a discrete variable at each of its values.
    assert projection.default_edits(model_config, [1, 2, BERNOULLI, NORMAL]) == [
        {0: 0.0}, {0: 1.0}, {0: 2.0}, {BERNOULLI: 0.0}, {BERNOULLI: 1.0}]
    assert projection.default_edits(model_config, [NORMAL, 5, 6]) == [{4: -2.5}, {4: 2.5}, {5: -2.5}, {5: 2.5}]
