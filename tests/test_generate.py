import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import progressive_infogan
from progressive_infogan import export, generate
from progressive_infogan import figures
from progressive_infogan.latents import latents as sample_latents
from explore_fixtures import EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(path):
    with Image.open(path) as image:
        return np.asarray(image)


def test_one_png_per_seed_and_the_latents_that_made_them(small_run_dir, tmp_path):
    generator = progressive_infogan.load(small_run_dir)
    paths = generate.generate_images(generator, [3, 0, 11], str(tmp_path), batch_size=2)
    assert sorted(os.listdir(tmp_path)) == ["latents.npz", "seed0000.png", "seed0003.png", "seed0011.png"]
    assert paths == [str(tmp_path / name) for name in ("seed0003.png", "seed0000.png", "seed0011.png")]
    with np.load(tmp_path / "latents.npz") as latents:
        seeds, noise, code = latents["seeds"], latents["noise"], latents["code"]
    np.testing.assert_array_equal(seeds, [3, 0, 11])
    assert noise.shape == (3, 64) and code.shape == (3, 80)
    # Row i is seed i's draw of the sampler, and G(noise[i], code[i]) is its PNG.
    expected_noise, expected_code = (np.asarray(part) for part in sample_latents(generator.model_config, 11, 0, 1))
    np.testing.assert_array_equal(noise[2], expected_noise[0])
    np.testing.assert_array_equal(code[2], expected_code[0])
    for path, image in zip(paths, figures.to_uint8(generator(noise, code))):
        assert _read(path).shape == (16, 16, 3)
        np.testing.assert_array_equal(_read(path), image)


def test_a_seeds_image_does_not_depend_on_the_other_seeds(small_run_dir, tmp_path):
    generator = progressive_infogan.load(small_run_dir)
    generate.generate_images(generator, [5], str(tmp_path / "alone"))
    generate.generate_images(generator, [4, 5, 6], str(tmp_path / "together"))
    np.testing.assert_array_equal(_read(tmp_path / "alone" / "seed0005.png"),
                                  _read(tmp_path / "together" / "seed0005.png"))


def test_code_overrides_set_a_coordinate_for_every_seed(small_run_dir, tmp_path):
    generator = progressive_infogan.load(small_run_dir)
    generate.generate_images(generator, [0, 1], str(tmp_path / "plain"))
    values = generate.parse_code_values(f"C{EFFECTIVE_COORDINATE}=2.5,C{INEFFECTIVE_COORDINATE}=-3", 80)
    generate.generate_images(generator, [0, 1], str(tmp_path / "edited"), values)
    with np.load(tmp_path / "plain" / "latents.npz") as plain, np.load(tmp_path / "edited" / "latents.npz") as edited:
        np.testing.assert_array_equal(edited["noise"], plain["noise"])
        np.testing.assert_array_equal(edited["code"][:, EFFECTIVE_COORDINATE], [2.5, 2.5])
        np.testing.assert_array_equal(edited["code"][:, INEFFECTIVE_COORDINATE], [-3.0, -3.0])
        untouched = [c for c in range(80) if c not in (EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE)]
        np.testing.assert_array_equal(edited["code"][:, untouched], plain["code"][:, untouched])
    change = np.abs(_read(tmp_path / "edited" / "seed0001.png").astype(int) - _read(tmp_path / "plain" / "seed0001.png"))
    assert change.max() > 0


def test_seed_lists():
    assert generate.parse_seeds("0-3") == [0, 1, 2, 3]
    assert generate.parse_seeds(" 7, 2-3 ,10") == [7, 2, 3, 10]
    for bad, message in (("", "no seeds"), ("a-b", "not a seed"), ("5-2", "backwards"), ("1,1", "twice"),
                         ("-3", "not a seed")):
        with pytest.raises(ValueError, match=message):
            generate.parse_seeds(bad)


def test_code_labels_are_the_figures():
    assert generate.parse_code_values("C19=2.5, C3=-1", 80) == {19: 2.5, 3: -1.0}
    assert generate.parse_code_values(None, 80) == {} and generate.parse_code_values("C999=1") == {999: 1.0}
    for bad, message in (("19=2", "not C<coordinate>=<value>"), ("X=1", "not C<coordinate>=<value>"),
                         ("C19", "not C<coordinate>=<value>"), ("C19=big", "'big' is not a number"),
                         ("C80=1", r"C80 is not in this model's code \(C0..C79\)")):
        with pytest.raises(ValueError, match=message):
            generate.parse_code_values(bad, 80)
    with pytest.raises(ValueError, match="this model has no code"):
        generate.parse_code_values("C0=1", 0)


def test_the_command_from_an_export_and_its_one_line_errors(small_run_dir, tmp_path):
    keras_path, _ = export.export_run(small_run_dir, out_dir=str(tmp_path / "export"))
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "progressive_infogan.generate", f"--source={keras_path}"]
    runs = {
        "ok": command + ["--seeds=0-2", f"--out={tmp_path / 'images'}", f"--code=C{EFFECTIVE_COORDINATE}=1.5"],
        "out_of_range": command + ["--seeds=0", f"--out={tmp_path / 'bad'}", "--code=C999=2.5"],
        "malformed": command + ["--seeds=0", f"--out={tmp_path / 'bad'}", "--code=X=1"],
    }
    processes = {name: subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for name, argv in runs.items()}
    results = {name: process.communicate(timeout=600) + (process.returncode,) for name, process in processes.items()}
    out, err, code = results["ok"]
    assert code == 0, err[-3000:]
    assert "3 images and latents.npz" in out
    with np.load(tmp_path / "images" / "latents.npz") as latents:
        np.testing.assert_array_equal(latents["code"][:, EFFECTIVE_COORDINATE], [1.5] * 3)
        expected = figures.to_uint8(progressive_infogan.load(small_run_dir)(latents["noise"], latents["code"]))
    np.testing.assert_array_equal(_read(tmp_path / "images" / "seed0002.png"), expected[2])
    for name, message in (("out_of_range", "--code: C999 is not in this model's code (C0..C79)"),
                          ("malformed", "--code: 'X=1' is not C<coordinate>=<value>, e.g. C19=2.5")):
        _, err, code = results[name]
        assert code == 2, err[-3000:]
        assert err.strip().splitlines() == [f"generate.py: error: {message}"]
    assert not os.path.exists(tmp_path / "bad")
