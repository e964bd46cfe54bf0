"""Images/s of the TF FID Inception port, plain tf.function vs jit_compile=True (XLA).

    python benchmarks/inception_throughput.py --batch_size=16 --image_size=128 --repeats=3

(from the repository root, with the project installed: `pip install -e .[cpu]`). On the 2-core
development CPU: 19.3 images/s plain, 13.2 images/s with XLA (ratio 0.68).

Prints one line per mode and the XLA/plain ratio. The first call of each mode (tracing and,
for XLA, compilation) is timed separately and left out of the throughput.
"""
import time

from absl import flags
import numpy as np

from progressive_infogan import command_line
from progressive_infogan.metrics import inception


def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_integer("batch_size", 16, "Images per forward pass.", flag_values=flag_values)
    flags.DEFINE_integer("image_size", 128, "Side of the [-1, 1] input images (resized to 299 inside).",
                         flag_values=flag_values)
    flags.DEFINE_integer("repeats", 3, "Timed forward passes per mode, after one warm-up pass.",
                         flag_values=flag_values)


def images_per_second(network, images, repeats):
    start = time.perf_counter()
    network(images).numpy()
    first_call_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeats):
        network(images).numpy()
    return repeats * len(images) / (time.perf_counter() - start), first_call_seconds


def main(argv, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    images = np.random.default_rng(0).uniform(
        -1, 1, (flag_values.batch_size, flag_values.image_size, flag_values.image_size, 3)).astype(np.float32)
    weights = inception.load_inception_weights()
    results = {}
    for mode, jit_compile in (("tf.function", False), ("jit_compile=True", True)):
        network = inception.InceptionPool3(weights, jit_compile=jit_compile)
        results[mode], first_call_seconds = images_per_second(network, images, flag_values.repeats)
        print(f"{mode:>18}: {results[mode]:7.2f} images/s "
              f"(batch {flag_values.batch_size}, {flag_values.image_size}px; first call {first_call_seconds:.1f} s)")
    print(f"XLA / plain ratio: {results['jit_compile=True'] / results['tf.function']:.2f}")


if __name__ == "__main__":
    command_line.run(main, define_flags)
