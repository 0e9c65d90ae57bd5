"""Settings of the handoff service, read from environment variables.

Every process that touches handoff data (Rasa with its channels, the action
server, the handoff service and the operator CLI) calls `load_settings()` and
gets the same values from the same environment.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

__all__ = [
    "FORCE_OPEN_VALUES",
    "HandoffSettings",
    "REPO_ROOT",
    "default_database_url",
    "load_settings",
]

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent

DEFAULT_PORT = 5006
DEFAULT_HOST = "127.0.0.1"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_OFFICE_HOURS_FILE = PACKAGE_DIR / "office_hours.yml"
DEFAULT_MAX_WAIT_MINUTES = 20
# A queued conversation that no counsellor takes goes back to the bot after
# this many minutes, and the user is offered the e-mail follow-up.
DEFAULT_QUEUE_TIMEOUT_MINUTES = 30
DEFAULT_GRACE_SECONDS = 120
DEFAULT_RETENTION_DAYS = 30
DEFAULT_FOLLOWUP_RETENTION_DAYS = 30
DEFAULT_SMTP_PORT = 25

# Values accepted by HANDOFF_FORCE_OPEN; unset or empty means "follow the office hours".
FORCE_OPEN_VALUES = ("open", "closed")

_TRUE_VALUES = ("1", "true", "yes", "on")
_FALSE_VALUES = ("0", "false", "no", "off", "")

# A key generated when HANDOFF_SECRET_KEY is unset. It is generated once per
# process so that every `load_settings()` call of that process agrees.
_generated_secret_key: Optional[str] = None
_secret_key_warning_logged = False
_generated_secret_key_lock = threading.Lock()


@dataclass(frozen=True)
class HandoffSettings:
    """Configuration of the handoff service and of its clients.

    Attributes:
        database_url: SQLAlchemy URL of the handoff database (HANDOFF_DATABASE_URL).
        redis_url: URL of the Redis server shared with Rasa (REDIS_URL).
        host: address the console listens on (HANDOFF_HOST).
        port: TCP port of the console (HANDOFF_PORT).
        secret_key: key that signs console cookies (HANDOFF_SECRET_KEY).
        secret_key_generated: True when HANDOFF_SECRET_KEY was unset and
            `secret_key` is a random key that lives only as long as the process.
        rasa_url: base URL of Rasa's HTTP API (RASA_URL).
        rasa_token: token of Rasa's `--auth-token` option (RASA_TOKEN), or None.
        office_hours_file: YAML file of the opening hours (HANDOFF_OFFICE_HOURS_FILE).
        max_wait_minutes: estimated wait above which the bot offers an e-mail
            follow-up instead of the queue (HANDOFF_MAX_WAIT_MINUTES).
        queue_timeout_minutes: time a queued conversation waits for a
            counsellor before it goes back to the bot, which then offers the
            e-mail follow-up (HANDOFF_QUEUE_TIMEOUT_MINUTES).
        grace_seconds: time an active conversation stays with a disconnected
            counsellor before it goes back to the queue (HANDOFF_GRACE_SECONDS).
        retention_days: days a closed conversation, its messages and a finished
            follow-up are kept (HANDOFF_RETENTION_DAYS).
        followup_retention_days: days a pending follow-up keeps its e-mail
            address before it expires (FOLLOWUP_RETENTION_DAYS).
        smtp_host: SMTP server of the follow-up answers (SMTP_HOST), or None
            when e-mail is not configured.
        smtp_port: SMTP port (SMTP_PORT).
        smtp_from: sender address of the follow-up answers (SMTP_FROM).
        smtp_starttls: require STARTTLS (SMTP_STARTTLS).
        smtp_username: SMTP login (SMTP_USERNAME), or None for no authentication.
        smtp_password: SMTP password (SMTP_PASSWORD).
        force_open: "open" or "closed" to override the office hours
            (HANDOFF_FORCE_OPEN), None to follow them.
        cookie_secure: mark the console cookies Secure (HANDOFF_COOKIE_SECURE).
    """

    database_url: str
    redis_url: str = DEFAULT_REDIS_URL
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    secret_key: str = field(default="", repr=False)
    secret_key_generated: bool = False
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: Optional[str] = field(default=None, repr=False)
    office_hours_file: Path = DEFAULT_OFFICE_HOURS_FILE
    max_wait_minutes: int = DEFAULT_MAX_WAIT_MINUTES
    queue_timeout_minutes: int = DEFAULT_QUEUE_TIMEOUT_MINUTES
    grace_seconds: int = DEFAULT_GRACE_SECONDS
    retention_days: int = DEFAULT_RETENTION_DAYS
    followup_retention_days: int = DEFAULT_FOLLOWUP_RETENTION_DAYS
    smtp_host: Optional[str] = None
    smtp_port: int = DEFAULT_SMTP_PORT
    smtp_from: Optional[str] = None
    smtp_starttls: bool = False
    smtp_username: Optional[str] = None
    smtp_password: Optional[str] = field(default=None, repr=False)
    force_open: Optional[str] = None
    cookie_secure: bool = False


def default_database_url() -> str:
    """Return the default SQLite URL, `<repo>/var/handoff.sqlite3`."""
    return f"sqlite:///{REPO_ROOT / 'var' / 'handoff.sqlite3'}"


def load_settings(environ: Optional[Mapping[str, str]] = None, *, warn_missing_secret: bool = True) -> HandoffSettings:
    """Build the settings from the environment.

    When HANDOFF_SECRET_KEY is unset, a random key is generated once per process
    and a warning is logged: console sessions then do not survive a restart,
    and several service processes would not accept each other's cookies.

    Args:
        environ: variables to read; None reads `os.environ`.
        warn_missing_secret: log that warning; commands that sign nothing
            (the operator CLI except `serve`) turn it off.

    Raises:
        ValueError: a variable has an invalid value; the message names it.
    """
    env = os.environ if environ is None else environ

    secret_key = _text(env, "HANDOFF_SECRET_KEY")
    secret_key_generated = secret_key is None
    if secret_key is None:
        secret_key = _process_secret_key(warn_missing_secret)

    rasa_url = _text(env, "RASA_URL")
    if rasa_url is None:
        rasa_host = _text(env, "RASA_HOST") or "127.0.0.1"
        rasa_url = f"http://{rasa_host}:{_integer(env, 'RASA_PORT', 5005, minimum=1)}"

    office_hours_file = Path(_text(env, "HANDOFF_OFFICE_HOURS_FILE") or DEFAULT_OFFICE_HOURS_FILE).expanduser()
    if not office_hours_file.is_absolute():
        # Relative paths are relative to the repository, so that every process
        # reads the same file whatever its working directory.
        office_hours_file = REPO_ROOT / office_hours_file

    force_open = (_text(env, "HANDOFF_FORCE_OPEN") or "").lower() or None
    if force_open is not None and force_open not in FORCE_OPEN_VALUES:
        raise ValueError(
            f"Invalid HANDOFF_FORCE_OPEN={env.get('HANDOFF_FORCE_OPEN')!r}: expected 'open', 'closed' or nothing."
        )

    return HandoffSettings(
        database_url=_text(env, "HANDOFF_DATABASE_URL") or default_database_url(),
        redis_url=_text(env, "REDIS_URL") or DEFAULT_REDIS_URL,
        host=_text(env, "HANDOFF_HOST") or DEFAULT_HOST,
        port=_integer(env, "HANDOFF_PORT", DEFAULT_PORT, minimum=1, maximum=65535),
        secret_key=secret_key,
        secret_key_generated=secret_key_generated,
        rasa_url=rasa_url.rstrip("/"),
        rasa_token=_text(env, "RASA_TOKEN"),
        office_hours_file=office_hours_file,
        max_wait_minutes=_integer(env, "HANDOFF_MAX_WAIT_MINUTES", DEFAULT_MAX_WAIT_MINUTES, minimum=0),
        queue_timeout_minutes=_integer(
            env, "HANDOFF_QUEUE_TIMEOUT_MINUTES", DEFAULT_QUEUE_TIMEOUT_MINUTES, minimum=1
        ),
        grace_seconds=_integer(env, "HANDOFF_GRACE_SECONDS", DEFAULT_GRACE_SECONDS, minimum=0),
        retention_days=_integer(env, "HANDOFF_RETENTION_DAYS", DEFAULT_RETENTION_DAYS, minimum=1),
        followup_retention_days=_integer(
            env, "FOLLOWUP_RETENTION_DAYS", DEFAULT_FOLLOWUP_RETENTION_DAYS, minimum=1
        ),
        smtp_host=_text(env, "SMTP_HOST"),
        smtp_port=_integer(env, "SMTP_PORT", DEFAULT_SMTP_PORT, minimum=1, maximum=65535),
        smtp_from=_text(env, "SMTP_FROM"),
        smtp_starttls=_boolean(env, "SMTP_STARTTLS"),
        smtp_username=_text(env, "SMTP_USERNAME"),
        smtp_password=env.get("SMTP_PASSWORD") or None,
        force_open=force_open,
        cookie_secure=_boolean(env, "HANDOFF_COOKIE_SECURE"),
    )


def _process_secret_key(warn: bool) -> str:
    global _generated_secret_key, _secret_key_warning_logged
    with _generated_secret_key_lock:
        if _generated_secret_key is None:
            _generated_secret_key = secrets.token_urlsafe(32)
        if warn and not _secret_key_warning_logged:
            _secret_key_warning_logged = True
            logger.warning(
                "HANDOFF_SECRET_KEY is not set: using a random key for this process. "
                "Console sessions will not survive a restart; set HANDOFF_SECRET_KEY in production."
            )
        return _generated_secret_key


def _text(env: Mapping[str, str], name: str) -> Optional[str]:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _integer(
    env: Mapping[str, str], name: str, default: int, *, minimum: Optional[int] = None, maximum: Optional[int] = None
) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"Invalid {name}={raw!r}: expected an integer.") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"Invalid {name}={raw!r}: expected an integer >= {minimum}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"Invalid {name}={raw!r}: expected an integer <= {maximum}.")
    return value


def _boolean(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in _TRUE_VALUES:
        return True
    if raw in _FALSE_VALUES:
        return False
    raise ValueError(f"Invalid {name}={env.get(name)!r}: expected 1 or 0.")
