"""Runs a tiny training in its own process, for the tests that need one (kill/resume,
two logical CPUs). Usage: python tests/train_driver.py MODEL_DIR [--kill_at_step N | --sigterm_at_step N]
                                                     [--mirrored_check OUT.npz] [--mixed_codes]"""

import argparse
import dataclasses
import json
import logging
import os
import re
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Runs compared bit for bit: oneDNN's CPU kernels round by memory alignment, which differs between processes,
# and training amplifies that (train.train warns of it under --deterministic).
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from progressive_infogan import config as configs  # noqa: E402
from progressive_infogan import distribution, train  # noqa: E402
from progressive_infogan.trainer import PhaseTrainer  # noqa: E402

CONFIG = configs.scaled_down(configs.preset("exp_consistency_30"), width_multiplier=1 / 32, images_per_phase=0,
                             min_steps=12, stop_after=3, batch_sizes={2: 4, 3: 4})
# Every code type at both blocks of the run, each with its own Q head and penalty weight; and
# the same with a learned sigma for the continuous ones.
MIXED_CONFIG = CONFIG.replace(
    name="mixed_codes",
    model=configs.code_spec({2: [configs.categorical(4), configs.uniform(), configs.bernoulli()],
                             3: [configs.categorical(3), configs.normal(2)]}),
    loss=dict(discrete_mi_weight=1.0))
MIXED_SIGMA_CONFIG = MIXED_CONFIG.replace(model=dict(q_learned_sigma=True))
# Biases that feed batch norm directly shift every sample of a normalised unit alike, so
# BN cancels them: their gradient is 0 in exact arithmetic and float noise in practice,
# which Adam's first step (m / sqrt(v)) blows up to +-lr whatever its size. A step on
# several replicas is compared with one on one replica without them.
CANCELLED_BY_BATCH_NORM = re.compile(r"generator/block_(\d+/(dense|conv1|conv2)|2/condition_input)/bias$")


def dataset_fn(phase, batch):
    size = 2 ** phase
    images = tf.random.stateless_uniform([64, size, size, 3], [phase, 7], -1.0, 1.0)
    return tf.data.Dataset.from_tensor_slices(images).repeat().shuffle(16, seed=5).batch(batch, drop_remainder=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("--kill_at_step", type=int, default=None)
    parser.add_argument("--sigterm_at_step", type=int, default=None)
    parser.add_argument("--mirrored_check", default=None)
    parser.add_argument("--multi_worker_check", default=None, help="OUT.npz: one step as worker --task of --ports")
    parser.add_argument("--ports", default="", help="P0,P1,...: train as worker --task of a loopback cluster")
    parser.add_argument("--task", type=int, default=0)
    parser.add_argument("--mixed_codes", action="store_true")
    args = parser.parse_args()
    if args.mirrored_check:
        return mirrored_check(args.mirrored_check)
    if args.multi_worker_check:
        return multi_worker_check(args.multi_worker_check, args.task, args.ports.split(","))
    options = configs.RunOptions(model_dir=args.model_dir, deterministic=True, summary_every_steps=5,
                                 checkpoint_every_secs=0.0, progress_bar=False, keep_checkpoints=2)
    if args.ports:
        _join_cluster(args.task, args.ports.split(","))
        options = dataclasses.replace(options, strategy="multi_worker")
        logging.basicConfig(level=logging.INFO)  # "resuming from ..." on stderr, for the test to read
    if args.sigterm_at_step is not None:
        options = dataclasses.replace(options, checkpoint_every_secs=1e9)
    original_step = PhaseTrainer.step

    def step_with_signals(self, real, step, alpha):
        if step == args.kill_at_step:
            os.kill(os.getpid(), signal.SIGKILL)  # no handler, no cleanup: a hard crash
        if step == args.sigterm_at_step:
            os.kill(os.getpid(), signal.SIGTERM)  # what a cluster scheduler sends before preempting
        return original_step(self, real, step, alpha)

    PhaseTrainer.step = step_with_signals
    config = MIXED_CONFIG if args.mixed_codes else CONFIG
    train.train(config, options, dataset_fn=dataset_fn)


def mirrored_check(out_path):
    """One step on 2 replicas and on 1, from the same state and global batch."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    config = CONFIG.replace(schedule=dict(batch_sizes=((2, 8), (3, 8))))
    options = configs.RunOptions(model_dir="unused", deterministic=True)
    single = PhaseTrainer(config, 3, tf.distribute.get_strategy(), options)
    mirrored_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    mirrored = PhaseTrainer(config, 3, mirrored_strategy, options)
    assert mirrored_strategy.num_replicas_in_sync == 2
    mirrored.import_state(single.state_arrays())
    before = single.state_arrays()
    real = next(iter(dataset_fn(3, 8)))
    single.step(real, 20, 0.5)
    distributed = next(iter(mirrored_strategy.experimental_distribute_dataset(dataset_fn(3, 8))))
    mirrored.step(distributed, 20, 0.5)
    after_single, after_mirrored = single.state_arrays(), mirrored.state_arrays()
    np.savez(out_path, **{f"single:{k}": v for k, v in after_single.items()},
             **{f"mirrored:{k}": v for k, v in after_mirrored.items()},
             **{f"before:{k}": v for k, v in before.items()})


def _join_cluster(task, ports):
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                                          "task": {"type": "worker", "index": task}})


def multi_worker_check(out_path, task, ports):
    """One step as worker `task` of a loopback cluster, and the same step in this process alone."""
    _join_cluster(task, ports)
    # The collectives are set up when the strategy is made, before any other TF op runs.
    strategy = distribution.make_strategy("multi_worker")
    config = CONFIG.replace(schedule=dict(batch_sizes=((2, 8), (3, 8))))
    options = configs.RunOptions(model_dir="unused", deterministic=True)
    single = PhaseTrainer(config, 3, tf.distribute.get_strategy(), options)
    multi = PhaseTrainer(config, 3, strategy, options)
    assert strategy.num_replicas_in_sync == len(ports)
    multi.import_state(single.state_arrays())
    before = single.state_arrays()
    single.step(next(iter(dataset_fn(3, 8))), 20, 0.5)
    multi.step(next(iter(strategy.experimental_distribute_dataset(dataset_fn(3, 8)))), 20, 0.5)
    np.savez(out_path, **{f"single:{k}": v for k, v in single.state_arrays().items()},
             **{f"multi:{k}": v for k, v in multi.state_arrays().items()},
             **{f"before:{k}": v for k, v in before.items()}, chief=distribution.is_chief(strategy))


if __name__ == "__main__":
    sys.exit(main())
