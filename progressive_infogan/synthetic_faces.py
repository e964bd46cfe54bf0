"""Procedurally drawn cartoon faces with known generative factors.

The embedded default dataset (docs/design.md §6): it needs no
download, and because every image's factors are known, disentanglement can be measured
against ground truth. The factors span the thesis's coarse-to-fine hierarchy: colours
and head placement (coarse), face shape and mouth (middle), eyebrows, nose and eye size
(fine), iris colour, gaze and eyelids (finest).

Each factor is continuous and drawn i.i.d. uniform over its range from a generator
seeded by (seed, image index), so image i is the same whatever the dataset size or the
number of workers. Faces are drawn with PIL at `supersample` times the size and reduced
with a box filter, which anti-aliases every edge.
"""
from __future__ import annotations

import colorsys
import dataclasses
import os
import time
from typing import Mapping, Sequence

import numpy as np
import PIL.Image
import PIL.ImageDraw

from progressive_infogan import files, tfrecord_writer, tfrecords

FACTORS_FILENAME = "factors.npz"


@dataclasses.dataclass(frozen=True)
class Factor:
    name: str
    low: float
    high: float
    scale: str  # coarse / middle / fine / finest: where in the image hierarchy it acts
    description: str


FACTORS: tuple[Factor, ...] = (
    Factor("background_hue", 0.0, 1.0, "coarse", "hue of the plain background, red (0) to violet (1)"),
    Factor("skin_tone", 0.0, 1.0, "coarse", "light (0) to dark (1) skin"),
    Factor("head_x", -1.0, 1.0, "coarse", "head and shoulders left (-1) to right (+1), 12% of the width"),
    Factor("hair_color", 0.0, 1.0, "coarse", "black, brown, auburn, blond, grey along a palette"),
    Factor("hair_volume", 0.0, 1.0, "coarse", "size of the hair around the head"),
    Factor("face_width", 0.0, 1.0, "middle", "width of the face oval"),
    Factor("face_height", 0.0, 1.0, "middle", "height of the face oval"),
    Factor("jaw_width", 0.0, 1.0, "middle", "pointed (0) to square (1) chin"),
    Factor("mouth_open", 0.0, 1.0, "middle", "closed (0) to open (1) mouth"),
    Factor("smile", -1.0, 1.0, "middle", "frown (-1) to smile (+1): mouth-corner height"),
    Factor("eyebrow_height", 0.0, 1.0, "fine", "gap between eyebrows and eyes"),
    Factor("nose_length", 0.0, 1.0, "fine", "length of the nose"),
    Factor("eye_size", 0.0, 1.0, "fine", "size of the eyes"),
    Factor("iris_hue", 0.0, 1.0, "finest", "hue of the irises, red (0) to violet (1)"),
    Factor("gaze_x", -1.0, 1.0, "finest", "irises looking left (-1) to right (+1)"),
    Factor("eyelid", 0.0, 1.0, "finest", "open (0) to half-closed (1) upper eyelids"),
)
FACTOR_NAMES: tuple[str, ...] = tuple(factor.name for factor in FACTORS)
FACTOR_RANGES = np.array([[factor.low, factor.high] for factor in FACTORS], np.float32)
NUM_FACTORS = len(FACTORS)

_HAIR_PALETTE = np.array([[25, 20, 18], [85, 50, 28], [140, 60, 30], [215, 175, 95], [170, 165, 160]], np.float64)
_SKIN_LIGHT = np.array([250, 215, 185], np.float64)
_SKIN_DARK = np.array([110, 70, 45], np.float64)
_SHIRT = (70, 85, 120)
_LINE = (45, 30, 30)


def sample_factors(seed: int, index: int) -> np.ndarray:
    """float32 [F] factors of image `index`, uniform over each range; depends only on (seed, index)."""
    generator = np.random.default_rng(np.random.SeedSequence([seed, index]))
    return generator.uniform(FACTOR_RANGES[:, 0], FACTOR_RANGES[:, 1]).astype(np.float32)


