"""The one convention of the commands: no flags on import, typed configs from flags by name,
and `--help` that lists each command's own flags."""

import concurrent.futures
import dataclasses
import importlib.util
import os
import subprocess
import sys
from typing import Optional

from absl import flags

from progressive_infogan import command_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The user-facing commands -> the module of their define_flags (None: the script itself). One experiment
# script stands for the 13, which share the launcher's flags; the benchmarks follow the same convention.
COMMANDS = {
    "data_prep/prepare_dataset.py": None, "data_prep/synthetic_faces.py": None, "data_prep/orl_faces.py": None,
    "experiments/exp_vanilla.py": "progressive_infogan.launcher",
    "-m progressive_infogan.evaluate": "progressive_infogan.evaluate",
    "-m progressive_infogan.tables": "progressive_infogan.tables",
    "-m progressive_infogan.explore.cli": "progressive_infogan.explore.cli",
    "-m progressive_infogan.metrics.ground_truth": "progressive_infogan.metrics.ground_truth",
    "-m progressive_infogan.generate": "progressive_infogan.generate",
    "-m progressive_infogan.export": "progressive_infogan.export",
    "-m progressive_infogan.explore.serve": "progressive_infogan.explore.serve",
}


def _define_flags_of(command: str, module_name: Optional[str]):
    if module_name:
        module = importlib.import_module(module_name)
    else:
        spec = importlib.util.spec_from_file_location(os.path.basename(command)[:-3], os.path.join(ROOT, command))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.define_flags


def _help(command: str) -> str:
    argv = command.split() if command.startswith("-m") else [os.path.join(ROOT, command)]
    process = subprocess.run([sys.executable, *argv, "--help"], capture_output=True, text=True, timeout=300, cwd=ROOT,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT})
    return process.stdout


def test_importing_the_package_and_the_scripts_defines_no_flags():
    code = (
        "import pkgutil, importlib, sys, glob, os, runpy\n"
        "from absl import app, flags\n"
        "import tensorflow\n"  # TF and absl define their own flags on import
        "import progressive_infogan\n"
        "before = set(flags.FLAGS)\n"
        "for info in pkgutil.walk_packages(progressive_infogan.__path__, 'progressive_infogan.'):\n"
        "    importlib.import_module(info.name)\n"
        "for path in sorted(glob.glob('experiments/*.py') + glob.glob('data_prep/*.py') + glob.glob('benchmarks/*.py')):\n"
        "    runpy.run_path(path, run_name='imported')\n"
        "print(sorted(set(flags.FLAGS) - before))\n"
    )
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT})
    assert process.returncode == 0, process.stderr[-3000:]
    assert process.stdout.strip().splitlines()[-1] == "[]"


def test_help_lists_each_commands_own_flags_and_not_absls():
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        texts = dict(zip(COMMANDS, pool.map(_help, COMMANDS)))
    for command, module_name in COMMANDS.items():
        flag_values = flags.FlagValues()
        _define_flags_of(command, module_name)(flag_values)
        names = sorted(set(flag_values))
        assert names, command
        text = texts[command]
        for name in names:
            assert f"--{name}:" in text or f"--[no]{name}:" in text, (command, name)
        assert "--verbosity" not in text and "--[no]logtostderr" not in text, command  # absl's: --helpfull


@dataclasses.dataclass(frozen=True)
class _Options:
    size: int = 1
    name: str = "a"
    unflagged: float = 0.5


def test_fields_from_flags_reads_the_fields_that_have_a_flag_of_their_name():
    flag_values = flags.FlagValues()
    flags.DEFINE_integer("size", None, "", flag_values=flag_values)
    flags.DEFINE_string("name", "b", "", flag_values=flag_values)
    flags.DEFINE_string("other", "x", "", flag_values=flag_values)
    flag_values(["prog"])
    assert command_line.fields_from_flags(_Options, flag_values) == {"size": None, "name": "b"}
    assert command_line.fields_from_flags(_Options, flag_values, skip_none=True) == {"name": "b"}
    flag_values(["prog", "--size=3"])
    assert _Options(**command_line.fields_from_flags(_Options, flag_values)) == _Options(size=3, name="b")


def test_run_refuses_positional_arguments_unless_the_command_takes_them():
    script = ("import sys\n"
              "from progressive_infogan import command_line\n"
              "from absl import flags\n"
              "def define_flags(flag_values):\n"
              "    flags.DEFINE_integer('count', 1, 'How many.', flag_values=flag_values)\n"
              "command_line.run(lambda argv: print('ran', argv[1:]), define_flags,\n"
              "                 takes_arguments=sys.argv[1] == 'takes')\n")
    run = lambda *argv: subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True,  # noqa
                                       timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    refused = run("refuses", "--count=2")
    assert refused.returncode != 0 and "unexpected arguments: refuses" in refused.stderr + refused.stdout
    taken = run("takes", "--count=2")
    assert taken.returncode == 0 and "ran ['takes']" in taken.stdout
