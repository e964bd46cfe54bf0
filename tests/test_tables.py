import csv
import io
import json
import math
import os
import re
import subprocess
import sys

import pytest

from progressive_infogan import rundir, tables
from progressive_infogan.config import RunOptions, preset
from progressive_infogan.thesis_results import FIGURES, FIGURES_BY_NUMBER

# The project's transcription of the thesis tables: the test below checks it against thesis_results.py.
REFERENCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "original_system.md")


def make_run(root, name, experiment, lines):
    run_dir = os.path.join(root, name)
    os.makedirs(run_dir)
    rundir.write_config(preset(experiment), run_dir)
    for step, metrics in lines:
        rundir.append_metrics_line(run_dir, {"experiment": "ignored", "step": step, "phase": 7, "checkpoint": "ckpt",
                                             "protocol": "thesis", "time": f"2026-11-23T00:00:{step % 60:02d}Z",
                                             "metrics": metrics})
    return run_dir


VANILLA = {"fid": 20.0, "msssim_diversity_gen": 0.6, "code_reconstruction_error/overall": 0.5,
           "code_reconstruction_error/block_5": None, "code_reconstruction_error/block_6": None,
           "infogan_penalty/overall": 1.1, "infogan_penalty/block_5": None, "infogan_penalty/block_6": None}
CONDITION = {"fid": 25.5, "code_reconstruction_error/overall": 0.3, "code_reconstruction_error/block_5": 0.25,
             "code_reconstruction_error/block_6": 0.125, "infogan_penalty/overall": 1.0,
             "infogan_penalty/block_5": 0.95, "infogan_penalty/block_6": 0.9375,
             "msssim_isolation/overall": 0.93}


@pytest.fixture
def two_runs(tmp_path):
    vanilla = make_run(tmp_path, "a", "exp_vanilla", [(100, dict(VANILLA, fid=99.0)), (200, VANILLA)])
    condition = make_run(tmp_path, "nested/b", "exp_condition", [(118000, CONDITION)])
    return tmp_path, vanilla, condition


def _parse_markdown(text):
    lines = [line for line in text.splitlines() if line.startswith("|")]
    split = lambda line: [cell.strip() for cell in line.strip("|").split("|")]  # noqa: E731
    return split(lines[0]), [split(line) for line in lines[2:]]


def test_fig21_and_fig22_from_two_runs(two_runs):
    root, vanilla_dir, condition_dir = two_runs
    results = tables.collect_results(tables.find_run_dirs(str(root)))
    assert sorted(results) == ["exp_condition", "exp_vanilla"]  # names from config.json
    assert [run.step for run in results["exp_vanilla"]] == [200]  # the newest line, one seed

    headers, rows = _parse_markdown(tables.figure_markdown(FIGURES_BY_NUMBER[21], results))
    assert headers == ["Experiment", "Frechet Inception Distance (ours)", "Frechet Inception Distance (thesis)", "Δ",
                       "MSSIM Diversity (ours)", "MSSIM Diversity (thesis)", "Δ"]
    assert [row[0] for row in rows] == ["exp_vanilla", "exp_gradual_loss", "exp_unmask", "exp_append_simple",
                                        "exp_append_channels", "exp_condition"]
    by_name = {row[0]: row[1:] for row in rows}
    assert by_name["exp_vanilla"] == ["20.0000", "16.9881", "+3.0119", "0.6000", "0.6615", "-0.0615"]
    # A metric the run did not compute, and experiments with no run: "—" for ours.
    assert by_name["exp_condition"] == ["25.5000", "22.6782", "+2.8218", "—", "0.6725", "—"]
    assert by_name["exp_unmask"] == ["—", "17.1377", "—", "—", "0.6854", "—"]

    headers, rows = _parse_markdown(tables.figure_markdown(FIGURES_BY_NUMBER[22], results))
    assert headers[1:4] == ["Code Reconstruction Error (ours)", "Code Reconstruction Error (thesis)", "Δ"]
    assert headers[-3:] == ["IP Block 6 (ours)", "IP Block 6 (thesis)", "Δ"] and len(headers) == 19
    by_name = {row[0]: row[1:] for row in rows}
    assert by_name["exp_vanilla"] == ["0.5000", "0.4327", "+0.0673", "N/A", "N/A", "N/A", "N/A", "N/A", "N/A",
                                      "1.1000", "1.0678", "+0.0322", "N/A", "N/A", "N/A", "N/A", "N/A", "N/A"]
    assert by_name["exp_condition"][:6] == ["0.3000", "0.3035", "-0.0035", "0.2500", "0.2266", "+0.0234"]
    assert by_name["exp_unmask"][9:12] == ["—", "1.07", "—"]  # thesis value as printed

    # CSV: the same cells, unique Δ headers.
    reader = list(csv.reader(io.StringIO(tables.figure_csv(FIGURES_BY_NUMBER[22], results))))
    assert reader[0][3] == "Δ Code Reconstruction Error" and reader[1][:4] == ["exp_vanilla", "0.5000", "0.4327",
                                                                               "+0.0673"]


