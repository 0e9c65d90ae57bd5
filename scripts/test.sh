#!/usr/bin/env bash
# Run the test suite. Without arguments, run all of it: the tests that need
# no model run while the model trains, then the integration tests run with
# the model. With arguments, set everything up first, then pass them to
# pytest (e.g. `scripts/test.sh tests/knowledge -x`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"

ensure_postgres
: "${TEST_POSTGRES_URL:=postgresql://postgres@127.0.0.1:5432/postgres}"
export TEST_POSTGRES_URL

if [ "$#" -gt 0 ]; then
  SECONDE_CHANCE_MODEL=$("$ROOT/scripts/setup.sh")
  export SECONDE_CHANCE_MODEL
  log "running the tests"
  exec "$VENV/bin/python" -m pytest "$@"
fi

"$ROOT/scripts/setup.sh" --without-model

# Training takes a third of the run on a 2-core machine, and only the tests
# under tests/integration need the model, so the others run meanwhile.
mkdir -p "$VAR_DIR"
train_log="$VAR_DIR/train.log"
model_path_file="$VAR_DIR/trained-model-path"
"$ROOT/scripts/train.sh" >"$model_path_file" 2>"$train_log" &
train_pid=$!

status=0
log "running the tests that need no model while the model trains (log: $train_log)"
"$VENV/bin/python" -m pytest tests --ignore=tests/integration || status=$?

if ! wait "$train_pid"; then
  tail -n 30 "$train_log" >&2
  die "the training failed; see $train_log"
fi
SECONDE_CHANCE_MODEL=$(cat "$model_path_file")
export SECONDE_CHANCE_MODEL

log "running the integration tests with $(basename "$SECONDE_CHANCE_MODEL")"
"$VENV/bin/python" -m pytest tests/integration || status=$?
exit "$status"
