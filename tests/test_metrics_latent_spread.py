"""Tests for progressive_infogan/metrics/latent_spread.py: G's output depends on the noise z."""

import dataclasses

import numpy as np
import pytest

from progressive_infogan.metrics import latent_spread


def test_pixel_spread_is_the_per_pixel_standard_deviation():
    first, second = np.zeros([4, 4, 3]), np.full([4, 4, 3], 0.5)
    assert latent_spread.pixel_spread([first, second]) == pytest.approx(0.25)  # |a - b| / 2
    assert latent_spread.pixel_spread([first, first, first]) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        latent_spread.pixel_spread([first])


class _IgnoresNoise:
    """A generator whose output depends only on the code: noise_only must read 0."""

    def __init__(self, run):
        self.run = run

    def __call__(self, noise, code, **kwargs):
        return self.run.generator(np.zeros_like(noise), code, **kwargs)


def test_a_fresh_generator_varies_with_z_and_a_generator_ignoring_it_reads_zero(small_run):
    result = latent_spread.spreads(small_run, count=16, batch=8)
    assert result["latent_spread/noise_only"] > 0.2 * result["latent_spread/code_only"] > 0
    assert result["latent_spread/both"] >= 0.9 * max(result["latent_spread/noise_only"],
                                                     result["latent_spread/code_only"])
    blind = dataclasses.replace(small_run, generator=_IgnoresNoise(small_run))
    # Zero up to the rounding kernels do by batch position (1e-7 seen on a CPU without AVX-512).
    assert latent_spread.spreads(blind, count=16, batch=8)["latent_spread/noise_only"] == pytest.approx(0.0, abs=1e-6)
