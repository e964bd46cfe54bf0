"""A browser explorer: one slider per code coordinate, a noise seed, and the image as you move them.

    python -m progressive_infogan.explore.serve --run_dir=RUN [--port=8000] [--summary=DIR/summary.json]

then open the printed address. The server renders every image with the run's EMA generator
(`progressive_infogan.load`, so --run_dir may also be a checkpoint or an export) and the page
is plain HTML and JavaScript served from here: nothing is fetched from elsewhere, it works
offline.

- Sliders are grouped by the block whose generator input the coordinate enters; those that
  do not enter G at the checkpoint's phase are shown dimmed (moving them changes nothing).
- A slider is named after the feature summary (`explore.cli summary` writes summary.json)
  given with --summary, or one computed at start with --describe; otherwise by its label.
- The seed sets the noise (the sampler's draw of that seed, as `generate` uses it); "code of
  this seed" sets the sliders to that draw's code, so that seed s with it is generate's
  seed<s>.png. The page's address keeps the state (`?seed=3&code=...`) for sharing;
  `?seed=3&C19=2.5` opens seed 3 with C19 set.
- A path that does not load shows its error on the page, with a field to load another.
- A discrete code variable is one slider that steps through its values (`latents.traversal_values`):
  a categorical variable's categories, written into its K coordinates as the one-hot vector
  (`?C<id>=<category>` with any of its coordinates sets it), a Bernoulli's 0 and 1. "Zero code"
  puts them at category 0 and 0.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Sequence

import numpy as np
from absl import flags
from PIL import Image

from progressive_infogan import command_line, figures, generate
from progressive_infogan.errors import UserError
from progressive_infogan.explore import common, traversal
from progressive_infogan.latents import traversal_values

# Slider range: the code is N(0, 1), and the figures traverse [-3, 3].
DEFAULT_AMPLITUDE = 3.0
MAX_ABS_VALUE = 100.0


class Explorer:
    """What the page shows: a loaded generator and its coordinates' names, or why it didn't load."""

    def __init__(self, source: str, step: Optional[int] = None, summary: Optional[str] = None,
                 describe: bool = False, amplitude: float = DEFAULT_AMPLITUDE, display_size: int = 384):
        self.step, self.summary, self.describe = step, summary, describe
        self.amplitude, self.display_size = amplitude, display_size
        self.lock = threading.Lock()  # one generator call at a time
        self.generator = None
        self.error: Optional[str] = None
        self.names: Dict[int, str] = {}
        self.source = source
        self.load(source)

    def load(self, source: str) -> bool:
        """Load `source`; on failure keep the message for the page (and the previous model is dropped)."""
        from progressive_infogan import loader

        with self.lock:
            self.source, self.generator, self.error, self.names = source, None, None, {}
            try:
                self.generator = loader.load(source, step=self.step)
                self.names = self._coordinate_names()
            except Exception as error:  # noqa: BLE001 -- any failure is shown on the page, not raised
                self.generator = None
                self.error = f"{type(error).__name__}: {error}" if not isinstance(error, (OSError, ValueError)) \
                    else str(error)
            return self.error is None

    def _coordinate_names(self) -> Dict[int, str]:
        from progressive_infogan.explore import summary

        if self.summary:
            path = self.summary
            if os.path.isdir(path):
                path = os.path.join(path, summary.SUMMARY_JSON)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"--summary: no {path} (the summary tool writes summary.json)")
            with open(path) as handle:
                return summary.coordinate_names(json.load(handle)["coordinates"])
        generator = self.generator
        if self.describe and generator.keras_model is not None and generator.code_size:
            coordinates = list(range(generator.code_size))
            result = summary.feature_summary(generator.keras_model, generator.model_config, coordinates,
                                             num_samples=4, alpha=generator.alpha, strip_samples=1, strip_steps=2)
            return summary.coordinate_names(summary.summary_records(result.features))
        return {}

    # --- what the page asks for ---------------------------------------------------------

    def model_info(self) -> Dict[str, object]:
        if self.generator is None:
            return {"ok": False, "source": self.source, "error": self.error}
        generator = self.generator
        return {"ok": True, "source": self.source, "title": generator.describe(), "resolution": generator.resolution,
                "display_size": max(self.display_size, generator.resolution), "noise_size": generator.noise_size,
                "code_size": generator.code_size, "amplitude": self.amplitude, "groups": self._groups()}

    def _groups(self) -> List[Dict[str, object]]:
        generator = self.generator
        model, size = generator.model_config, generator.code_size
        if model is None:  # an export without metadata: no blocks known
            blocks = {None: list(range(size))}
            active = set(range(size))
        else:
            blocks: Dict[Optional[int], List[int]] = {}
            for coordinate in range(size):
                blocks.setdefault(common.coordinate_block(model, coordinate), []).append(coordinate)
            active = set(common.select_coordinates(model, "effective", generator.phase))
        groups = []
        for block, coordinates in blocks.items():
            label = "code" if block is None else f"block {block} ({2 ** block}x{2 ** block})"
            sliders = coordinates if model is None else traversal.traversed_coordinates(model, coordinates)
            groups.append({"block": block, "label": label, "active": any(c in active for c in coordinates),
                           "coordinates": [self._slider(model, c, c in active) for c in sliders]})
        return groups

    def _slider(self, model, coordinate: int, active: bool) -> Dict[str, object]:
        """One slider: a coordinate, or a discrete variable (its `values`; a categorical one's at its
        first coordinate, `width` coordinates wide). Continuous ones have no more keys than before."""
        slider = {"id": coordinate, "label": f"C{coordinate}", "name": self.names.get(coordinate), "active": active}
        variable = None if model is None else model.code_layout.variable_of(coordinate)
        if variable is not None and variable.discrete:
            slider.update(kind=traversal.variable_kind(model, coordinate),
                          values=[int(v) for v in traversal_values(model, coordinate)])
            if variable.distribution == "categorical":
                slider["width"] = len(variable.coordinates)
        return slider

    def seed_code(self, seed: int) -> List[float]:
        generator = self._require()
        _, code = generate.seed_latents(generator.noise_size, generator.code_size, [seed], generator.model_config)
        return [float(value) for value in code[0]]

    def render_png(self, seed: int, code: Sequence[float]) -> bytes:
        generator = self._require()
        if len(code) != generator.code_size:
            raise ValueError(f"the code has {generator.code_size} coordinates, got {len(code)} values")
        generator.model_config.code_layout.check_values(code)
        noise, _ = generate.seed_latents(generator.noise_size, generator.code_size, [seed], generator.model_config)
        with self.lock:
            image = figures.to_uint8(generator(noise, np.asarray([code], np.float32)))[0]
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        return buffer.getvalue()

    def _require(self):
        if self.generator is None:
            raise LookupError(self.error or "no model loaded")
        return self.generator


def _parse_seed(query: Dict[str, List[str]]) -> int:
    text = query.get("seed", ["0"])[0]
    if not text.isdigit():
        raise ValueError(f"seed must be a whole number >= 0, got {text!r}")
    return int(text)


def _parse_code(query: Dict[str, List[str]]) -> List[float]:
    text = query.get("code", [""])[0]
    try:
        values = [float(part) for part in text.split(",")] if text else []
    except ValueError:
        raise ValueError(f"code must be comma-separated numbers, got {text[:80]!r}") from None
    if not all(np.isfinite(values)) or any(abs(value) > MAX_ABS_VALUE for value in values):
        raise ValueError(f"code values must be finite and within +-{MAX_ABS_VALUE:g}")
    return values


def make_handler(explorer: Explorer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 -- keep the console for errors only
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, value, status: int = HTTPStatus.OK) -> None:
            self._send(status, json.dumps(value).encode(), "application/json")

        def do_GET(self):  # noqa: N802 -- http.server's name
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            try:
                if url.path in ("/", "/index.html"):
                    self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
                elif url.path == "/api/model":
                    self._json(explorer.model_info())
                elif url.path == "/api/load":
                    explorer.load(query.get("run_dir", [""])[0])
                    self._json(explorer.model_info())
                elif url.path == "/api/seed":
                    self._json({"seed": _parse_seed(query), "code": explorer.seed_code(_parse_seed(query))})
                elif url.path == "/api/render":
                    self._send(HTTPStatus.OK, explorer.render_png(_parse_seed(query), _parse_code(query)), "image/png")
                else:
                    self._json({"error": f"no page {url.path}"}, HTTPStatus.NOT_FOUND)
            except ValueError as error:
                self._json({"error": str(error)}, HTTPStatus.BAD_REQUEST)
            except LookupError as error:
                self._json({"error": str(error)}, HTTPStatus.SERVICE_UNAVAILABLE)

    return Handler


def make_server(explorer: Explorer, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """The explorer's HTTP server (not yet serving: call serve_forever); port 0 picks a free one."""
    server = ThreadingHTTPServer((host, port), make_handler(explorer))
    server.daemon_threads = True
    return server


