"""The thesis' result tables (Figs. 21-23, 26-31), as transcribed in docs/original_system.md §8
(tests/test_tables.py checks the two agree cell by cell). All values are "after phase 7 of
training".

Each figure lists its columns as (thesis header, our metric name) and, per experiment, the
published values in column order; None is the thesis' "N/A" (a block that owns no code
coordinate). Values are written as printed (e.g. 1.07, 0.976: trailing zeros dropped).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

NA = None


@dataclasses.dataclass(frozen=True)
class Figure:
    number: int
    title: str
    columns: Tuple[Tuple[str, str], ...]  # (thesis header, metric name in metrics.jsonl)
    rows: Tuple[Tuple[str, Tuple[Optional[float], ...]], ...]  # (experiment, values per column)

    @property
    def key(self) -> str:
        return f"fig{self.number}"

    @property
    def experiments(self) -> Tuple[str, ...]:
        return tuple(experiment for experiment, _ in self.rows)

    def value(self, experiment: str, metric: str) -> Optional[float]:
        index = [name for _, name in self.columns].index(metric)
        return dict(self.rows)[experiment][index]


QUALITY_COLUMNS = (
    ("Frechet Inception Distance", "fid"),
    ("MSSIM Diversity", "msssim_diversity_gen"),
)
# Figs. 26 and 29 spell it "MSSSIM Diversity" (Fig. 21: "MSSIM Diversity").
QUALITY_COLUMNS_MSSSIM = (
    ("Frechet Inception Distance", "fid"),
    ("MSSSIM Diversity", "msssim_diversity_gen"),
)
CONTROL_COLUMNS = (
    ("Code Reconstruction Error", "code_reconstruction_error/overall"),
    ("CRE Block 5", "code_reconstruction_error/block_5"),
    ("CRE Block 6", "code_reconstruction_error/block_6"),
    ("InfoGAN Penalty Overall", "infogan_penalty/overall"),
    ("IP Block 5", "infogan_penalty/block_5"),
    ("IP Block 6", "infogan_penalty/block_6"),
)
ISOLATION_COLUMNS = (
    ("MSSSIM Isolation Overall", "msssim_isolation/overall"),
    ("MSSSIM Block 5", "msssim_isolation/block_5"),
    ("MSSSIM Block 6", "msssim_isolation/block_6"),
    ("MSE Isolation Overall", "mse_isolation/overall"),
    ("MSE Block 5", "mse_isolation/block_5"),
    ("MSE Block 6", "mse_isolation/block_6"),
)

_CONDITION_QUALITY = ("exp_condition", (22.6782, 0.6725))
_CONDITION_CONTROL = ("exp_condition", (0.3035, 0.2266, 0.1432, 1.0027, 0.9604, 0.9357))
_CONDITION_ISOLATION = ("exp_condition", (0.9303, 0.9529, 0.9665, -0.0259, -0.0074, -0.0046))

FIGURES: Tuple[Figure, ...] = (
    Figure(21, "Quality metrics", QUALITY_COLUMNS, (
        ("exp_vanilla", (16.9881, 0.6615)),
        ("exp_gradual_loss", (17.5554, 0.6673)),
        ("exp_unmask", (17.1377, 0.6854)),
        ("exp_append_simple", (17.6121, 0.6757)),
        ("exp_append_channels", (17.8219, 0.6719)),
        _CONDITION_QUALITY,
    )),
    Figure(22, "Control of semantic features", CONTROL_COLUMNS, (
        ("exp_vanilla", (0.4327, NA, NA, 1.0678, NA, NA)),
        ("exp_gradual_loss", (0.4296, 0.4497, 0.4822, 1.0681, 1.0809, 1.1043)),
        ("exp_unmask", (0.4351, 0.4514, 0.4653, 1.07, 1.0813, 1.0913)),
        ("exp_append_simple", (0.4363, 0.4653, 0.4456, 1.0749, 1.0952, 1.0811)),
        ("exp_append_channels", (0.4613, 0.5014, 0.4842, 1.0919, 1.1217, 1.1108)),
        _CONDITION_CONTROL,
    )),
    Figure(23, "Feature isolation", ISOLATION_COLUMNS, (
        ("exp_vanilla", (0.8771, NA, NA, -0.0361, NA, NA)),
        ("exp_gradual_loss", (0.8897, 0.9312, 0.9553, -0.034, -0.0174, -0.0101)),
        ("exp_unmask", (0.8849, 0.9276, 0.9506, -0.0343, -0.0188, -0.0112)),
        ("exp_append_simple", (0.9284, 0.9985, 0.9996, -0.0276, -0.0004, -0.0001)),
        ("exp_append_channels", (0.9138, 0.9956, 0.9985, -0.0345, -0.002, -0.0006)),
        _CONDITION_ISOLATION,
    )),
    Figure(26, "Quality, consistency loss", QUALITY_COLUMNS_MSSSIM, (
        _CONDITION_QUALITY,
        ("exp_consistency_30", (24.2859, 0.6526)),
        ("exp_consistency_300", (24.4284, 0.6507)),
    )),
    Figure(27, "Feature isolation, consistency loss", ISOLATION_COLUMNS, (
        _CONDITION_ISOLATION,
        ("exp_consistency_30", (0.9407, 0.9686, 0.9827, -0.0214, -0.0033, -0.0014)),
        ("exp_consistency_300", (0.9415, 0.976, 0.9839, -0.0214, -0.0026, -0.0013)),
    )),
    Figure(28, "Control of semantic features, consistency loss", CONTROL_COLUMNS, (
        _CONDITION_CONTROL,
        ("exp_consistency_30", (0.25, 0.2086, 0.1369, 0.9736, 0.9542, 0.9346)),
        ("exp_consistency_300", (0.2516, 0.2126, 0.1391, 0.9746, 0.9559, 0.935)),
    )),
    Figure(29, "Quality, latent code size", QUALITY_COLUMNS_MSSSIM, (
        _CONDITION_QUALITY,
        ("exp_condition_8vars", (18.9611, 0.673)),
        ("exp_condition_4vars", (19.099, 0.6655)),
    )),
    Figure(30, "Feature isolation, latent code size", ISOLATION_COLUMNS, (
        _CONDITION_ISOLATION,
        ("exp_condition_8vars", (0.878, 0.9116, 0.941, -0.0515, -0.0165, -0.0084)),
        ("exp_condition_4vars", (0.7901, 0.8661, 0.9039, -0.1009, -0.0282, -0.0253)),
    )),
    Figure(31, "Control of semantic features, latent code size", CONTROL_COLUMNS, (
        _CONDITION_CONTROL,
        ("exp_condition_8vars", (0.2349, 0.1817, 0.1269, 0.9682, 0.9459, 0.9323)),
        ("exp_condition_4vars", (0.1864, 0.1734, 0.1106, 0.9506, 0.9434, 0.9294)),
    )),
)

FIGURES_BY_NUMBER: Dict[int, Figure] = {figure.number: figure for figure in FIGURES}
