"""Routing of user messages: to a counsellor's conversation, or to the bot.

Channels call `Router.route(channel, sender_id)` for every user message. The
route is cached in Redis under `{prefix}route:{channel}:{sender_id}` (the
conversation id, or "bot") for 300 s. SQL is the source of truth: a missing
key, after a Redis restart for instance, is rebuilt from the database, and a
Redis error makes the router read SQL on every call until Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable, Optional

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from .store import open_conversation_for

__all__ = ["BOT", "DEFAULT_KEY_PREFIX", "DEFAULT_TTL_SECONDS", "Router"]

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "seconde_chance:"
DEFAULT_TTL_SECONDS = 300
# Cached value meaning "no open conversation: the bot answers".
BOT = "bot"
# While Redis is down every message hits the error, so it is logged at most
# once per this many seconds, with the count of the errors in between.
REDIS_ERROR_LOG_INTERVAL_SECONDS = 60


class Router:
    """Tells whether a user is with a counsellor, from the Redis cache or the database.

    Args:
        redis: a `redis.asyncio.Redis` client.
        session_factory: callable returning a new SQLAlchemy Session, e.g.
            `handoff.db.get_sessionmaker(url)`. It is called in a worker thread.
        key_prefix: prefix of the Redis keys; tests use their own.
        ttl_seconds: lifetime of a cached route, in seconds.

    Example:
        router = Router(redis, get_sessionmaker())
        conversation_id = await router.route("widget", sender_id)
        if conversation_id is None:
            ...  # Rasa answers
    """

    def __init__(
        self,
        redis: Redis,
        session_factory: Callable[[], Session],
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        self.redis = redis
        self.session_factory = session_factory
        self.key_prefix = key_prefix
        self.ttl_seconds = ttl_seconds
        self._redis_errors = 0
        self._redis_error_logged_at: Optional[float] = None

    def key(self, channel: str, sender_id: str) -> str:
        """Return the Redis key of a user's route."""
        return f"{self.key_prefix}route:{channel}:{sender_id}"

    async def route(self, channel: str, sender_id: str) -> Optional[str]:
        """Return the id of the user's open conversation, or None when the bot must answer.

        On a cache miss the database is read in a thread and the key is
        written back with SET NX: if the process that changed the status
        wrote the key in the meantime, its newer value wins.
        """
        key = self.key(channel, sender_id)
        try:
            cached = await self.redis.get(key)
        except RedisError as error:
            self._log_redis_error(error)
            return await self._route_from_database(channel, sender_id)
        if cached is not None:
            value = cached.decode() if isinstance(cached, bytes) else cached
            return None if value == BOT else value

        conversation_id = await self._route_from_database(channel, sender_id)
        try:
            await self.redis.set(key, conversation_id or BOT, ex=self.ttl_seconds, nx=True)
        except RedisError as error:
            self._log_redis_error(error)
        return conversation_id

    async def set(self, channel: str, sender_id: str, conversation_id: Optional[str]) -> None:
        """Record a user's new route; call it after the SQL commit that changed it.

        Args:
            channel: channel name.
            sender_id: the platform's id of the user.
            conversation_id: the open conversation, or None when the bot takes over.

        NOTE: when Redis fails here, the error is logged and the key is
        deleted if possible. If the delete fails too, a stale route may last
        until the key expires, at most `ttl_seconds` later.
        """
        key = self.key(channel, sender_id)
        try:
            await self.redis.set(key, conversation_id or BOT, ex=self.ttl_seconds)
        except RedisError as error:
            logger.error("Could not update the routing cache for conversation %s: %s", conversation_id, error)
            try:
                await self.redis.delete(key)
            except RedisError:
                pass

    async def forget(self, channel: str, sender_id: str) -> None:
        """Delete a user's cached route, so that the next `route` reads the database."""
        await self.redis.delete(self.key(channel, sender_id))

    def _log_redis_error(self, error: RedisError) -> None:
        self._redis_errors += 1
        now = time.monotonic()
        if self._redis_error_logged_at is None or now - self._redis_error_logged_at >= REDIS_ERROR_LOG_INTERVAL_SECONDS:
            logger.warning(
                "Routing cache unavailable, routes are read from the database (%d Redis error(s) since the last log): %s",
                self._redis_errors,
                error,
            )
            self._redis_errors = 0
            self._redis_error_logged_at = now

    async def _route_from_database(self, channel: str, sender_id: str) -> Optional[str]:
        return await asyncio.to_thread(self._read_open_conversation_id, channel, sender_id)

    def _read_open_conversation_id(self, channel: str, sender_id: str) -> Optional[str]:
        with self.session_factory() as session:
            conversation = open_conversation_for(session, channel, sender_id)
            return conversation.id if conversation is not None else None
