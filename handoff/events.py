"""Notifications between the handoff processes, over Redis pub/sub.

Every event goes to one channel, `seconde_chance:handoff:events`, as a JSON
object with a "type" and the fields below. Events only signal that something
changed: the data itself is read from SQL, where it was written before the
event was published, so a subscriber that missed an event loses nothing but
a refresh.

| type            | fields                           | published after                          |
|-----------------|----------------------------------|------------------------------------------|
| `queue_changed` | `conversation_id`                | escalation, claim, release, close, hand-back, transfer |
| `user_message`  | `conversation_id`, `message_id`  | a user message stored in a conversation  |
| `user_typing`   | `conversation_id`                | the user typing (widget throttles to one per 2 s) |
| `delivered`     | `conversation_id`, `message_ids` | the user's channel acknowledged messages |
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, AsyncIterator, Iterable, Optional

from redis.asyncio import Redis

__all__ = [
    "EVENTS_CHANNEL",
    "EVENT_FIELDS",
    "EventSubscription",
    "delivered",
    "parse_event",
    "publish",
    "publish_delivered",
    "publish_queue_changed",
    "publish_user_message",
    "publish_user_typing",
    "queue_changed",
    "subscribe",
    "user_message",
    "user_typing",
]

logger = logging.getLogger(__name__)

EVENTS_CHANNEL = "seconde_chance:handoff:events"

# Required fields of each event type, with their Python types.
EVENT_FIELDS: dict[str, dict[str, type]] = {
    "queue_changed": {"conversation_id": str},
    "user_message": {"conversation_id": str, "message_id": int},
    "user_typing": {"conversation_id": str},
    "delivered": {"conversation_id": str, "message_ids": list},
}

# Seconds to wait for Redis to confirm a subscription.
SUBSCRIBE_TIMEOUT_SECONDS = 5.0


def queue_changed(conversation_id: str) -> dict[str, Any]:
    """Return a `queue_changed` event."""
    return {"type": "queue_changed", "conversation_id": conversation_id}


def user_message(conversation_id: str, message_id: int) -> dict[str, Any]:
    """Return a `user_message` event."""
    return {"type": "user_message", "conversation_id": conversation_id, "message_id": int(message_id)}


def user_typing(conversation_id: str) -> dict[str, Any]:
    """Return a `user_typing` event."""
    return {"type": "user_typing", "conversation_id": conversation_id}


def delivered(conversation_id: str, message_ids: Iterable[int]) -> dict[str, Any]:
    """Return a `delivered` event."""
    return {"type": "delivered", "conversation_id": conversation_id, "message_ids": [int(i) for i in message_ids]}


def parse_event(data: bytes | str) -> Optional[dict[str, Any]]:
    """Decode a pub/sub message into an event, or return None when it is not a valid one.

    A valid event is a JSON object whose "type" is a key of `EVENT_FIELDS`
    and which has each field of that type. Extra fields are kept.
    """
    try:
        event = json.loads(data)
    except (TypeError, ValueError):
        return None
    if not isinstance(event, dict):
        return None
    fields = EVENT_FIELDS.get(event.get("type"))
    if fields is None:
        return None
    for name, expected_type in fields.items():
        value = event.get(name)
        # bool is an int subclass, but True is no message id.
        if not isinstance(value, expected_type) or isinstance(value, bool):
            return None
    if "message_ids" in fields and not all(
        isinstance(value, int) and not isinstance(value, bool) for value in event["message_ids"]
    ):
        return None
    return event


async def publish(redis: Redis, event: dict[str, Any], *, channel: str = EVENTS_CHANNEL) -> int:
    """Publish an event and return the number of subscribers that received it.

    Raises:
        ValueError: the event does not match its type in `EVENT_FIELDS`.
        redis.exceptions.RedisError: Redis is unavailable. The data is already
            in SQL, so callers usually log this and go on.
    """
    data = json.dumps(event, ensure_ascii=False)
    if parse_event(data) is None:
        raise ValueError(f"invalid handoff event of type {event.get('type')!r}")
    return await redis.publish(channel, data)


async def publish_queue_changed(redis: Redis, conversation_id: str, *, channel: str = EVENTS_CHANNEL) -> int:
    """Publish `queue_changed` for a conversation."""
    return await publish(redis, queue_changed(conversation_id), channel=channel)


async def publish_user_message(
    redis: Redis, conversation_id: str, message_id: int, *, channel: str = EVENTS_CHANNEL
) -> int:
    """Publish `user_message` for a stored user message."""
    return await publish(redis, user_message(conversation_id, message_id), channel=channel)


async def publish_user_typing(redis: Redis, conversation_id: str, *, channel: str = EVENTS_CHANNEL) -> int:
    """Publish `user_typing` for a conversation."""
    return await publish(redis, user_typing(conversation_id), channel=channel)


async def publish_delivered(
    redis: Redis, conversation_id: str, message_ids: Iterable[int], *, channel: str = EVENTS_CHANNEL
) -> int:
    """Publish `delivered` for messages the user's channel acknowledged."""
    return await publish(redis, delivered(conversation_id, message_ids), channel=channel)


class EventSubscription:
    """A subscription to the handoff events, used as an async context manager.

    Entering waits until Redis confirms the subscription, so an event
    published after `async with` returns is received. Iterating yields the
    valid events; invalid messages are logged at debug level and skipped.

    Example:
        async with subscribe(redis) as events:
            async for event in events:
                if event["type"] == "queue_changed":
                    ...
    """

    def __init__(self, redis: Redis, channel: str = EVENTS_CHANNEL) -> None:
        self.redis = redis
        self.channel = channel
        self._pubsub = None

    async def __aenter__(self) -> "EventSubscription":
        self._pubsub = self.redis.pubsub()
        await self._pubsub.subscribe(self.channel)
        confirmation = await self._pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_SECONDS)
        if confirmation is None or confirmation.get("type") != "subscribe":
            await self._close()
            raise TimeoutError(f"Redis did not confirm the subscription to {self.channel}")
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._close()

    async def _close(self) -> None:
        if self._pubsub is not None:
            pubsub, self._pubsub = self._pubsub, None
            try:
                await pubsub.unsubscribe(self.channel)
            finally:
                await pubsub.close()

    async def get(self, timeout: float) -> Optional[dict[str, Any]]:
        """Return the next valid event, or None when none arrives within `timeout` seconds."""
        if self._pubsub is None:
            raise RuntimeError("use the subscription inside `async with`")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=remaining)
            if message is None:
                continue
            event = self._decode(message)
            if event is not None:
                return event

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        if self._pubsub is None:
            raise RuntimeError("use the subscription inside `async with`")
        async for message in self._pubsub.listen():
            if message.get("type") != "message":
                continue
            event = self._decode(message)
            if event is not None:
                yield event

    def _decode(self, message: dict[str, Any]) -> Optional[dict[str, Any]]:
        event = parse_event(message.get("data"))
        if event is None:
            logger.debug("Skipped an invalid message on %s", self.channel)
        return event


def subscribe(redis: Redis, *, channel: str = EVENTS_CHANNEL) -> EventSubscription:
    """Return a subscription to the handoff events; use it with `async with`."""
    return EventSubscription(redis, channel)
