#!/usr/bin/env bash
# Issue #15: the Chinese-capable base models/tiny-zh-base, which the fewshot suite scores zh_poetry
# from. models/tiny-en-base with its vocabulary extended by a 4,000-piece Chinese WordPiece fitted on
# zh_pretrain's training rows (old ids and old tokenizations unchanged; new rows = mean of the old
# embeddings), then continued masked-LM pretraining on zh_pretrain mixed with 20 % English
# (pretrain_en) so it keeps its English. Resumable: run it again to continue where the last piece
# stopped (a checkpoint every 100 steps; resume is bit-exact). zh_pretrain holds no zh_poetry poem.
# At the end the final checkpoint is copied to models/tiny-zh-base (without the optimizer state),
# with the run's resolved config, log and metrics; run/ itself is not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
out=models/tiny-zh-base/run
resume=; [ -f "$out/config.json" ] && resume=--resume
node bin/tunebench.mjs pretrain --init models/tiny-en-base --dataset zh_pretrain --out "$out" \
  --max-steps "${MAX_STEPS:-1500}" --lr 5e-4 --set schedule.warmupSteps=150 \
  --set tokenizer.extendCorpus=zh_pretrain --set tokenizer.extendSize=4000 --set tokenizer.growInit=mean \
  --set data.general=pretrain_en --set data.generalRatio=0.2 \
  --set training.batchSize=32 --set data.maxLength=128 \
  --set training.saveEvery=100 --set training.evalEvery=250 --set training.logEvery=25 $resume
ck=$out/checkpoint
[ "$(node -e "console.log(require('./$ck/trainer_state.json').step ?? '')")" = "${MAX_STEPS:-1500}" ] || { echo "make-zh-base: $ck is not at step ${MAX_STEPS:-1500} yet; run again to continue" >&2; exit 1; }
cp "$ck/config.json" "$ck/model.safetensors" "$ck/vocab.txt" "$ck/trainer_state.json" models/tiny-zh-base/
cp "$out/config.json" models/tiny-zh-base/run_config.json
cp "$out/log.txt" models/tiny-zh-base/train_log.txt
cp "$out/metrics.json" models/tiny-zh-base/metrics.json
echo "models/tiny-zh-base: written from $ck"
