"""uint8 figures of generated images: conversion, upscaling, grids, captions, PNG files.

Images come in as float32 NHWC in [-1, 1], as G produces them; figures are uint8 HWC
arrays. Shared by the training summaries and the exploration tools.
"""

from __future__ import annotations

import os
from typing import Iterable, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Faces are shown at least this many pixels wide (nearest-neighbour upscaling by an integer).
MIN_DISPLAY_SIZE = 64
BACKGROUND = 255
CAPTION_HEIGHT = 14


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] floats -> uint8 (any leading shape)."""
    return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def display_scale(size: int, min_display_size: int = MIN_DISPLAY_SIZE) -> int:
    return max(1, -(-min_display_size // size))


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of [..., H, W, C] by an integer factor."""
    if factor == 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=-3), factor, axis=-2)


def image_grid(images: np.ndarray, padding: int = 2, background: int = BACKGROUND) -> np.ndarray:
    """uint8 [rows, columns, H, W, 3] -> one uint8 image with `padding` px between cells."""
    rows, columns, height, width, channels = images.shape
    grid = np.full([rows * height + (rows - 1) * padding, columns * width + (columns - 1) * padding, channels],
                   background, np.uint8)
    for row in range(rows):
        for column in range(columns):
            top, left = row * (height + padding), column * (width + padding)
            grid[top:top + height, left:left + width] = images[row, column]
    return grid


def _font():
    return ImageFont.load_default()


def text_width(text: str) -> int:
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left, _, right, _ = draw.textbbox((0, 0), text, font=_font())
    return right - left


def caption(image: np.ndarray, text: str, height: int = CAPTION_HEIGHT, background: int = BACKGROUND) -> np.ndarray:
    """The image with a strip of text above it (lines separated by '\\n' get a strip each)."""
    lines = text.split("\n")
    width = max(image.shape[1], max(text_width(line) for line in lines) + 4)
    strip = Image.new("RGB", (width, height * len(lines)), (background,) * 3)
    draw = ImageDraw.Draw(strip)
    for index, line in enumerate(lines):
        draw.text((2, index * height + 1), line, fill=(0, 0, 0), font=_font())
    body = np.full([image.shape[0], width, 3], background, np.uint8)
    body[:, :image.shape[1]] = image
    return np.concatenate([np.asarray(strip), body], axis=0)


def overlay_text(image: np.ndarray, text: str, position: Tuple[int, int] = (1, 1)) -> np.ndarray:
    """Text drawn on the image itself (white with a black outline, readable on any face)."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    x, y = position
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        draw.text((x + dx, y + dy), text, fill=(0, 0, 0), font=_font())
    draw.text((x, y), text, fill=(255, 255, 255), font=_font())
    return np.asarray(canvas)


def stack_vertically(images: Iterable[np.ndarray], padding: int = 6, background: int = BACKGROUND) -> np.ndarray:
    images = list(images)
    width = max(image.shape[1] for image in images)
    parts = []
    for index, image in enumerate(images):
        padded = np.full([image.shape[0], width, 3], background, np.uint8)
        padded[:, :image.shape[1]] = image
        parts.append(padded)
        if index < len(images) - 1:
            parts.append(np.full([padding, width, 3], background, np.uint8))
    return np.concatenate(parts, axis=0)


def stack_horizontally(images: Iterable[np.ndarray], padding: int = 6, background: int = BACKGROUND) -> np.ndarray:
    images = list(images)
    height = max(image.shape[0] for image in images)
    parts = []
    for index, image in enumerate(images):
        padded = np.full([height, image.shape[1], 3], background, np.uint8)
        padded[:image.shape[0]] = image
        parts.append(padded)
        if index < len(images) - 1:
            parts.append(np.full([height, padding, 3], background, np.uint8))
    return np.concatenate(parts, axis=1)


def write_png(path: str, image: np.ndarray) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    Image.fromarray(np.asarray(image, np.uint8)).save(path)
    return path