def test_step_selects_an_older_line(two_runs):
    root, vanilla_dir, _ = two_runs
    result = tables.read_run(vanilla_dir, step=100)
    assert result.value("fid") == 99.0 and result.experiment == "exp_vanilla"
    assert math.isnan(result.value("infogan_penalty/block_5")) and result.value("mse_isolation/overall") is None
    assert tables.read_run(vanilla_dir, step=5) is None
    assert tables.collect_results([vanilla_dir], protocol="standard") == {}


def test_write_tables_and_command_line(two_runs, tmp_path):
    root, vanilla_dir, condition_dir = two_runs
    out = tmp_path / "results"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(tables.__file__))))
    completed = subprocess.run([sys.executable, "-m", "progressive_infogan.tables", f"--runs={vanilla_dir}",
                                f"--runs_root={os.path.dirname(condition_dir)}", f"--out={out}", "--findings"],
                               capture_output=True, text=True, env=env, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "`control_condition`" in completed.stdout and "seed 0: ✓ CRE condition 0.3000" in completed.stdout
    for figure in FIGURES:
        for suffix in (".md", ".csv", ".png", "_seeds.csv"):
            assert (out / f"fig{figure.number}{suffix}").stat().st_size > 0
    index = (out / "tables.md").read_text()
    assert index.count("### Fig. ") == 9 and "| exp_condition_4vars |" in index
    assert "**holds in every seed**" in (out / "findings.md").read_text()


def test_several_seeds_give_mean_and_sd_and_per_seed_rows(tmp_path):
    for seed, fid in ((0, 20.0), (1, 22.0), (2, 27.0)):
        run_dir = make_run(tmp_path, f"vanilla-{seed}", "exp_vanilla", [(200, dict(VANILLA, fid=fid))])
        rundir.write_run_options(run_dir, RunOptions(model_dir=run_dir, seed=seed))
    # A second run of seed 2 evaluated earlier loses to the newer one.
    old = make_run(tmp_path, "vanilla-2-old", "exp_vanilla", [(130, dict(VANILLA, fid=99.0))])  # time :10 < :20
    rundir.write_run_options(old, RunOptions(model_dir=old, seed=2))
    results = tables.collect_results(tables.find_run_dirs(str(tmp_path)))
    assert [(run.seed, run.value("fid")) for run in results["exp_vanilla"]] == [(0, 20.0), (1, 22.0), (2, 27.0)]
    _, rows = _parse_markdown(tables.figure_markdown(FIGURES_BY_NUMBER[21], results))
    # mean 23, sample sd sqrt(13) = 3.6056; Δ from the mean.
    assert dict((row[0], row[1:]) for row in rows)["exp_vanilla"][:3] == ["23.0000 ± 3.6056 (n=3)", "16.9881",
                                                                          "+6.0119"]
    seeds = list(csv.reader(io.StringIO(tables.figure_seeds_csv(FIGURES_BY_NUMBER[21], results))))
    assert seeds[0][:4] == ["Experiment", "Seed", "Run directory", "Frechet Inception Distance"]
    assert [(row[1], row[3]) for row in seeds[1:]] == [("0", "20.0000"), ("1", "22.0000"), ("2", "27.0000")]


def test_thesis_constants():
    assert FIGURES_BY_NUMBER[21].value("exp_condition", "fid") == 22.6782
    assert FIGURES_BY_NUMBER[22].value("exp_vanilla", "infogan_penalty/block_5") is None
    assert FIGURES_BY_NUMBER[27].value("exp_consistency_300", "msssim_isolation/block_5") == 0.976
    assert FIGURES_BY_NUMBER[30].value("exp_condition_4vars", "mse_isolation/overall") == -0.1009
    assert [figure.number for figure in FIGURES] == [21, 22, 23, 26, 27, 28, 29, 30, 31]


def test_thesis_constants_match_the_reference_transcription():
    text = open(REFERENCE, encoding="utf-8").read()
    section = text[text.index("## 8. Thesis result tables"):text.index("## 9.")]
    parts = re.split(r"\n### Fig\. (\d+) — ([^\n]*)\n", section)
    assert [int(number) for number in parts[1::3]] == [figure.number for figure in FIGURES]
    checked = 0
    for index in range(1, len(parts), 3):
        figure = FIGURES_BY_NUMBER[int(parts[index])]
        assert figure.title == parts[index + 1]
        headers, rows = _parse_markdown(parts[index + 2])
        assert headers[1:] == [header for header, _ in figure.columns]
        assert [row[0] for row in rows] == list(figure.experiments)
        for row in rows:
            for cell, value in zip(row[1:], dict(figure.rows)[row[0]], strict=True):
                assert cell == ("N/A" if value is None else repr(value))
                checked += 1
    assert checked == 168


def test_metrics_of_separate_evaluations_of_one_checkpoint_merge(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    rundir.write_config(preset("exp_condition"), str(run_dir))
    lines = [{"experiment": "exp_condition", "step": 10, "phase": 7, "protocol": "thesis", "metrics": {"fid": 30.0}},
             {"experiment": "exp_condition", "step": 10, "phase": 7, "protocol": "other", "metrics": {"fid": 99.0}},
             {"experiment": "exp_condition", "step": 10, "phase": 7, "protocol": "thesis",
              "metrics": {"code_reconstruction_error/overall": 0.4}}]
    for line in lines:
        rundir.append_metrics_line(str(run_dir), line)
    result = tables.read_run(str(run_dir), protocol="thesis")
    assert result.metrics == {"fid": 30.0, "code_reconstruction_error/overall": 0.4}


def test_readme_section_is_generated_between_its_markers(two_runs, tmp_path):
    root, _, _ = two_runs
    readme = tmp_path / "README.md"
    readme.write_text("# title\n<!-- results:quick begin -->\nstale\n<!-- results:quick end -->\nafter\n")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(tables.__file__))))
    completed = subprocess.run([sys.executable, "-m", "progressive_infogan.tables", f"--runs_root={root}",
                                f"--out={tmp_path / 'quick'}", f"--readme={readme}", "--nocharts"],
                               capture_output=True, text=True, env=env, timeout=120)
    assert completed.returncode == 0, completed.stderr
    text = readme.read_text()
    assert "stale" not in text and text.startswith("# title\n<!-- results:quick begin -->\n")
    assert text.endswith("<!-- results:quick end -->\nafter\n")
    headers, rows = _parse_markdown(text)
    assert headers[:4] == ["Experiment", "seeds", "FID", "MS-SSIM diversity"]
    assert rows[0][:4] == ["exp_condition", "1", "25.5000", "—"] and rows[1][:3] == ["exp_vanilla", "1", "20.0000"]
    assert "| `control_condition` (Fig. 22, 4.6.2) |" in text
    with pytest.raises(ValueError, match="results:full begin"):
        tables.replace_section(text, "full", "x")


