"""The thesis's comparative findings (Figs. 21-31 and section 4.5), each scored over seeds.

A finding compares experiments on metrics of their evaluations. It is checked once per seed
that every experiment it needs was run with, and gets one verdict:

- "holds in every seed": it holds in each such seed;
- "contrary": it fails in each;
- "mixed": anything in between (including seeds where it could not be measured);
- "not measurable at this scale": a metric it needs is missing in every seed (e.g. block 6
  is not built), or a control/isolation comparison involves a Q that learned nothing;
- "not run": an experiment it needs has no evaluated run.

The thesis's rule for isolation (section 2.3.1): a higher MS-SSIM / MSE isolation counts
"as long as InfoGAN penalty and Code Prediction Error do not suffer". So "A isolates better
than B" holds only if A's isolation is higher *and* A's code reconstruction error is not
higher than B's. The code-size finding is the exception: the thesis states it as a trade-off
(fewer variables: better control, worse isolation), so its isolation ordering is raw.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

HOLDS = "holds in every seed"
MIXED = "mixed"
CONTRARY = "contrary"
NOT_MEASURABLE = "not measurable at this scale"
NOT_RUN = "not run"
VERDICTS = (HOLDS, MIXED, CONTRARY, NOT_MEASURABLE, NOT_RUN)

FID = "fid"
DIVERSITY = "msssim_diversity_gen"
REAL_DIVERSITY = "msssim_diversity_real"
CRE = "code_reconstruction_error/overall"
PENALTY = "infogan_penalty/overall"
MSSSIM_ISOLATION = "msssim_isolation/overall"
MSE_ISOLATION = "mse_isolation/overall"

# A Q that predicts 0 scores E|c| = sqrt(2/pi) = 0.798 on N(0, 1) codes. Above this, its
# code is read so poorly that control and isolation comparisons say nothing about the model.
NULL_Q_CRE = 0.70
# Collapse: pairs of samples are less than half as diverse as pairs of real images.
COLLAPSE_FRACTION = 0.5
# "Little variance" in diversity across the variants of Fig. 21 (the thesis's spread: 0.024).
DIVERSITY_ON_PAR = 0.05

OTHER_VARIANTS = ("exp_vanilla", "exp_gradual_loss", "exp_unmask", "exp_append_simple", "exp_append_channels")
CONSISTENCY = ("exp_consistency_30", "exp_consistency_300")
NOINFO = ("exp_noinfo", "exp_noinfo_lr2_5e-4", "exp_noinfo_lr1_25e-4")
MI_EXPERIMENTS = ("exp_vanilla", "exp_gradual_loss", "exp_unmask", "exp_append_simple", "exp_append_channels",
                  "exp_condition", "exp_condition_8vars", "exp_condition_4vars") + CONSISTENCY

# One seed's evaluations: experiment -> metric -> value (NaN for N/A).
SeedMetrics = Mapping[str, Mapping[str, float]]


class NotMeasurable(Exception):
    """A comparison needs a value this seed does not have (or has from a Q that learned nothing)."""


@dataclasses.dataclass(frozen=True)
class Check:
    holds: bool
    text: str


@dataclasses.dataclass(frozen=True)
class Finding:
    key: str
    source: str  # where the thesis states it
    claim: str
    thesis: str  # the thesis's own numbers
    # Experiments that must all have a run; more are used when present.
    required: Tuple[str, ...]
    checks: Callable[["_Seed"], List[Check]]


@dataclasses.dataclass(frozen=True)
class Score:
    finding: Finding
    verdict: str
    per_seed: Tuple[Tuple[int, str], ...]  # (seed, "✓/✗/n.m. details")


class _Seed:
    """One seed's metrics, with the comparisons the findings are made of."""

    def __init__(self, metrics: SeedMetrics):
        self.metrics = metrics

    def has(self, experiment: str) -> bool:
        return experiment in self.metrics

    def present(self, experiments: Sequence[str]) -> List[str]:
        return [experiment for experiment in experiments if experiment in self.metrics]

    def value(self, experiment: str, metric: str) -> float:
        value = self.metrics.get(experiment, {}).get(metric)
        if value is None or math.isnan(value):
            raise NotMeasurable(f"no {metric} for {experiment}")
        return value

    def learned(self, experiment: str) -> None:
        """Refuses a control/isolation comparison with a Q that learned nothing."""
        # Built blocks only where evaluated so: headless coordinates of unbuilt blocks would
        # otherwise pull every model towards the null score.
        metrics = self.metrics.get(experiment, {})
        error = metrics.get(CRE + "_built", metrics.get(CRE))
        if error is None or math.isnan(error):
            raise NotMeasurable(f"no {CRE} for {experiment}")
        if error >= NULL_Q_CRE:
            raise NotMeasurable(f"{experiment}'s Q learned nothing (CRE {error:.3f} >= {NULL_Q_CRE})")

    def lower(self, metric: str, low: str, high: str) -> Check:
        a, b = self.value(low, metric), self.value(high, metric)
        return Check(a < b, f"{_short(metric)} {_short(low)} {a:.4f} < {_short(high)} {b:.4f}")

    def controls_better(self, better: str, worse: str) -> List[Check]:
        self.learned(better)
        self.learned(worse)
        return [self.lower(CRE, better, worse), self.lower(PENALTY, better, worse)]

    def isolates_better(self, better: str, worse: str, rule: bool = True) -> List[Check]:
        self.learned(better)
        self.learned(worse)
        checks = []
        for metric in (MSSSIM_ISOLATION, MSE_ISOLATION):
            a, b = self.value(better, metric), self.value(worse, metric)
            checks.append(Check(a > b, f"{_short(metric)} {_short(better)} {a:.4f} > {_short(worse)} {b:.4f}"))
        if rule:
            error_a, error_b = self.value(better, CRE), self.value(worse, CRE)
            checks.append(Check(error_a <= error_b, f"control not worse: CRE {_short(better)} {error_a:.4f} <= "
                                                    f"{_short(worse)} {error_b:.4f}"))
        return checks

    def collapsed(self, experiment: str) -> Check:
        generated, real = self.value(experiment, DIVERSITY), self.value(experiment, REAL_DIVERSITY)
        return Check(generated < COLLAPSE_FRACTION * real,
                     f"{_short(experiment)} diversity {generated:.3f} < {COLLAPSE_FRACTION} x real {real:.3f}")


