"""Animations of single coordinates and of latent interpolations (docs/original_system.md §5.9, ANIM).

Per coordinate, values = linspace(-amplitude, amplitude, coord_resolution) split at the
middle index into `left` (the lower half) and `right` (the upper half). Frame order:
3 frames holding right[0] (the value above the middle closest to 0), right ascending to
+amplitude, right descending, left descending to -amplitude, left ascending, 3 frames
holding left[-1]: 2 * coord_resolution + 6 frames per coordinate. A grid of faces, each
from its own seed, with the text "C<id>" and the bar `------++++++` truncated to
round(12 * (v / amplitude + 1) / 2) characters. 50 ms per frame; GIF with pillow, MP4 with
ffmpeg when it is on PATH.

A discrete variable has no range to sweep: its animation shows each of its values in turn
(`latents.traversal_values`: a categorical variable's categories, one animation for its K
coordinates, or a Bernoulli's 0 and 1), each held so that it lasts as long as a coordinate's,
labelled "C<id> = <value>". Interpolations move the continuous coordinates (and the noise) as
before; a discrete variable keeps its key point's value and switches half way to the next one,
since the values in between (mixtures of one-hot vectors) are none G was trained on.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image
from tqdm import tqdm

from progressive_infogan import code_layout, figures
from progressive_infogan import latents as latent_inputs
from progressive_infogan.config import ModelConfig
from progressive_infogan.explore import common, traversal
from progressive_infogan.latents import latents

FRAME_DURATION_MS = 50
HOLD_FRAMES = 3
VALUE_BAR = "------++++++"


def animation_values(coord_resolution: int = 32, amplitude: float = 3.0) -> np.ndarray:
    return np.linspace(-amplitude, amplitude, coord_resolution).astype(np.float32)


def animation_frame_order(coord_resolution: int = 32) -> List[int]:
    """Indices into `animation_values` in the order the frames show them."""
    indices = list(range(coord_resolution))
    left, right = indices[:coord_resolution // 2], indices[coord_resolution // 2:]
    return ([right[0]] * HOLD_FRAMES + right + right[::-1] + left[::-1] + left + [left[-1]] * HOLD_FRAMES)


def value_bar(value: float, amplitude: float = 3.0) -> str:
    progress = (value / amplitude + 1.0) / 2.0
    # Python 2's round (half away from zero), as the original; Python 3's rounds half to even.
    return VALUE_BAR[:int(np.floor(len(VALUE_BAR) * progress + 0.5))]


def frame_label(coordinate: int, value: float, amplitude: float = 3.0) -> str:
    return f"C{coordinate} {value_bar(value, amplitude)}"


def discrete_frame_order(count: int, coord_resolution: int = 32) -> List[int]:
    """Indices of a discrete variable's `count` values in frame order: each in turn, held for an equal share
    of a coordinate's 2 * coord_resolution + 6 frames (at least one frame each)."""
    hold = max(1, (2 * coord_resolution + 2 * HOLD_FRAMES) // count)
    return [index for index in range(count) for _ in range(hold)]


def discrete_frame_label(model_config: ModelConfig, coordinate: int, value: float) -> str:
    return f"C{coordinate} = {traversal.value_text(model_config, coordinate, value)}"


def face_grid(images: np.ndarray, grid_size: int) -> np.ndarray:
    """uint8 [grid_size**2, H, W, 3] -> one uint8 image, faces in row-major order, no gaps."""
    _, height, width, _ = images.shape
    rows = images.reshape(grid_size, grid_size, height, width, 3)
    return rows.transpose(0, 2, 1, 3, 4).reshape(grid_size * height, grid_size * width, 3)


def _scale_for(size: int, grid_size: int, frame_size: int) -> int:
    return max(1, frame_size // (size * grid_size))


def coordinate_animation_frames(generator, model_config: ModelConfig, coordinates: Sequence[int], grid_size: int = 2,
                                coord_resolution: int = 32, amplitude: float = 3.0, alpha: float = 1.0,
                                seeds: Optional[Sequence[int]] = None, seed: int = 0, frame_size: int = 256,
                                progress: bool = False) -> Tuple[List[np.ndarray], List[Tuple[int, float]]]:
    """uint8 frames of every coordinate in turn, and the (coordinate, value) each frame shows.

    Face k of the grid is the sample drawn from seeds[k] (default seed + k). A categorical
    variable's coordinates are one animation, at its first coordinate (`traversal.traversed_coordinates`)."""
    faces = grid_size ** 2
    seeds = list(seeds) if seeds is not None else [seed + k for k in range(faces)]
    if len(seeds) != faces:
        raise ValueError(f"need {faces} seeds for a {grid_size}x{grid_size} grid, got {len(seeds)}")
    samples = [latents(model_config, face_seed, 0, 1) for face_seed in seeds]
    noise = np.concatenate([n for n, _ in samples])
    code = np.concatenate([c for _, c in samples])
    frames, shown = [], []
    for coordinate in tqdm(traversal.traversed_coordinates(model_config, coordinates), desc="animation",
                           disable=not progress):
        discrete = model_config.code_layout.variable_of(coordinate).discrete
        if discrete:
            values = latent_inputs.traversal_values(model_config, coordinate)
            order = discrete_frame_order(len(values), coord_resolution)
        else:
            values = animation_values(coord_resolution, amplitude)
            order = animation_frame_order(coord_resolution)
        swept_noise, swept_code = latent_inputs.with_variable_values(model_config, noise, code, coordinate, values)
        images = common.generate(generator, swept_noise, swept_code, alpha=alpha)
        images = images.reshape((faces, len(values)) + images.shape[1:])
        scale = _scale_for(images.shape[-2], grid_size, frame_size)
        rendered = {}
        for index in sorted(set(order)):
            grid = face_grid(figures.upscale(figures.to_uint8(images[:, index]), scale), grid_size)
            label = (discrete_frame_label(model_config, coordinate, values[index]) if discrete
                     else frame_label(coordinate, float(values[index]), amplitude))
            rendered[index] = figures.overlay_text(grid, label)
        for index in order:
            frames.append(rendered[index])
            shown.append((coordinate, float(values[index])))
    return frames, shown


def slerp(start: np.ndarray, end: np.ndarray, fraction: float) -> np.ndarray:
    """Spherical interpolation of row vectors (linear where they are (anti)parallel)."""
    start_unit = start / np.linalg.norm(start, axis=-1, keepdims=True)
    end_unit = end / np.linalg.norm(end, axis=-1, keepdims=True)
    omega = np.arccos(np.clip(np.sum(start_unit * end_unit, axis=-1, keepdims=True), -1.0, 1.0))
    sin_omega = np.sin(omega)
    linear = (1.0 - fraction) * start + fraction * end
    with np.errstate(invalid="ignore", divide="ignore"):
        spherical = (np.sin((1.0 - fraction) * omega) * start + np.sin(fraction * omega) * end) / sin_omega
    return np.where(sin_omega > 1e-6, spherical, linear).astype(np.float32)


def interpolation_latents(model_config: ModelConfig, num_points: int = 4, steps_between: int = 24,
                          grid_size: int = 2, method: str = "slerp", seed: int = 0,
                          loop: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """(noise, code) [frames, grid_size**2, ...] moving through `num_points` random key points per face.

    The noise and the continuous coordinates are interpolated; a discrete variable's coordinates
    hold the key point's value for the first half of the way and the next one's after."""
    if method not in ("slerp", "linear"):
        raise ValueError(f"method must be 'slerp' or 'linear', got {method!r}")
    faces = grid_size ** 2
    noise, code = map(np.asarray, latents(model_config, seed, 0, num_points * faces))
    latent = np.concatenate([noise, code], axis=-1).reshape(num_points, faces, -1)
    if loop:
        latent = np.concatenate([latent, latent[:1]])
    # Columns of the latent that move smoothly: the noise and the continuous coordinates.
    smooth = np.array([True] * model_config.noise_size
                      + [distribution in code_layout.CONTINUOUS
                         for distribution in model_config.code_layout.distribution_of_coordinates()])
    frames = []
    for start, end in zip(latent[:-1], latent[1:]):
        for step in range(steps_between):
            fraction = step / steps_between
            frame = np.array(start if fraction < 0.5 else end, np.float32)
            frame[:, smooth] = (slerp(start[:, smooth], end[:, smooth], fraction) if method == "slerp"
                                else (1 - fraction) * start[:, smooth] + fraction * end[:, smooth])
            frames.append(frame)
    frames = np.stack(frames).astype(np.float32)
    return frames[..., :model_config.noise_size], frames[..., model_config.noise_size:]


def interpolation_frames(generator, model_config: ModelConfig, num_points: int = 4, steps_between: int = 24,
                         grid_size: int = 2, method: str = "slerp", alpha: float = 1.0, seed: int = 0,
                         frame_size: int = 256, progress: bool = False) -> List[np.ndarray]:
    """uint8 frames of a smooth walk through (noise, code) space, a grid of faces."""
    noise, code = interpolation_latents(model_config, num_points, steps_between, grid_size, method, seed)
    count, faces = noise.shape[:2]
    frames = []
    for index in tqdm(range(count), desc="interpolation", disable=not progress):
        images = common.generate(generator, noise[index], code[index], alpha=alpha)
        scale = _scale_for(images.shape[-2], grid_size, frame_size)
        frames.append(face_grid(figures.upscale(figures.to_uint8(images), scale), grid_size))
    return frames


def write_gif(path: str, frames: Sequence[np.ndarray], frame_duration_ms: int = FRAME_DURATION_MS) -> str:
    images = [Image.fromarray(frame) for frame in frames]
    # optimize=False keeps identical consecutive frames as frames of their own.
    images[0].save(path, save_all=True, append_images=images[1:], duration=frame_duration_ms, loop=0,
                   optimize=False, disposal=1)
    return path


def write_mp4(path: str, frames: Sequence[np.ndarray], frame_duration_ms: int = FRAME_DURATION_MS) -> Optional[str]:
    """H.264 MP4 through ffmpeg (the original's settings); None, with a message, without ffmpeg."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        print(f"ffmpeg is not on PATH: skipping {path}")
        return None
    height, width = frames[0].shape[:2]
    even_height, even_width = height + height % 2, width + width % 2  # yuv420p needs even sides.
    command = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{even_width}x{even_height}", "-r", f"{1000.0 / frame_duration_ms:g}", "-i", "-",
               "-c:v", "libx264", "-preset", "superfast", "-crf", "20", "-movflags", "+faststart",
               "-pix_fmt", "yuv420p", path]
    process = subprocess.Popen(command, stdin=subprocess.PIPE)
    for frame in frames:
        padded = np.zeros([even_height, even_width, 3], np.uint8)
        padded[:height, :width] = frame
        process.stdin.write(padded.tobytes())
    process.stdin.close()
    if process.wait() != 0:
        raise RuntimeError(f"ffmpeg failed writing {path}")
    return path


def write_animation(path_without_extension: str, frames: Sequence[np.ndarray], mp4: bool = True,
                    frame_duration_ms: int = FRAME_DURATION_MS) -> List[str]:
    """`<path>.gif`, and `<path>.mp4` when asked and ffmpeg is present; the paths written."""
    written = [write_gif(path_without_extension + ".gif", frames, frame_duration_ms)]
    if mp4:
        video = write_mp4(path_without_extension + ".mp4", frames, frame_duration_ms)
        if video:
            written.append(video)
    return written