def test_beyond_the_thesis_table_per_view(tmp_path):
    scores = {"mig/generative": 0.01, "dci_disentanglement/generative": 0.26, "scale_alignment/generative": 0.83,
              "scale_alignment_null_high/generative": 0.62, "scale_alignment_p_value/generative": 0.0007}
    make_run(tmp_path, "c", "exp_condition", [(10, scores)])
    make_run(tmp_path, "v", "exp_vanilla", [(10, VANILLA)])
    results = tables.collect_results(tables.find_run_dirs(str(tmp_path)))
    text = tables.beyond_markdown(results)
    assert "#### generative view" in text and "#### encoder view" not in text
    headers, rows = _parse_markdown(text)
    assert headers[:4] == ["Experiment", "seeds", "MIG", "DCI disentanglement"]
    assert rows == [["exp_condition", "1", "0.0100", "0.2600", "—", "—", "—", "—", "0.8300", "0.6200", "0.0007"]]
    assert "no run evaluated" in tables.beyond_markdown({})


def test_the_heatmap_averages_the_seeds_and_the_readme_links_it(tmp_path):
    def matrix(value):  # two factors x two blocks; factor 0 read by block 2, factor 1 by block 3
        return {"scale_alignment_matrix/generative/face_width/block_2": value,
                "scale_alignment_matrix/generative/face_width/block_3": 0.0,
                "scale_alignment_matrix/generative/hair_color/block_2": 0.0,
                "scale_alignment_matrix/generative/hair_color/block_3": 1.0 - value}

    for seed, value in ((0, 0.2), (1, 0.6)):
        run_dir = make_run(tmp_path, f"runs/c{seed}", "exp_condition", [(10, dict(CONDITION, **matrix(value)))])
        with open(os.path.join(run_dir, "run_options.json"), "w") as handle:
            json.dump({"seed": seed}, handle)
    results = tables.collect_results(tables.find_run_dirs(str(tmp_path / "runs")))
    assert tables.mean_scores(results["exp_condition"])[
        "scale_alignment_matrix/generative/face_width/block_2"] == pytest.approx(0.4)
    out = tmp_path / "results"
    out.mkdir()
    assert list(tables.write_heatmaps(results, str(out))) == ["scale_alignment_exp_condition_generative.png"]
    assert "](results/x.png)" in tables.summary_markdown(results, heatmap="results/x.png")
    assert "![" not in tables.summary_markdown(results)


def test_a_torn_last_metrics_line_does_not_stop_the_tables(tmp_path, caplog):
    run_dir = make_run(tmp_path, "vanilla", "exp_vanilla", [(200, VANILLA)])
    with open(os.path.join(run_dir, rundir.METRICS_FILE), "a") as handle:
        handle.write('{"experiment": "exp_vanilla", "step": 300, "metr')  # an evaluation killed mid-write
    results = tables.collect_results(tables.find_run_dirs(str(tmp_path)))
    assert [run.value("fid") for run in results["exp_vanilla"]] == [20.0]
    assert f"{os.path.join(run_dir, rundir.METRICS_FILE)}:2: skipping a malformed line" in caplog.text
    tables.figure_markdown(FIGURES_BY_NUMBER[21], results)
