"""The training loop: phase after phase, with checkpoints, resume, signals and the run directory.

Each phase trains a fresh `trainer.PhaseTrainer` (docs/original_system.md §4), into which
the state of the phase before, or of the checkpoint resumed, is imported by name. Only the
chief (`distribution.is_chief`) writes the run directory, under its lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import time
from typing import Callable, Dict, Optional

import keras
import tensorflow as tf

from progressive_infogan import checkpoints, provenance, rundir, schedule, summaries, tfrecords
from progressive_infogan.config import PRECISIONS, STEPS, ExperimentConfig, RunOptions
from progressive_infogan.distribution import is_chief, make_strategy
from progressive_infogan.latents import latents
from progressive_infogan.trainer import PhaseTrainer

log = logging.getLogger("progressive_infogan")


def _onednn_enabled() -> bool:
    from tensorflow.python.util import _pywrap_util_port  # TensorFlow's own record of TF_ENABLE_ONEDNN_OPTS

    return bool(_pywrap_util_port.IsMklEnabled())


class _StopRequest:
    """SIGTERM / SIGINT: finish the current step, write a checkpoint, return."""

    def __init__(self):
        self.requested = False
        self._previous = {}

    def __enter__(self):
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        log.warning("signal %d: checkpointing and stopping after this step", signum)
        self.requested = True

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _iterator_checkpoint(iterator):
    return tf.train.Checkpoint(iterator=iterator)


def train(config: ExperimentConfig, options: RunOptions,
          dataset_fn: Optional[Callable[[int, int], tf.data.Dataset]] = None) -> Dict[str, object]:
    """Train `config` into `options.model_dir`, resuming from its newest checkpoint.

    `dataset_fn(phase, global_batch)` gives the real images (NHWC in [-1, 1]); the default
    reads the phase's TFRecord from `options.data_dir`. Returns the final state.
    """
    if options.deterministic:
        tf.config.experimental.enable_op_determinism()
        if _onednn_enabled():
            # Op determinism does not cover oneDNN: its CPU kernels round by the buffers' memory alignment, which
            # differs from process to process, and GAN training amplifies that to 1e-3 within a few steps.
            log.warning("--deterministic: oneDNN's CPU kernels are on, so a resumed run matches an "
                        "uninterrupted one only up to rounding; set TF_ENABLE_ONEDNN_OPTS=0 for bit-exact runs")
    if options.mixed_precision not in PRECISIONS:
        raise ValueError(f"unknown --mixed_precision {options.mixed_precision!r}; choose one of {PRECISIONS}")
    if options.step not in STEPS:
        raise ValueError(f"unknown --step {options.step!r}; choose one of {STEPS}")
    keras.mixed_precision.set_global_policy(options.mixed_precision)
    strategy = make_strategy(options.strategy, options.devices)
    chief = is_chief(strategy)
    if options.data_dir:
        # Absolute in the input pipeline (its iterator checkpoints) and in the run's records, so
        # that a resume or an evaluation from another working directory reads the same files.
        options = dataclasses.replace(options, data_dir=os.path.abspath(options.data_dir))
    record_files = None
    if dataset_fn is None:
        from progressive_infogan import data

        # Every file the run will read, now, before anything is written into the run directory:
        # a damaged one would otherwise fail only in its phase.
        data.check_records(options.data_dir, schedule.phases(config.schedule), options.preprocessing,
                           verify_hashes=options.verify_data)
        dataset_fn = _records_dataset_fn(options)
        record_files = lambda phase: data.phase_record_paths(options.data_dir, phase, options.preprocessing)  # noqa: E731
    identity = rundir.Identity(data_dir=options.data_dir, seed=options.seed,
                               dataset_fingerprint=tfrecords.dataset_fingerprint(options.data_dir)
                               if options.data_dir else None,
                               drawing=tfrecords.dataset_drawing(options.data_dir) if options.data_dir else None)
    # Only the chief writes the run directory, so only it holds it.
    with contextlib.ExitStack() as holding:
        if chief:
            holding.enter_context(rundir.RunLock(options.model_dir))
            # After the lock: a launch refused because another training holds the run logs nothing into it.
            holding.enter_context(provenance.log_to_file(rundir.train_log_path(options.model_dir)))
        return _train_holding_the_run(config, options, strategy, dataset_fn, record_files, identity)


def _open_run_directory(config: ExperimentConfig, options: RunOptions, identity: rundir.Identity) -> None:
    """Check the run directory against this launch, then record the launch (chief, under the lock)."""
    model_dir = options.model_dir
    # A directory without a checkpoint holds no training to protect: the records of a start
    # that failed before its first checkpoint give way to this one's.
    started = checkpoints.has_any_checkpoint(model_dir)
    redrawn = False
    if started:
        rundir.check_config(config, model_dir)
        stored = rundir.check_identity(model_dir, identity, allow_changes=options.allow_changed_data)
        # A run grown to a later phase trains on its dataset drawn larger: later resumes read that one.
        redrawn = stored is not None and stored.drawn_larger(identity)
    for path in checkpoints.clear_partial(model_dir):
        log.info("removed %s, an interrupted checkpoint write", path)
    rundir.write_config(config, model_dir, replace=not started)
    rundir.write_identity(model_dir, identity, replace=not started or options.allow_changed_data or redrawn)
    rundir.write_run_options(model_dir, options)


def _train_holding_the_run(config: ExperimentConfig, options: RunOptions, strategy: tf.distribute.Strategy,
                           dataset_fn, record_files, identity: rundir.Identity) -> Dict[str, object]:
    chief = is_chief(strategy)
    if chief:
        _open_run_directory(config, options, identity)
    if options.jit_compile and strategy.num_replicas_in_sync > 1:
        tf.config.optimizer.set_jit("autoclustering")

    sched = config.schedule
    total = schedule.total_steps(sched)
    restored = checkpoints.load_newest(options.model_dir, set_aside=chief)
    arrays, state, latest = (restored.arrays, restored.state, restored.path) if restored else (None, {}, None)
    step = int(state.get("step", 0))
    if latest:
        log.info("resuming from %s (step %d of %d)", latest, step, total)
    if chief:
        rundir.append_launch(options.model_dir, provenance.launch_record(
            start_step=step, dataset_fingerprint=identity.dataset_fingerprint))
    writer = (tf.summary.create_file_writer(rundir.tensorboard_dir(options.model_dir)) if chief
              else tf.summary.create_noop_writer())
    with _StopRequest() as stop:
        while step < total:
            phase, step_in_phase = schedule.phase_at_step(sched, step)
            trainer = PhaseTrainer(config, phase, strategy, options)
            if arrays is not None:
                report = trainer.import_state(arrays)
                log.info("phase %d: %d variables imported, %d new", phase, len(report.imported), len(report.fresh))
            dataset = dataset_fn(phase, trainer.global_batch)
            distributed = strategy.experimental_distribute_dataset(dataset)
            iterator = iter(distributed)
            if latest and state.get("phase") == phase and os.path.exists(os.path.join(latest, "data.index")):
                iterator = _restore_iterator(iterator, distributed, latest)
            try:
                step, finished = _train_phase(trainer, iterator, step, writer, stop)
            except tf.errors.DataLossError as error:
                # TFRecord reading names no file ("corrupted record at 1234").
                source = ", ".join(record_files(phase)) if record_files else f"phase {phase}'s dataset"
                raise tf.errors.DataLossError(error.node_def, error.op, f"{source}: {error.message}") from error
            arrays, state, latest = trainer.state_arrays(), {}, None
            if not finished:
                # A signal's stop is a temporary failure to its caller (launcher exit code 75).
                return {"step": step, "phase": phase, "finished": False, "stopped_by_signal": stop.requested,
                        "chief": chief}
    log.info("training finished at step %d", step)
    return {"step": step, "phase": sched.stop_after, "finished": True, "stopped_by_signal": False, "chief": chief}


def _restore_iterator(iterator, distributed, checkpoint: str):
    """The iterator at the checkpoint's input position, or a restarted one if that won't restore.

    The checkpoint's files passed their checks, so a failure here most likely means the
    pipeline changed (another TF version, data or preprocessing); the weights resume exactly."""
    try:
        _iterator_checkpoint(iterator).read(os.path.join(checkpoint, "data")).expect_partial()
        return iterator
    except Exception as error:  # noqa: BLE001 - tf.data raises OpErrors, IndexError, ValueError
        log.warning("input pipeline position in %s does not restore (%s: %s); restarting the pipeline, "
                    "so this phase will not read the batches an uninterrupted run would",
                    checkpoint, type(error).__name__, str(error).splitlines()[0] if str(error) else "")
        return iter(distributed)


def _save(trainer: PhaseTrainer, iterator, step: int, alpha: float, pin: bool = False) -> str:
    options = trainer.options
    state = {"phase": trainer.phase, "alpha": alpha, "experiment": trainer.config.name,
             "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def write_iterator(directory):
        # The input pipeline's position, so a resumed run reads the same batches. A pipeline
        # with stateful ops can't be saved, nor can MultiWorkerMirroredStrategy's iterator (not
        # trackable): the run then resumes with a restarted pipeline.
        if iterator is None:
            return
        try:
            _iterator_checkpoint(iterator).write(os.path.join(directory, "data"))
        except (tf.errors.FailedPreconditionError, tf.errors.UnimplementedError, ValueError) as error:
            message = getattr(error, "message", None) or str(error).splitlines()[0]
            log.warning("input pipeline position not saved (%s); a resume restarts it", message)

    return checkpoints.save_checkpoint(options.model_dir, step, trainer.state_arrays(), state,
                                       write_extra=write_iterator, keep=options.keep_checkpoints, pin=pin)


def _train_phase(trainer: PhaseTrainer, iterator, step: int, writer, stop: _StopRequest):
    """Run the phase from `step` to its end (or a stop). Returns (step, phase finished)."""
    config, options, phase = trainer.config, trainer.options, trainer.phase
    chief = is_chief(trainer.strategy)
    sched = config.schedule
    start = schedule.phase_start(sched, phase)
    end = start + schedule.phase_steps(sched, phase)
    progress = summaries.Progress(phase, start, end, step, trainer.global_batch, enabled=options.progress_bar,
                                  later_images=schedule.images_after_phase(sched, phase))
    last_checkpoint = time.time()
    last_log = time.time()
    fixed_latents = latents(config.model, options.seed, -1, 16)  # the same sample grid all run long
    # For a checkpoint on an exception: the newest saved step, the last completed step's alpha, and
    # where in the loop the exception came from.
    saved, done_alpha, failing = step, None, None
    try:
        while step < end:
            alpha = schedule.alpha(sched, phase, step - start)
            failing = "input"
            real = next(iterator)
            failing = "step"
            scalars, vectors = trainer.step(real, step, alpha)
            failing = None
            step, done_alpha = step + 1, alpha
            progress.update(step)
            if chief and (step % options.summary_every_steps == 1 or step == end):
                summaries.write_step(writer, step, phase, alpha, scalars, vectors, progress.images_per_second())
            if time.time() - last_log > options.log_every_secs or step == end:
                log.info(progress.line(step, alpha, {k: float(v) for k, v in scalars.items() if k.startswith("loss/")}))
                last_log = time.time()
            stop_here = options.stop_at_step is not None and step >= options.stop_at_step
            due = (step == end or stop.requested or stop_here
                   or time.time() - last_checkpoint > options.checkpoint_every_secs)
            if chief and due:
                # Each phase's end is kept past the pruning: a later, larger --stop_after grows from it.
                _save(trainer, iterator, step, alpha, pin=step == end)
                saved, last_checkpoint = step, time.time()
            if chief and (step % options.summary_every_steps == 1 or step == end):
                summaries.write_images(writer, step, trainer, real, alpha, fixed_latents)
            if stop.requested or stop_here:
                progress.close()
                return step, False
    except Exception:
        progress.close()
        if chief and step != saved:
            _save_after_failure(trainer, iterator, step, done_alpha, saved, failing, pin=step == end)
        raise
    progress.close()
    return step, True


def _save_after_failure(trainer: PhaseTrainer, iterator, step: int, alpha: float, saved: int,
                        failing: Optional[str], pin: bool = False) -> None:
    """On an exception, checkpoint the last completed step, so that a rerun does not redo it all."""
    if failing == "step":
        # A step that fails midway may have updated some variables (BN statistics, one optimizer),
        # so what is in memory is no step's state: nothing is written.
        log.error("the step after step %d failed midway; not checkpointed (the newest checkpoint is of step %d)",
                  step, saved)
        return
    log.error("checkpointing step %d, the last completed one, before stopping on the error", step)
    try:
        # After a failed read the input position is not that of `step`: the resume restarts the pipeline.
        _save(trainer, iterator if failing is None else None, step, alpha, pin=pin)
    except Exception as error:  # noqa: BLE001 - the original error is the one to raise
        log.error("could not checkpoint step %d: %s", step, error)


def _records_dataset_fn(options: RunOptions):
    from progressive_infogan import data

    def dataset_fn(phase: int, global_batch: int):
        return data.make_dataset(options.data_dir, phase, global_batch, preprocessing=options.preprocessing,
                                 mirror=options.mirror, seed=options.seed)

    return dataset_fn
