"""When each user last wrote, which decides how a counsellor reply may be sent.

Messenger lets a page reply freely for 24 hours after the user's last
message (``messaging_type: RESPONSE``). After that, and up to 7 days, a
message written by a person must carry the ``HUMAN_AGENT`` tag; later,
Messenger refuses it. The channel records the time of every user message in
Redis and the sender reads it.
"""

import logging
import time
from typing import Any, Callable, Optional, Text, Tuple

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

KEY_PREFIX = "seconde_chance:messenger:last_user:"
# A day longer than the HUMAN_AGENT window, after which nothing can be sent anyway.
TTL_SECONDS = 8 * 24 * 3600
RESPONSE_WINDOW_SECONDS = 24 * 3600
# A Meta timestamp further in the future than this is not trusted; the server's clock is used instead.
MAX_CLOCK_SKEW_SECONDS = 300

RESPONSE = "RESPONSE"
MESSAGE_TAG = "MESSAGE_TAG"
HUMAN_AGENT_TAG = "HUMAN_AGENT"


class MessagingWindow:
    """The time of each user's last message, in Redis.

    Args:
        redis_client: A ``redis.asyncio.Redis`` client.
        key_prefix: Prefix of the keys; tests use their own.
        clock: Returns the current time in seconds since the epoch.
    """

    def __init__(
        self, redis_client: Any, key_prefix: Text = KEY_PREFIX, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = redis_client
        self._key_prefix = key_prefix
        self._clock = clock

    def key(self, sender_id: Text) -> Text:
        """Return the Redis key of a user."""
        return f"{self._key_prefix}{sender_id}"

    async def record_user_message(self, sender_id: Text, timestamp_ms: Optional[int] = None) -> None:
        """Record that the user wrote, at Meta's timestamp when it is plausible, else now.

        A Redis failure is logged: the sender then uses the HUMAN_AGENT tag,
        which is valid within the 24 hours too.
        """
        now = self._clock()
        at = now
        if timestamp_ms is not None:
            sent = timestamp_ms / 1000
            if now - TTL_SECONDS < sent <= now + MAX_CLOCK_SKEW_SECONDS:
                at = min(sent, now)
        try:
            await self._redis.set(self.key(sender_id), repr(at), ex=TTL_SECONDS)
        except RedisError as error:
            logger.warning("Could not record the time of a Messenger user's message: %s", error)

    async def last_user_message(self, sender_id: Text) -> Optional[float]:
        """Return when the user last wrote, in seconds since the epoch, or None when unknown."""
        try:
            value = await self._redis.get(self.key(sender_id))
        except RedisError as error:
            logger.warning("Could not read the time of a Messenger user's last message: %s", error)
            return None
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            return None

    async def messaging_type(self, sender_id: Text) -> Tuple[Text, Optional[Text]]:
        """Return ``(messaging_type, tag)`` for a message written by a counsellor.

        ``("RESPONSE", None)`` within 24 hours of the user's last message,
        else ``("MESSAGE_TAG", "HUMAN_AGENT")``, also when the time is unknown.
        """
        last = await self.last_user_message(sender_id)
        if last is not None and self._clock() - last <= RESPONSE_WINDOW_SECONDS:
            return RESPONSE, None
        return MESSAGE_TAG, HUMAN_AGENT_TAG
