#!/usr/bin/env bash
# Issue #14: the new general base model (tiny: L2 H128, WordPiece 8,192 trained on pretrain_en_full),
# pretrained for ~30 M real tokens in resumable pieces. Run it again to continue where the last
# piece stopped (a checkpoint every 100 steps; resume is bit-exact). Needs the full corpus:
#   npm run datasets:build -- pretrain_en
# Piece 1 (2026-12-07) ran with --max-steps 8600; from piece 2 on the run is 9,200 steps
# (≈ 3,300 real tokens a step → ≈ 30.4 M tokens), which only stretches the linear decay.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
out=models/tiny-en-base-v2/run
resume=; [ -f "$out/config.json" ] && resume=--resume
exec node bin/tunebench.mjs pretrain -c packages/trainer/src/config/examples/pretrain_en.json --dataset pretrain_en_full \
  --out "$out" --max-steps "${MAX_STEPS:-9200}" --lr 1e-3 --set schedule.warmupSteps=800 --set training.saveEvery=100 \
  --set training.evalEvery=500 --set training.logEvery=25 $resume
