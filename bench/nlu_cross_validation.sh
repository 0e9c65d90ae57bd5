#!/usr/bin/env bash
# Measure the NLU model by 5-fold cross-validation of bot/data/nlu.yml and
# write the figures to their section of bench/nlu.md. Takes about 5
# trainings of the model. The FallbackClassifier is switched off for the run,
# so that the page can compare thresholds on the model's own confidences.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"

folds="${FOLDS:-5}"
out="$ROOT/bench/work/nlu-cv"
rm -rf "$out"
mkdir -p "$out"

"$VENV/bin/python" - "$out/config-no-fallback.yml" <<'PYTHON'
import sys
import yaml

config = yaml.safe_load(open("config.yml", encoding="utf-8"))
for component in config["pipeline"]:
    if component.get("name") == "FallbackClassifier":
        component["threshold"] = 0.0
        component["ambiguity_threshold"] = 0.0
    if component.get("name", "").endswith("SafetyRulesClassifier"):
        component["fallback_threshold"] = 0.0
yaml.safe_dump(config, open(sys.argv[1], "w", encoding="utf-8"), allow_unicode=True, sort_keys=False)
PYTHON

# The knowledge database gives the commune names of the CommuneNameFeaturizer.
"$ROOT/scripts/setup.sh" --without-model >&2
write_commune_names

log "cross-validating the NLU model over $folds folds"
start=$(date +%s)
/usr/bin/time -v "$VENV/bin/rasa" test nlu --nlu bot/data/nlu.yml --config "$out/config-no-fallback.yml" \
  --cross-validation --folds "$folds" --successes --out "$out" \
  > "$out/rasa.log" 2> "$out/time.log" || { tail -30 "$out/rasa.log" "$out/time.log"; exit 1; }
seconds=$(( $(date +%s) - start ))
peak_kb=$(grep "Maximum resident set size" "$out/time.log" | awk '{print $NF}')

PYTHONPATH="$ROOT" "$VENV/bin/python" bench/summarize_nlu.py "$out" --folds "$folds" \
  --seconds "$seconds" --peak-kb "$peak_kb"
log "wrote the cross-validation section of bench/nlu.md"
