import io
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
from PIL import Image

from explore_fixtures import EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE
from headless_browser import Browser, find_chromium
from progressive_infogan import generate, loader
from progressive_infogan import figures
from progressive_infogan.explore import serve, summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = find_chromium()
# CI installs Chromium (.ci/run) and sets this, so that a missing browser fails there instead of skipping.
REQUIRE_BROWSER = os.environ.get("PINFOGAN_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def summary_path(small_run, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("summary"))
    summary.write_feature_summary(out, small_run.generator, small_run.config.model,
                                  [EFFECTIVE_COORDINATE, INEFFECTIVE_COORDINATE], num_samples=2, strip_samples=1,
                                  strip_steps=2)
    return os.path.join(out, summary.SUMMARY_JSON)


def _serve(explorer):
    server = serve.make_server(explorer, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def server(small_run_dir, summary_path):
    server = _serve(serve.Explorer(small_run_dir, summary=summary_path))
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def bad_server(tmp_path):
    server = _serve(serve.Explorer(str(tmp_path / "no_such_run")))
    yield server
    server.shutdown()
    server.server_close()


def _get(server, path):
    try:
        with urllib.request.urlopen(serve.server_url(server) + path, timeout=60) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_the_model_is_described_block_by_block(server, summary_path):
    status, kind, body = _get(server, "api/model")
    assert status == 200 and kind == "application/json"
    info = json.loads(body)
    assert info["ok"] and info["resolution"] == 16 and info["code_size"] == 80 and info["amplitude"] == 3.0
    assert [group["block"] for group in info["groups"]] == [2, 3, 4, 5, 6]
    assert [group["active"] for group in info["groups"]] == [True, True, True, False, False]  # phase 4
    coordinates = {c["id"]: c for group in info["groups"] for c in group["coordinates"]}
    assert sorted(coordinates) == list(range(80)) and coordinates[19]["label"] == "C19"
    names = summary.coordinate_names(json.load(open(summary_path))["coordinates"])
    assert coordinates[EFFECTIVE_COORDINATE]["name"] == names[EFFECTIVE_COORDINATE] != ""
    assert coordinates[INEFFECTIVE_COORDINATE]["name"] == "no visible effect"
    assert not coordinates[INEFFECTIVE_COORDINATE]["active"] and coordinates[EFFECTIVE_COORDINATE]["active"]
    assert coordinates[0]["name"] is None  # not in the summary


def test_describe_names_every_coordinate_at_start(small_run_dir):
    explorer = serve.Explorer(small_run_dir, describe=True)
    coordinates = {c["id"]: c for group in explorer.model_info()["groups"] for c in group["coordinates"]}
    assert all(coordinates[c]["name"] for c in range(80))
    assert coordinates[INEFFECTIVE_COORDINATE]["name"] == "no visible effect"
    assert coordinates[EFFECTIVE_COORDINATE]["name"] != "no visible effect"


def test_a_missing_summary_is_the_pages_error(small_run_dir, tmp_path):
    explorer = serve.Explorer(small_run_dir, summary=str(tmp_path))
    assert not explorer.model_info()["ok"] and "no " + str(tmp_path / "summary.json") in explorer.error


def test_renders_are_the_generators_images(server, small_run_dir):
    status, _, body = _get(server, "api/seed?seed=7")
    code = json.loads(body)["code"]
    _, expected_code = generate.seed_latents(64, 80, [7])
    np.testing.assert_allclose(code, expected_code[0], atol=1e-6)
    query = "api/render?seed=7&code=" + ",".join(repr(v) for v in code)
    status, kind, body = _get(server, query)
    assert status == 200 and kind == "image/png"
    # The page shows what `generate` writes for seed 7.
    image = np.asarray(Image.open(io.BytesIO(body)))
    noise, _ = generate.seed_latents(64, 80, [7])
    np.testing.assert_array_equal(image, figures.to_uint8(loader.load(small_run_dir)(noise, expected_code))[0])
    assert _get(server, query)[2] == body
    for path, message in (("api/render?seed=7&code=1,2", "the code has 80 coordinates, got 2 values"),
                          ("api/render?seed=x&code=1", "seed must be a whole number"),
                          ("api/render?seed=1&code=1,nan" + ",0" * 78, "finite"),
                          ("api/render?seed=1&code=a", "comma-separated numbers")):
        status, kind, body = _get(server, path)
        assert status == 400 and message in json.loads(body)["error"], path
    assert _get(server, "nothing")[0] == 404
    status, kind, page = _get(server, "")
    assert status == 200 and kind.startswith("text/html")
    # Offline: the page loads nothing from another host.
    assert b"http://" not in page and b"https://" not in page and b"//cdn" not in page


def test_a_bad_run_directory_is_reported_and_another_can_be_loaded(bad_server, small_run_dir):
    info = json.loads(_get(bad_server, "api/model")[2])
    assert not info["ok"] and "no_such_run: no such file or directory" in info["error"]
    status, _, body = _get(bad_server, "api/render?seed=0&code=")
    assert status == 503 and "no such file or directory" in json.loads(body)["error"]


def test_the_command_serves_the_error_of_a_bad_run_directory(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "progressive_infogan.explore.serve",
                                f"--run_dir={tmp_path / 'missing'}", "--port=0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
    try:
        line = process.stdout.readline()
        assert line.startswith("explorer at http://127.0.0.1:"), (line, process.stderr.read() if process.poll() else "")
        url = line.split()[2]
        with urllib.request.urlopen(url + "api/model", timeout=60) as response:
            info = json.loads(response.read())
        assert not info["ok"] and "missing: no such file or directory" in info["error"]
    finally:
        process.terminate()
        _, err = process.communicate(timeout=60)
    assert "error: " in err and "the page shows it" in err and "Traceback" not in err


# --- in a real browser ------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if REQUIRE_BROWSER:
            pytest.fail("PINFOGAN_REQUIRE_BROWSER=1 but no Chromium on PATH (apt-get install chromium)")
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium); the browser tests need one")
    browser = Browser(CHROMIUM, width=1200, height=900)
    yield browser
    browser.close()


IDLE = "document.body.dataset.pending === '0'"


def _open(browser, server, query=""):
    browser.navigate(serve.server_url(server) + query)
    return browser.wait_for("['ready', 'error'].includes(document.body.dataset.state) && "
                            "(document.body.dataset.state === 'error' || "
                            f"(Number(document.body.dataset.renders) > 0 && {IDLE})) && document.body.dataset.state")


def _image_region(browser, screenshot):
    rect = browser.evaluate("(() => { const r = document.getElementById('image').getBoundingClientRect(); "
                            "return [r.top, r.left, r.bottom, r.right].map(Math.round); })()")
    top, left, bottom, right = rect
    assert bottom - top >= 384 and right - left >= 384
    return screenshot[top + 1:bottom - 1, left + 1:right - 1].astype(np.int64)


def _move_slider(browser, coordinate, value):
    renders = int(browser.evaluate("document.body.dataset.renders"))
    browser.evaluate(f"""(() => {{
        const slider = document.querySelector('input[data-coordinate="{coordinate}"]');
        slider.value = {value};
        slider.dispatchEvent(new Event('input', {{bubbles: true}}));
    }})()""")
    browser.wait_for(f"Number(document.body.dataset.renders) > {renders} && {IDLE}")


def test_moving_a_slider_changes_the_image(browser, server):
    assert _open(browser, server) == "ready"
    # Sliders named after the feature summary, with their label; the seed's code to start with.
    rows = browser.evaluate("[...document.querySelectorAll('.row')].map((row) => "
                            "[row.querySelector('label').textContent, row.querySelector('.name').textContent])")
    assert [label for label, _ in rows] == [f"C{c}" for c in range(80)]
    names = dict(rows)
    assert names[f"C{INEFFECTIVE_COORDINATE}"] == "no visible effect" and names[f"C{EFFECTIVE_COORDINATE}"]
    assert names["C0"] == ""
    value = browser.evaluate(f"Number(document.querySelector('input[data-coordinate=\"{EFFECTIVE_COORDINATE}\"]').value)")
    assert value == pytest.approx(generate.seed_latents(64, 80, [0])[1][0, EFFECTIVE_COORDINATE], abs=0.01)

    before = _image_region(browser, browser.screenshot())
    np.testing.assert_array_equal(_image_region(browser, browser.screenshot()), before)  # screenshots are stable
    _move_slider(browser, INEFFECTIVE_COORDINATE, 2.9)  # block 6 does not enter a phase-4 G
    np.testing.assert_array_equal(_image_region(browser, browser.screenshot()), before)
    _move_slider(browser, EFFECTIVE_COORDINATE, -2.9 if value > 0 else 2.9)
    after = _image_region(browser, browser.screenshot())
    assert np.abs(after - before).mean() > 1.0
    assert f"C{EFFECTIVE_COORDINATE}" not in browser.evaluate("location.search")  # the whole code is in the address
    assert browser.evaluate("location.search").startswith("?seed=0&code=")

    browser.evaluate("(() => { const seed = document.getElementById('seed'); seed.value = 5; "
                     "seed.dispatchEvent(new Event('change')); })()")
    browser.wait_for(f"location.search.startsWith('?seed=5') && {IDLE}")
    assert np.abs(_image_region(browser, browser.screenshot()) - after).mean() > 1.0


def test_the_address_reopens_the_same_image(browser, server):
    _open(browser, server, f"?seed=3&C{EFFECTIVE_COORDINATE}=2.5")
    first = _image_region(browser, browser.screenshot())
    state = browser.evaluate("location.search")
    assert state.startswith("?seed=3&code=")
    code = [float(v) for v in urllib.parse.parse_qs(state[1:])["code"][0].split(",")]
    assert code[EFFECTIVE_COORDINATE] == 2.5
    _open(browser, server, state)
    np.testing.assert_array_equal(_image_region(browser, browser.screenshot()), first)


def test_a_bad_run_directory_shows_its_error_on_the_page(browser, bad_server, small_run_dir):
    assert _open(browser, bad_server) == "error"
    text = browser.evaluate("document.getElementById('error').innerText")
    assert "could not be loaded" in text and "no_such_run: no such file or directory" in text
    assert browser.evaluate("document.getElementById('error').offsetHeight") > 50
    assert browser.evaluate("document.getElementById('main').offsetHeight") == 0  # no sliders, no image
    screenshot = browser.screenshot()
    # The error box's background (#fde8e8) fills a good part of the page.
    assert np.all(screenshot == [0xfd, 0xe8, 0xe8], axis=-1).mean() > 0.02
    # Fixing the path on the page loads the model.
    browser.evaluate(f"document.getElementById('path').value = {json.dumps(small_run_dir)}; "
                     "document.getElementById('load').click()")
    browser.wait_for(f"document.body.dataset.state === 'ready' && Number(document.body.dataset.renders) > 0 && {IDLE}")
    assert browser.evaluate("document.getElementById('main').offsetHeight") > 384
    assert browser.evaluate("document.getElementById('error').offsetHeight") == 0


# --- a mixed code: a categorical variable and a Bernoulli are one slider each -----------------------

@pytest.fixture(scope="module")
def mixed_server(mixed_run_dir):
    server = _serve(serve.Explorer(mixed_run_dir))
    yield server
    server.shutdown()
    server.server_close()


def test_a_discrete_variable_is_one_slider_through_its_values(mixed_server):
    info = json.loads(_get(mixed_server, "api/model")[2])
    block_2 = info["groups"][0]["coordinates"]
    assert [slider["id"] for slider in block_2] == [0, 3, 4, 5]  # coordinates 0..2: one categorical variable
    assert block_2[0] == dict(id=0, label="C0", name=None, active=True, kind="categorical 3", values=[0, 1, 2],
                              width=3)
    assert block_2[1] == dict(id=3, label="C3", name=None, active=True, kind="bernoulli", values=[0, 1])
    assert block_2[2] == dict(id=4, label="C4", name=None, active=True)  # continuous: as before


def _address_code(browser):
    return [float(v) for v in urllib.parse.parse_qs(browser.evaluate("location.search")[1:])["code"][0].split(",")]


def test_a_categorical_slider_sets_its_one_hot_vector(browser, mixed_server):
    # ?C<id>=<category> with any coordinate of the categorical variable sets its category.
    assert _open(browser, mixed_server, "?seed=0&C1=2&C3=1") == "ready"
    assert _address_code(browser)[:4] == [0, 0, 1, 1]
    rows = browser.evaluate("[...document.querySelectorAll('.row')].map((row) => [row.querySelector('label')"
                            ".textContent, row.querySelector('.name').textContent, row.querySelector('input').value])")
    assert rows[:3] == [["C0", "categorical 3", "2"], ["C3", "bernoulli", "1"], ["C4", "", rows[2][2]]]
    assert [label for label, _, _ in rows] == ["C0", "C3", "C4", "C5", "C6", "C7"]
    before = _image_region(browser, browser.screenshot())
    _move_slider(browser, 0, 1)
    assert _address_code(browser)[:3] == [0, 1, 0]
    assert np.abs(_image_region(browser, browser.screenshot()) - before).mean() > 0
    renders = int(browser.evaluate("document.body.dataset.renders"))
    browser.evaluate("document.getElementById('zero-code').click()")
    browser.wait_for(f"Number(document.body.dataset.renders) > {renders} && {IDLE}")
    assert _address_code(browser) == [1, 0, 0, 0, 0, 0, 0, 0]  # category 0, Bernoulli 0, the rest 0


def test_a_render_refuses_discrete_values_g_never_saw(mixed_server):
    good = [0, 1, 0, 1, 0.5, 0, 0, 0]
    assert _get(mixed_server, "api/render?seed=0&code=" + ",".join(map(str, good)))[0] == 200
    for code, message in (([0.5, 0.5, 0, 1], "C0..C2 are one categorical variable and must be one-hot"),
                          ([1, 1, 0, 1], "must be one-hot, got [1.0, 1.0, 0.0]"),
                          ([0, 0, 0, 1], "must be one-hot"),
                          ([0, 0, 1, 0.5], "C3 is a Bernoulli variable and must be 0 or 1, got 0.5")):
        status, _, body = _get(mixed_server, "api/render?seed=0&code=" + ",".join(map(str, code + good[4:])))
        assert status == 400 and message in json.loads(body)["error"], code
