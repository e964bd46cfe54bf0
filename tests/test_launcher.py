"""The experiment scripts' flags -> typed configs (launcher), and the size table they pick from."""

import dataclasses
import os

import pytest
from absl import flags

from progressive_infogan import config as configs
from progressive_infogan import evaluate, launcher


def _launch(*argv, name="exp_condition"):
    flag_values = flags.FlagValues()
    launcher.define_flags(flag_values)
    flag_values(["exp", "--model_dir=runs/x", *argv])
    return launcher.launch_from_flags(name, flag_values)


def test_the_full_size_is_the_preset_itself():
    for name, preset in configs.PRESETS.items():
        assert configs.size("full").apply(preset) == preset, name
    assert _launch().config == configs.preset("exp_condition")


def test_the_quick_size_pins_its_numbers():
    config = configs.size("quick").apply(configs.preset("exp_vanilla"))
    assert config.model.width_multiplier == 1 / 8 and config.model.batch_norm_momentum == 0.99
    assert config.optimizer.ema_decay == 0.99
    sched = config.schedule
    assert (sched.images_per_phase, sched.min_steps, sched.stop_after) == (25_600, 100, 5)
    # Phases 2..5 at batch 32; the later phases keep the thesis batch.
    assert sched.batch_sizes == ((2, 32), (3, 32), (4, 32), (5, 32), (6, 16), (7, 6), (8, 3), (9, 2), (10, 1))
    # Everything else is the preset's.
    preset = configs.preset("exp_vanilla")
    assert config.loss == preset.loss and config.model.code_sizes == preset.model.code_sizes
    assert sched.doubled_phases == preset.schedule.doubled_phases


def test_the_smoke_size_pins_its_numbers():
    config = _launch("--size=smoke").config
    assert config.model.width_multiplier == 1 / 32
    assert config.model.batch_norm_momentum == 0.5 and config.optimizer.ema_decay == 0.5
    sched = config.schedule
    assert (sched.images_per_phase, sched.min_steps, sched.stop_after) == (8, 2, 4)
    assert dict(sched.batch_sizes) == {phase: 4 for phase in range(2, 11)}


def test_every_size_names_an_evaluation_protocol_with_its_sample_counts():
    assert evaluate.PROTOCOLS == {size.protocol: size.evaluation for size in configs.SIZES.values()}
    assert list(evaluate.PROTOCOLS) == ["thesis", "quick", "smoke"]
    assert evaluate.PROTOCOLS["thesis"] == configs.EvalSettings()
    assert evaluate.PROTOCOLS["smoke"].fid_num_images == 20 and evaluate.PROTOCOLS["quick"].fid_num_images == 1000
    with pytest.raises(ValueError, match="known: full, quick, cpu, smoke"):
        configs.size("huge")


def test_the_cpu_size_is_quick_with_twice_the_steps_and_a_full_width_head():
    quick, cpu = configs.size("quick"), configs.size("cpu")
    assert dataclasses.replace(cpu, name="quick", description=quick.description, images_per_phase=25_600,
                               d_head_units=None) == quick
    config = cpu.apply(configs.preset("exp_vanilla"))
    assert config.model.d_head_width == 512 and config.model.d_channels(0) == 64
    assert config.schedule.images_per_phase == 2 * quick.apply(configs.preset("exp_vanilla")).schedule.images_per_phase


def test_flags_override_the_size_and_fill_the_run_options():
    launch = _launch("--size=smoke", "--stop_after=3", "--batch_sizes=2:8,3:6", "--fade=text", "--min_steps=5",
                     "--width_multiplier=0.25", "--fromrgb_image_diffs=2", "--seed=7", "--deterministic",
                     "--noprogress_bar", "--noexport", "--summary_every_steps=3")
    sched, model = launch.config.schedule, launch.config.model
    assert (sched.stop_after, sched.min_steps, sched.images_per_phase, sched.fade_fraction) == (3, 5, 8, 1.0)
    assert dict(sched.batch_sizes) == {**{phase: 4 for phase in range(2, 11)}, 2: 8, 3: 6}
    assert model.width_multiplier == 0.25 and model.fromrgb_image_diffs == 2
    assert launch.size is configs.size("smoke") and launch.export is False
    assert launch.options == configs.RunOptions(model_dir="runs/x", seed=7, deterministic=True, progress_bar=False,
                                                summary_every_steps=3)


