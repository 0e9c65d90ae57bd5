#!/usr/bin/env bash
# Run the whole test suite: set up what is needed, then pytest. Arguments are
# passed to pytest (e.g. `scripts/test.sh tests/knowledge -x`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"

SECONDE_CHANCE_MODEL=$("$ROOT/scripts/setup.sh")
export SECONDE_CHANCE_MODEL
ensure_postgres
: "${TEST_POSTGRES_URL:=postgresql://postgres@127.0.0.1:5432/postgres}"
export TEST_POSTGRES_URL

log "running the tests"
exec "$VENV/bin/python" -m pytest "${@:-tests}"
