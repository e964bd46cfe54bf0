"""Image quality and code control against training CPU minutes: the curves of docs/training_health.md.

Each point is one training run, scored with the quick evaluation protocol; the points and the
commands that made them are in docs/health/points.tsv (one row per run). This script draws

- FID against CPU minutes, with a straight line through exp_condition's points in log-log
  space, extrapolated to the issue's target of FID 60;
- code reconstruction error over the built blocks against CPU minutes (linear axis), beside the 0.798 of a Q
  that learned nothing;

and prints the extrapolation: the CPU minutes at which exp_condition would reach FID 60 if the
trend held.

    python benchmarks/quality_per_cpu_minute.py [--points=docs/health/points.tsv] [--out=docs/health]
"""

from __future__ import annotations

import csv
import math
import os
from typing import Dict, List, Sequence

from absl import flags

from progressive_infogan import command_line

NULL_CRE = 0.798  # E|c - 0| for c ~ N(0, 1): the error of a Q that always predicts 0
TARGET_FID = 60.0


def read_points(path: str) -> List[Dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if not row["variant"].startswith("#")]


def loglog_fit(xs: Sequence[float], ys: Sequence[float]):
    """Least-squares slope and intercept of log y against log x."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mean_x, mean_y = sum(lx) / len(lx), sum(ly) / len(ly)
    slope = sum((a - mean_x) * (b - mean_y) for a, b in zip(lx, ly)) / sum((a - mean_x) ** 2 for a in lx)
    return slope, mean_y - slope * mean_x


def minutes_to_reach(fid: float, slope: float, intercept: float) -> float:
    return math.exp((math.log(fid) - intercept) / slope)


def main(argv, flag_values=flags.FLAGS) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    del argv
    points = read_points(flag_values.points)
    experiments = sorted({row["experiment"] for row in points})
    figure, (fid_axis, cre_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for experiment in experiments:
        rows = sorted((row for row in points if row["experiment"] == experiment), key=lambda r: float(r["cpu_min"]))
        minutes = [float(row["cpu_min"]) for row in rows]
        fid_axis.plot(minutes, [float(row["fid"]) for row in rows], "o-", label=experiment)
        cre_axis.plot(minutes, [float(row["cre_built"]) for row in rows], "o-", label=experiment)
        for row, x in zip(rows, minutes):
            fid_axis.annotate(row["variant"], (x, float(row["fid"])), fontsize=7, xytext=(3, 3),
                              textcoords="offset points")
            cre_axis.annotate(row["variant"], (x, float(row["cre_built"])), fontsize=7, xytext=(3, 3),
                              textcoords="offset points")
    condition = [row for row in points if row["experiment"] == "exp_condition" and row["head"] == "64"]
    if len(condition) >= 2:
        slope, intercept = loglog_fit([float(r["cpu_min"]) for r in condition], [float(r["fid"]) for r in condition])
        reach = minutes_to_reach(TARGET_FID, slope, intercept)
        xs = [min(float(r["cpu_min"]) for r in condition), reach]
        fid_axis.plot(xs, [math.exp(intercept) * x ** slope for x in xs], "k:", linewidth=1,
                      label=f"exp_condition trend, FID ∝ min^{slope:.2f}")
        print(f"exp_condition (h2 64 units): FID ∝ CPU-minutes^{slope:.3f}; FID {TARGET_FID:.0f} at about "
              f"{reach:,.0f} CPU minutes ({reach / 60 / 2:,.1f} h on 2 cores) if the trend held")
    fid_axis.axhline(TARGET_FID, color="green", linestyle="--", linewidth=1, label=f"target FID {TARGET_FID:.0f}")
    fid_axis.set(xscale="log", yscale="log", xlabel="training CPU minutes", ylabel="FID (quick protocol)",
                 title="Quality per CPU minute")
    cre_axis.axhline(NULL_CRE, color="red", linestyle="--", linewidth=1, label="Q that learned nothing (0.798)")
    cre_axis.set(xlabel="training CPU minutes", ylabel="CRE over built blocks",
                 title="Control per CPU minute")
    for axis in (fid_axis.xaxis, fid_axis.yaxis):  # a log axis labels its decades only; minor labels overlap
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    fid_axis.set_yticks([60, 100, 200, 300])
    fid_axis.legend(fontsize=7)
    cre_axis.legend(fontsize=7)
    figure.tight_layout()
    os.makedirs(flag_values.out, exist_ok=True)
    path = os.path.join(flag_values.out, "quality_per_cpu_minute.png")
    figure.savefig(path, dpi=110)
    print(f"wrote {path}")


def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string("points", "docs/health/points.tsv", "The measured runs (tab-separated).",
                        flag_values=flag_values)
    flags.DEFINE_string("out", "docs/health", "Where the figure goes.", flag_values=flag_values)


if __name__ == "__main__":
    command_line.run(main, define_flags)
