"""Settings that only the console reads, from environment variables.

The shared settings (database, Redis, Rasa, SMTP, grace period) are in
`handoff.config`. These ones exist so that tests and a second installation
on the same Redis can keep their keys and events apart. In production they
keep their defaults, because the Rasa process and the action server use the
same defaults to publish events and to read the routing cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional

from ..events import EVENTS_CHANNEL
from ..routing import DEFAULT_KEY_PREFIX

__all__ = ["ConsoleOptions"]


@dataclass(frozen=True)
class ConsoleOptions:
    """Console-only settings.

    Attributes:
        redis_key_prefix: prefix of the Redis keys: routing cache, login
            rate limit, follow-up locks (HANDOFF_REDIS_KEY_PREFIX).
        events_channel: Redis pub/sub channel of the handoff events
            (HANDOFF_EVENTS_CHANNEL).
        release_interval_seconds: period of the task that returns to the
            queue the conversations of disconnected counsellors
            (HANDOFF_RELEASE_INTERVAL_SECONDS).
        release_startup_delay_seconds: wait before that task first runs after
            a start, so that the counsellors' browsers can reconnect after a
            restart (HANDOFF_RELEASE_STARTUP_DELAY_SECONDS).
        heartbeat_seconds: how often an open WebSocket marks its counsellor
            as present (HANDOFF_HEARTBEAT_SECONDS); keep it well below
            HANDOFF_GRACE_SECONDS.
    """

    redis_key_prefix: str = DEFAULT_KEY_PREFIX
    events_channel: str = EVENTS_CHANNEL
    release_interval_seconds: float = 10.0
    release_startup_delay_seconds: float = 30.0
    heartbeat_seconds: float = 20.0

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "ConsoleOptions":
        """Read the options from the environment.

        Raises:
            ValueError: a variable is not a positive number; the message names it.
        """
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            redis_key_prefix=(env.get("HANDOFF_REDIS_KEY_PREFIX") or "").strip() or defaults.redis_key_prefix,
            events_channel=(env.get("HANDOFF_EVENTS_CHANNEL") or "").strip() or defaults.events_channel,
            release_interval_seconds=_seconds(
                env, "HANDOFF_RELEASE_INTERVAL_SECONDS", defaults.release_interval_seconds
            ),
            release_startup_delay_seconds=_seconds(
                env, "HANDOFF_RELEASE_STARTUP_DELAY_SECONDS", defaults.release_startup_delay_seconds, minimum=0.0
            ),
            heartbeat_seconds=_seconds(env, "HANDOFF_HEARTBEAT_SECONDS", defaults.heartbeat_seconds),
        )


def _seconds(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.1) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"Invalid {name}={raw!r}: expected a number of seconds.") from None
    if value < minimum:
        raise ValueError(f"Invalid {name}={raw!r}: expected at least {minimum} seconds.")
    return value