def factor_vector(factors: Mapping[str, float] | Sequence[float] | np.ndarray) -> np.ndarray:
    """A full factor vector from a vector or a {name: value} dict (missing names: mid-range)."""
    if isinstance(factors, Mapping):
        unknown = set(factors) - set(FACTOR_NAMES)
        if unknown:
            raise ValueError(f"unknown factor names {sorted(unknown)}; known: {FACTOR_NAMES}")
        vector = FACTOR_RANGES.mean(axis=1).astype(np.float64)
        for name, value in factors.items():
            vector[FACTOR_NAMES.index(name)] = value
        return vector
    vector = np.asarray(factors, np.float64)
    if vector.shape != (NUM_FACTORS,):
        raise ValueError(f"expected {NUM_FACTORS} factors, got shape {vector.shape}")
    return vector


def _palette(palette: np.ndarray, position: float) -> np.ndarray:
    position = float(np.clip(position, 0.0, 1.0)) * (len(palette) - 1)
    low = min(int(position), len(palette) - 2)
    fraction = position - low
    return palette[low] * (1 - fraction) + palette[low + 1] * fraction


def _rgb(color: np.ndarray | Sequence[float]) -> tuple[int, int, int]:
    return tuple(int(round(float(channel))) for channel in np.clip(color, 0, 255))


def _hue_color(position: float, saturation: float, value: float) -> tuple[int, int, int]:
    # 0.8 of the colour wheel, so that the two ends of the range are different colours.
    return _rgb(np.array(colorsys.hsv_to_rgb(0.8 * position, saturation, value)) * 255)


def face_geometry(factors: Mapping[str, float] | Sequence[float] | np.ndarray) -> dict[str, float]:
    """Positions and sizes of the face parts, in units of the image width (0..1, y down)."""
    f = dict(zip(FACTOR_NAMES, factor_vector(factors)))
    center_x = 0.5 + 0.12 * f["head_x"]
    center_y = 0.47
    half_width = 0.19 + 0.07 * f["face_width"]
    half_height = 0.245 + 0.06 * f["face_height"]
    eye_y = center_y - 0.08 * half_height
    eye_half_width = 0.038 + 0.026 * f["eye_size"]
    return {
        "center_x": center_x,
        "center_y": center_y,
        "half_width": half_width,
        "half_height": half_height,
        "jaw": 0.45 + 0.5 * f["jaw_width"],
        "eye_y": eye_y,
        "eye_dx": 0.42 * half_width,
        "eye_half_width": eye_half_width,
        "eye_half_height": 0.62 * eye_half_width,
        "brow_gap": 0.012 + 0.045 * f["eyebrow_height"],
        "nose_tip_y": eye_y + (0.30 + 0.28 * f["nose_length"]) * half_height,
        "mouth_y": center_y + 0.58 * half_height,
        "mouth_half_width": 0.36 * half_width,
    }


def _head_outline(g: dict, width: float, points: int = 96) -> list[tuple[float, float]]:
    """Face outline: an ellipse whose lower half narrows towards the chin by the jaw factor."""
    angles = np.linspace(0, 2 * np.pi, points, endpoint=False)
    sin, cos = np.sin(angles), np.cos(angles)
    narrowing = np.where(sin > 0, 1.0 - (1.0 - g["jaw"]) * sin**2, 1.0)
    xs = (g["center_x"] + g["half_width"] * cos * narrowing) * width
    ys = (g["center_y"] + g["half_height"] * sin) * width
    return list(zip(xs.tolist(), ys.tolist()))


def _ellipse(draw, cx, cy, rx, ry, scale, **kwargs):
    draw.ellipse([(cx - rx) * scale, (cy - ry) * scale, (cx + rx) * scale, (cy + ry) * scale], **kwargs)


