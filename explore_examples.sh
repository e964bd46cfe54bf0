#!/usr/bin/env bash
# One example of every exploration figure for a run directory (for the README).
#   ./explore_examples.sh RUN_DIR [OUT_DIR] [extra flags, e.g. --photo=face.jpg]
set -euo pipefail
run_dir="${1:?usage: $0 RUN_DIR [OUT_DIR] [flags]}"
out_dir="${2:-$run_dir/explore_examples}"
shift $(( $# >= 2 ? 2 : 1 ))
exec "${PYTHON:-python}" -m progressive_infogan.explore.cli examples --run_dir="$run_dir" --out="$out_dir" "$@"
