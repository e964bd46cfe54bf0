import os
import subprocess
import sys

import numpy as np
import pytest

from explore_fixtures import PHASE, small_config
from progressive_infogan import summaries

SIZE = 2 ** PHASE


def test_tensorboard_traversal_images_are_pure_and_cover_the_phase_blocks(small_run):
    model_config = small_run.config.model
    images = summaries.traversal_summary_images(small_run.generator, model_config, PHASE, 1.0,
                                                 coords_per_block=2, steps=7, seed=0)
    assert sorted(images) == sorted(f"traversal/block_{b}/coord_{c}"
                                    for b, first in ((2, 0), (3, 16), (4, 32)) for c in (first, first + 1))
    for image in images.values():
        assert image.dtype == np.uint8
        assert image.shape == (1, 3 * SIZE + 2 * 2, 7 * SIZE + 6 * 2, 3)
    again = summaries.traversal_summary_images(small_run.generator, model_config, PHASE, 1.0)
    assert all(np.array_equal(images[name], again[name]) for name in images)
    other = summaries.traversal_summary_images(small_run.generator, model_config, PHASE, 1.0, seed=1)
    assert not np.array_equal(images["traversal/block_3/coord_16"], other["traversal/block_3/coord_16"])


@pytest.mark.parametrize("name, expected", [("exp_vanilla", [2]), ("exp_unmask", [2, 3]), ("exp_noinfo", [])])
def test_tensorboard_traversal_images_of_other_variants(name, expected):
    from progressive_infogan import networks

    model_config = small_config(name).model
    generator = networks.build_generator(model_config, 3)
    images = summaries.traversal_summary_images(generator, model_config, 3, 0.5, coords_per_block=1, steps=3)
    blocks = [int(key.split("/")[1][len("block_"):]) for key in images]
    assert blocks == expected


def test_gradual_loss_traversals_cover_every_group_because_all_feed_g():
    from progressive_infogan import networks

    model_config = small_config("exp_gradual_loss").model
    generator = networks.build_generator(model_config, 3)
    images = summaries.traversal_summary_images(generator, model_config, 3, 1.0, coords_per_block=1, steps=3)
    assert sorted(images) == [f"traversal/block_{b}/coord_{16 * (b - 2)}" for b in range(2, 7)]


def test_the_training_summaries_do_not_import_the_exploration_tools():
    code = ("import sys, progressive_infogan.summaries; "
            "print(sorted(m for m in sys.modules if m.startswith('progressive_infogan.explore')))")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    assert result.stdout.strip() == "[]"


def test_the_eta_of_the_phase_and_of_the_whole_run():
    # 100 steps of batch 32 left in the phase (3200 images) and 6400 images in later phases, at 320 images/s.
    assert summaries.eta_seconds(900, 1000, 32, 6400, 320.0) == (10.0, 30.0)
    assert summaries.eta_seconds(1000, 1000, 32, 0, 320.0) == (0.0, 0.0)
    phase, run = summaries.eta_seconds(0, 1000, 32, 6400, 0.0)
    assert np.isnan(phase) and np.isnan(run)


def test_the_progress_line_shows_the_runs_eta():
    progress = summaries.Progress(3, 1000, 2000, 1900, 32, enabled=False, later_images=6400)
    progress.update(1900)
    progress.images_per_second = lambda: 320.0
    line = progress.line(1900, 1.0, {"loss/generator": 1.5})
    assert line.endswith("| 320.0 images/s, phase ETA 0h00m10s, run ETA >=0h00m30s"), line
    assert "phase 3 step 900/1000 (global 1900) alpha=1.000 generator=1.5000" in line
    progress.close()


def test_a_categorical_variable_gets_one_tensorboard_traversal_through_its_categories():
    from progressive_infogan import config as configs
    from progressive_infogan import networks

    model_config = configs.ModelConfig(**configs.code_spec({2: [configs.categorical(4), configs.uniform(2)]}),
                                       injection="append", width_multiplier=1 / 32)
    generator = networks.build_generator(model_config, 2)
    images = summaries.traversal_summary_images(generator, model_config, 2, 1.0, coords_per_block=2, steps=3)
    assert sorted(images) == ["traversal/block_2/coord_0", "traversal/block_2/coord_4"]
    # Columns: the 4 categories for the categorical variable, `steps` values for the uniform one.
    assert images["traversal/block_2/coord_0"].shape == (1, 3 * 4 + 2 * 2, 4 * 4 + 3 * 2, 3)
    assert images["traversal/block_2/coord_4"].shape == (1, 3 * 4 + 2 * 2, 3 * 4 + 2 * 2, 3)
