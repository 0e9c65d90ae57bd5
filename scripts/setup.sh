#!/usr/bin/env bash
# Set up what the service needs, doing only the steps whose inputs changed:
# Python venv, widget packages, Redis, data import, model training.
# Prints the path of the trained model on stdout; with --without-model it
# stops before the training (scripts/train.sh does that step alone).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"
mkdir -p "$VAR_DIR"

# 1. Python 3.10 virtual environment from the lock file.
lock_sha=$(sha256sum requirements.lock | cut -c1-64)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.lock-sha256" 2>/dev/null)" != "$lock_sha" ]; then
  python310=$(find_python310)
  log "creating the Python environment in $VENV with $python310 (a few minutes)"
  "$python310" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "pip==24.0"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements.lock
  "$VENV/bin/pip" check >&2
  echo "$lock_sha" > "$VENV/.lock-sha256"
fi

# 2. Front-end packages of the widget, from the npm registry.
widget_dir="$ROOT/connectors/widget"
npm_sha=$(sha256sum "$widget_dir/package-lock.json" | cut -c1-64)
if [ ! -d "$widget_dir/node_modules" ] || [ "$(cat "$widget_dir/node_modules/.lock-sha256" 2>/dev/null)" != "$npm_sha" ]; then
  command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js 18 or newer"
  log "installing the widget's npm packages"
  (cd "$widget_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$npm_sha" > "$widget_dir/node_modules/.lock-sha256"
fi

# 3. Redis, for the lock store, the socket.io queue and the offered payloads.
ensure_redis

# 4. Open data into the knowledge database, when the files changed.
[ -d "$SECONDE_CHANCE_DATA" ] || die "data folder $SECONDE_CHANCE_DATA not found: set SECONDE_CHANCE_DATA (see knowledge/README.md)"
"$VENV/bin/python" -m knowledge import --if-changed >&2

# 5. The handoff database, migrated to the latest schema.
"$VENV/bin/python" -m handoff db upgrade >&2

# 6. The Rasa model, when the training data, domain or pipeline changed.
if [ "${1:-}" = "--without-model" ]; then
  exit 0
fi
exec "$ROOT/scripts/train.sh"
