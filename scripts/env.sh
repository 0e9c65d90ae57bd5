# Default environment of the service. Source it; every value can be overridden
# by exporting the variable before.

: "${SECONDE_CHANCE_DATA:=$ROOT/../shared/data}"
: "${KNOWLEDGE_DATABASE_URL:=sqlite:///$VAR_DIR/knowledge.sqlite3}"

: "${REDIS_HOST:=127.0.0.1}"
: "${REDIS_PORT:=6379}"
: "${REDIS_LOCK_DB:=1}"
: "${REDIS_URL:=redis://$REDIS_HOST:$REDIS_PORT/0}"

: "${TRACKER_DB_DIALECT:=sqlite}"
: "${TRACKER_DB_URL:=sqlite:///$VAR_DIR/trackers.sqlite3}"

: "${RASA_HOST:=127.0.0.1}"
: "${RASA_PORT:=5005}"
: "${ACTION_PORT:=5055}"
: "${ACTION_ENDPOINT_URL:=http://127.0.0.1:$ACTION_PORT/webhook}"
: "${DEMO_PORT:=8080}"
: "${HANDOFF_PORT:=5006}"
: "${HANDOFF_DATABASE_URL:=sqlite:///$VAR_DIR/handoff.sqlite3}"
: "${RASA_URL:=http://$RASA_HOST:$RASA_PORT}"
# Token of Rasa's HTTP API, which the handoff service uses to resume a
# conversation; a new random one per run unless set.
: "${RASA_TOKEN:=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
: "${WIDGET_ALLOWED_ORIGINS:=*}"
# Telegram bot (connectors/telegram/README.md); empty turns the channel off.
: "${TELEGRAM_BOT_TOKEN:=}"
: "${TELEGRAM_WEBHOOK_URL:=}"
: "${TELEGRAM_SECRET_TOKEN:=}"
: "${TELEGRAM_API_URL:=}"

export SECONDE_CHANCE_DATA KNOWLEDGE_DATABASE_URL REDIS_HOST REDIS_PORT REDIS_LOCK_DB \
  REDIS_URL TRACKER_DB_DIALECT TRACKER_DB_URL RASA_HOST RASA_PORT ACTION_PORT \
  ACTION_ENDPOINT_URL DEMO_PORT WIDGET_ALLOWED_ORIGINS HANDOFF_PORT HANDOFF_DATABASE_URL RASA_URL RASA_TOKEN
export TELEGRAM_BOT_TOKEN TELEGRAM_WEBHOOK_URL TELEGRAM_SECRET_TOKEN TELEGRAM_API_URL
# Facebook Messenger (connectors/messenger/README.md). An empty app secret or
# pages file turns the channel off.
: "${MESSENGER_APP_SECRET:=}"
: "${MESSENGER_VERIFY_TOKEN:=}"
: "${MESSENGER_PAGES_FILE:=}"
: "${MESSENGER_GRAPH_API_URL:=}"
export MESSENGER_APP_SECRET MESSENGER_VERIFY_TOKEN MESSENGER_PAGES_FILE MESSENGER_GRAPH_API_URL

# Quieter third-party start-up: TensorFlow's C++ banner and SQLAlchemy's
# notice about 2.0, which Rasa 3.6 cannot use.
: "${TF_CPP_MIN_LOG_LEVEL:=2}"
: "${SQLALCHEMY_SILENCE_UBER_WARNING:=1}"
export TF_CPP_MIN_LOG_LEVEL SQLALCHEMY_SILENCE_UBER_WARNING
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

# Rasa reports usage and errors to its vendor unless told not to; this
# service sends nothing about its users' conversations to third parties.
export RASA_TELEMETRY_ENABLED=false
