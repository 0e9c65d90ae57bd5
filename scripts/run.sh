#!/usr/bin/env bash
# Set up what is needed, then run every process of the service in the
# foreground: action server, Rasa with the widget channel, demo page.
# Ctrl-C stops them all; in the background, where bash ignores SIGINT, use
# `kill PID` (SIGTERM).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"

model=$("$ROOT/scripts/setup.sh")
mkdir -p "$VAR_DIR/log"
# Logs hold conversation ids: they are kept as long as conversations.
find "$VAR_DIR/log" -name '*.log' -mtime +"${RETENTION_DAYS:-30}" -delete

pids=()
stop_all() {
  trap - EXIT INT TERM
  log "stopping the service"
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_all EXIT INT TERM

wait_for_http() {
  local url=$1 name=$2 seconds=$3
  for _ in $(seq $((seconds * 2))); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.5
  done
  die "$name did not answer at $url within ${seconds}s; see $VAR_DIR/log/"
}

log "starting the action server on 127.0.0.1:$ACTION_PORT"
# rasa-sdk binds to SANIC_HOST; the action server must not be reachable from
# other hosts, since it trusts every request.
SANIC_HOST=127.0.0.1 "$VENV/bin/rasa" run actions --actions bot.actions --port "$ACTION_PORT" \
  > >(tee -a "$VAR_DIR/log/actions.log") 2>&1 &
pids+=($!)

log "starting Rasa on $RASA_HOST:$RASA_PORT with $(basename "$model")"
"$VENV/bin/rasa" run --model "$model" --endpoints endpoints.yml \
  --credentials credentials.yml --interface "$RASA_HOST" --port "$RASA_PORT" \
  --enable-api --auth-token "$RASA_TOKEN" \
  > >(tee -a "$VAR_DIR/log/rasa.log") 2>&1 &
pids+=($!)

log "starting the handoff service (counsellor console) on 127.0.0.1:$HANDOFF_PORT"
"$VENV/bin/python" -m handoff -v serve --host 127.0.0.1 --port "$HANDOFF_PORT" \
  > >(tee -a "$VAR_DIR/log/handoff.log") 2>&1 &
pids+=($!)

log "starting the demo page on port $DEMO_PORT"
"$VENV/bin/python" -m connectors.widget.demo_server --host 127.0.0.1 --port "$DEMO_PORT" \
  --rasa-url "http://$RASA_HOST:$RASA_PORT" \
  > >(tee -a "$VAR_DIR/log/demo.log") 2>&1 &
pids+=($!)

wait_for_http "http://127.0.0.1:$ACTION_PORT/health" "the action server" 120
wait_for_http "http://$RASA_HOST:$RASA_PORT/webhooks/widget/" "Rasa" 300
wait_for_http "http://127.0.0.1:$DEMO_PORT/healthz" "the demo page" 30
wait_for_http "http://127.0.0.1:$HANDOFF_PORT/healthz" "the handoff service" 60
log "ready: the chat at http://127.0.0.1:$DEMO_PORT, the counsellor console at http://127.0.0.1:$HANDOFF_PORT (Ctrl-C to stop)"
log "create a counsellor account with: .venv/bin/python -m handoff create-user LOGIN --role admin"

# Stop everything as soon as one process exits.
wait -n "${pids[@]}"
die "a process of the service stopped; see $VAR_DIR/log/"
