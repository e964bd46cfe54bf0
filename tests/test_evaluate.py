import dataclasses
import json

import pytest

from progressive_infogan import evaluate
from explore_fixtures import make_run, small_config


def test_evaluate_appends_a_line_and_knows_it_is_done(tmp_path):
    run_dir = str(tmp_path / "run")
    make_run(run_dir, small_config("exp_condition"), phase=3, step=100)
    assert not evaluate.already_evaluated(run_dir, "smoke")
    line = evaluate.evaluate(run_dir, ["infogan", "isolation"], protocol="smoke")
    assert line["step"] == 100 and line["phase"] == 3 and line["protocol"] == "smoke"
    assert 0.0 < line["metrics"]["code_reconstruction_error/overall"] < 3.0
    # A block-6 coordinate does not enter a phase-3 generator: perfectly isolated (MS-SSIM up to float32 rounding).
    assert line["metrics"]["msssim_isolation/coord_64"] == pytest.approx(1.0, abs=1e-6)
    # Its MSE is 0 up to the square of that rounding (1e-14 on a CPU without AVX-512).
    assert line["metrics"]["mse_isolation/coord_64"] == pytest.approx(0.0, abs=1e-10)
    with open(tmp_path / "run" / "metrics.jsonl") as handle:
        assert json.loads(handle.readline()) == line
    assert evaluate.already_evaluated(run_dir, "smoke")
    assert not evaluate.already_evaluated(run_dir, "thesis")


def test_metrics_that_need_real_images_ask_for_a_data_directory(tmp_path):
    run_dir = str(tmp_path / "run")
    make_run(run_dir, small_config("exp_condition"), phase=3)
    with pytest.raises(ValueError, match="--data_dir"):
        evaluate.evaluate(run_dir, ["fid"], protocol="smoke")
    with pytest.raises(ValueError, match="unknown protocol"):
        evaluate.evaluate(run_dir, ["infogan"], protocol="nonsense")


def test_sample_count_flags_override_the_protocol_and_label_the_line_custom():
    from absl import flags

    def settings(*argv):
        flag_values = flags.FlagValues()
        evaluate.define_flags(flag_values)
        flag_values(["evaluate", "--run_dir=run", *argv])
        return evaluate.settings_from_flags(flag_values)

    assert settings("--protocol=quick") == ("quick", evaluate.PROTOCOLS["quick"])
    protocol, counts = settings("--protocol=smoke", "--fid_num_images=7", "--seed=3")
    assert protocol == "smoke-custom"
    assert counts == dataclasses.replace(evaluate.PROTOCOLS["smoke"], fid_num_images=7, seed=3)


def test_a_torn_metrics_line_neither_stops_skip_if_done_nor_swallows_the_next_line(tmp_path, capsys):
    from absl import flags

    from progressive_infogan import rundir

    run_dir = str(tmp_path / "run")
    make_run(run_dir, small_config("exp_condition"), phase=3, step=100)
    with open(tmp_path / "run" / "metrics.jsonl", "w") as handle:
        handle.write('{"protocol": "smoke", "step": 100, "metr')  # an evaluation killed mid-write
    assert not evaluate.already_evaluated(run_dir, "smoke")
    flag_values = flags.FlagValues()
    evaluate.define_flags(flag_values)
    flag_values(["evaluate", f"--run_dir={run_dir}", "--protocol=smoke", "--metrics=infogan", "--skip_if_done"])
    evaluate.main([], flag_values)
    assert [line["step"] for line in rundir.read_metrics_lines(run_dir)] == [100]
    assert evaluate.already_evaluated(run_dir, "smoke")
    evaluate.main([], flag_values)
    assert "already evaluated" in capsys.readouterr().out