def _draw_eye(canvas: PIL.Image.Image, g: dict, f: dict, x: float, skin, scale: float) -> None:
    """One eye, drawn in its own small layer and pasted through the eye-white mask, so that
    the iris, gaze and eyelid factors can only change pixels inside the eye."""
    rx, ry = g["eye_half_width"] * scale, g["eye_half_height"] * scale
    left, top = int(np.floor(x * scale - rx)) - 1, int(np.floor(g["eye_y"] * scale - ry)) - 1
    box_w, box_h = int(np.ceil(2 * rx)) + 3, int(np.ceil(2 * ry)) + 3
    cx, cy = x * scale - left, g["eye_y"] * scale - top
    mask = PIL.Image.new("L", (box_w, box_h), 0)
    PIL.ImageDraw.Draw(mask).ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    layer = PIL.Image.new("RGB", (box_w, box_h), (248, 248, 244))
    draw = PIL.ImageDraw.Draw(layer)
    iris_r = 0.78 * ry
    iris_x = cx + f["gaze_x"] * (rx - iris_r) * 0.9
    draw.ellipse([iris_x - iris_r, cy - iris_r, iris_x + iris_r, cy + iris_r], fill=_hue_color(f["iris_hue"], 0.75, 0.75))
    pupil_r = 0.45 * iris_r
    draw.ellipse([iris_x - pupil_r, cy - pupil_r, iris_x + pupil_r, cy + pupil_r], fill=(10, 10, 10))
    highlight_r = 0.18 * iris_r
    draw.ellipse([iris_x + 0.3 * iris_r - highlight_r, cy - 0.35 * iris_r - highlight_r,
                  iris_x + 0.3 * iris_r + highlight_r, cy - 0.35 * iris_r + highlight_r], fill=(255, 255, 255))
    lid_y = cy - ry + 2 * ry * (0.12 + 0.5 * f["eyelid"])
    draw.rectangle([0, 0, box_w, lid_y], fill=skin)
    draw.line([(0, lid_y), (box_w, lid_y)], fill=_LINE, width=max(1, int(round(0.18 * ry))))
    canvas.paste(layer, (left, top), mask)


def draw_face(
    factors: Mapping[str, float] | Sequence[float] | np.ndarray,
    size: int = 256,
    supersample: int = 4,
) -> np.ndarray:
    """uint8 HWC [size, size, 3] face for a factor vector or {name: value} dict."""
    f = dict(zip(FACTOR_NAMES, factor_vector(factors)))
    g = face_geometry(f)
    scale = float(size * supersample)
    canvas_size = size * supersample
    background = _hue_color(f["background_hue"], 0.35, 0.88)
    skin = _rgb(_SKIN_LIGHT * (1 - f["skin_tone"]) + _SKIN_DARK * f["skin_tone"])
    skin_shadow = _rgb(np.array(skin) * 0.82)
    hair = _palette(_HAIR_PALETTE, f["hair_color"])
    hair_rgb, brow_rgb = _rgb(hair), _rgb(hair * 0.6)
    image = PIL.Image.new("RGB", (canvas_size, canvas_size), background)
    draw = PIL.ImageDraw.Draw(image)
    cx, cy, hw, hh = g["center_x"], g["center_y"], g["half_width"], g["half_height"]

    # Coarse: shoulders, neck, hair behind the head, ears.
    neck_w = 0.55 * hw * g["jaw"] + 0.04
    draw.rectangle([(cx - neck_w) * scale, (cy + 0.5 * hh) * scale, (cx + neck_w) * scale, 0.95 * scale],
                   fill=skin_shadow)
    _ellipse(draw, cx, 1.08, 0.42, 0.22, scale, fill=_SHIRT)
    draw.chord([(cx - neck_w) * scale, 0.80 * scale, (cx + neck_w) * scale, 0.92 * scale], 0, 180, fill=skin_shadow)
    volume = f["hair_volume"]
    _ellipse(draw, cx, cy - 0.18 * hh - 0.04 * volume, hw * (1.08 + 0.32 * volume), hh * (0.86 + 0.28 * volume),
             scale, fill=hair_rgb)
    for side in (-1, 1):
        _ellipse(draw, cx + side * hw * 0.98, g["eye_y"] + 0.12 * hh, 0.035, 0.06, scale, fill=skin_shadow)

    # Middle: the face and its hairline.
    outline = _head_outline(g, scale)
    draw.polygon(outline, fill=skin)
    hairline = [point for point in outline if point[1] < (cy - (0.55 - 0.12 * volume) * hh) * scale]
    hairline.sort(key=lambda point: point[0])
    if len(hairline) >= 2:
        top = [(x, y - 0.02 * scale) for x, y in hairline]
        draw.polygon(hairline + [(hairline[-1][0], (cy - hh - 0.02) * scale)] + [(top[0][0], (cy - hh - 0.02) * scale)],
                     fill=hair_rgb)
        _ellipse(draw, cx, cy - hh * 0.92, hw * 0.95, hh * (0.25 + 0.2 * volume), scale, fill=hair_rgb)

    # Mouth: upper and lower lip curves between the corners.
    mouth_x = np.linspace(-1.0, 1.0, 33)
    corner_lift = 0.045 * f["smile"] * hh / 0.3
    upper = g["mouth_y"] - corner_lift * mouth_x**2 - 0.006 * f["mouth_open"]
    lower = upper + (0.008 + 0.075 * f["mouth_open"]) * (1 - mouth_x**2) * hh / 0.3
    xs = cx + g["mouth_half_width"] * mouth_x
    points = [(x * scale, y * scale) for x, y in zip(xs, upper)] + [(x * scale, y * scale) for x, y in
                                                                     zip(xs[::-1], lower[::-1])]
    draw.polygon(points, fill=(120, 30, 40))
    if f["mouth_open"] > 0.15:
        teeth = upper + 0.25 * (lower - upper)
        draw.polygon([(x * scale, y * scale) for x, y in zip(xs[4:-4], upper[4:-4])]
                     + [(x * scale, y * scale) for x, y in zip(xs[4:-4][::-1], teeth[4:-4][::-1])], fill=(240, 235, 225))
    draw.line([(x * scale, y * scale) for x, y in zip(xs, upper)], fill=(150, 50, 60), width=max(1, supersample * 2))

    # Fine: nose, eyebrows, then the eyes (finest factors live inside them).
    nose_top = g["eye_y"] + 0.05 * hh
    draw.line([(cx * scale, nose_top * scale), ((cx + 0.02) * scale, g["nose_tip_y"] * scale)], fill=skin_shadow,
              width=max(1, supersample * 3))
    _ellipse(draw, cx, g["nose_tip_y"], 0.045, 0.018, scale, fill=skin_shadow)
    for side in (-1, 1):
        _ellipse(draw, cx + side * 0.018, g["nose_tip_y"] + 0.004, 0.009, 0.006, scale, fill=_rgb(np.array(skin) * 0.5))
    for side in (-1, 1):
        eye_x = cx + side * g["eye_dx"]
        brow_y = g["eye_y"] - g["eye_half_height"] - g["brow_gap"]
        brow = [((eye_x + side * t * g["eye_half_width"] * 1.2) * scale,
                 (brow_y - 0.012 * (1 - t**2)) * scale) for t in np.linspace(-1, 1, 9)]
        draw.line(brow, fill=brow_rgb, width=max(1, int(round(0.014 * scale))), joint="curve")
        _draw_eye(image, g, f, eye_x, skin, scale)
        _ellipse(draw, eye_x, g["eye_y"], g["eye_half_width"], g["eye_half_height"], scale, outline=_LINE,
                 width=max(1, supersample))
    if supersample > 1:
        image = image.reduce(supersample)
    return np.asarray(image, dtype=np.uint8)


