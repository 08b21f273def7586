#!/usr/bin/env bash
# Training-speed A/B (issue #13 target 1): the whole tiny / mini MLM training step of
# packages/trainer/src/bench/encoder_layer.ts, run alternately (A B A B …, separate processes) from
# another checkout A (e.g. a worktree of an older commit with its node_modules) and this one (B),
# so drift hits both. Prints each run's line and the mean tokens/s ratio B / A per preset.
#
#   scripts/ab-train-speed.sh A_DIR [pairs, default 4] [presets, default 'tiny mini'] [steps, default 4]
#   e.g. git worktree add --detach /tmp/base 52274e3 && (cd /tmp/base && npm ci) && scripts/ab-train-speed.sh /tmp/base
set -euo pipefail
A=$(cd "$1" && pwd)
PAIRS=${2:-4}
PRESETS=${3:-tiny mini}
STEPS=${4:-4}
B=$(cd "$(dirname "$0")/.." && pwd)
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
run() { (cd "$1" && npx tsx packages/trainer/src/bench/encoder_layer.ts "$2" --steps "$STEPS" 2>&1 | grep -E 'tokens/s' | tail -1); }
tps() { grep -oE '[0-9.]+ training tokens/s' <<<"$1" | head -1 | awk '{print $1}'; }
echo "A = $A ($(git -C "$A" rev-parse --short HEAD)), B = $B ($(git -C "$B" rev-parse --short HEAD)), $(nproc) cores"
for preset in $PRESETS; do
  sa=0; sb=0
  for i in $(seq 1 "$PAIRS"); do
    la=$(cut -d' ' -f1 /proc/loadavg); ra=$(run "$A" "$preset")
    lb=$(cut -d' ' -f1 /proc/loadavg); rb=$(run "$B" "$preset")
    ta=$(tps "$ra"); tb=$(tps "$rb")
    echo "$preset pair $i: A (load $la) $ra"
    echo "$preset pair $i: B (load $lb) $rb  ratio $(awk -v a="$ta" -v b="$tb" 'BEGIN{printf "%.2f", b/a}')"
    sa=$(awk -v s="$sa" -v t="$ta" 'BEGIN{print s+t}'); sb=$(awk -v s="$sb" -v t="$tb" 'BEGIN{print s+t}')
  done
  echo "$preset: mean tokens/s A $(awk -v s="$sa" -v n="$PAIRS" 'BEGIN{printf "%.0f", s/n}'), B $(awk -v s="$sb" -v n="$PAIRS" 'BEGIN{printf "%.0f", s/n}'), ratio B/A $(awk -v a="$sa" -v b="$sb" 'BEGIN{printf "%.2f", b/a}')"
done
