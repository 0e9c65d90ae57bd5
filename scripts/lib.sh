# Shared shell helpers for the set-up, run and test scripts. Source it, do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SECONDE_CHANCE_VENV:-$ROOT/.venv}"
VAR_DIR="${SECONDE_CHANCE_VAR:-$ROOT/var}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Print the path of a Python 3.10 interpreter: Rasa 3.6 does not run on 3.11.
find_python310() {
  local candidate
  for candidate in "${PYTHON310:-}" python3.10 \
      "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  die "Python 3.10 not found: install it or set PYTHON310=/path/to/python3.10"
}

# Start Redis on 127.0.0.1:6379 unless something already answers there.
ensure_redis() {
  local url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
  if redis-cli -u "$url" ping >/dev/null 2>&1; then
    return 0
  fi
  case "$url" in
    redis://127.0.0.1:6379*|redis://localhost:6379*) ;;
    *) die "Redis does not answer at $url; start it or fix REDIS_URL" ;;
  esac
  command -v redis-server >/dev/null 2>&1 || die "redis-server not found: install Redis (apt-get install redis-server)"
  log "starting Redis on 127.0.0.1:6379"
  mkdir -p "$VAR_DIR"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$VAR_DIR" --logfile "$VAR_DIR/redis.log"
  for _ in $(seq 50); do
    redis-cli -u "$url" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "Redis did not start; see $VAR_DIR/redis.log"
}

# Start PostgreSQL's local cluster unless it already answers on 127.0.0.1.
ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    return 0
  fi
  command -v pg_ctlcluster >/dev/null 2>&1 || die "PostgreSQL does not answer on 127.0.0.1:5432 and pg_ctlcluster is missing"
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || die "PostgreSQL does not answer on 127.0.0.1:5432 and no cluster is configured"
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 100); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return 0
    sleep 0.1
  done
  die "PostgreSQL did not start"
}

# The commune names that the model's CommuneNameFeaturizer reads, generated
# from the knowledge database (write_commune_names).
export SECONDE_CHANCE_COMMUNE_NAMES="$VAR_DIR/nlu/communes.txt"

# Write the commune names file; it changes only when the open data does.
write_commune_names() {
  "$VENV/bin/python" -m knowledge nlu-names --out "$SECONDE_CHANCE_COMMUNE_NAMES" >&2
}

# Print a short fingerprint of the files that a trained model depends on.
model_fingerprint() {
  (cd "$ROOT" && cat config.yml bot/domain/*.yml bot/data/*.yml "$SECONDE_CHANCE_COMMUNE_NAMES" | sha256sum | cut -c1-12)
}