def _short(name: str) -> str:
    return {CRE: "CRE", PENALTY: "IP", MSSSIM_ISOLATION: "MS-SSIM isolation", MSE_ISOLATION: "MSE isolation",
            FID: "FID", DIVERSITY: "diversity"}.get(name, name.replace("exp_", ""))


# --- The findings ------------------------------------------------------------------------------

def _quality_condition(seed: _Seed) -> List[Check]:
    return [seed.lower(FID, other, "exp_condition") for other in seed.present(OTHER_VARIANTS)]


def _diversity_on_par(seed: _Seed) -> List[Check]:
    base = seed.value("exp_condition", DIVERSITY)
    checks = []
    for other in seed.present(OTHER_VARIANTS):
        value = seed.value(other, DIVERSITY)
        checks.append(Check(abs(value - base) <= DIVERSITY_ON_PAR,
                            f"|diversity {_short(other)} {value:.3f} - condition {base:.3f}| <= {DIVERSITY_ON_PAR}"))
    return checks


def _control_condition(seed: _Seed) -> List[Check]:
    return [check for other in seed.present(OTHER_VARIANTS) for check in seed.controls_better("exp_condition", other)]


def _isolation_condition(seed: _Seed) -> List[Check]:
    return [check for other in seed.present(OTHER_VARIANTS) for check in seed.isolates_better("exp_condition", other)]


def _isolation_append_top_blocks(seed: _Seed) -> List[Check]:
    checks = []
    for block in (5, 6):
        metric = f"msssim_isolation/block_{block}"
        try:
            base = seed.value("exp_condition", metric)
        except NotMeasurable:
            continue  # the block is not built at this scale
        seed.learned("exp_condition")
        for other in seed.present(("exp_append_simple", "exp_append_channels")):
            seed.learned(other)
            value = seed.value(other, metric)
            checks.append(Check(value > base, f"block {block} MS-SSIM isolation {_short(other)} {value:.4f} > "
                                              f"condition {base:.4f}"))
    if not checks:
        raise NotMeasurable("blocks 5 and 6 not built")
    return checks


def _consistency_isolation(seed: _Seed) -> List[Check]:
    return [check for name in seed.present(CONSISTENCY) for check in seed.isolates_better(name, "exp_condition")]


def _consistency_control(seed: _Seed) -> List[Check]:
    return [check for name in seed.present(CONSISTENCY) for check in seed.controls_better(name, "exp_condition")]


def _consistency_quality(seed: _Seed) -> List[Check]:
    checks = []
    for name in seed.present(CONSISTENCY):
        checks.append(seed.lower(FID, "exp_condition", name))
        value, base = seed.value(name, DIVERSITY), seed.value("exp_condition", DIVERSITY)
        checks.append(Check(value <= base + 0.01, f"diversity {_short(name)} {value:.3f} <= condition {base:.3f} "
                                                  "+ 0.01 (reduced or on par)"))
    return checks


CODE_SIZES = ("exp_condition", "exp_condition_8vars", "exp_condition_4vars")


