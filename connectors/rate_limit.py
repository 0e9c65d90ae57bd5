"""Per-user message rate limit, shared by every channel.

A script, a stuck key or a copy-paste loop can send hundreds of messages a
minute. Each one costs a prediction of the NLU model, or a line in a
counsellor's console during a handoff. Each channel calls
:meth:`RateLimit.check` before it hands a user's message on:

* under the limit, the message is handled as usual;
* the first message over the limit gets one French notice: the next messages
  of the minute will not be read;
* later messages of that minute are left out.

Channels call :meth:`RateLimit.admit`, which also sends the notice and logs
the refusal. The log names the user by a reference the channel gives,
because each channel has its own rule for naming a user without personal data.

NOTE: during a handoff, the messages left out do not reach the counsellor,
and the console does not show that some were left out.

NOTE: the count is a fixed window per minute of the clock, so a burst that
straddles two windows can get up to twice the limit through. The limit is
far above what a person types on a phone, so this only matters for scripts.
"""

import enum
import logging
import time
from typing import Awaitable, Callable, Text

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# A person typing short messages on a phone sends about one every 3 s at
# most (an estimate), so 30 a minute leaves room for bursts of short replies.
DEFAULT_MAX_MESSAGES_PER_MINUTE = 30

WINDOW_SECONDS = 60

RATE_LIMITED_MESSAGE = (
    "Tu m'as envoyé beaucoup de messages en très peu de temps. Pendant une minute au "
    "plus, je ne lirai pas les suivants : attends un peu, puis renvoie-moi ta question."
)


def limit_from_setting(value: object) -> int:
    """Return the messages allowed per minute for a value of credentials.yml.

    An absent or empty value gives the default, and 0 turns the limit off.

    Raises:
        ValueError: the value is not a whole number.
    """
    if value is None or str(value).strip() == "":
        return DEFAULT_MAX_MESSAGES_PER_MINUTE
    return int(str(value).strip())


class Verdict(enum.Enum):
    """Decision of the rate limit on one message."""

    ALLOWED = "allowed"
    # The first message over the limit in its window: the channel sends the notice.
    FIRST_OVER_LIMIT = "first_over_limit"
    # Later messages of the same window: the user already got the notice.
    OVER_LIMIT = "over_limit"


class RateLimit:
    """Per-user message counter in Redis, one count per minute.

    Args:
        redis_client: A ``redis.asyncio.Redis`` client.
        channel: Channel name, part of every key.
        max_per_minute: Messages a user may send in one window; 0 or less
            turns the limit off.
        clock: Returns the current time in seconds, for tests.
    """

    def __init__(
        self,
        redis_client: object,
        channel: Text,
        max_per_minute: int = DEFAULT_MAX_MESSAGES_PER_MINUTE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis_client
        self._channel = channel
        self.max_per_minute = max_per_minute
        self._clock = clock

    def _key(self, sender_id: Text) -> Text:
        window = int(self._clock() // WINDOW_SECONDS)
        return f"seconde_chance:rate:{self._channel}:{sender_id}:{window}"

    async def check(self, sender_id: Text) -> Verdict:
        """Count one message of a user and return what to do with it.

        A Redis failure lets the message through: the limit protects the
        service, and must never silence a user on its own fault.
        """
        if self.max_per_minute <= 0:
            return Verdict.ALLOWED

        key = self._key(sender_id)
        pipeline = self._redis.pipeline()
        pipeline.incr(key)
        # Two windows, so that the key outlives its own minute whatever the clock skew.
        pipeline.expire(key, 2 * WINDOW_SECONDS)
        try:
            count, _ = await pipeline.execute()
        except RedisError as error:
            logger.warning("Rate limit of %s skipped: Redis failed: %s", self._channel, error)
            return Verdict.ALLOWED

        if count <= self.max_per_minute:
            return Verdict.ALLOWED
        if count == self.max_per_minute + 1:
            return Verdict.FIRST_OVER_LIMIT
        return Verdict.OVER_LIMIT

    async def admit(self, sender_id: Text, notify: Callable[[Text], Awaitable[None]], user_ref: Text) -> bool:
        """Count one message, send the notice on the first one over the limit, and return whether to handle it.

        Args:
            sender_id: The conversation's sender id, counted under this channel.
            notify: Sends a text to the user.
            user_ref: How the logs name the user, without personal data.
        """
        verdict = await self.check(sender_id)
        if verdict is Verdict.ALLOWED:
            return True

        if verdict is Verdict.FIRST_OVER_LIMIT:
            logger.info("%s on %s went over %d messages a minute.", user_ref, self._channel, self.max_per_minute)
            await notify(RATE_LIMITED_MESSAGE)
        else:
            logger.info("Left out a message of %s on %s: over the rate limit.", user_ref, self._channel)
        return False