def test_without_data_dir_the_options_leave_it_to_the_size_default():
    assert _launch().options.data_dir == ""
    assert _launch("--data_dir=data/mine").options.data_dir == "data/mine"
    assert _launch().options == configs.RunOptions(model_dir="runs/x")



def test_a_resume_without_data_dir_reads_the_recorded_data_not_a_new_default(tmp_path):
    from progressive_infogan import rundir
    from progressive_infogan.errors import UserError

    size = configs.size("smoke")
    config = launcher.experiment_config("exp_condition", size)
    run_dir, data_dir = str(tmp_path / "run"), str(tmp_path / "data")
    assert launcher.run_data_dir(run_dir, size, config) is None  # a new run: the size's default dataset
    os.makedirs(data_dir)
    rundir.write_identity(str(tmp_path), rundir.Identity(data_dir="", dataset_fingerprint=None, seed=0))
    assert launcher.run_data_dir(str(tmp_path), size, config) is None  # trained on images from code
    os.makedirs(run_dir)
    rundir.write_identity(run_dir, rundir.Identity(data_dir=data_dir, dataset_fingerprint="f", seed=0))
    assert launcher.run_data_dir(run_dir, size, config) == data_dir
    os.rmdir(data_dir)
    with pytest.raises(UserError, match=f"{run_dir} was trained on {data_dir}, which no longer exists"):
        launcher.run_data_dir(run_dir, size, config)


def test_a_run_grown_past_its_default_dataset_gets_the_same_faces_drawn_larger_beside_it(tmp_path):
    from progressive_infogan import rundir, tfrecords

    size = configs.size("smoke")  # 64 faces
    small = launcher.experiment_config("exp_condition", size, stop_after=3)
    grown = launcher.experiment_config("exp_condition", size, stop_after=4)
    started_on = os.path.abspath(launcher.default_data_dir(size, small, root=str(tmp_path / "data")))
    assert os.path.basename(started_on) == "synthetic_faces-64x16"

    def identity(data_dir):
        return rundir.Identity(data_dir=data_dir, dataset_fingerprint=tfrecords.dataset_fingerprint(data_dir), seed=0,
                               drawing=tfrecords.dataset_drawing(data_dir))

    run_dir = str(tmp_path / "run")
    os.makedirs(run_dir)
    rundir.write_identity(run_dir, identity(started_on))
    assert launcher.run_data_dir(run_dir, size, small) == started_on  # not grown: the recorded data
    drawn = launcher.run_data_dir(run_dir, size, grown)
    assert drawn == str(tmp_path / "data" / "synthetic_faces-64x32")
    assert tfrecords.read_manifest(drawn)["max_resolution"] == 32
    # The identity check takes it for the data the run was trained on; another drawing it refuses.
    assert rundir.check_identity(run_dir, identity(drawn)) == identity(started_on)
    other = launcher.experiment_config("exp_condition", configs.size("quick"), stop_after=4)
    assert launcher.run_data_dir(run_dir, configs.size("quick"), other) == started_on  # not the quick size's default


def test_allow_changed_data_is_a_run_option():
    assert _launch("--allow_changed_data").options == configs.RunOptions(model_dir="runs/x", allow_changed_data=True)


def test_keep_checkpoints_is_a_run_option_defaulting_to_its_field():
    assert _launch("--keep_checkpoints=5").options.keep_checkpoints == 5
    assert _launch().options.keep_checkpoints == configs.RunOptions(model_dir="").keep_checkpoints == 3
