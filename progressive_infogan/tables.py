"""The thesis' result tables (Figs. 21-23, 26-31) rebuilt from run directories.

Every run directory holds `config.json` (the experiment's name is the config's `name`) and
`metrics.jsonl` (one JSON object per evaluation, appended by `evaluate`). Each table has the
thesis layout, with our value, the published value and the difference side by side:
"<column> (ours)", "<column> (thesis)", "Δ" (ours - thesis). "N/A" is a block that owns no
code coordinate (NaN, JSON null); "—" means no run of that experiment, or no such metric.

    python -m progressive_infogan.tables --runs_root=runs --out=results

writes, per figure, `fig<N>.md`, `fig<N>.csv` and a bar chart `fig<N>.png`, the
`directions.md` report (are the thesis' main findings reproduced?) and `tables.md`, an index
with everything.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from progressive_infogan.thesis_results import FIGURES, Figure

MISSING = "—"
NOT_APPLICABLE = "N/A"
METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"
THESIS_PHASE = 7

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_ENOUGH_RUNS = "not enough runs"


# --- Reading run directories ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RunResult:
    """One evaluation of one run: the metrics.jsonl line the tables use."""

    run_dir: str
    experiment: str
    step: Optional[int]
    phase: Optional[int]
    protocol: Optional[str]
    time: Optional[str]
    metrics: Dict[str, float]  # JSON null -> NaN

    def value(self, metric: str) -> Optional[float]:
        """The metric (NaN for N/A), or None if this evaluation did not compute it."""
        return self.metrics.get(metric)


def _as_float(value) -> float:
    return math.nan if value is None else float(value)


def read_metrics_lines(path: str) -> List[dict]:
    """Every JSON object of a metrics.jsonl file, in file order (blank lines skipped)."""
    records = []
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}:{number}: not JSON: {error}") from None
    return records


def read_run(run_dir: str, step: Optional[int] = None, protocol: Optional[str] = None) -> Optional[RunResult]:
    """The newest (last) metrics.jsonl line of a run, or the newest at `step` / of `protocol`,
    with the metrics of every line of the same step and protocol merged (newer lines win), so
    metrics evaluated by separate commands end up in one row.

    Returns None if the run has no matching line."""
    records = read_metrics_lines(os.path.join(run_dir, METRICS_FILE))
    if step is not None:
        records = [record for record in records if record.get("step") == step]
    if protocol:
        records = [record for record in records if record.get("protocol") == protocol]
    if not records:
        return None
    record = records[-1]
    config_path = os.path.join(run_dir, CONFIG_FILE)
    if os.path.isfile(config_path):
        with open(config_path) as handle:
            experiment = json.load(handle)["name"]
    elif record.get("experiment"):
        experiment = record["experiment"]
    else:
        raise FileNotFoundError(f"{run_dir}: no {CONFIG_FILE} and no experiment in {METRICS_FILE}")
    merged = {}
    for other in records:
        if other.get("step") == record.get("step") and other.get("protocol") == record.get("protocol"):
            merged.update(other.get("metrics", {}))
    metrics = {name: _as_float(value) for name, value in merged.items()
               if value is None or isinstance(value, (int, float))}
    return RunResult(run_dir=run_dir, experiment=experiment, step=record.get("step"), phase=record.get("phase"),
                     protocol=record.get("protocol"), time=record.get("time"), metrics=metrics)


def find_run_dirs(root: str) -> List[str]:
    """Directories under `root` (itself included) that hold a metrics.jsonl, sorted."""
    found = []
    for directory, _, files in os.walk(root):
        if METRICS_FILE in files:
            found.append(directory)
    return sorted(found)


def collect_results(run_dirs: Iterable[str], step: Optional[int] = None,
                    protocol: Optional[str] = None) -> Dict[str, RunResult]:
    """Experiment name -> its evaluation. If several runs are of one experiment, the one
    evaluated last (by the line's `time`) wins; the tables name the run they used."""
    results: Dict[str, RunResult] = {}
    for run_dir in run_dirs:
        result = read_run(run_dir, step=step, protocol=protocol)
        if result is None:
            continue
        current = results.get(result.experiment)
        if current is None or (result.time or "") >= (current.time or ""):
            results[result.experiment] = result
    return results


# --- Tables ---------------------------------------------------------------------------------

def _format_ours(value: Optional[float]) -> str:
    if value is None:
        return MISSING
    return NOT_APPLICABLE if math.isnan(value) else f"{value:.4f}"


def _format_thesis(value: Optional[float]) -> str:
    return NOT_APPLICABLE if value is None else repr(value)  # as printed in the thesis


def difference(ours: Optional[float], thesis: Optional[float]) -> Optional[float]:
    """ours - thesis; None if ours is missing, NaN if either is N/A."""
    if ours is None:
        return None
    if thesis is None or math.isnan(ours):
        return math.nan
    return ours - thesis


def _format_difference(value: Optional[float]) -> str:
    if value is None:
        return MISSING
    return NOT_APPLICABLE if math.isnan(value) else f"{value:+.4f}"


def figure_table(figure: Figure, results: Mapping[str, RunResult], unique_headers: bool = False):
    """(headers, rows) of a figure: "Experiment", then per thesis column "<col> (ours)",
    "<col> (thesis)", "Δ" (or "Δ <col>" with `unique_headers`, for CSV). Cells are strings."""
    headers = ["Experiment"]
    for header, _ in figure.columns:
        headers += [f"{header} (ours)", f"{header} (thesis)", f"Δ {header}" if unique_headers else "Δ"]
    rows = []
    for experiment, thesis_values in figure.rows:
        result = results.get(experiment)
        row = [experiment]
        for (_, metric), thesis in zip(figure.columns, thesis_values):
            ours = result.value(metric) if result is not None else None
            row += [_format_ours(ours), _format_thesis(thesis), _format_difference(difference(ours, thesis))]
        rows.append(row)
    return headers, rows


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _source_notes(figure: Figure, results: Mapping[str, RunResult]) -> List[str]:
    notes = []
    for experiment in figure.experiments:
        result = results.get(experiment)
        if result is None:
            continue
        warning = ""
        if result.phase is not None and result.phase != THESIS_PHASE:
            warning += f" — not after phase {THESIS_PHASE}, the thesis' point"
        if result.protocol not in (None, "thesis"):
            warning += f" — {result.protocol} protocol, not the thesis'"
        notes.append(f"- ours for {experiment}: `{result.run_dir}`, step {result.step}, phase {result.phase}, "
                     f"protocol {result.protocol}{warning}")
    return notes


def figure_markdown(figure: Figure, results: Mapping[str, RunResult], image: Optional[str] = None) -> str:
    """The figure's markdown: title, table, where our values come from, and the bar chart."""
    headers, rows = figure_table(figure, results)
    parts = [f"### Fig. {figure.number} — {figure.title}\n\n", _markdown_table(headers, rows)]
    notes = _source_notes(figure, results)
    parts.append("\nΔ = ours − thesis. N/A: a block that owns no code coordinate. "
                 f"{MISSING}: no run of that experiment, or no such metric.\n")
    if notes:
        parts.append("\n" + "\n".join(notes) + "\n")
    if image:
        parts.append(f"\n![Fig. {figure.number}: ours vs thesis]({image})\n")
    return "".join(parts)


def figure_csv(figure: Figure, results: Mapping[str, RunResult]) -> str:
    headers, rows = figure_table(figure, results, unique_headers=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue()


def plot_figure(figure: Figure, results: Mapping[str, RunResult], path: str) -> None:
    """Bar charts, one panel per thesis column: thesis vs ours for every experiment."""
    # The object-oriented API with the Agg canvas: no pyplot state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    columns = len(figure.columns)
    panels_per_row = min(columns, 3)
    panel_rows = math.ceil(columns / panels_per_row)
    chart = MplFigure(figsize=(4.2 * panels_per_row, 3.6 * panel_rows), layout="constrained")
    FigureCanvasAgg(chart)
    experiments = figure.experiments
    positions = list(range(len(experiments)))
    for index, (header, metric) in enumerate(figure.columns):
        axes = chart.add_subplot(panel_rows, panels_per_row, index + 1)
        thesis = [figure.value(experiment, metric) for experiment in experiments]
        ours = [results[experiment].value(metric) if experiment in results else None for experiment in experiments]
        thesis = [math.nan if value is None else value for value in thesis]
        ours = [math.nan if value is None else value for value in ours]
        axes.bar([p - 0.2 for p in positions], thesis, width=0.4, label="thesis", color="0.6")
        axes.bar([p + 0.2 for p in positions], ours, width=0.4, label="ours", color="tab:blue")
        axes.set_title(header, fontsize=9)
        axes.set_xticks(positions)
        axes.set_xticklabels([experiment.replace("exp_", "") for experiment in experiments], rotation=45,
                             ha="right", fontsize=7)
        axes.axhline(0.0, color="black", linewidth=0.5)
        if index == 0:
            axes.legend(fontsize=7)
    chart.suptitle(f"Fig. {figure.number} — {figure.title}: ours vs thesis", fontsize=10)
    chart.savefig(path, dpi=100)


# --- Directions -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Direction:
    """One of the thesis' directional findings and whether our runs show it."""

    key: str
    claim: str
    status: str  # REPRODUCED / NOT_REPRODUCED / NOT_ENOUGH_RUNS
    details: str


def _overall(results: Mapping[str, RunResult], experiment: str, metric: str) -> Optional[float]:
    result = results.get(experiment)
    value = result.value(metric) if result is not None else None
    return None if value is None or math.isnan(value) else value


def _compare(checks: List[tuple]) -> str:
    return REPRODUCED if all(holds for holds, _ in checks) else NOT_REPRODUCED


def _describe(checks: List[tuple]) -> str:
    return "; ".join(f"{text} {'✓' if holds else '✗'}" for holds, text in checks)


CRE = "code_reconstruction_error/overall"
MSSSIM_ISOLATION = "msssim_isolation/overall"


def directions(results: Mapping[str, RunResult]) -> List[Direction]:
    """Whether the runs present reproduce the thesis' directional findings:

    (a) exp_condition has a lower code reconstruction error than exp_vanilla (Fig. 22);
    (b) the consistency loss (exp_consistency_30 / _300) raises MS-SSIM isolation over
        exp_condition (Fig. 27);
    (c) fewer code variables (exp_condition_8vars, _4vars) lower the code reconstruction error
        but also the MS-SSIM isolation, relative to exp_condition and, with both present,
        4vars below 8vars (Figs. 30, 31).
    """
    found = []

    condition, vanilla = _overall(results, "exp_condition", CRE), _overall(results, "exp_vanilla", CRE)
    claim = "exp_condition beats exp_vanilla on code reconstruction error (lower; thesis 0.3035 vs 0.4327)"
    if condition is None or vanilla is None:
        found.append(Direction("a", claim, NOT_ENOUGH_RUNS, "needs exp_condition and exp_vanilla with "
                                                           "code_reconstruction_error/overall"))
    else:
        checks = [(condition < vanilla, f"exp_condition {condition:.4f} < exp_vanilla {vanilla:.4f}")]
        found.append(Direction("a", claim, _compare(checks), _describe(checks)))

    claim = ("consistency loss raises MS-SSIM isolation over exp_condition "
             "(thesis 0.9407 / 0.9415 vs 0.9303)")
    base = _overall(results, "exp_condition", MSSSIM_ISOLATION)
    present = [(name, _overall(results, name, MSSSIM_ISOLATION)) for name in ("exp_consistency_30",
                                                                               "exp_consistency_300")]
    present = [(name, value) for name, value in present if value is not None]
    if base is None or not present:
        found.append(Direction("b", claim, NOT_ENOUGH_RUNS, "needs exp_condition and exp_consistency_30 or _300 "
                                                            "with msssim_isolation/overall"))
    else:
        checks = [(value > base, f"{name} {value:.4f} > exp_condition {base:.4f}") for name, value in present]
        found.append(Direction("b", claim, _compare(checks), _describe(checks)))

    claim = ("fewer code variables lower the code reconstruction error but also the MS-SSIM isolation "
             "(thesis CRE 0.3035 > 0.2349 (8vars) > 0.1864 (4vars); isolation 0.9303 > 0.878 > 0.7901)")
    base_error, base_isolation = _overall(results, "exp_condition", CRE), _overall(results, "exp_condition",
                                                                                    MSSSIM_ISOLATION)
    present = []
    for name in ("exp_condition_8vars", "exp_condition_4vars"):
        error, isolation = _overall(results, name, CRE), _overall(results, name, MSSSIM_ISOLATION)
        if error is not None and isolation is not None:
            present.append((name, error, isolation))
    if base_error is None or base_isolation is None or not present:
        found.append(Direction("c", claim, NOT_ENOUGH_RUNS, "needs exp_condition and exp_condition_8vars or _4vars "
                                                            "with code_reconstruction_error/overall and "
                                                            "msssim_isolation/overall"))
    else:
        checks = []
        for name, error, isolation in present:
            checks.append((error < base_error, f"CRE {name} {error:.4f} < exp_condition {base_error:.4f}"))
            checks.append((isolation < base_isolation,
                           f"isolation {name} {isolation:.4f} < exp_condition {base_isolation:.4f}"))
        if len(present) == 2:
            (_, error8, isolation8), (_, error4, isolation4) = present
            checks.append((error4 < error8, f"CRE 4vars {error4:.4f} < 8vars {error8:.4f}"))
            checks.append((isolation4 < isolation8, f"isolation 4vars {isolation4:.4f} < 8vars {isolation8:.4f}"))
        found.append(Direction("c", claim, _compare(checks), _describe(checks)))
    return found


def directions_markdown(results: Mapping[str, RunResult]) -> str:
    lines = ["### Directional findings of the thesis\n"]
    for direction in directions(results):
        lines.append(f"- ({direction.key}) {direction.claim}: **{direction.status}** — {direction.details}")
    return "\n".join(lines) + "\n"


# --- Writing everything ---------------------------------------------------------------------

def write_tables(results: Mapping[str, RunResult], out_dir: str, charts: bool = True) -> Dict[str, str]:
    """Writes fig<N>.{md,csv,png}, directions.md and the index tables.md; returns name -> path."""
    os.makedirs(out_dir, exist_ok=True)
    written: Dict[str, str] = {}

    def write(name: str, text: str) -> None:
        path = os.path.join(out_dir, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        written[name] = path

    sections = []
    for figure in FIGURES:
        image = None
        if charts:
            image = f"{figure.key}.png"
            plot_figure(figure, results, os.path.join(out_dir, image))
            written[image] = os.path.join(out_dir, image)
        markdown = figure_markdown(figure, results, image=image)
        write(f"{figure.key}.md", markdown)
        write(f"{figure.key}.csv", figure_csv(figure, results))
        sections.append(markdown)
    report = directions_markdown(results)
    write("directions.md", report)

    runs = ["### Runs\n", "| Experiment | Run directory | Step | Phase | Protocol | Evaluated |", "|---|---|---|---|---|---|"]
    for experiment in sorted(results):
        result = results[experiment]
        runs.append(f"| {experiment} | `{result.run_dir}` | {result.step} | {result.phase} | {result.protocol} "
                    f"| {result.time} |")
    index = ["# Thesis result tables: ours vs published\n",
             "All thesis values are after phase 7 of training (docs/original_system.md §8).\n",
             "\n".join(runs) + "\n", report] + sections
    write("tables.md", "\n".join(index))
    return written


# --- Command line ---------------------------------------------------------------------------

def _define_flags():
    # Defined only when run as a command, so that importing the library defines no flags.
    from absl import flags

    flags.DEFINE_list("runs", None, "Comma-separated run directories (each with config.json and metrics.jsonl).")
    flags.DEFINE_string("runs_root", None, "A directory searched recursively for run directories "
                                           "(any folder holding a metrics.jsonl); combined with --runs.")
    flags.DEFINE_string("out", "results", "Output directory for fig<N>.md/.csv/.png, directions.md and tables.md.")
    flags.DEFINE_integer("step", None, "Use each run's evaluation at this training step instead of its newest "
                                       "metrics.jsonl line (runs without one are left out).")
    flags.DEFINE_string("protocol", None, "Only use metrics.jsonl lines of this evaluation protocol "
                                          "(e.g. 'thesis'); default: any.")
    flags.DEFINE_bool("directions", False, "Also print the directional-findings report (condition vs vanilla, "
                                           "consistency, code size) to stdout.")
    flags.DEFINE_bool("charts", True, "Write the ours-vs-thesis bar charts (PNG) next to the tables.")


def main(argv: Sequence[str]) -> None:
    from absl import app, flags, logging

    FLAGS = flags.FLAGS
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    run_dirs = list(FLAGS.runs or [])
    if FLAGS.runs_root:
        run_dirs += find_run_dirs(FLAGS.runs_root)
    if not run_dirs:
        raise app.UsageError("give --runs=DIR1,DIR2 and/or --runs_root=DIR")
    results = collect_results(run_dirs, step=FLAGS.step, protocol=FLAGS.protocol)
    for experiment, result in sorted(results.items()):
        logging.info("%s: %s (step %s, phase %s)", experiment, result.run_dir, result.step, result.phase)
    written = write_tables(results, FLAGS.out, charts=FLAGS.charts)
    print(f"{len(results)} experiment(s) from {len(run_dirs)} run director(ies); "
          f"wrote {len(written)} files to {FLAGS.out} (index: {written['tables.md']})")
    if FLAGS.directions:
        print(directions_markdown(results))


if __name__ == "__main__":
    from absl import app

    _define_flags()
    app.run(main)
