import shutil

import numpy as np
import pytest
from PIL import Image

from explore_fixtures import (BERNOULLI, CATEGORICAL, EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE, NORMAL,
                              MixedCodeGenerator, mixed_model)
from progressive_infogan.explore import animation
from progressive_infogan.latents import latents


def expected_values(resolution, amplitude=3.0):
    """The frame order of docs/original_system.md §5.9, written out from its description."""
    values = list(np.linspace(-amplitude, amplitude, resolution))
    negatives, positives = values[:resolution // 2], values[resolution // 2:]
    return ([min(positives, key=abs)] * 3 + sorted(positives) + sorted(positives, reverse=True)
            + sorted(negatives, reverse=True) + sorted(negatives) + [max(negatives)] * 3)


@pytest.mark.parametrize("resolution", [32, 30, 8])
def test_frame_order(resolution):
    values = animation.animation_values(resolution)
    shown = [float(values[index]) for index in animation.animation_frame_order(resolution)]
    np.testing.assert_allclose(shown, expected_values(resolution), rtol=1e-6)
    assert len(shown) == 2 * resolution + 6
    if resolution == 32:
        assert len(shown) == 70 and shown[3 + 15] == pytest.approx(3.0) and shown[3 + 32 + 15] == pytest.approx(-3.0)


def test_value_bar():
    assert animation.value_bar(-3.0) == ""
    assert animation.value_bar(3.0) == "------++++++"
    assert animation.value_bar(0.0) == "------"
    assert animation.value_bar(0.25) == "------+"  # 12 * 0.5417 = 6.5 rounds up, as in Python 2
    assert animation.frame_label(7, 1.5) == "C7 ------+++"


def _runs(frames):
    return 1 + sum(not np.array_equal(a, b) for a, b in zip(frames[:-1], frames[1:]))


def test_coordinate_animation(small_run, tmp_path):
    resolution, grid_size = 8, 2
    coordinates = [EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE]
    frames, shown = animation.coordinate_animation_frames(
        small_run.generator, small_run.config.model, coordinates, grid_size=grid_size, coord_resolution=resolution,
        frame_size=128)
    per_coordinate = 2 * resolution + 6
    assert len(frames) == len(shown) == 2 * per_coordinate
    assert [c for c, _ in shown] == [EFFECTIVE_COORDINATE] * per_coordinate + [INEFFECTIVE_COORDINATE] * per_coordinate
    np.testing.assert_allclose([v for _, v in shown[:per_coordinate]], expected_values(resolution), rtol=1e-6)
    assert frames[0].shape == (128, 128, 3)
    # The text sits in the top-left face; the bottom-right face is image only.
    faces = [frame[64:, 64:] for frame in frames]
    effective, ignored = faces[:per_coordinate], faces[per_coordinate:]
    values = [v for _, v in shown[:per_coordinate]]
    for i in range(per_coordinate):
        for j in range(per_coordinate):
            assert np.array_equal(effective[i], effective[j]) == (values[i] == values[j]), (i, j)
    assert all(np.array_equal(ignored[0], face) for face in ignored)
    # The overlay names the coordinate: the top-left corner differs between the two coordinates.
    assert not np.array_equal(frames[0][:12, :40], frames[per_coordinate][:12, :40])

    written = animation.write_animation(str(tmp_path / "animation"), frames, mp4=False)
    assert written == [str(tmp_path / "animation.gif")]
    with Image.open(written[0]) as gif:
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
        # Pillow merges identical consecutive frames into one longer frame: the timing is exact.
        assert gif.n_frames == _runs(frames)
        assert sum(durations) == len(frames) * animation.FRAME_DURATION_MS
        assert gif.size == (128, 128)


def test_mp4_needs_ffmpeg(tmp_path, capsys):
    frames = [np.full([10, 10, 3], i * 20, np.uint8) for i in range(5)]
    path = animation.write_mp4(str(tmp_path / "video.mp4"), frames)
    if shutil.which("ffmpeg"):
        assert path and (tmp_path / "video.mp4").stat().st_size > 0
    else:
        assert path is None and "ffmpeg" in capsys.readouterr().out
        assert not (tmp_path / "video.mp4").exists()


def test_interpolation(small_run, tmp_path):
    model_config = small_run.config.model
    noise, code = animation.interpolation_latents(model_config, num_points=3, steps_between=4, grid_size=2, seed=2)
    assert noise.shape == (12, 4, model_config.noise_size) and code.shape == (12, 4, model_config.code_size)
    key_noise, key_code = latents(model_config, 2, 0, 3 * 4)
    np.testing.assert_allclose(noise[0], key_noise[:4], atol=1e-6)
    np.testing.assert_allclose(code[4], key_code[4:8], atol=1e-6)
    # slerp keeps the norm between two vectors of equal norm.
    start, end = np.array([[3.0, 0.0]]), np.array([[0.0, 3.0]])
    np.testing.assert_allclose(np.linalg.norm(animation.slerp(start, end, 0.3)), 3.0, rtol=1e-5)
    frames = animation.interpolation_frames(small_run.generator, model_config, num_points=2, steps_between=3,
                                            grid_size=2, frame_size=64)
    assert len(frames) == 6 and frames[0].shape == (64, 64, 3)
    assert _runs(frames) == 6
    animation.write_gif(str(tmp_path / "interpolation.gif"), frames)
    with Image.open(tmp_path / "interpolation.gif") as gif:
        assert gif.n_frames == 6


def test_a_discrete_variable_is_animated_through_its_values():
    generator, model_config = MixedCodeGenerator(), mixed_model()
    resolution = 4
    frames, shown = animation.coordinate_animation_frames(generator, model_config, [1, 2, BERNOULLI, NORMAL],
                                                          grid_size=1, coord_resolution=resolution, frame_size=8)
    per_coordinate = 2 * resolution + 6  # 14 frames: each of 3 categories held 4, each Bernoulli value 7
    assert [c for c, _ in shown] == [CATEGORICAL] * 12 + [BERNOULLI] * 14 + [NORMAL] * per_coordinate
    assert [v for c, v in shown if c == CATEGORICAL] == [0] * 4 + [1] * 4 + [2] * 4
    assert [v for c, v in shown if c == BERNOULLI] == [0] * 7 + [1] * 7
    np.testing.assert_allclose([v for c, v in shown if c == NORMAL], expected_values(resolution), rtol=1e-6)
    # G saw the categorical variable's one-hot vectors, one per category, and the Bernoulli at 0 and 1.
    categorical, bernoulli = generator.codes[0], generator.codes[1]
    np.testing.assert_array_equal(categorical[:, :3], np.eye(3))
    np.testing.assert_array_equal(bernoulli[:, BERNOULLI], [0, 1])
    # Frames of different values differ (each category draws its own red pattern).
    assert len({frame.tobytes() for frame in frames[:12]}) == 3


def test_an_interpolation_switches_discrete_variables_half_way():
    model_config = mixed_model()
    steps = 4
    for method in ("slerp", "linear"):
        noise, code = animation.interpolation_latents(model_config, num_points=2, steps_between=steps, grid_size=1,
                                                      method=method, seed=1)
        key_noise, key_code = map(np.asarray, latents(model_config, 1, 0, 2))
        # The discrete columns hold key point 0 until half way to key point 1, then its values (and back: a loop).
        for frame in range(2 * steps):
            key = (frame + steps // 2) // steps % 2
            np.testing.assert_array_equal(code[frame, 0, :NORMAL], key_code[key, :NORMAL])
        # The noise and continuous coordinates move as one latent vector, without the discrete columns.
        smooth = np.concatenate([key_noise, key_code[:, NORMAL:]], axis=-1)
        fraction = 1 / steps
        expected = (animation.slerp(smooth[:1], smooth[1:], fraction) if method == "slerp"
                    else (1 - fraction) * smooth[:1] + fraction * smooth[1:])
        np.testing.assert_allclose(np.concatenate([noise[1], code[1, :, NORMAL:]], axis=-1), expected, rtol=1e-6)
