"""Drop webhook events that Meta delivers more than once.

Meta delivers an event again when it got no 200 in time, and sometimes
anyway. The first delivery of an event sets a Redis key (``SET NX EX``), so a
redelivery finds the key, in this process or another one, even while the
first delivery is still being handled, and is dropped.
"""

import hashlib
import logging
from typing import Any, Optional, Text

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "seconde_chance:messenger:event:"
# Meta stops redelivering well within a day.
DEFAULT_TTL_SECONDS = 24 * 3600


class EventDeduplicator:
    """Remembers the events already received, in Redis.

    Args:
        redis_client: A ``redis.asyncio.Redis`` client.
        key_prefix: Prefix of the keys; tests use their own.
        ttl_seconds: How long an event is remembered.
    """

    def __init__(
        self, redis_client: Any, key_prefix: Text = DEFAULT_KEY_PREFIX, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> None:
        self._redis = redis_client
        self._key_prefix = key_prefix
        self._ttl_seconds = ttl_seconds

    def key(self, event_key: Text) -> Text:
        """Return the Redis key of an event; a hash keeps it short whatever the message id."""
        digest = hashlib.sha256(event_key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{self._key_prefix}{digest}"

    async def first_delivery(self, event_key: Optional[Text]) -> bool:
        """Record an event and return whether this is its first delivery.

        Returns True for an event without a key, and when Redis fails,
        because two replies to a message are better than none.
        """
        if event_key is None:
            return True
        try:
            created = await self._redis.set(self.key(event_key), b"1", nx=True, ex=self._ttl_seconds)
        except RedisError as error:
            logger.warning("Could not check for a redelivered event, handling it: %s", error)
            return True
        return bool(created)
