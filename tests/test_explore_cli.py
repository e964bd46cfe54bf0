import os
import subprocess
import sys

import numpy as np
import pytest
from absl import flags
from PIL import Image

from explore_fixtures import INEFFECTIVE_COORDINATE
from progressive_infogan.explore import cli, examples

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_cli(argv):
    flag_values = flags.FlagValues()
    cli.define_flags(flag_values)
    cli.main(flag_values(["cli"] + argv), flag_values)


@pytest.mark.parametrize("tool, files", [
    ("traversal", ["traversal.png"]),
    ("averaging", ["sample_averaging_C20.png", f"sample_averaging_C{INEFFECTIVE_COORDINATE}.png"]),
    ("blocks", ["block_outputs.png"]),
    ("animation", ["animation.gif"]),
    ("interpolation", ["interpolation.gif"]),
    ("summary", ["summary.md", "contact_sheet.png"]),
    ("project", ["photo_edits.png"]),
])
def test_every_tool_writes_its_files(small_run_dir, tmp_path, tool, files):
    out = str(tmp_path / tool)
    _run_cli([tool, f"--run_dir={small_run_dir}", f"--out={out}", f"--coordinates=20,{INEFFECTIVE_COORDINATE}",
              "--num_samples=3", "--coord_resolution=6", "--interpolation_points=2", "--interpolation_steps=3",
              "--projection_steps=5", "--mp4=false", "--edits=20=2.5;20=-2.5"])
    for name in files:
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    if tool == "animation":
        with Image.open(os.path.join(out, "animation.gif")) as gif:
            assert sum(gif.seek(i) or gif.info["duration"] for i in range(gif.n_frames)) == 2 * (2 * 6 + 6) * 50


def test_unknown_tool_is_a_usage_error():
    with pytest.raises(Exception, match="tools: traversal"):
        cli.main(["cli", "paint"])


def test_help_lists_the_flags():
    result = subprocess.run([sys.executable, "-m", "progressive_infogan.explore.cli", "--help"],
                            capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert "--coord_resolution" in result.stdout and "--projection_steps" in result.stdout


def test_examples_writes_one_of_each_figure(small_run_dir, tmp_path):
    written = examples.write_examples(small_run_dir, str(tmp_path), summary_samples=3, averaging_samples=4,
                                      projection_steps=5, coord_resolution=4, interpolation_points=2,
                                      interpolation_steps=2, mp4=False, progress=False)
    assert sorted(written) == ["animation", "block_outputs", "interpolation", "photo_edits", "sample_averaging",
                               "summary", "traversal"]
    for paths in written.values():
        for path in paths:
            assert os.path.getsize(path) > 0, path


def test_animation_is_split_into_parts(small_run_dir, tmp_path):
    _run_cli(["animation", f"--run_dir={small_run_dir}", f"--out={tmp_path}", "--coordinates=0,1,2",
              "--coords_batch=2", "--coord_resolution=4", "--grid_size=1", "--mp4=false"])
    assert sorted(os.listdir(tmp_path)) == ["animation_part00.gif", "animation_part01.gif"]
    with Image.open(tmp_path / "animation_part01.gif") as gif:
        assert sum(gif.seek(i) or gif.info["duration"] for i in range(gif.n_frames)) == (2 * 4 + 6) * 50


def test_project_a_photo_file(small_run_dir, tmp_path, capsys):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, [40, 50, 3], dtype=np.uint8)).save(tmp_path / "photo.jpg")
    _run_cli(["project", f"--run_dir={small_run_dir}", f"--out={tmp_path / 'out'}", f"--photo={tmp_path / 'photo.jpg'}",
              "--edits=20=2.5;0=-1,1=1", "--edit_mode=add", "--projection_steps=5", "--restarts=2", "--loss=mse+msssim"])
    assert "reconstruction MSE" in capsys.readouterr().out
    with Image.open(tmp_path / "out" / "photo_edits.png") as image:
        assert image.size[0] >= 4 * 128
    assert os.path.getsize(tmp_path / "out" / "photo_edits.npz") > 0


