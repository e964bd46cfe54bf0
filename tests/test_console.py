import importlib.metadata
import json
import os
import runpy
import shutil
import subprocess
import sys

import pytest
import setuptools

from progressive_infogan import config as configs
from progressive_infogan import console

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = {"train", "evaluate", "tables", "explore", "serve", "generate", "export", "prepare"}


@pytest.fixture(scope="module")
def setup_arguments():
    captured = {}
    patch = pytest.MonkeyPatch()
    patch.setattr(setuptools, "setup", lambda **arguments: captured.update(arguments))
    try:
        runpy.run_path(os.path.join(ROOT, "setup.py"))
    finally:
        patch.undo()
    return captured


def _scripts(setup_arguments):
    scripts = {}
    for line in setup_arguments["entry_points"]["console_scripts"]:
        name, target = (part.strip() for part in line.split("="))
        scripts[name] = target
    return scripts


def test_setup_declares_a_command_for_each_tool(setup_arguments):
    scripts = _scripts(setup_arguments)
    assert set(scripts) == {f"pinfogan-{name}" for name in COMMANDS}
    for name, target in scripts.items():
        module, function = target.split(":")
        assert module == "progressive_infogan.console" and callable(getattr(console, function)), name
    # pinfogan-prepare runs data_prep/, which installs as progressive_infogan.data_prep.
    assert "progressive_infogan.data_prep" in setup_arguments["packages"]
    directory = os.path.join(ROOT, setup_arguments["package_dir"]["progressive_infogan.data_prep"])
    for script in ["__init__"] + list(console.PREPARE_SCRIPTS.values()):
        assert os.path.isfile(os.path.join(directory, f"{script}.py")), script


# Runs console commands one after another in one interpreter (TensorFlow is imported once),
# as their console scripts would: argv set, the entry point called; each one's new flags are
# removed before the next, since every command defines its own.
DRIVER = r"""
import contextlib, io, json, sys
from absl import app, flags
from progressive_infogan import console
app.define_help_flags()
results = []
for argv in json.loads(sys.argv[1]):
    before = set(flags.FLAGS)
    sys.argv = ["pinfogan-" + argv[0]] + argv[1:]
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            getattr(console, argv[0])()
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
            if not isinstance(exit.code, (int, type(None))):
                print(exit.code, file=sys.stderr)
    for name in set(flags.FLAGS) - before:
        delattr(flags.FLAGS, name)
    # The launcher may define its flags on import: the next command imports it afresh.
    sys.modules.pop("progressive_infogan.launcher", None)
    vars(sys.modules["progressive_infogan"]).pop("launcher", None)
    flags.FLAGS.unparse_flags()
    results.append([code, out.getvalue(), err.getvalue()])
print("RESULTS" + json.dumps(results))
"""


def _run_commands(commands):
    result = subprocess.run([sys.executable, "-c", DRIVER, json.dumps([list(argv) for argv in commands])],
                            capture_output=True, text=True, cwd=ROOT, timeout=600,
                            env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0 and "RESULTS" in result.stdout, result.stderr[-3000:]
    return dict(zip(commands, json.loads(result.stdout.split("RESULTS", 1)[1])))


# A flag of each command that its --help must list.
HELP_FLAGS = {
    ("train", "--experiment=exp_vanilla", "--help"): "--model_dir",
    ("evaluate", "--help"): "--metrics",
    ("tables", "--help"): "--runs_root",
    ("explore", "--help"): "--coord_resolution",
    ("serve", "--help"): "--summary",
    ("generate", "--help"): "--seeds",
    ("export", "--help"): "--checkpoint",
    ("prepare", "dataset", "--help"): "--resize_filter",
    ("prepare", "synthetic_faces", "--help"): "--supersample",
    ("prepare", "orl_faces", "--help"): "--out_dir",
}
ERRORS = {
    ("train",): "error: --experiment is required",
    ("train", "--experiment=exp_nothing"): "error: unknown experiment 'exp_nothing'",
    ("prepare",): "error: which dataset?",
    ("prepare", "photos"): "error: unknown dataset 'photos'",
}


def test_every_command_runs_and_lists_its_flags():
    results = _run_commands(list(HELP_FLAGS) + [("train", "--help")] + list(ERRORS))
    for argv, flag in HELP_FLAGS.items():
        _, out, err = results[argv]
        assert flag in out, (argv, out[-2000:], err[-2000:])
    _, out, _ = results[("train", "--help")]
    assert "--model_dir" in out and "experiments: exp_append_channels" in out
    for argv, message in ERRORS.items():
        code, _, err = results[argv]
        assert code == 1 and "Traceback" not in err, (argv, err[-2000:])
        assert err.strip().splitlines()[0].startswith(message), (argv, err)
    assert ", ".join(sorted(configs.PRESETS)) in results[("train",)][2]


def test_pop_option():
    assert console.pop_option(["--experiment=a", "--x=1"], "experiment") == ("a", ["--x=1"])
    assert console.pop_option(["--x=1", "--experiment", "b", "--y"], "experiment") == ("b", ["--x=1", "--y"])
    assert console.pop_option(["--experiments=c"], "experiment") == (None, ["--experiments=c"])


def test_the_installed_commands_are_setups(setup_arguments):
    try:
        distribution = importlib.metadata.distribution("progressive-infogan")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the package is not installed here (pip install -e .); .ci/run installs it")
    installed = {e.name: e.value for e in distribution.entry_points if e.group == "console_scripts"}
    assert installed == _scripts(setup_arguments)
    bin_dir = os.path.dirname(sys.executable)
    for name in installed:
        assert shutil.which(name, path=bin_dir) or shutil.which(name), name
