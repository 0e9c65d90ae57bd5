#!/usr/bin/env bash
# Measure the NLU model by 5-fold cross-validation of bot/data/nlu.yml and
# write the figures to bench/nlu.md. Takes about 5 trainings of the model.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"

folds="${FOLDS:-5}"
out="$ROOT/bench/work/nlu-cv"
rm -rf "$out"
mkdir -p "$out"

log "cross-validating the NLU model over $folds folds"
start=$(date +%s)
/usr/bin/time -v "$VENV/bin/rasa" test nlu --nlu bot/data/nlu.yml --config config.yml \
  --cross-validation --folds "$folds" --out "$out" \
  > "$out/rasa.log" 2> "$out/time.log" || { tail -30 "$out/rasa.log" "$out/time.log"; exit 1; }
seconds=$(( $(date +%s) - start ))
peak_kb=$(grep "Maximum resident set size" "$out/time.log" | awk '{print $NF}')

"$VENV/bin/python" bench/summarize_nlu.py "$out" --folds "$folds" \
  --seconds "$seconds" --peak-kb "$peak_kb" > bench/nlu.md
log "wrote bench/nlu.md"