@pytest.mark.parametrize("tool", ["project", "examples"])
def test_a_bad_photo_is_reported_before_the_model_is_loaded(tmp_path, tool):
    # The run directory does not exist: loading the model would fail on it first.
    run_dir = str(tmp_path / "no_run")
    with pytest.raises(Exception, match=r"--photo: photo .*absent.jpg does not exist"):
        _run_cli([tool, f"--run_dir={run_dir}", f"--out={tmp_path / 'out'}", f"--photo={tmp_path / 'absent.jpg'}"])
    (tmp_path / "text.jpg").write_bytes(b"not an image")
    with pytest.raises(Exception, match=r"--photo: photo .*text.jpg is not a readable image"):
        _run_cli([tool, f"--run_dir={run_dir}", f"--out={tmp_path / 'out'}", f"--photo={tmp_path / 'text.jpg'}"])
    assert not os.path.exists(tmp_path / "out")


def test_project_edits_a_saved_projection_again(small_run_dir, tmp_path, capsys):
    _run_cli(["project", f"--run_dir={small_run_dir}", f"--out={tmp_path / 'first'}", "--edits=20=2.5;20=-2.5",
              "--projection_steps=5"])
    _run_cli(["project", f"--run_dir={small_run_dir}", f"--out={tmp_path / 'again'}", "--edits=20=2.5;20=-2.5",
              f"--from_latents={tmp_path / 'first' / 'photo_edits.npz'}"])
    assert "edited " in capsys.readouterr().out
    with Image.open(tmp_path / "first" / "photo_edits.png") as first, \
            Image.open(tmp_path / "again" / "photo_edits.png") as again:
        np.testing.assert_array_equal(np.asarray(again), np.asarray(first))
    assert not os.path.exists(tmp_path / "again" / "photo_edits.npz")
    with pytest.raises(Exception, match="not both"):
        _run_cli(["project", f"--run_dir={small_run_dir}", f"--out={tmp_path / 'x'}", "--photo=a.png",
                  f"--from_latents={tmp_path / 'first' / 'photo_edits.npz'}"])


def test_a_categorical_variable_is_one_figure_and_its_edits_are_categories(mixed_run_dir, tmp_path):
    from progressive_infogan.errors import UserError

    out = tmp_path / "averaging"
    _run_cli(["averaging", f"--run_dir={mixed_run_dir}", f"--out={out}", "--coordinates=0,1,2,3", "--num_samples=2"])
    assert sorted(os.listdir(out)) == ["sample_averaging_C0.png", "sample_averaging_C3.png"]
    # A traversal of every variable, the categorical, the Bernoulli and the continuous ones: one figure.
    _run_cli(["traversal", f"--run_dir={mixed_run_dir}", f"--out={tmp_path / 'traversal'}", "--num_samples=1",
              "--steps=3"])
    with Image.open(tmp_path / "traversal" / "traversal.png") as image:
        assert image.size[1] >= 3 * 32  # three panels of one 8 px row, shown at 32 px or more
    with pytest.raises(UserError, match="a categorical 3 variable takes one of 0..2"):
        _run_cli(["project", f"--run_dir={mixed_run_dir}", f"--out={tmp_path / 'bad'}", "--edits=C1=3"])
    assert not os.path.exists(tmp_path / "bad")
    # By default the first two variables' values: the 3 categories and the Bernoulli's 0 and 1.
    _run_cli(["project", f"--run_dir={mixed_run_dir}", f"--out={tmp_path / 'project'}", "--projection_steps=2"])
    with Image.open(tmp_path / "project" / "photo_edits.png") as image:
        assert image.size[0] >= (2 + 5) * 128
    with np.load(tmp_path / "project" / "photo_edits.npz") as saved:
        assert sorted(saved["code"][0, :3]) == [0, 0, 1] and saved["code"][0, 3] in (0, 1)
