#!/usr/bin/env bash
# Measure, on a fresh clone of this repository: the wall time and peak memory
# of scripts/setup.sh (venv, npm packages, data import, model training), then
# the start-up time and memory of the action server and of Rasa. Writes
# bench/setup.md. Takes 10 to 15 minutes on 2 cores.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$ROOT/scripts/env.sh"
data_dir="$SECONDE_CHANCE_DATA"

work=$(mktemp -d /tmp/seconde-chance-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
log "cloning into $work"
git clone --quiet "$ROOT" "$work/repo"
clone="$work/repo"

# A separate venv and var folder, as on a new machine; the pip and npm
# caches of this machine are still used.
export SECONDE_CHANCE_DATA="$data_dir"
export SECONDE_CHANCE_VENV="$clone/.venv" SECONDE_CHANCE_VAR="$clone/var"
export KNOWLEDGE_DATABASE_URL="sqlite:///$clone/var/knowledge.sqlite3"
export TRACKER_DB_URL="sqlite:///$clone/var/trackers.sqlite3"

log "running scripts/setup.sh"
/usr/bin/time -v "$clone/scripts/setup.sh" > "$work/model-path" 2> "$work/setup.log"
model=$(cat "$work/model-path")
setup_wall=$(grep "Elapsed (wall clock)" "$work/setup.log" | awk '{print $NF}')
setup_peak_kb=$(grep "Maximum resident set size" "$work/setup.log" | awk '{print $NF}')
steps=$(grep -E '^\[[0-9:]+\] ' "$work/setup.log" || true)

action_port=$(( 20000 + RANDOM % 10000 ))
rasa_port=$(( action_port + 1 ))
cd "$clone"
export ACTION_ENDPOINT_URL="http://127.0.0.1:$action_port/webhook"

start=$(date +%s.%N)
"$clone/.venv/bin/rasa" run actions --actions bot.actions --port "$action_port" > "$work/actions.log" 2>&1 &
action_pid=$!
"$clone/.venv/bin/rasa" run --model "$model" --endpoints endpoints.yml --credentials credentials.yml \
  --interface 127.0.0.1 --port "$rasa_port" > "$work/rasa.log" 2>&1 &
rasa_pid=$!

ready() { curl -fsS -o /dev/null "$1" 2>/dev/null; }
for _ in $(seq 600); do ready "http://127.0.0.1:$action_port/health" && break; sleep 0.5; done
actions_ready=$(echo "$(date +%s.%N) - $start" | bc)
for _ in $(seq 600); do ready "http://127.0.0.1:$rasa_port/webhooks/widget/" && break; sleep 0.5; done
rasa_ready=$(echo "$(date +%s.%N) - $start" | bc)
ready "http://127.0.0.1:$rasa_port/webhooks/widget/" || die "Rasa did not start; see $work/rasa.log"

# One search warms the knowledge index of the action server, as a first
# user would.
"$clone/.venv/bin/python" - "$rasa_port" <<'PY'
import sys, time, socketio
client = socketio.Client()
replies = []
client.on("bot_uttered", replies.append)
client.connect(f"http://127.0.0.1:{sys.argv[1]}", transports=["polling"])
client.emit("session_request", {"session_id": None})
time.sleep(1)
client.emit("user_uttered", {"message": "mission locale à Villeurbanne"})
deadline = time.time() + 60
while not replies and time.time() < deadline:
    time.sleep(0.2)
client.disconnect()
PY

rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$1/status"; }
hwm() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }

cat > "$ROOT/bench/setup.md" <<PAGE
# Set-up and start-up

Measured on $(date +%F) by \`bench/setup_and_startup.sh\` on a fresh clone, on
$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB of memory.
The machine's pip and npm caches were warm, so downloads took little time.

| step | wall time | peak memory |
|---|---|---|
| \`scripts/setup.sh\` (venv, npm packages, data import, training) | $setup_wall | $((setup_peak_kb / 1024)) MiB |
| action server ready (\`/health\` answers) | ${actions_ready%.*} s | $(hwm $action_pid) MiB after a first search |
| Rasa ready with the model (\`/webhooks/widget/\` answers) | ${rasa_ready%.*} s | $(hwm $rasa_pid) MiB |

Resident memory once idle: Rasa $(rss $rasa_pid) MiB, action server $(rss $action_pid) MiB.

Steps of the set-up, as logged by \`scripts/setup.sh\` (start times):

\`\`\`
$steps
\`\`\`
PAGE
log "wrote bench/setup.md"