def server_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"


PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Progressive InfoGAN explorer</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; color: #222; background: #f6f6f4; }
  header { padding: 10px 16px; background: #2d3b45; color: #fff; }
  header h1 { font-size: 17px; margin: 0; font-weight: 600; }
  header .source { font-size: 12px; opacity: 0.8; word-break: break-all; }
  main { display: flex; gap: 20px; padding: 16px; align-items: flex-start; }
  [hidden] { display: none !important; }
  #view { position: sticky; top: 16px; flex: none; }
  #image { display: block; image-rendering: pixelated; background: #ddd; border: 1px solid #bbb; }
  #view .controls { margin-top: 10px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
  #seed { width: 90px; }
  #sliders { flex: 1; display: grid; grid-template-columns: repeat(auto-fill, minmax(400px, 1fr)); gap: 12px; }
  details { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 6px 10px; }
  summary { font-weight: 600; cursor: pointer; }
  details.inactive summary::after { content: " - not in G at this phase"; font-weight: normal; color: #888; }
  .row { display: grid; grid-template-columns: 36px minmax(0, 1fr) 34% 40px; gap: 6px; align-items: center;
         margin: 2px 0; }
  .row .name { font-size: 12px; color: #555; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .row.inactive { opacity: 0.45; }
  .row output { font-variant-numeric: tabular-nums; text-align: right; }
  #error { display: none; margin: 16px; padding: 14px 16px; background: #fde8e8; border: 1px solid #e0a0a0;
           border-radius: 4px; color: #8a1f1f; }
  #error h2 { font-size: 16px; margin: 0 0 8px 0; }
  #error pre { white-space: pre-wrap; margin: 0 0 10px 0; font-size: 13px; }
  #status { font-size: 12px; color: #666; min-height: 1em; }
</style>
</head>
<body data-state="loading" data-renders="0" data-pending="0">
<header><h1 id="title">Progressive InfoGAN explorer</h1><div class="source" id="source"></div></header>
<div id="error" role="alert">
  <h2>The model could not be loaded</h2>
  <pre id="error-text"></pre>
  <label>Run directory, checkpoint or export: <input id="path" size="60"></label>
  <button id="load">Load</button>
</div>
<main id="main" hidden>
  <div id="view">
    <img id="image" alt="generated image">
    <div class="controls">
      <label>Seed <input id="seed" type="number" min="0" step="1" value="0"></label>
      <button id="random">Random seed</button>
    </div>
    <div class="controls">
      <button id="seed-code">Code of this seed</button>
      <button id="zero-code">Zero code</button>
    </div>
    <div id="status"></div>
  </div>
  <div id="sliders"></div>
</main>
<script>
"use strict";
const body = document.body, $ = (id) => document.getElementById(id);
const state = { seed: 0, code: [] };
let model = null, inFlight = false, again = false;

function showError(message, source) {
  body.dataset.state = "error";
  $("main").hidden = true;
  $("error").style.display = "block";
  $("error-text").textContent = message;
  if (source !== undefined) $("path").value = source;
}

async function getJSON(url) {
  const response = await fetch(url);
  const value = await response.json();
  if (!response.ok) throw new Error(value.error || response.statusText);
  return value;
}

function setPending() { body.dataset.pending = (inFlight || again) ? "1" : "0"; }

function updateAddress() {
  history.replaceState(null, "", "?seed=" + state.seed + "&code=" + codeText());
}

// The code as the server gets it: every value in full, so that the address reproduces the image.
function codeText() { return state.code.map((v) => String(v)).join(","); }

// Renders the latest state; while a request is out, later changes wait for it and coalesce.
function render() {
  if (inFlight) { again = true; setPending(); return; }
  inFlight = true; setPending();
  const url = "/api/render?seed=" + state.seed + "&code=" + codeText();
  fetch(url)
    .then((response) => response.ok ? response.blob()
          : response.json().then((value) => { throw new Error(value.error || response.statusText); }))
    .then((blob) => new Promise((resolve) => {
      const image = $("image"), old = image.src;
      image.onload = () => { if (old.startsWith("blob:")) URL.revokeObjectURL(old); resolve(); };
      image.src = URL.createObjectURL(blob);
    }))
    .then(() => { body.dataset.renders = String(Number(body.dataset.renders) + 1); $("status").textContent = ""; })
    .catch((error) => { $("status").textContent = "render failed: " + error.message; })
    .finally(() => {
      inFlight = false;
      if (again) { again = false; render(); }
      setPending();
    });
  updateAddress();
}

// Coordinate id -> its slider (a categorical variable's slider covers its `width` coordinates).
let sliderOf = {};

// A discrete variable's slider shows its value: a categorical one's category is its one-hot vector's argmax.
function sliderValue(slider) {
  if (!slider.width) return state.code[slider.id];
  const block = state.code.slice(slider.id, slider.id + slider.width);
  return block.indexOf(Math.max(...block));
}

function showSlider(slider) {
  const input = document.querySelector('input[data-coordinate="' + slider.id + '"]');
  if (!input) return;
  const value = sliderValue(slider);
  input.value = value;
  input.nextElementSibling.value = slider.values ? String(value) : value.toFixed(2);
}

// One coordinate, as the seed's code and ?code= give them.
function setSlider(id, value) {
  state.code[id] = value;
  if (sliderOf[id]) showSlider(sliderOf[id]);
}

// A slider's value: a categorical variable's category is written as its one-hot vector.
function setVariable(slider, value) {
  if (slider.width) {
    for (let k = 0; k < slider.width; k++) state.code[slider.id + k] = k === value ? 1 : 0;
  } else {
    state.code[slider.id] = value;
  }
  showSlider(slider);
}

function allSliders() { return model.groups.flatMap((group) => group.coordinates); }

function buildSliders() {
  const container = $("sliders");
  container.textContent = "";
  sliderOf = {};
  for (const group of model.groups) {
    const details = document.createElement("details");
    details.open = true;
    if (!group.active) details.className = "inactive";
    const summary = document.createElement("summary");
    const count = group.coordinates.reduce((total, slider) => total + (slider.width || 1), 0);
    summary.textContent = group.label + " - " + count + " coordinates";
    details.appendChild(summary);
    for (const coordinate of group.coordinates) {
      for (let k = 0; k < (coordinate.width || 1); k++) sliderOf[coordinate.id + k] = coordinate;
      const row = document.createElement("div");
      row.className = "row" + (coordinate.active ? "" : " inactive");
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = name.title = coordinate.name || coordinate.kind || "";
      const label = document.createElement("label");
      label.textContent = coordinate.label;
      label.htmlFor = "slider-" + coordinate.id;
      const input = document.createElement("input");
      const discrete = Boolean(coordinate.values);
      Object.assign(input, { type: "range", id: "slider-" + coordinate.id,
                             min: discrete ? 0 : -model.amplitude,
                             max: discrete ? coordinate.values.length - 1 : model.amplitude,
                             step: discrete ? 1 : 0.01, value: 0 });
      input.dataset.coordinate = coordinate.id;
      const title = coordinate.label + (discrete ? " (" + coordinate.kind + ")" : "");
      input.title = coordinate.active ? title : title + ": does not enter G at this phase";
      const output = document.createElement("output");
      output.value = discrete ? "0" : "0.00";
      input.addEventListener("input", () => {
        if (discrete) {
          setVariable(coordinate, Number(input.value));
        } else {
          state.code[coordinate.id] = Number(input.value);
          output.value = Number(input.value).toFixed(2);
        }
        render();
      });
      row.append(label, name, input, output);
      details.appendChild(row);
    }
    container.appendChild(details);
  }
}

async function useSeedCode() {
  const value = await getJSON("/api/seed?seed=" + state.seed);
  value.code.forEach((v, id) => setSlider(id, v));
}

async function start(info) {
  model = info;
  if (!model.ok) { showError(model.error, model.source); return; }
  $("error").style.display = "none";
  $("main").hidden = false;
  $("title").textContent = model.title;
  $("source").textContent = model.source;
  const image = $("image");
  image.width = image.height = model.display_size;
  state.code = new Array(model.code_size).fill(0);
  buildSliders();
  const params = new URLSearchParams(location.search);
  state.seed = /^\d+$/.test(params.get("seed") || "") ? Number(params.get("seed")) : 0;
  $("seed").value = state.seed;
  // ?code=v0,v1,... is the whole code; otherwise the seed's, with ?C19=2.5 setting single coordinates.
  const code = (params.get("code") || "").split(",").map(Number);
  if (params.has("code") && code.length === model.code_size && code.every(Number.isFinite)) {
    code.forEach((v, id) => setSlider(id, v));
  } else {
    await useSeedCode();
  }
  for (const [key, text] of params) {
    const id = /^C\d+$/.test(key) ? Number(key.slice(1)) : -1;
    if (!(id >= 0 && id < model.code_size && Number.isFinite(Number(text)))) continue;
    const slider = sliderOf[id];
    if (slider && slider.values) {  // a discrete variable (any of its coordinates) takes one of its values
      if (slider.values.includes(Number(text))) setVariable(slider, Number(text));
    } else {
      setSlider(id, Number(text));
    }
  }
  body.dataset.state = "ready";
  render();
}

$("seed").addEventListener("change", () => {
  const value = Number($("seed").value);
  if (Number.isInteger(value) && value >= 0) { state.seed = value; render(); }
});
$("random").addEventListener("click", () => {
  state.seed = Math.floor(Math.random() * 100000); $("seed").value = state.seed; render();
});
$("seed-code").addEventListener("click", () => useSeedCode().then(render));
$("zero-code").addEventListener("click", () => { allSliders().forEach((slider) => setVariable(slider, 0)); render(); });
$("load").addEventListener("click", () => {
  body.dataset.state = "loading";
  getJSON("/api/load?run_dir=" + encodeURIComponent($("path").value)).then(start)
    .catch((error) => showError(error.message));
});
getJSON("/api/model").then(start).catch((error) => showError(error.message));
</script>
</body>
</html>
"""


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_string("run_dir", None, "Run directory (its newest checkpoint, or --step), a checkpoint directory, "
                        "or an exported .keras file or SavedModel.", **fv)
    flags.DEFINE_integer("step", None, "With a run directory: the checkpoint of this step.", **fv)
    flags.DEFINE_string("host", "127.0.0.1", "Address to listen on (0.0.0.0: every interface).", **fv)
    flags.DEFINE_integer("port", 8000, "Port to listen on (0: any free one).", **fv)
    flags.DEFINE_string("summary", None, "A feature summary's summary.json (or its directory; `explore.cli summary` "
                        "writes it): the sliders are named after it.", **fv)
    flags.DEFINE_boolean("describe", False, "Without --summary: describe every coordinate at start (a small "
                         "feature summary: where and how it changes the image) and name the sliders after it.", **fv)
    flags.DEFINE_float("amplitude", DEFAULT_AMPLITUDE, "Slider range: [-amplitude, amplitude].", **fv)
    flags.DEFINE_integer("display_size", 384, "Displayed image size in pixels (at least the model's resolution).",
                         **fv)
    flags.mark_flag_as_required("run_dir", **fv)


def main(argv: Sequence[str], flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    explorer = Explorer(flag_values.run_dir, step=flag_values.step, summary=flag_values.summary,
                        describe=flag_values.describe, amplitude=flag_values.amplitude,
                        display_size=flag_values.display_size)
    if explorer.error:
        print(f"error: {explorer.error} (the page shows it; load another path there)", file=sys.stderr)
    else:
        print(explorer.generator.describe())
    try:
        server = make_server(explorer, flag_values.host, flag_values.port)
    except OSError as error:
        raise UserError(f"cannot listen on {flag_values.host}:{flag_values.port}: {error}") from None
    print(f"explorer at {server_url(server)} (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    command_line.run(main, define_flags)