def _code_size_pairs(seed: _Seed) -> List[Tuple[str, str]]:
    """(larger code, smaller code) pairs among the code-size experiments present."""
    present = seed.present(CODE_SIZES)
    return [(present[i], present[j]) for i in range(len(present)) for j in range(i + 1, len(present))]


def _code_size_control(seed: _Seed) -> List[Check]:
    return [check for larger, smaller in _code_size_pairs(seed) for check in seed.controls_better(smaller, larger)]


def _code_size_isolation(seed: _Seed) -> List[Check]:
    return [check for larger, smaller in _code_size_pairs(seed)
            for check in seed.isolates_better(larger, smaller, rule=False)]


def _code_size_quality(seed: _Seed) -> List[Check]:
    return [seed.lower(FID, smaller, "exp_condition") for smaller in seed.present(CODE_SIZES[1:])]


def _noinfo_collapses(seed: _Seed) -> List[Check]:
    return [seed.collapsed(name) for name in seed.present(NOINFO)]


def _mi_prevents_collapse(seed: _Seed) -> List[Check]:
    checks = [seed.collapsed("exp_noinfo")]
    for name in seed.present(MI_EXPERIMENTS):
        collapsed = seed.collapsed(name)
        checks.append(Check(not collapsed.holds, collapsed.text.replace(" < ", " >= ")))
    return checks


FINDINGS: Tuple[Finding, ...] = (
    Finding("quality_condition", "Fig. 21, 4.6.1", "exp_condition has a higher FID than the other variants",
            "22.68 vs 16.99-17.82", ("exp_condition", "exp_vanilla"), _quality_condition),
    Finding("diversity_on_par", "Fig. 21, 4.6.1",
            f"diversity varies little across variants (within {DIVERSITY_ON_PAR} of exp_condition's)",
            "0.6615-0.6854", ("exp_condition", "exp_vanilla"), _diversity_on_par),
    Finding("control_condition", "Fig. 22, 4.6.2",
            "exp_condition has the lowest code reconstruction error and InfoGAN penalty",
            "CRE 0.3035 vs 0.4296-0.4613; IP 1.0027 vs 1.0678-1.0919", ("exp_condition", "exp_vanilla"),
            _control_condition),
    Finding("isolation_condition", "Fig. 23, 4.6.3",
            "exp_condition has the highest overall isolation (MS-SSIM and MSE), control not worse",
            "MS-SSIM 0.9303 vs 0.8771-0.9284; MSE -0.0259 vs -0.0276..-0.0361", ("exp_condition", "exp_vanilla"),
            _isolation_condition),
    Finding("isolation_append_top_blocks", "Fig. 23, 4.6.3",
            "the appending variants have the highest isolation in blocks 5 and 6",
            "block 5: 0.9985 / 0.9956 vs condition 0.9529", ("exp_condition", "exp_append_simple"),
            _isolation_append_top_blocks),
    Finding("consistency_isolation", "Fig. 27, 5",
            "the consistency loss raises overall isolation (MS-SSIM and MSE), control not worse",
            "MS-SSIM 0.9407 / 0.9415 vs 0.9303", ("exp_condition", "exp_consistency_300"), _consistency_isolation),
    Finding("consistency_control", "Fig. 28, 5",
            "the consistency loss lowers the code reconstruction error and InfoGAN penalty",
            "CRE 0.25 / 0.2516 vs 0.3035", ("exp_condition", "exp_consistency_300"), _consistency_control),
    Finding("consistency_quality", "Fig. 26, 5",
            "the consistency loss costs a little quality: higher FID, diversity reduced or on par",
            "FID 24.29 / 24.43 vs 22.68; diversity 0.6526 / 0.6507 vs 0.6725",
            ("exp_condition", "exp_consistency_300"), _consistency_quality),
    Finding("code_size_control", "Fig. 31, 6",
            "fewer code variables lower the code reconstruction error and InfoGAN penalty",
            "CRE 0.3035 > 0.2349 (8) > 0.1864 (4)", ("exp_condition", "exp_condition_4vars"), _code_size_control),
    Finding("code_size_isolation", "Fig. 30, 6",
            "more code variables give higher isolation (MS-SSIM and MSE; a trade-off, so without the rule)",
            "MS-SSIM 0.9303 > 0.878 (8) > 0.7901 (4)", ("exp_condition", "exp_condition_4vars"),
            _code_size_isolation),
    Finding("code_size_quality", "Fig. 29, 6", "fewer code variables give a lower FID than exp_condition",
            "18.96 (8) / 19.10 (4) vs 22.68", ("exp_condition", "exp_condition_4vars"), _code_size_quality),
    Finding("noinfo_collapses", "4.5, Fig. 20",
            f"exp_noinfo collapses (diversity < {COLLAPSE_FRACTION} x the real images'), also at lower learning rates",
            "collapse early, no recovery, at 5e-4, 2.5e-4 and 1.25e-4", ("exp_noinfo",), _noinfo_collapses),
    Finding("mi_prevents_collapse", "4.5",
            "with the MI penalty no experiment collapses, while exp_noinfo does",
            "only exp_noinfo collapses", ("exp_noinfo", "exp_condition"), _mi_prevents_collapse),
)


