"""How much of the generator's variety comes from the noise z and how much from the code c.

Beyond the thesis: a diagnostic of training health (docs/training_health.md). The spread of a
set of images is the per-pixel standard deviation across them, averaged over pixels and
channels (images in [-1, 1]). Four sets of the same size:

- ``latent_spread/noise_only``: fresh z, one code shared by all (the first draw's);
- ``latent_spread/code_only``: fresh c, one z shared by all;
- ``latent_spread/both``: fresh z and c, as the other metrics sample;
- ``latent_spread/real``: real images.

A generator that ignores z has noise_only near 0; a collapsed one has `both` far below `real`.
The thesis's noinfo runs collapsed (section 4.5); this tells collapse from a generator that
only varies with its code.
"""

from __future__ import annotations

import itertools

import numpy as np

from progressive_infogan.latents import latents
from progressive_infogan.metrics.common import batch_size_of


def pixel_spread(images) -> float:
    """Per-pixel standard deviation across the images (axis 0), averaged over pixels and channels."""
    images = np.asarray(images, dtype=np.float64)
    if images.shape[0] < 2:
        raise ValueError(f"Need at least 2 images for a spread, got {images.shape[0]}")
    return float(np.mean(np.std(images, axis=0)))


def _generate(run, noise, code, batch: int) -> np.ndarray:
    return np.concatenate([run.generator(noise[start:start + batch], code[start:start + batch], alpha=run.alpha,
                                         training=False)[-1].numpy() for start in range(0, len(noise), batch)])


def spreads(run, count: int, batch: int, seed: int = 0) -> dict:
    """The generated sets' spreads (see the module docstring), from `count` draws each."""
    noise, code = (np.asarray(part) for part in latents(run.config.model, seed, 0, count))
    shared_noise = np.repeat(noise[:1], count, axis=0)
    shared_code = np.repeat(code[:1], count, axis=0)
    return {
        "latent_spread/noise_only": pixel_spread(_generate(run, noise, shared_code, batch)),
        "latent_spread/code_only": pixel_spread(_generate(run, shared_noise, code, batch)),
        "latent_spread/both": pixel_spread(_generate(run, noise, code, batch)),
    }


def metric(run, real, settings) -> dict:
    """Registry entry: the three generated spreads and the real images', from as many images as
    MS-SSIM diversity uses (2 x msssim_num_pairs)."""
    count = 2 * settings.msssim_num_pairs
    batch = batch_size_of(run, settings)
    result = spreads(run, count, batch, settings.seed)
    real_images = np.concatenate(list(itertools.islice(real.batches(batch), -(-count // batch))))[:count]
    result["latent_spread/real"] = pixel_spread(real_images)
    return result
