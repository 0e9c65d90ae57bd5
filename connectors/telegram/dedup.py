"""De-duplication of webhook updates by update_id, in Redis.

Telegram sends an update again when the webhook does not respond with 2xx
in time, and several Rasa processes may receive the copies. The first process
to set the update's key handles it; the key expires after a day, longer than
Telegram keeps an update waiting (24 hours, Bot API documentation of
getUpdates).
"""

import logging
from typing import Any, Text

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 24 * 3600


class UpdateDeduplicator:
    """Records the update ids already taken.

    Args:
        redis_client: a ``redis.asyncio.Redis`` client.
        key_prefix: prefix of the keys, which should name the bot, because
            update ids count per bot.
        ttl_seconds: lifetime of a key.
    """

    def __init__(self, redis_client: Any, key_prefix: Text, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._redis = redis_client
        self._key_prefix = key_prefix
        self._ttl_seconds = ttl_seconds

    def key(self, update_id: int) -> Text:
        """Return the Redis key of an update id."""
        return f"{self._key_prefix}update:{update_id}"

    async def first_delivery(self, update_id: int) -> bool:
        """Take an update id; return False when it was taken before.

        When Redis is unavailable the update counts as new: replying twice
        is better than not replying.
        """
        try:
            is_new = await self._redis.set(self.key(update_id), b"1", nx=True, ex=self._ttl_seconds)
        except RedisError as error:
            logger.warning("De-duplication of update %s skipped, Redis failed: %s", update_id, error)
            return True
        return bool(is_new)
