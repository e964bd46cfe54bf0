#!/usr/bin/env bash
# Regenerates the thesis's result tables (Figs. 21-23, 26-31): trains each experiment,
# evaluates it, and writes our numbers beside the thesis's into results/<mode>/.
#
#   bash reproduce.sh --full    thesis-scale runs (GPU; days per run). Resumable: rerun to
#                               continue; finished runs and evaluations are skipped.
#   bash reproduce.sh --quick   a scaled-down reproduction on the synthetic faces, ~45 min on
#                               a 2-core CPU: exp_vanilla, exp_condition, exp_consistency_300,
#                               exp_condition_4vars (and more with EXPERIMENTS="...").
#   bash reproduce.sh --smoke   seconds to minutes; the test suite runs it.
#
# Environment: PYTHON (default .venv/bin/python if present), RUNS_ROOT, RESULTS_DIR,
# EXPERIMENTS (space-separated names), EXTRA_FLAGS (passed to every experiment script).
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:---quick}"
case "$mode" in
  --full)
    size=full; protocol=thesis
    default_experiments="exp_vanilla exp_gradual_loss exp_unmask exp_append_simple exp_append_channels
      exp_condition exp_condition_8vars exp_condition_4vars exp_consistency_30 exp_consistency_300" ;;
  --quick)
    size=quick; protocol=quick
    default_experiments="exp_vanilla exp_condition exp_consistency_300 exp_condition_4vars" ;;
  --smoke)
    size=smoke; protocol=smoke
    default_experiments="exp_vanilla exp_condition" ;;
  *)
    echo "usage: bash reproduce.sh --full | --quick | --smoke" >&2; exit 2 ;;
esac
name="${mode#--}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
runs_root="${RUNS_ROOT:-runs/$name}"
results_dir="${RESULTS_DIR:-results/$name}"
experiments="${EXPERIMENTS:-$default_experiments}"
started=$(date +%s)

for experiment in $experiments; do
  run_dir="$runs_root/$experiment"
  script="experiments/$(echo "$experiment" | tr . _).py"
  echo "== $experiment: train ($size) -> $run_dir"
  # shellcheck disable=SC2086
  "$PYTHON" "$script" --size="$size" --model_dir="$run_dir" --progress_bar=false --export=false ${EXTRA_FLAGS:-}
  echo "== $experiment: evaluate ($protocol protocol)"
  "$PYTHON" -m progressive_infogan.evaluate --run_dir="$run_dir" --protocol="$protocol" --skip_if_done
done

echo "== tables -> $results_dir"
"$PYTHON" -m progressive_infogan.tables --runs_root="$runs_root" --out="$results_dir" --directions
echo "== done in $(( $(date +%s) - started )) s; see $results_dir/tables.md"
