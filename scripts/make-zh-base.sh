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
ck=$out/checkpoint
steps=${MAX_STEPS:-1500}
step_of() { [ -f "$1/trainer_state.json" ] && node -e "console.log(require('./$1/trainer_state.json').step ?? '')" || true; }
# Already made from this run: nothing to do (a resume at the last step would only redo the final
# evaluation and restamp the committed files with today's commit and timings).
if [ "$(step_of "$ck")" = "$steps" ] && [ "$(step_of models/tiny-zh-base)" = "$steps" ] \
  && cmp -s "$ck/model.safetensors" models/tiny-zh-base/model.safetensors; then
  echo "models/tiny-zh-base is already the $steps-step checkpoint of $out; nothing to do"
  exit 0
fi
resume=; [ -f "$out/config.json" ] && resume=--resume
node bin/tunebench.mjs pretrain --init models/tiny-en-base --dataset zh_pretrain --out "$out" \
  --max-steps "$steps" --lr 5e-4 --set schedule.warmupSteps=150 \
  --set tokenizer.extendCorpus=zh_pretrain --set tokenizer.extendSize=4000 --set tokenizer.growInit=mean \
  --set data.general=pretrain_en --set data.generalRatio=0.2 \
  --set training.batchSize=32 --set data.maxLength=128 \
  --set training.saveEvery=100 --set training.evalEvery=250 --set training.logEvery=25 $resume
[ "$(step_of "$ck")" = "$steps" ] || { echo "make-zh-base: $ck is not at step $steps yet; run again to continue" >&2; exit 1; }
cp "$ck/config.json" "$ck/model.safetensors" "$ck/vocab.txt" "$ck/trainer_state.json" models/tiny-zh-base/
cp "$out/config.json" models/tiny-zh-base/run_config.json
cp "$out/log.txt" models/tiny-zh-base/train_log.txt
cp "$out/metrics.json" models/tiny-zh-base/metrics.json
echo "models/tiny-zh-base: written from $ck"