# --- Beyond the thesis: its central claim against ground truth (docs/disentanglement_metrics.md) ---

APPENDING = ("exp_append_simple", "exp_append_channels")


def _scale_alignment(view: str) -> Callable[[_Seed], List[Check]]:
    metric, null_high = f"scale_alignment/{view}", f"scale_alignment_null_high/{view}"

    def checks(seed: _Seed) -> List[Check]:
        rho, high = seed.value("exp_condition", metric), seed.value("exp_condition", null_high)
        found = [Check(rho > high, f"condition rho {rho:+.2f} > its permutation null's 95% bound {high:+.2f}")]
        for other in seed.present(("exp_vanilla",) + APPENDING):
            value = seed.value(other, metric)
            found.append(Check(rho > value, f"condition rho {rho:+.2f} > {_short(other)} {value:+.2f}"))
        return found

    return checks


BEYOND_FINDINGS: Tuple[Finding, ...] = tuple(
    Finding(f"scale_alignment_{view}", f"{view} view",
            "block order follows factor-scale order (Spearman rho above the permutation null), more so for "
            "exp_condition than for exp_vanilla (the control) and the appending variants",
            "shown only by pictures in the thesis", ("exp_condition", "exp_vanilla"), _scale_alignment(view))
    for view in ("generative", "encoder"))


def score(finding: Finding, seeds: Mapping[int, SeedMetrics]) -> Score:
    """The finding's verdict over the seeds in which every required experiment was evaluated."""
    usable = {seed: metrics for seed, metrics in sorted(seeds.items())
              if all(experiment in metrics for experiment in finding.required)}
    if not usable:
        return Score(finding, NOT_RUN, ())
    outcomes: List[Optional[bool]] = []
    per_seed = []
    for seed, metrics in usable.items():
        try:
            checks = finding.checks(_Seed(metrics))
        except NotMeasurable as reason:
            outcomes.append(None)
            per_seed.append((seed, f"n.m. ({reason})"))
            continue
        holds = all(check.holds for check in checks)
        outcomes.append(holds)
        per_seed.append((seed, ("✓ " if holds else "✗ ") + "; ".join(
            f"{check.text} {'✓' if check.holds else '✗'}" for check in checks)))
    if all(outcome is None for outcome in outcomes):
        verdict = NOT_MEASURABLE
    elif all(outcome is True for outcome in outcomes):
        verdict = HOLDS
    elif all(outcome is False for outcome in outcomes):
        verdict = CONTRARY
    else:
        verdict = MIXED
    return Score(finding, verdict, tuple(per_seed))


def score_all(seeds: Mapping[int, SeedMetrics], findings: Sequence[Finding] = FINDINGS) -> List[Score]:
    return [score(finding, seeds) for finding in findings]


def findings_markdown(scores: Sequence[Score], title: str = "The thesis's findings, scored over seeds") -> str:
    """Every finding with its verdict and each seed's comparison: none left out."""
    counts = {verdict: sum(item.verdict == verdict for item in scores) for verdict in VERDICTS}
    lines = [f"### {title}\n",
             ", ".join(f"{count} {verdict}" for verdict, count in counts.items()) + ".\n",
             "| finding | thesis | claim | thesis numbers | verdict |", "|---|---|---|---|---|"]
    for item in scores:
        lines.append(f"| `{item.finding.key}` | {item.finding.source} | {item.finding.claim} | "
                     f"{item.finding.thesis} | **{item.verdict}** |")
    lines.append("\nPer seed:\n")
    for item in scores:
        lines.append(f"- `{item.finding.key}`: **{item.verdict}**")
        if not item.per_seed:
            lines.append(f"  - needs runs of {', '.join(item.finding.required)}")
        for seed, text in item.per_seed:
            lines.append(f"  - seed {seed}: {text}")
    return "\n".join(lines) + "\n"


def seeds_of(results: Mapping[str, Sequence[object]]) -> Dict[int, Dict[str, Dict[str, float]]]:
    """experiment -> runs (objects with .seed and .metrics)  =>  seed -> experiment -> metrics."""
    seeds: Dict[int, Dict[str, Dict[str, float]]] = {}
    for experiment, runs in results.items():
        for run in runs:
            seeds.setdefault(run.seed, {})[experiment] = dict(run.metrics)
    return seeds
