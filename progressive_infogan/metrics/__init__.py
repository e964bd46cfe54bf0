"""Evaluation metrics: one module per metric, all behind one registry.

A metric is a function ``metric(run, real, settings) -> {name: score}`` of a loaded run
(`checkpoints.LoadedRun`: EMA generator with BN moving statistics, discriminator with Q),
a source of real images (`RealImages`) and the sample counts (`EvalSettings`). Names follow
``<metric>/overall``, ``<metric>/block_<b>``, ``<metric>/coord_<i>`` where a metric has parts.
"""

from __future__ import annotations

from typing import Callable, Dict

from progressive_infogan.metrics.common import EvalSettings, RealImages

__all__ = ["EvalSettings", "RealImages", "get", "names"]


def _registry() -> Dict[str, Callable]:
    # Imported on use: the FID module loads TensorFlow's Inception port.
    from progressive_infogan.metrics import fid, ground_truth, infogan, isolation, latent_spread, ms_ssim

    return {
        "fid": fid.thesis_metric,
        "fid_standard": fid.standard_metric,
        "msssim_diversity": ms_ssim.diversity_metric,
        "infogan": infogan.metric,
        "isolation": isolation.metric,
        "disentanglement": ground_truth.metric,
        "latent_spread": latent_spread.metric,
    }


def names():
    return sorted(_registry())


def get(name: str) -> Callable:
    registry = _registry()
    if name not in registry:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(sorted(registry))}")
    return registry[name]
