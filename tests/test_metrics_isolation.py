import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from progressive_infogan import networks
from progressive_infogan.config import preset
from progressive_infogan.metrics.infogan import per_coordinate
from progressive_infogan.metrics.isolation import isolation_metrics
from progressive_infogan.metrics.ms_ssim import nearest_upscale

PHASE = 3
# K = 4 keeps the 256x256 MS-SSIMs few: block 2 owns 0..1, block 3 owns 2, block 4 owns 3.
MODEL = dataclasses.replace(preset("exp_condition").model, code_sizes=((2, 2), (3, 1), (4, 1)))
SIZE = 2 ** PHASE


class LinearStub:
    """G(z, c) = base(z) + c_0 * direction: only coordinate 0 matters, linearly."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.base = tf.constant(rng.normal(0, 0.3, [MODEL.noise_size, SIZE * SIZE * 3]), tf.float32)
        self.direction = tf.constant(rng.normal(0, 0.05, [SIZE * SIZE * 3]), tf.float32)
        self.calls = tf.Variable(0, dtype=tf.int64)
        self.batch_sizes = []

    def __call__(self, noise, code, alpha=1.0, training=False):
        self.batch_sizes.append(int(noise.shape[0]))
        self.calls.assign_add(1)
        flat = noise @ self.base + code[:, :1] * self.direction
        return [tf.reshape(flat, [-1, SIZE, SIZE, 3])]


def test_ignored_coordinates_are_perfectly_isolated_and_a_used_one_is_not():
    stub = LinearStub()
    scores = isolation_metrics(stub, MODEL, PHASE, 1.0, batch_size=2, num_images=5, seed=0, progress=False)
    msssim, mse = per_coordinate(scores, "msssim_isolation"), per_coordinate(scores, "mse_isolation")
    assert msssim.shape == mse.shape == (4,)
    # Images that differ only by batch-position rounding read 0 in MSE up to its square (-3e-14 seen on a CPU
    # without AVX-512), and 1 in MS-SSIM up to the float32 rounding of its arithmetic (1 + 2e-7 seen there);
    # a moved image reads below 0.999.
    assert msssim[1:] == pytest.approx(1.0, abs=1e-6) and mse[1:] == pytest.approx(0.0, abs=1e-10)
    assert msssim[0] < 0.999 and mse[0] < 0.0
    # MSE is exact for a linear G: mean over k of k^2 * mean(direction^2), mean k^2 = 14/3.
    expected = -14.0 / 3.0 * float(tf.reduce_mean(tf.square(stub.direction)))
    assert mse[0] == pytest.approx(expected, rel=1e-4)
    # reps = ceil(5 / 2) = 3 generator calls per coordinate, each with mid + 6 shifts.
    assert int(stub.calls.numpy()) == 4 * 3
    assert stub.batch_sizes == [7 * 2]
    # Block 2 owns coordinates 0..1; the others are untouched.
    assert scores["msssim_isolation/block_2"] == pytest.approx(np.mean(msssim[:2]))
    assert scores["msssim_isolation/block_3"] == pytest.approx(1.0, abs=1e-6) and scores["mse_isolation/overall"] == pytest.approx(mse[0] / 4)


def test_k_values_are_arguments():
    stub = LinearStub()
    scores = isolation_metrics(stub, MODEL, PHASE, batch_size=2, num_images=2, k_values=(2.0,), progress=False)
    expected = -4.0 * float(tf.reduce_mean(tf.square(stub.direction)))
    assert scores["mse_isolation/coord_00"] == pytest.approx(expected, rel=1e-4)
    assert stub.batch_sizes == [2 * 2]


def test_upscale_duplicates_pixels():
    images = tf.reshape(tf.range(2 * 4 * 4 * 3, dtype=tf.float32), [2, 4, 4, 3])
    up = nearest_upscale(images, 256)
    assert up.shape == (2, 256, 256, 3)
    np.testing.assert_array_equal(up[:, ::64, ::64].numpy(), images.numpy())
    np.testing.assert_array_equal(up[:, 63, 127].numpy(), images[:, 0, 1].numpy())


def test_real_network_values_are_in_range():
    model = dataclasses.replace(MODEL, width_multiplier=1 / 16)
    generator = networks.build_generator(model, PHASE)
    scores = isolation_metrics(generator, model, PHASE, 1.0, batch_size=2, num_images=2, progress=False)
    msssim, mse = per_coordinate(scores, "msssim_isolation"), per_coordinate(scores, "mse_isolation")
    assert np.all(msssim[:3] < 1.0) and np.all(mse[:3] < 0.0)
    # Block 4 does not exist at phase 3: its coordinate changes nothing.
    assert msssim[3] == pytest.approx(1.0, abs=1e-6) and mse[3] == pytest.approx(0.0, abs=1e-10)  # rounding, as above
    assert sorted(k for k in scores if "/block_" in k) == [f"{m}/block_{b}" for m in ("mse_isolation", "msssim_isolation")
                                                          for b in (2, 3)]
