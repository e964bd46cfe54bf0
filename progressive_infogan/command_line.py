"""The one convention of the project's commands; flags exist only in them.

The commands are `experiments/*.py` (through `launcher`), `data_prep/*.py`, `benchmarks/*.py`
and the `python -m progressive_infogan.<x>` mains (evaluate, tables, explore.cli,
metrics.ground_truth). Each one

- defines its flags in `define_flags(flag_values)`, which `run(main, define_flags)` calls only
  when the command runs, so that importing a module defines no flags;
- names a flag after the config field it sets, and builds the typed configs the library takes
  with one pure function of the parsed flags (`fields_from_flags` reads a dataclass's fields);
- reads the parsed flags in `main` only: the library never sees them;
- lists its own flags on `--help` (absl's own ones with `--helpfull`).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any, Callable, Dict, Sequence

from absl import app, flags

from progressive_infogan import terminal
from progressive_infogan.errors import UserError

EXIT_USAGE = 2  # a UserError: bad input the message explains


def fields_from_flags(cls, flag_values: flags.FlagValues, *, skip_none: bool = False) -> Dict[str, Any]:
    """{field: parsed value} for each field of dataclass `cls` that has a flag of its name.

    `skip_none` leaves out the flags left at None, for flags that override a default only when given.
    """
    values = {field.name: getattr(flag_values, field.name) for field in dataclasses.fields(cls)
              if field.name in flag_values}
    return {name: value for name, value in values.items() if not (skip_none and value is None)}


def check_flag(name: str, value: Any, check: Callable[[Any], Any]) -> None:
    """Run `check(value)` before the command does any work; its ValueError becomes a UserError naming --name."""
    try:
        check(value)
    except ValueError as error:
        raise UserError(f"--{name}={value}: {error}") from None


def run(main: Callable[[Sequence[str]], None], define_flags: Callable[[flags.FlagValues], None], *,
        takes_arguments: bool = False) -> None:
    """Define the command's flags, parse the command line and call `main(argv)`.

    Without `takes_arguments`, a positional argument is a usage error (usually a misspelt flag).
    """
    terminal.filter_stderr()  # TensorFlow's C++ log noise, from here to the end (PINFOGAN_TF_LOGS=1 shows it)
    flag_values = flags.FLAGS
    before = set(flag_values)
    define_flags(flag_values)
    # --help lists the main module's key flags; a flag defined in a module shared by several
    # commands (the experiments' launcher) would otherwise show only under --helpfull.
    for name in sorted(set(flag_values) - before):
        flag_values.register_key_flag_for_module(sys.argv[0], flag_values[name])

    def checked_main(argv: Sequence[str]) -> None:
        if len(argv) > 1 and not takes_arguments:
            raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
        try:
            main(argv)
        except UserError as error:
            print(f"{os.path.basename(sys.argv[0])}: error: {error}", file=sys.stderr)
            sys.exit(EXIT_USAGE)

    app.run(checked_main)
