"""Images per seed, in a flat folder that FID tools read: `seed0000.png`, ... and `latents.npz`.

    python -m progressive_infogan.generate --source=RUN|CHECKPOINT|EXPORT --seeds=0-99 --out=DIR
        [--code=C19=2.5,C3=-1] [--step=N] [--batch_size=32]

Seed s is always the same image of a model: its latents are the project's sampler's first
draw of seed s (`seed_latents`), whatever the other seeds of the command. `--code` sets
coordinates, named as the figures label them ("C19"), to one value for every seed.
`latents.npz` holds `seeds` [N], `noise` [N, Z] and `code` [N, K] (after the overrides), row
i for `seed<seeds[i]>.png`: G(noise[i], code[i]) is that image.
"""

from __future__ import annotations

import os
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from absl import flags
from PIL import Image
from tqdm import tqdm

from progressive_infogan import code_layout, command_line, figures, files
from progressive_infogan.config import ModelConfig
from progressive_infogan.errors import UserError
from progressive_infogan.latents import latents

LATENTS_FILE = "latents.npz"


def seed_latents(noise_size: int, code_size: int, seeds: Sequence[int],
                 model_config: Optional[ModelConfig] = None) -> Tuple[np.ndarray, np.ndarray]:
    """(noise [N, Z], code [N, K]) of each seed: the sampler's first draw of that seed, with the
    code types of `model_config` (without one, as of a SavedModel without metadata: all N(0, 1))."""
    # The one place that says which draw a seed's image is.
    sizes = model_config if model_config is not None else _Sizes(noise_size, code_size)
    noise = np.zeros([len(seeds), noise_size], np.float32)
    code = np.zeros([len(seeds), code_size], np.float32)
    for row, seed in enumerate(seeds):
        noise[row], code[row] = (np.asarray(part)[0] for part in latents(sizes, int(seed), 0, 1))
    return noise, code


class _Sizes:
    """What the sampler reads of a model's configuration (an export need not have the rest)."""

    def __init__(self, noise_size: int, code_size: int):
        self.noise_size, self.code_size = noise_size, code_size
        self.code_layout = code_layout.layout_of(((2, code_size),) if code_size else ())


def parse_seeds(text: str) -> List[int]:
    """'0-99' or '0,5,7' or '0-9,20,30-31' -> seeds in the order given; a seed appears once."""
    seeds: List[int] = []
    for part in filter(None, (item.strip() for item in str(text).split(","))):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise UserError(f"--seeds: {part!r} is not a seed or a range like 0-99")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise UserError(f"--seeds: the range {part!r} runs backwards")
        seeds.extend(range(first, last + 1))
    if not seeds:
        raise UserError("--seeds: no seeds given")
    if len(set(seeds)) != len(seeds):
        raise UserError("--seeds: a seed is given twice (one file per seed)")
    return seeds


def parse_code_values(text: Optional[str], code_size: Optional[int] = None) -> Dict[int, float]:
    """'C19=2.5,C3=-1' -> {19: 2.5, 3: -1.0}: coordinates by their figure label, checked against
    the code's size when it is given."""
    return code_layout.parse_coordinate_values(text, "--code", code_size)


def with_code_values(code: np.ndarray, values: Mapping[int, float]) -> np.ndarray:
    code = np.array(code, np.float32)
    for coordinate, value in values.items():
        code[:, coordinate] = value
    return code


def seed_file_name(seed: int) -> str:
    return f"seed{seed:04d}.png"


def generate_images(generator, seeds: Sequence[int], out_dir: str, code_values: Optional[Mapping[int, float]] = None,
                    batch_size: int = 32, progress: bool = False) -> List[str]:
    """Write one PNG per seed and `latents.npz` into `out_dir`; the PNG paths.

    `generator` is a `loader.LoadedGenerator` (`progressive_infogan.load`)."""
    seeds = [int(seed) for seed in seeds]
    noise, code = seed_latents(generator.noise_size, generator.code_size, seeds, generator.model_config)
    code = with_code_values(code, code_values or {})
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    with tqdm(total=len(seeds), desc="generate", unit="image", disable=not progress) as bar:
        for start in range(0, len(seeds), batch_size):
            images = figures.to_uint8(generator(noise[start:start + batch_size], code[start:start + batch_size]))
            for seed, image in zip(seeds[start:start + batch_size], images):
                paths.append(os.path.join(out_dir, seed_file_name(seed)))
                Image.fromarray(image).save(paths[-1])
            bar.update(len(images))
    # Last, so that a folder with latents.npz has all its images.
    files.write_npz(os.path.join(out_dir, LATENTS_FILE), seeds=np.asarray(seeds, np.int64), noise=noise, code=code)
    return paths


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_string("source", None, "A run directory (its newest checkpoint, or --step), a checkpoint directory, "
                        "an exported .keras file or an exported SavedModel directory.", **fv)
    flags.DEFINE_string("seeds", "0-99", "Seeds, e.g. '0-99', '0,5,7' or '0-9,20': one image per seed.", **fv)
    flags.DEFINE_string("out", None, "Output folder (flat: seed0000.png ... and latents.npz); created if missing.",
                        **fv)
    flags.DEFINE_string("code", None, "Code coordinates to set for every seed, by their figure labels: "
                        "'C19=2.5,C3=-1'.", **fv)
    flags.DEFINE_integer("step", None, "With a run directory: the checkpoint of this step (default: the newest).",
                         **fv)
    flags.DEFINE_integer("batch_size", 32, "Images per generator call.", **fv)
    flags.mark_flags_as_required(["source", "out"], **fv)


def main(argv: Sequence[str], flag_values: flags.FlagValues = flags.FLAGS) -> None:
    from progressive_infogan import loader

    del argv
    seeds = parse_seeds(flag_values.seeds)
    parse_code_values(flag_values.code)  # a malformed label fails before the model loads
    generator = loader.load(flag_values.source, step=flag_values.step)
    values = parse_code_values(flag_values.code, generator.code_size)
    print(generator.describe())
    paths = generate_images(generator, seeds, flag_values.out, values, batch_size=flag_values.batch_size,
                            progress=True)
    print(f"{len(paths)} images and {LATENTS_FILE} in {flag_values.out}")


if __name__ == "__main__":
    command_line.run(main, define_flags)
