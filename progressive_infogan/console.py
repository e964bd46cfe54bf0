"""The console commands that `pip install` puts on PATH (setup.py's entry points).

Each runs a command of the project exactly as `python -m ...` or the script would, with the
same flags and `--help`:

    pinfogan-train --experiment=exp_condition --model_dir=RUN [flags]   experiments/<experiment>.py
    pinfogan-evaluate --run_dir=RUN                                     python -m progressive_infogan.evaluate
    pinfogan-tables --runs_root=runs --out=tables                       python -m progressive_infogan.tables
    pinfogan-explore <tool> --run_dir=RUN --out=DIR                     python -m progressive_infogan.explore.cli
    pinfogan-serve --run_dir=RUN                                        python -m progressive_infogan.explore.serve
    pinfogan-generate --source=RUN --seeds=0-99 --out=DIR               python -m progressive_infogan.generate
    pinfogan-export --checkpoint=RUN                                    python -m progressive_infogan.export
    pinfogan-prepare <dataset|synthetic_faces|orl_faces> [flags]        data_prep/<prepare_dataset|...>.py
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import sys
from typing import List, Optional, Tuple

# pinfogan-prepare's datasets -> the data_prep script that prepares each.
PREPARE_SCRIPTS = {"dataset": "prepare_dataset", "synthetic_faces": "synthetic_faces", "orl_faces": "orl_faces"}
HELP = ("--help", "-h", "--helpshort", "--helpfull", "-?")


def _run_module(module: str) -> None:
    # As `python -m module`: the module runs as __main__ (its flags, its docstring on --help).
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def evaluate() -> None:
    _run_module("progressive_infogan.evaluate")


def tables() -> None:
    _run_module("progressive_infogan.tables")


def explore() -> None:
    _run_module("progressive_infogan.explore.cli")


def serve() -> None:
    _run_module("progressive_infogan.explore.serve")


def generate() -> None:
    _run_module("progressive_infogan.generate")


def export() -> None:
    _run_module("progressive_infogan.export")


def pop_option(argv: List[str], name: str) -> Tuple[Optional[str], List[str]]:
    """(value of --name=V or --name V, argv without it)."""
    rest, value, index = [], None, 0
    while index < len(argv):
        argument = argv[index]
        if argument.startswith(f"--{name}="):
            value = argument.split("=", 1)[1]
        elif argument == f"--{name}" and index + 1 < len(argv):
            value = argv[index + 1]
            index += 1
        else:
            rest.append(argument)
        index += 1
    return value, rest


def train() -> None:
    """pinfogan-train --experiment=NAME [the experiment script's flags]."""
    from progressive_infogan import config as configs

    name, rest = pop_option(sys.argv[1:], "experiment")
    known = ", ".join(sorted(configs.PRESETS))
    usage = f"usage: {os.path.basename(sys.argv[0])} --experiment=NAME [flags]; experiments: {known}"
    if name is None:
        if not any(argument in HELP for argument in rest):
            sys.exit(f"error: --experiment is required\n{usage}")
        print(usage)
        name = "exp_condition"  # every experiment takes the same flags: list them
    elif name not in configs.PRESETS:
        sys.exit(f"error: unknown experiment {name!r}; experiments: {known}")
    sys.argv = [sys.argv[0]] + rest
    from progressive_infogan import launcher
    # --help lists a module's key flags: the launcher's, defined where it is imported.
    from absl import flags
    for flag in flags.FLAGS.get_flags_for_module(launcher.__name__):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    launcher.run(name)


def _data_prep_script(script: str):
    """(module name, None) when data_prep is installed with the package, else (None, the checkout's script path)."""
    module = f"progressive_infogan.data_prep.{script}"
    try:
        if importlib.util.find_spec(module) is not None:
            return module, None
    except ModuleNotFoundError:
        pass
    # Running from a checkout without installing: data_prep/ lies beside the package.
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data_prep", f"{script}.py")
    if not os.path.isfile(path):
        sys.exit(f"error: data_prep/{script}.py is not installed; reinstall the package (pip install -e .)")
    return None, path


def prepare() -> None:
    """pinfogan-prepare <dataset|synthetic_faces|orl_faces> [that script's flags]."""
    usage = (f"usage: {os.path.basename(sys.argv[0])} <{'|'.join(PREPARE_SCRIPTS)}> [flags]; "
             f"'<name> --help' lists a dataset's flags")
    if len(sys.argv) < 2 or sys.argv[1] not in PREPARE_SCRIPTS:
        if len(sys.argv) >= 2 and sys.argv[1] in HELP:
            print(usage)
            return
        given = f"unknown dataset {sys.argv[1]!r}" if len(sys.argv) >= 2 else "which dataset?"
        sys.exit(f"error: {given}\n{usage}")
    module, path = _data_prep_script(PREPARE_SCRIPTS[sys.argv[1]])
    sys.argv = [f"{sys.argv[0]} {sys.argv[1]}"] + sys.argv[2:]
    if module:
        _run_module(module)
    else:
        sys.argv[0] = path
        runpy.run_path(path, run_name="__main__")
