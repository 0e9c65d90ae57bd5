#!/usr/bin/env bash
# Train the Rasa model unless one with the current fingerprint exists, and
# print its path on stdout. Needs the Python environment of scripts/setup.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"

[ -x "$VENV/bin/rasa" ] || die "no Python environment in $VENV: run scripts/setup.sh first"

# The commune names come from the open data, so they are written here
# rather than kept in bot/data (knowledge/nlu_names.py).
write_commune_names

# The fingerprint covers the pipeline, the domain and the training data, so
# a change of code alone keeps the model.
fingerprint=$(model_fingerprint)
model="$ROOT/models/seconde-chance-$fingerprint.tar.gz"
if [ ! -f "$model" ]; then
  log "training the model $fingerprint (several minutes)"
  start=$(date +%s)
  PYTHONPATH="$ROOT" "$VENV/bin/rasa" train \
    --domain bot/domain --data bot/data --config config.yml \
    --out models --fixed-model-name "seconde-chance-$fingerprint" >&2
  # bench/nlu_test_set.sh reports this duration on bench/nlu.md.
  echo $(( $(date +%s) - start )) > "${model%.tar.gz}.train-seconds"
fi
echo "$model"
