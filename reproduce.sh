#!/usr/bin/env bash
# Regenerates the thesis's result tables (Figs. 21-23, 26-31) and scores its findings: trains
# each experiment for each seed, evaluates it, and writes our numbers beside the thesis's into
# results/<mode>/ (mean ± sd over seeds; per-seed values in fig<N>_seeds.csv).
#
#   bash reproduce.sh --full --data_dir=DIR   thesis-scale runs (GPU; days per run)
#   bash reproduce.sh --cpu --seeds=0,1,2      the evidence: the eight experiments whose findings the
#                                             thesis compares, at the `cpu` size, over seeds (25-35
#                                             CPU minutes of training plus 5-15 of evaluation per
#                                             experiment and seed, measured on a shared 2-core CPU)
#   bash reproduce.sh --quick                 a scaled-down reproduction on the synthetic faces
#                                             (~35 min per seed on a 2-core CPU)
#   bash reproduce.sh --smoke                 seconds to minutes; the test suite runs it
#
# Options (after the mode):
#   --seeds=0,1,2        seeds to train and evaluate (default 0). Seed 0 lives in RUNS_ROOT/<exp>,
#                        seed N in RUNS_ROOT/<exp>_seed<N>.
#   --data_dir=DIR       the dataset's TFRecords (data_prep/), passed to every experiment.
#   --allow_synthetic    --full only: train on the synthetic faces, whose numbers are not
#                        comparable with the thesis's CelebA-HQ values.
#
# Resumable: rerun the same command to continue. A finished run is not retrained (its script
# resumes at its last step and returns) and a finished evaluation is skipped, so the evidence
# can be built over several sittings. Each evaluated run's record (config.json, identity.json,
# run_options.json, launches.jsonl, metrics.jsonl) is copied to RESULTS_DIR/runs/<run>/, and
# the tables are built from those records: commit them, and a later sitting on another machine skips those runs.
# A run that stops early (SIGTERM: its script exits 75)
# stops this script, with the same code, before its evaluation.
#
# Environment: PYTHON (default .venv/bin/python if present), RUNS_ROOT, RESULTS_DIR,
# EXPERIMENTS (space-separated names), EXTRA_FLAGS (passed to every experiment script).
set -euo pipefail
cd "$(dirname "$0")"

usage="usage: bash reproduce.sh --full|--cpu|--quick|--smoke [--seeds=0,1,2] [--data_dir=DIR] [--allow_synthetic]"
mode="${1:---quick}"
invocation="bash reproduce.sh ${*:-$mode}"
[ $# -gt 0 ] && shift
seeds="0"; data_dir=""; allow_synthetic=0
for argument in "$@"; do
  case "$argument" in
    --seeds=*) seeds="${argument#--seeds=}" ;;
    --data_dir=*) data_dir="${argument#--data_dir=}" ;;
    --allow_synthetic) allow_synthetic=1 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
metrics="fid,msssim_diversity,infogan,isolation"
case "$mode" in
  --full)
    size=full; protocol=thesis
    default_experiments="exp_vanilla exp_gradual_loss exp_unmask exp_append_simple exp_append_channels
      exp_condition exp_condition_8vars exp_condition_4vars exp_consistency_30 exp_consistency_300"
    if [ -z "$data_dir" ] && [ "$allow_synthetic" = 0 ]; then
      echo "reproduce.sh --full: give the thesis's dataset with --data_dir=DIR (e.g. CelebA-HQ prepared by" \
           "data_prep/), or --allow_synthetic to train on the synthetic faces, whose numbers are not" \
           "comparable with the thesis's" >&2
      exit 2
    fi ;;
  --cpu)
    size=cpu; protocol=quick
    metrics="$metrics,disentanglement,latent_spread"
    default_experiments="exp_vanilla exp_condition exp_consistency_30 exp_consistency_300 exp_condition_8vars
      exp_condition_4vars exp_noinfo exp_append_simple" ;;
  --quick)
    size=quick; protocol=quick
    default_experiments="exp_vanilla exp_condition exp_consistency_300 exp_condition_4vars" ;;
  --smoke)
    size=smoke; protocol=smoke
    default_experiments="exp_vanilla exp_condition" ;;
  *)
    echo "$usage" >&2; exit 2 ;;
esac
name="${mode#--}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
runs_root="${RUNS_ROOT:-runs/$name}"
results_dir="${RESULTS_DIR:-results/$name}"
records_dir="$results_dir/runs"
experiments="${EXPERIMENTS:-$default_experiments}"
data_flag=""
[ -n "$data_dir" ] && data_flag="--data_dir=$data_dir"
fromrgb=$(echo "${EXTRA_FLAGS:-}" | grep -o -- '--fromrgb_image_diffs=[0-9]*' | cut -d= -f2 || true)
echo "== $size size, seeds $seeds, data: ${data_dir:-the synthetic faces (default)}"
echo "== D's fromRGB sees ${fromrgb:-0} image-difference input(s) (0: the original HEAD; the thesis runs most" \
     "likely had 2: EXTRA_FLAGS=--fromrgb_image_diffs=2)"
started=$(date +%s)

for experiment in $experiments; do
  for seed in ${seeds//,/ }; do
    run_dir="$runs_root/$experiment"
    [ "$seed" != 0 ] && run_dir="${run_dir}_seed$seed"
    script="experiments/$experiment.py"
    # A run's record (config, identity, run options, launches, metrics) is kept in the results,
    # which are committed; its checkpoints are not. A run recorded in an earlier sitting, perhaps
    # on another machine, is not retrained.
    record="$records_dir/$(basename "$run_dir")"
    if [ ! -d "$run_dir" ] && [ -s "$record/metrics.jsonl" ]; then
      echo "== $experiment seed $seed: finished in an earlier sitting (record $record); not retrained"
      continue
    fi
    echo "== $experiment seed $seed: train ($size) -> $run_dir"
    # Only a run that trained to its end is evaluated: a stop by SIGTERM/SIGINT exits 75 after
    # its checkpoint, any failure non-zero, and either ends this script with that code.
    status=0
    # shellcheck disable=SC2086
    "$PYTHON" "$script" --size="$size" --model_dir="$run_dir" --seed="$seed" --progress_bar=false --export=false \
      $data_flag ${EXTRA_FLAGS:-} || status=$?
    if [ "$status" -eq 75 ]; then
      echo "== $experiment seed $seed: training stopped before its end (checkpointed); rerun '$invocation'" \
           "to resume" >&2
      exit 75
    elif [ "$status" -ne 0 ]; then
      echo "== $experiment seed $seed: training failed (exit $status); not evaluated" >&2
      exit "$status"
    fi
    echo "== $experiment seed $seed: evaluate ($protocol protocol)"
    "$PYTHON" -m progressive_infogan.evaluate --run_dir="$run_dir" --protocol="$protocol" --metrics="$metrics" \
      --skip_if_done
    mkdir -p "$record"
    for file in config.json identity.json run_options.json launches.jsonl metrics.jsonl; do
      if [ -f "$run_dir/$file" ]; then cp "$run_dir/$file" "$record/"; fi
    done
  done
done

echo "== tables -> $results_dir"
readme_flag=""
# The README's results section of this mode is generated, when the results go to their default place.
if [ -z "${RESULTS_DIR:-}" ] && grep -q "<!-- results:$name begin -->" README.md; then readme_flag="--readme=README.md"; fi
"$PYTHON" -m progressive_infogan.tables --runs_root="$records_dir" --out="$results_dir" --findings $readme_flag
echo "== done in $(( $(date +%s) - started )) s; see $results_dir/tables.md and $results_dir/findings.md"
