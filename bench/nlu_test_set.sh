#!/usr/bin/env bash
# Evaluate the trained model on the held-out test set tests/nlu/data/test_set.yml
# and write the figures to their section of bench/nlu.md. Trains the model first when
# scripts/setup.sh finds it missing; SECONDE_CHANCE_MODEL=models/NAME.tar.gz
# evaluates that model instead.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"

model="${SECONDE_CHANCE_MODEL:-}"
if [ -z "$model" ]; then
  model=$("$ROOT/scripts/setup.sh")
fi
[ -f "$model" ] || die "model not found: $model"
out="$ROOT/bench/work/nlu-test-set"
rm -rf "$out"
mkdir -p "$out"

log "evaluating $(basename "$model") on tests/nlu/data/test_set.yml"
start=$(date +%s)
/usr/bin/time -v "$VENV/bin/rasa" test nlu --nlu tests/nlu/data/test_set.yml --model "$model" \
  --successes --out "$out" > "$out/rasa.log" 2> "$out/time.log" || { tail -30 "$out/rasa.log" "$out/time.log"; exit 1; }
seconds=$(( $(date +%s) - start ))
peak_kb=$(grep "Maximum resident set size" "$out/time.log" | awk '{print $NF}')

# scripts/train.sh writes the training time beside the model it trains.
train_seconds_file="${model%.tar.gz}.train-seconds"
train_seconds=$(cat "$train_seconds_file" 2>/dev/null || echo 0)

PYTHONPATH="$ROOT" "$VENV/bin/python" bench/summarize_nlu.py "$out" --test-set tests/nlu/data/test_set.yml \
  --train-seconds "$train_seconds" \
  --model "models/$(basename "$model")" --seconds "$seconds" --peak-kb "$peak_kb"
log "wrote the held-out test set section of bench/nlu.md"
