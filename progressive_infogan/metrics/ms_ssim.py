"""MS-SSIM diversity, as the thesis computed it (docs/original_system.md §5.2).

Images at the training resolution are upscaled nearest-neighbour to 256x256, shifted from
[-1, 1] to [0, 2], and compared in consecutive pairs (0, 1), (2, 3), ... with
`tf.image.ssim_multiscale(max_val=2)` and TF's defaults (5 scales, 11x11 Gaussian, sigma 1.5).
The upscaling is not cosmetic: 5 scales of an 11x11 filter need at least ~176 px, so
`ssim_multiscale` fails on the 4..128 px images of the progressive phases.
"""
import itertools

import numpy as np
import tensorflow as tf

from progressive_infogan.metrics.common import batch_size_of, generated_batches

MSSSIM_IMAGE_SIZE = 256
# Images are in [-1, 1]; shifted by +1 they span [0, 2].
MSSSIM_MAX_VALUE = 2.0


def nearest_upscale(images, size: int = MSSSIM_IMAGE_SIZE) -> tf.Tensor:
    """Square NHWC images upscaled to size x size by duplicating pixels (integer factors only).

    For integer factors this is exactly what the thesis's nearest-neighbour resize did, without
    depending on which nearest-neighbour convention a TF version uses.
    """
    images = tf.convert_to_tensor(images, dtype=tf.float32)
    height, width = int(images.shape[1]), int(images.shape[2])
    if height == width and height >= size:
        return images  # already large enough for the 5 scales of MS-SSIM
    if height != width or size % height != 0:
        raise ValueError(f"Need square images whose side divides {size}, got {height}x{width}")
    factor = size // height
    if factor == 1:
        return images
    return tf.repeat(tf.repeat(images, factor, axis=1), factor, axis=2)


@tf.function
def _msssim_of_batch(first, second):
    return tf.image.ssim_multiscale(
        nearest_upscale(first) + 1.0, nearest_upscale(second) + 1.0, max_val=MSSSIM_MAX_VALUE)


def msssim_pairs(first, second, batch_size: int = 64) -> np.ndarray:
    """MS-SSIM of each pair (first[i], second[i]) of [-1, 1] NHWC images, as a float32 [N] array."""
    first = np.asarray(first, dtype=np.float32)
    second = np.asarray(second, dtype=np.float32)
    if first.shape != second.shape:
        raise ValueError(f"Pairs need equal shapes, got {first.shape} and {second.shape}")
    # Batched rather than one pair at a time as the original: ssim_multiscale scores each image
    # of a batch separately, so only memory and speed differ.
    values = [
        _msssim_of_batch(first[start:start + batch_size], second[start:start + batch_size]).numpy()
        for start in range(0, first.shape[0], batch_size)
    ]
    return np.concatenate(values) if values else np.zeros((0,), np.float32)


def msssim_diversity(images, batch_size: int = 64) -> float:
    """1 - mean MS-SSIM over consecutive pairs (0, 1), (2, 3), ... of [-1, 1] NHWC images.

    0 for identical pairs; higher means more diverse. The thesis used 4000 images (2000 pairs).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.shape[0] < 2 or images.shape[0] % 2:
        raise ValueError(f"Need an even number (>= 2) of images to pair, got {images.shape[0]}")
    return float(1.0 - np.mean(msssim_pairs(images[0::2], images[1::2], batch_size), dtype=np.float64))


def diversity_metric(run, real, settings) -> dict:
    """Registry entry: 1 - mean MS-SSIM of consecutive pairs, for generated and real images."""
    count = 2 * settings.msssim_num_pairs
    batch = batch_size_of(run, settings)
    generated = np.concatenate(list(itertools.islice(generated_batches(run, batch, settings.seed),
                                                     -(-count // batch))))[:count]
    real_images = np.concatenate(list(itertools.islice(real.batches(batch), -(-count // batch))))[:count]
    return {"msssim_diversity_gen": msssim_diversity(generated), "msssim_diversity_real": msssim_diversity(real_images)}