# --------------------------------------------------------------------------------------
# Preparing the dataset


class _FaceEncoder:
    """Worker: factors and records of image `index`."""

    def __init__(self, seed: int, resolution: int, supersample: int):
        self.seed, self.resolution, self.supersample = seed, resolution, supersample

    def __call__(self, index: int) -> tuple[np.ndarray, list[bytes]]:
        factors = sample_factors(self.seed, index)
        image = draw_face(factors, self.resolution, self.supersample)
        return factors, tfrecords.encode_pyramid(image)


def _parameters(num_images: int, resolution: int, seed: int, supersample: int) -> dict:
    return {"generator": "synthetic_faces", "version": 1, "num_images": num_images, "resolution": resolution,
            "seed": seed, "supersample": supersample, "factor_names": list(FACTOR_NAMES)}


def prepare_synthetic_faces(
    out_dir: str,
    num_images: int = 30000,
    resolution: int = 256,
    seed: int = 0,
    *,
    supersample: int = 4,
    num_workers: int = 2,
    num_shards: int = 1,
    prefix: str = "synthetic_faces",
) -> dict:
    """Draws the dataset and writes every level 4..resolution plus `factors.npz`; returns the manifest.

    The factors sidecar is written before the manifest, so a complete manifest always
    has its factors beside it.
    """
    if num_images < 1:
        raise ValueError(f"num_images must be >= 1, got {num_images}")
    tfrecords.resolution_log2(resolution)
    factor_rows: list[np.ndarray] = []
    started = time.perf_counter()

    def records():
        encoder = _FaceEncoder(seed, resolution, supersample)
        for factors, encoded in tfrecord_writer.parallel_map(encoder, range(num_images), num_workers, chunksize=32):
            factor_rows.append(factors)
            yield encoded

    def write_factors() -> dict:
        path = os.path.join(out_dir, FACTORS_FILENAME)
        files.write_npz(path, factors=np.stack(factor_rows).astype(np.float32), names=np.array(FACTOR_NAMES),
                        ranges=FACTOR_RANGES, scales=np.array([factor.scale for factor in FACTORS]))
        return {"parameters": _parameters(num_images, resolution, seed, supersample),
                "factors_file": FACTORS_FILENAME,
                "preparation_seconds": round(time.perf_counter() - started, 1)}

    factors_path = os.path.join(out_dir, FACTORS_FILENAME)
    if os.path.exists(factors_path):
        os.remove(factors_path)
    return tfrecord_writer.write_record_set(
        out_dir, records(), resolution, total=num_images, description="synthetic faces", extra_fn=write_factors,
        prefix=prefix, num_shards=num_shards,
        source={"kind": "synthetic_faces", "seed": seed, "factors": [dataclasses.asdict(f) for f in FACTORS]},
        resize_filter=f"drawn at {supersample}x and reduced with a {supersample}x{supersample} box filter",
    )


