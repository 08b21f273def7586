#!/usr/bin/env bash
# Issue #14: the learning-rate / warm-up probe for the tiny base recipe (run after the v2 base, so
# post hoc: it checks the recipe that was used, it did not choose it). Each pair (peak lr, warm-up
# steps) pretrains the tiny shape from scratch for PROBE_STEPS steps (batch 32 × 128, linear warm-up
# then linear decay to 0 at the last step, the v2 recipe otherwise, the shipped 8,192 vocabulary) on
# pretrain_en_full and reports the held-out dev MLM loss / accuracy at the end.
#   bash scripts/lr-probe-base.sh [out dir, default bench-results/lr-probe]
# Needs the full corpus: npm run datasets:build -- pretrain_en
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
OUT=${1:-bench-results/lr-probe}
STEPS=${PROBE_STEPS:-300}
PAIRS=${PROBE_PAIRS:-"5e-4:30 1e-3:30 1e-3:150 2e-3:150 3e-3:150"}
mkdir -p "$OUT"
for pair in $PAIRS; do
  lr=${pair%%:*}; wu=${pair##*:}
  dir="$OUT/lr${lr}_wu${wu}"
  resume=; [ -f "$dir/config.json" ] && resume=--resume
  [ -f "$dir/metrics.json" ] && { echo "== $pair done"; continue; }
  echo "== lr $lr warm-up $wu ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))"
  node bin/tunebench.mjs pretrain -c packages/trainer/src/config/examples/pretrain_en.json --dataset pretrain_en_full \
    --vocab models/tiny-en-base/vocab.txt --out "$dir" --max-steps "$STEPS" --lr "$lr" \
    --set schedule.warmupSteps="$wu" --set training.saveEvery=100 --set training.evalEvery="$STEPS" \
    --set training.logEvery=25 --seed 42 $resume
done
