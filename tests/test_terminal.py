"""TensorFlow's C++ log noise is hidden from the commands, and log lines print above progress bars."""

import io
import json
import logging
import os
import subprocess
import sys

from tqdm import tqdm

from progressive_infogan import terminal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Lines TensorFlow 2.21 prints on this project's commands (CPU), as they come.
NOISE_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796165035.307893    2263 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders. To turn "
    "them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1796165035.354279    2263 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.",
    "E0000 00:00:1796165046.392024    2263 util.cc:131] oneDNN supports DT_UINT8 only on platforms with AVX-512. "
    "Falling back to the default Eigen-based implementation if present.",
    "E0000 00:00:1796165048.041447    2263 meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: Mutation::Apply "
    "error: fanout 'gradient_tape/discriminator_3/from_rgb_2_1/LeakyRelu/LeakyReluGrad' exist for missing node "
    "'discriminator_3/from_rgb_2_1/conv_1/add'.",
]
KEPT_LINES = [
    "W0000 00:00:1796165046.000000    2263 gpu_device.cc:2344] Cannot dlopen some GPU libraries.",
    "E0000 00:00:1796165048.041447    2263 cuda_executor.cc:1] failed call to cuInit: UNKNOWN ERROR (303)",
    "I1201 22:44:25.128208 140033851648896 train.py:380] phase 2 step 1600/1600 (global 1600)",
]


def _environment(**values):
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("TF_CPP_MIN_LOG_LEVEL", terminal.SHOW_ENV)}
    return {**environment, "PYTHONPATH": ROOT, **values}


def test_the_noise_and_only_the_noise_is_recognised():
    assert all(terminal.is_noise(line) for line in NOISE_LINES)
    assert not any(terminal.is_noise(line) for line in KEPT_LINES)
    text = "".join(line + "\n" for line in NOISE_LINES[:3] + KEPT_LINES[:1] + NOISE_LINES[3:] + KEPT_LINES[1:])
    assert terminal.without_noise(text) == "".join(line + "\n" for line in KEPT_LINES)


def test_a_commands_help_shows_none_of_tensorflows_noise_unless_asked():
    command = [sys.executable, "-m", "progressive_infogan.evaluate", "--help"]
    quiet, loud = (subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                    env=_environment(**extra))
                   for extra in ({}, {terminal.SHOW_ENV: "1"}))
    (out, err), (_, loud_err) = quiet.communicate(timeout=300), loud.communicate(timeout=300)
    assert "--run_dir:" in out
    assert err == "", err
    # The same command shows them with PINFOGAN_TF_LOGS=1: the check above is one on this TensorFlow. Which lines
    # come depends on the CPU (no oneDNN line without AVX-512), so the check is that some noise comes at all.
    assert "absl::InitializeLog()" in loud_err
    assert any(terminal.is_noise(line) for line in loud_err.splitlines() if "absl::InitializeLog()" not in line)


# A command whose main writes to fd 2 as TensorFlow's C++ code does (os.write, not sys.stderr).
_COMMAND = r"""
import json, os, sys
from progressive_infogan import command_line
lines = [line.encode() + b"\n" for line in json.loads(os.environ["LINES"])]
def main(argv):
    for line in lines:
        os.write(2, line)
    os.write(2, b"\rbar 50%")  # a progress bar's redraw: no newline, and shown
    sys.stderr.write("\nlast words\n")
command_line.run(main, lambda flag_values: None)
"""


def test_a_commands_runtime_noise_is_filtered_and_the_rest_passes_in_order():
    lines = NOISE_LINES[4:] + KEPT_LINES[:1] + NOISE_LINES[:1] + KEPT_LINES[1:]
    process = subprocess.run([sys.executable, "-c", _COMMAND], capture_output=True, cwd=ROOT,
                             env=_environment(LINES=json.dumps(lines)), timeout=300)  # bytes: '\r' as it is
    assert process.returncode == 0, process.stderr
    assert process.stderr.decode() == "".join(line + "\n" for line in KEPT_LINES) + "\rbar 50%\nlast words\n"
    shown = subprocess.run([sys.executable, "-c", _COMMAND], capture_output=True, text=True, cwd=ROOT,
                           env=_environment(LINES=json.dumps(lines), **{terminal.SHOW_ENV: "1"}), timeout=300)
    assert all(line in shown.stderr for line in lines)


def test_log_lines_print_above_a_progress_bar_not_through_it():
    stream = io.StringIO()
    logger = logging.getLogger("test_terminal")
    logger.propagate = False
    handler = logging.StreamHandler(sys.stderr)
    logger.addHandler(handler)
    original_stderr = sys.stderr
    sys.stderr = stream
    handler.setStream(stream)
    stream.name = "<stderr>"  # as sys.stderr's
    try:
        bar = tqdm(total=10, file=sys.stderr, mininterval=0, ascii=True)
        bar.update(3)
        with terminal.logs_around_bars(logger):
            logger.warning("a log line")
        bar.update(3)
        bar.close()
    finally:
        sys.stderr = original_stderr
        logger.removeHandler(handler)
    text = stream.getvalue()
    before, after = text.split("a log line\n")
    # The bar was cleared before the line (the line starts a line of its own) and drawn again after it.
    assert before.endswith("\r") and "30%" in after, repr(text)
    assert logger.handlers == []