def ensure_synthetic_faces(
    out_dir: str,
    num_images: int = 30000,
    resolution: int = 256,
    seed: int = 0,
    **kwargs,
) -> dict:
    """The manifest of `out_dir`, preparing the dataset first unless a complete one with
    these parameters is already there."""
    manifest = tfrecords.read_manifest(out_dir)
    if manifest and manifest.get("source", {}).get("kind") not in (None, "synthetic_faces"):
        raise tfrecords.DatasetPreparationError(
            f"{out_dir} holds another dataset ({manifest['source']['kind']}); choose an empty directory"
        )
    supersample = kwargs.get("supersample", 4)
    if (
        tfrecords.is_complete(out_dir)
        and manifest.get("parameters") == _parameters(num_images, resolution, seed, supersample)
        and os.path.exists(os.path.join(out_dir, FACTORS_FILENAME))
        and all(os.path.exists(os.path.join(out_dir, name)) for name in manifest.get("files", {}))
    ):
        return manifest
    return prepare_synthetic_faces(out_dir, num_images, resolution, seed, **kwargs)


# --------------------------------------------------------------------------------------
# Figures for the README


def sample_grid(seed: int = 0, rows: int = 4, columns: int = 8, size: int = 128) -> np.ndarray:
    """uint8 grid of the first rows*columns faces of the dataset with this seed."""
    faces = [draw_face(sample_factors(seed, index), size) for index in range(rows * columns)]
    return np.concatenate([np.concatenate(faces[row * columns:(row + 1) * columns], 1) for row in range(rows)], 0)


def traversal_grid(base_factors=None, steps: int = 7, size: int = 112, label_width: int = 130) -> np.ndarray:
    """uint8 image: one row per factor swept over its range, the other factors fixed."""
    import PIL.ImageFont

    base = factor_vector(base_factors if base_factors is not None else {"skin_tone": 0.25, "background_hue": 0.55})
    rows = []
    font = PIL.ImageFont.load_default()
    for index, factor in enumerate(FACTORS):
        faces = []
        for value in np.linspace(factor.low, factor.high, steps):
            vector = base.copy()
            vector[index] = value
            faces.append(draw_face(vector, size))
        label = PIL.Image.new("RGB", (label_width, size), (255, 255, 255))
        draw = PIL.ImageDraw.Draw(label)
        draw.text((4, size // 2 - 12), factor.name, fill=(0, 0, 0), font=font)
        draw.text((4, size // 2 + 2), f"{factor.scale} [{factor.low:g}, {factor.high:g}]", fill=(90, 90, 90),
                  font=font)
        rows.append(np.concatenate([np.asarray(label)] + faces, 1))
    return np.concatenate(rows, 0)


def save_figures(out_dir: str) -> list[str]:
    """Writes synthetic_faces_samples.png and synthetic_faces_traversals.png; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, grid in (("synthetic_faces_samples.png", sample_grid()),
                       ("synthetic_faces_traversals.png", traversal_grid())):
        path = os.path.join(out_dir, name)
        image = PIL.Image.fromarray(grid)
        # An adaptive palette keeps the PNGs small; the faces have few distinct colours.
        image.quantize(colors=256, method=PIL.Image.Quantize.MEDIANCUT, dither=PIL.Image.Dither.NONE).save(
            path, optimize=True)
        paths.append(path)
    return paths
