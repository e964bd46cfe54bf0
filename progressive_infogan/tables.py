"""The thesis' result tables (Figs. 21-23, 26-31) rebuilt from run directories.

Every run directory holds `config.json` (the experiment's name is the config's `name`) and
`metrics.jsonl` (one JSON object per evaluation, appended by `evaluate`). Each table has the
thesis layout, with our value, the published value and the difference side by side:
"<column> (ours)", "<column> (thesis)", "Δ" (ours - thesis). "N/A" is a block that owns no
code coordinate (NaN, JSON null); "—" means no run of that experiment, or no such metric.

    python -m progressive_infogan.tables --runs_root=runs --out=results

writes, per figure, `fig<N>.md`, `fig<N>.csv`, the per-seed values `fig<N>_seeds.csv` and a
bar chart `fig<N>.png`, the `findings.md` report (every comparative finding of the thesis with
its verdict over seeds, `findings.py`) and `tables.md`, an index with everything.

An experiment run with several seeds (its seed: `rundir.run_seed`) is shown as mean ± sd over
its seeds; the thesis values are single runs.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from absl import flags

from progressive_infogan import command_line, findings, rundir
from progressive_infogan.thesis_results import FIGURES, Figure

MISSING = "—"
NOT_APPLICABLE = "N/A"
THESIS_PHASE = 7


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
    seed: int = 0

    def value(self, metric: str) -> Optional[float]:
        """The metric (NaN for N/A), or None if this evaluation did not compute it."""
        return self.metrics.get(metric)


def _as_float(value) -> float:
    return math.nan if value is None else float(value)


def read_run(run_dir: str, step: Optional[int] = None, protocol: Optional[str] = None) -> Optional[RunResult]:
    """The newest (last) metrics.jsonl line of a run, or the newest at `step` / of `protocol`,
    with the metrics of every line of the same step and protocol merged (newer lines win), so
    metrics evaluated by separate commands end up in one row.

    Returns None if the run has no matching line."""
    records = rundir.read_metrics_lines(run_dir)
    if step is not None:
        records = [record for record in records if record.get("step") == step]
    if protocol:
        records = [record for record in records if record.get("protocol") == protocol]
    if not records:
        return None
    record = records[-1]
    experiment = rundir.experiment_name(run_dir) or record.get("experiment")
    if not experiment:
        raise FileNotFoundError(f"{run_dir}: no {rundir.CONFIG_FILE} and no experiment in {rundir.METRICS_FILE}")
    merged = {}
    for other in records:
        if other.get("step") == record.get("step") and other.get("protocol") == record.get("protocol"):
            merged.update(other.get("metrics", {}))
    metrics = {name: _as_float(value) for name, value in merged.items()
               if value is None or isinstance(value, (int, float))}
    return RunResult(run_dir=run_dir, experiment=experiment, step=record.get("step"), phase=record.get("phase"),
                     protocol=record.get("protocol"), time=record.get("time"), metrics=metrics,
                     seed=rundir.run_seed(run_dir))


def find_run_dirs(root: str) -> List[str]:
    """Directories under `root` (itself included) that hold a metrics.jsonl, sorted."""
    found = []
    for directory, _, files in os.walk(root):
        if rundir.METRICS_FILE in files:
            found.append(directory)
    return sorted(found)


Results = Mapping[str, Sequence[RunResult]]  # experiment -> one evaluation per seed


def collect_results(run_dirs: Iterable[str], step: Optional[int] = None,
                    protocol: Optional[str] = None) -> Dict[str, List[RunResult]]:
    """Experiment name -> its evaluations, one per seed, in seed order. If several runs are of
    one experiment and seed, the one evaluated last (by the line's `time`) wins; the tables
    name the runs they used."""
    chosen: Dict[tuple, RunResult] = {}
    for run_dir in run_dirs:
        result = read_run(run_dir, step=step, protocol=protocol)
        if result is None:
            continue
        key = (result.experiment, result.seed)
        current = chosen.get(key)
        if current is None or (result.time or "") >= (current.time or ""):
            chosen[key] = result
    results: Dict[str, List[RunResult]] = {}
    for (experiment, _), result in sorted(chosen.items()):
        results.setdefault(experiment, []).append(result)
    return results


def seed_values(runs: Sequence[RunResult], metric: str) -> List[float]:
    """The metric in each seed that computed it (NaN for N/A)."""
    return [value for value in (run.value(metric) for run in runs) if value is not None]


def mean_and_sd(values: Sequence[float]) -> Tuple[Optional[float], Optional[float]]:
    """(mean, sample sd) over seeds; None if no seed has the value, NaN if it is N/A."""
    if not values:
        return None, None
    array = np.asarray(values, dtype=np.float64)
    if np.isnan(array).any():
        return math.nan, math.nan
    return float(array.mean()), (float(array.std(ddof=1)) if array.size > 1 else 0.0)


# --- Tables ---------------------------------------------------------------------------------

def _format_ours(values: Sequence[float]) -> str:
    mean, sd = mean_and_sd(values)
    if mean is None:
        return MISSING
    if math.isnan(mean):
        return NOT_APPLICABLE
    return f"{mean:.4f}" if len(values) == 1 else f"{mean:.4f} ± {sd:.4f} (n={len(values)})"


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


def figure_table(figure: Figure, results: Results, unique_headers: bool = False):
    """(headers, rows) of a figure: "Experiment", then per thesis column "<col> (ours)",
    "<col> (thesis)", "Δ" (or "Δ <col>" with `unique_headers`, for CSV). Cells are strings;
    ours is the mean ± sd over seeds when there are several, and Δ uses the mean."""
    headers = ["Experiment"]
    for header, _ in figure.columns:
        headers += [f"{header} (ours)", f"{header} (thesis)", f"Δ {header}" if unique_headers else "Δ"]
    rows = []
    for experiment, thesis_values in figure.rows:
        runs = results.get(experiment, ())
        row = [experiment]
        for (_, metric), thesis in zip(figure.columns, thesis_values):
            values = seed_values(runs, metric)
            mean, _ = mean_and_sd(values)
            row += [_format_ours(values), _format_thesis(thesis), _format_difference(difference(mean, thesis))]
        rows.append(row)
    return headers, rows


def figure_seeds_csv(figure: Figure, results: Results) -> str:
    """Every seed's own values: one row per (experiment, seed), one column per thesis column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Experiment", "Seed", "Run directory"] + [header for header, _ in figure.columns])
    for experiment in figure.experiments:
        for run in results.get(experiment, ()):
            writer.writerow([experiment, run.seed, run.run_dir] + [
                _format_ours([] if run.value(metric) is None else [run.value(metric)])
                for _, metric in figure.columns])
    return buffer.getvalue()


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _source_notes(figure: Figure, results: Results) -> List[str]:
    notes = []
    for experiment in figure.experiments:
        for result in results.get(experiment, ()):
            notes.append(_source_note(result))
    return notes


def _source_note(result: RunResult) -> str:
    warning = ""
    if result.phase is not None and result.phase != THESIS_PHASE:
        warning += f" — not after phase {THESIS_PHASE}, the thesis' point"
    if result.protocol not in (None, "thesis"):
        warning += f" — {result.protocol} protocol, not the thesis'"
    return (f"- ours for {result.experiment}, seed {result.seed}: `{result.run_dir}`, step {result.step}, "
            f"phase {result.phase}, protocol {result.protocol}{warning}")


def figure_markdown(figure: Figure, results: Results, image: Optional[str] = None) -> str:
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


def figure_csv(figure: Figure, results: Results) -> str:
    headers, rows = figure_table(figure, results, unique_headers=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue()


def plot_figure(figure: Figure, results: Results, path: str) -> None:
    """Bar charts, one panel per thesis column: thesis vs ours (mean, with the sd over seeds as
    an error bar) for every experiment."""
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
        ours = [mean_and_sd(seed_values(results.get(experiment, ()), metric)) for experiment in experiments]
        thesis = [math.nan if value is None else value for value in thesis]
        means = [math.nan if mean is None else mean for mean, _ in ours]
        spreads = [math.nan if sd is None else sd for _, sd in ours]
        axes.bar([p - 0.2 for p in positions], thesis, width=0.4, label="thesis", color="0.6")
        axes.bar([p + 0.2 for p in positions], means, yerr=spreads, width=0.4, label="ours", color="tab:blue",
                 capsize=2)
        axes.set_title(header, fontsize=9)
        axes.set_xticks(positions)
        axes.set_xticklabels([experiment.replace("exp_", "") for experiment in experiments], rotation=45,
                             ha="right", fontsize=7)
        axes.axhline(0.0, color="black", linewidth=0.5)
        if index == 0:
            axes.legend(fontsize=7)
    chart.suptitle(f"Fig. {figure.number} — {figure.title}: ours vs thesis", fontsize=10)
    chart.savefig(path, dpi=100)


# --- Writing everything ---------------------------------------------------------------------

def findings_report(results: Results) -> str:
    """Every comparative finding of the thesis, then the ground-truth ones beyond it, with
    their verdicts over the seeds present."""
    seeds = findings.seeds_of(results)
    return (findings.findings_markdown(findings.score_all(seeds)) + "\n" + findings.findings_markdown(
        findings.score_all(seeds, findings.BEYOND_FINDINGS), "Beyond the thesis: scale alignment against ground truth"))


# Disentanglement against the synthetic faces' factors (metrics/ground_truth.py), per view.
BEYOND_COLUMNS = (
    ("MIG", "mig"), ("DCI disentanglement", "dci_disentanglement"), ("DCI completeness", "dci_completeness"),
    ("DCI informativeness (test R²)", "dci_informativeness_test"), ("SAP", "sap"), ("modularity", "modularity"),
    ("scale alignment rho", "scale_alignment"), ("null 95% bound", "scale_alignment_null_high"),
    ("p", "scale_alignment_p_value"),
)
VIEWS = ("generative", "encoder")


def beyond_markdown(results: Results) -> str:
    """The 'beyond the thesis' figure: ground-truth disentanglement and scale alignment per
    experiment (mean ± sd over seeds), one table per view; experiments without them are left out."""
    parts = ["### Beyond the thesis — disentanglement against the synthetic faces' factors\n\n",
             "What each number means: docs/disentanglement_metrics.md. The generative view reads the factors "
             "of generated images with the factor predictor; the encoder view scores Q's means on real images.\n"]
    for view in VIEWS:
        rows = []
        for experiment, runs in sorted(results.items()):
            cells = [_format_ours(seed_values(runs, f"{metric}/{view}")) for _, metric in BEYOND_COLUMNS]
            if any(cell != MISSING for cell in cells):
                rows.append([experiment, str(len(runs))] + cells)
        if rows:
            parts += [f"\n#### {view} view\n\n",
                      _markdown_table(["Experiment", "seeds"] + [header for header, _ in BEYOND_COLUMNS], rows)]
    if len(parts) == 2:
        parts.append(f"\n{MISSING}: no run evaluated with `--metrics=disentanglement`.\n")
    return "".join(parts)


def write_tables(results: Results, out_dir: str, charts: bool = True) -> Dict[str, str]:
    """Writes fig<N>.{md,csv,png}, fig<N>_seeds.csv, findings.md and the index tables.md;
    returns name -> path."""
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
        write(f"{figure.key}_seeds.csv", figure_seeds_csv(figure, results))
        sections.append(markdown)
    report = findings_report(results)
    write("findings.md", report)
    beyond = beyond_markdown(results)
    write("beyond.md", beyond)
    if charts:
        written.update(write_heatmaps(results, out_dir))

    runs = ["### Runs\n", "| Experiment | Seed | Run directory | Step | Phase | Protocol | Evaluated |",
            "|---|---|---|---|---|---|---|"]
    for experiment in sorted(results):
        for result in results[experiment]:
            runs.append(f"| {experiment} | {result.seed} | `{result.run_dir}` | {result.step} | {result.phase} "
                        f"| {result.protocol} | {result.time} |")
    index = ["# Thesis result tables: ours vs published\n",
             "All thesis values are after phase 7 of training (docs/original_system.md §8).\n",
             "\n".join(runs) + "\n", report] + sections + [beyond]
    write("tables.md", "\n".join(index))
    return written


# --- The README's results section ------------------------------------------------------------

SUMMARY_COLUMNS = (
    ("FID", "fid"),
    ("MS-SSIM diversity", "msssim_diversity_gen"),
    ("real diversity", "msssim_diversity_real"),
    ("CRE", "code_reconstruction_error/overall"),
    ("CRE, built blocks", "code_reconstruction_error/overall_built"),
    ("InfoGAN penalty", "infogan_penalty/overall"),
    ("MS-SSIM isolation", "msssim_isolation/overall"),
    ("MSE isolation", "mse_isolation/overall"),
    ("spread, z only", "latent_spread/noise_only"),
    ("spread, code only", "latent_spread/code_only"),
)
# The README shows this experiment's scale-alignment heatmap (the thesis's central claim).
README_HEATMAP = ("exp_condition", "generative")


def heatmap_name(experiment: str, view: str) -> str:
    return f"scale_alignment_{experiment}_{view}.png"


def mean_scores(runs: Sequence[RunResult]) -> Dict[str, float]:
    """Each score's mean over the seeds that have it (NaN where a seed has it N/A)."""
    names = sorted({name for run in runs for name in run.metrics})
    means = {name: mean_and_sd(seed_values(runs, name))[0] for name in names}
    return {name: value for name, value in means.items() if value is not None}


def write_heatmaps(results: Results, out_dir: str) -> Dict[str, str]:
    """Each experiment's factor x block importance heatmap per view, averaged over its seeds."""
    from progressive_infogan.metrics import ground_truth

    written = {}
    for experiment, runs in sorted(results.items()):
        scores = mean_scores(runs)
        for view in VIEWS:
            name = heatmap_name(experiment, view)
            seeds = f"mean of {len(runs)} seed{'s' if len(runs) > 1 else ''}"
            if ground_truth.heatmap_from_scores(scores, view, os.path.join(out_dir, name),
                                                title=f"{experiment} ({seeds})"):
                written[name] = os.path.join(out_dir, name)
    return written


def summary_markdown(results: Results, heatmap: Optional[str] = None) -> str:
    """One row per experiment (mean ± sd over its seeds) and every finding's verdict: the
    README's results section, generated so that it can't drift from results/. `heatmap`: the
    link to README_HEATMAP's drawing, shown below the verdicts."""
    headers = ["Experiment", "seeds"] + [header for header, _ in SUMMARY_COLUMNS]
    rows = [[experiment, str(len(runs))] + [_format_ours(seed_values(runs, metric)) for _, metric in SUMMARY_COLUMNS]
            for experiment, runs in sorted(results.items())]
    seeds = findings.seeds_of(results)
    scores = findings.score_all(seeds) + findings.score_all(seeds, findings.BEYOND_FINDINGS)
    verdicts = ["| finding | claim | verdict |", "|---|---|---|"]
    verdicts += [f"| `{item.finding.key}` ({item.finding.source}) | {item.finding.claim} | **{item.verdict}** |"
                 for item in scores]
    text = _markdown_table(headers, rows) + "\n" + "\n".join(verdicts) + "\n"
    if heatmap is not None:
        experiment, view = README_HEATMAP
        text += (f"\nWhich blocks' coordinates explain each ground-truth factor in {experiment} ({view} view, "
                 f"mean over its seeds; factors from coarse to fine; docs/disentanglement_metrics.md):\n\n"
                 f"![scale alignment of {experiment}]({heatmap})\n")
    return text


def replace_section(text: str, name: str, content: str) -> str:
    """`text` with what lies between `<!-- results:NAME begin -->` and `<!-- results:NAME end -->`
    replaced by `content`."""
    begin, end = f"<!-- results:{name} begin -->", f"<!-- results:{name} end -->"
    if begin not in text or end not in text:
        raise ValueError(f"no {begin} ... {end} markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{content}{end}{tail}"


# --- Command line ---------------------------------------------------------------------------

def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_list("runs", None, "Comma-separated run directories (each with config.json and metrics.jsonl).",
                      flag_values=flag_values)
    flags.DEFINE_string("runs_root", None, "A directory searched recursively for run directories "
                                           "(any folder holding a metrics.jsonl); combined with --runs.",
                        flag_values=flag_values)
    flags.DEFINE_string("out", "results", "Output directory for fig<N>.md/.csv/.png, fig<N>_seeds.csv, findings.md "
                        "and tables.md.", flag_values=flag_values)
    flags.DEFINE_integer("step", None, "Use each run's evaluation at this training step instead of its newest "
                                       "metrics.jsonl line (runs without one are left out).", flag_values=flag_values)
    flags.DEFINE_string("protocol", None, "Only use metrics.jsonl lines of this evaluation protocol "
                                          "(e.g. 'thesis'); default: any.", flag_values=flag_values)
    flags.DEFINE_bool("findings", False, "Also print the findings report (every comparative finding of the "
                                         "thesis with its verdict over seeds) to stdout.", flag_values=flag_values)
    flags.DEFINE_string("readme", None, "Also rewrite this file's section between <!-- results:NAME begin --> "
                                        "and <!-- results:NAME end --> (NAME: --readme_section) from the results.",
                        flag_values=flag_values)
    flags.DEFINE_string("readme_section", None, "The section's NAME; default: the name of --out's folder.",
                        flag_values=flag_values)
    flags.DEFINE_bool("charts", True, "Write the ours-vs-thesis bar charts (PNG) next to the tables.",
                      flag_values=flag_values)


def main(argv: Sequence[str], flag_values: flags.FlagValues = flags.FLAGS) -> None:
    from absl import app, logging

    del argv
    run_dirs = list(flag_values.runs or [])
    if flag_values.runs_root:
        run_dirs += find_run_dirs(flag_values.runs_root)
    if not run_dirs:
        raise app.UsageError("give --runs=DIR1,DIR2 and/or --runs_root=DIR")
    results = collect_results(run_dirs, step=flag_values.step, protocol=flag_values.protocol)
    for experiment, runs in sorted(results.items()):
        for result in runs:
            logging.info("%s seed %d: %s (step %s, phase %s)", experiment, result.seed, result.run_dir, result.step,
                         result.phase)
    written = write_tables(results, flag_values.out, charts=flag_values.charts)
    print(f"{len(results)} experiment(s) from {len(run_dirs)} run director(ies); "
          f"wrote {len(written)} files to {flag_values.out} (index: {written['tables.md']})")
    if flag_values.findings:
        print(findings_report(results))
    if flag_values.readme:
        with open(flag_values.readme, encoding="utf-8") as handle:
            text = handle.read()
        section = flag_values.readme_section or os.path.basename(os.path.normpath(flag_values.out))
        heatmap = os.path.join(flag_values.out, heatmap_name(*README_HEATMAP))
        link = (os.path.relpath(heatmap, os.path.dirname(os.path.abspath(flag_values.readme)))
                if os.path.exists(heatmap) else None)
        text = replace_section(text, section, summary_markdown(results, heatmap=link))
        with open(flag_values.readme, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"rewrote the {section} results section of {flag_values.readme}")


if __name__ == "__main__":
    command_line.run(main, define_flags)
