"""What the commands print to the terminal: TensorFlow's C++ log noise hidden, log lines clear of progress bars.

TensorFlow 2.21 logs through absl before anything initialises absl's log, and some of its
lines ignore TF_CPP_MIN_LOG_LEVEL: the oneDNN notice, printed while TensorFlow is imported,
and the ERROR-level lines of harmless fallbacks while graphs run ("remapper failed",
oneDNN's DT_UINT8 one). So besides TF_CPP_MIN_LOG_LEVEL=1 (TensorFlow's INFO lines off, its
warnings kept: a missing GPU library is one), the package holds back the lines printed while
it imports TensorFlow and shows again all but the known noise (`hidden_import_noise`), and
each command sends fd 2 through a small filter process that drops the known noise
(`filter_stderr`). Only the lines matching NOISE are hidden; nothing changes what TensorFlow
computes (oneDNN stays on).

`PINFOGAN_TF_LOGS=1` turns all of it off: TensorFlow's log as TensorFlow prints it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import subprocess
import sys
import tempfile
from typing import Iterator, Optional

SHOW_ENV = "PINFOGAN_TF_LOGS"

# Lines of TensorFlow's (regular expressions, searched in each line) that say nothing a user can act on.
NOISE = (
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"\] oneDNN custom operations are on\.",
    r"\] This TensorFlow binary is optimized to use available CPU instructions",
    r"^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.",
    r"\] remapper failed: ",
    r"\] oneDNN supports DT_\w+ only on platforms with ",
    r"\] TFRecordDataset `buffer_size` is unspecified",
    r"\] The default buffer size is \d+, which is overridden by the user specified `buffer_size`",
    r"\] Unable to register cu(DNN|FFT|BLAS) factory: Attempting to register factory for plugin",
    r"TF-TRT Warning: Could not find TensorRT",
)
_NOISE = [re.compile(pattern) for pattern in NOISE]


def showing_everything() -> bool:
    return os.environ.get(SHOW_ENV, "") not in ("", "0")


def is_noise(line: str) -> bool:
    return any(pattern.search(line) for pattern in _NOISE)


def without_noise(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not is_noise(line))


def _fd2_is_stderr() -> bool:
    # Not when sys.stderr is captured (pytest, contextlib.redirect_stderr) or there is no fd 2.
    try:
        return sys.stderr is sys.__stderr__ and sys.stderr.fileno() == 2 and os.fstat(2) is not None
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def hidden_import_noise() -> Iterator[None]:
    """Around `import tensorflow`: TF_CPP_MIN_LOG_LEVEL=1 unless set, and what the import prints
    to fd 2 held back, then shown without the noise."""
    if showing_everything() or "tensorflow" in sys.modules or not _fd2_is_stderr():
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = without_noise(held.read().decode("utf-8", "replace"))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


# The filter process: copies its stdin to its stdout without the NOISE lines (argv). A partial
# line is passed on at once (a progress bar redraws with '\r' and no newline), unless it may be
# the start of a log line, which TensorFlow writes whole.
_FILTER = r"""
import os, re, sys
noise = [re.compile(pattern.encode()) for pattern in sys.argv[1:]]
log_start = re.compile(rb"^([IWEF]\d{4} |WARNING: All log|To enable the following)")
pending = b""
try:
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        kept = [line + b"\n" for line in lines if not any(pattern.search(line) for pattern in noise)]
        if pending and not log_start.match(pending):
            kept.append(pending)
            pending = b""
        if kept:
            os.write(1, b"".join(kept))
    os.write(1, pending)
except BaseException:
    # Never lose the command's output: from here on, copy everything as it comes.
    os.write(1, pending)
    while chunk := os.read(0, 1 << 16):
        os.write(1, chunk)
"""

_filter: Optional[subprocess.Popen] = None


def filter_stderr() -> bool:
    """From now on, fd 2 (Python's stderr and TensorFlow's C++ log) passes through a process that
    drops the NOISE lines. Whether it was started: not with PINFOGAN_TF_LOGS=1, a captured stderr,
    or twice."""
    global _filter
    if _filter is not None or showing_everything() or not _fd2_is_stderr():
        return False
    sys.stderr.flush()
    read, write = os.pipe()
    # Its own session: Ctrl-C and the terminal's hang-up reach the command, and the filter passes
    # on what the command prints while it stops; it ends when the last writer closes the pipe.
    _filter = subprocess.Popen([sys.executable, "-I", "-c", _FILTER, *NOISE], stdin=read, stdout=2, stderr=2,
                               start_new_session=True)
    os.close(read)
    terminal = os.dup(2)
    os.dup2(write, 2)
    os.close(write)
    if os.isatty(terminal):
        # tqdm sizes its bars from the terminal of sys.stderr.fileno(); writes still go through fd 2.
        sys.stderr.fileno = lambda: terminal
    atexit.register(_stop_filter, terminal)
    # TensorFlow's Python INFO lines ("Sharding callback duration") are noise too, once a command
    # logs at INFO.
    if logging.getLogger("tensorflow").level == logging.NOTSET:
        logging.getLogger("tensorflow").setLevel(logging.WARNING)
    return True


def _stop_filter(terminal: int) -> None:
    # The last lines reach the terminal before the command exits, and the process is reaped.
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os.dup2(terminal, 2)
    try:
        _filter.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass  # a child process of the command still holds the pipe; the filter ends with it


# --- Log lines and progress bars -------------------------------------------------------------

class _AroundBars(logging.Handler):
    """A console handler's records, written with tqdm's bars cleared and redrawn after."""

    def __init__(self, inner: logging.Handler):
        super().__init__(inner.level)
        self.inner = inner

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        with tqdm.external_write_mode(file=sys.stderr):
            self.inner.handle(record)


def _is_console(handler: logging.Handler) -> bool:
    from absl import logging as absl_logging

    if isinstance(handler, absl_logging.ABSLHandler):
        return True
    return isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler) \
        and getattr(handler.stream, "name", None) in ("<stderr>", "<stdout>")


@contextlib.contextmanager
def logs_around_bars(*loggers: logging.Logger) -> Iterator[None]:
    """While it lasts, log lines of the console handlers of `loggers` (default: the root logger and
    the package's) print above the progress bars instead of through them; file handlers are left as they are."""
    loggers = loggers or (logging.getLogger(), logging.getLogger("progressive_infogan"))
    replaced = []
    for logger in loggers:
        for handler in list(logger.handlers):
            if _is_console(handler):
                wrapper = _AroundBars(handler)
                logger.removeHandler(handler)
                logger.addHandler(wrapper)
                replaced.append((logger, handler, wrapper))
    try:
        yield
    finally:
        for logger, handler, wrapper in replaced:
            logger.removeHandler(wrapper)
            logger.addHandler(handler)
