"""Tests of handoff.events against the real Redis, on a channel of the test's own."""

from __future__ import annotations

import json

import pytest

from handoff import events


@pytest.fixture
def channel(key_prefix):
    return f"{key_prefix}events"


async def test_publish_received_by_subscriber(redis_client, channel):
    async with events.subscribe(redis_client, channel=channel) as subscription:
        receivers = await events.publish_queue_changed(redis_client, "c1", channel=channel)
        received = await subscription.get(timeout=2)
    assert receivers == 1
    assert received == {"type": "queue_changed", "conversation_id": "c1"}


async def test_publish_each_type(redis_client, channel):
    async with events.subscribe(redis_client, channel=channel) as subscription:
        await events.publish_user_message(redis_client, "c1", 42, channel=channel)
        await events.publish_user_typing(redis_client, "c1", channel=channel)
        await events.publish_delivered(redis_client, "c1", [7, 8], channel=channel)
        received = [await subscription.get(timeout=2) for _ in range(3)]
    assert received == [
        {"type": "user_message", "conversation_id": "c1", "message_id": 42},
        {"type": "user_typing", "conversation_id": "c1"},
        {"type": "delivered", "conversation_id": "c1", "message_ids": [7, 8]},
    ]


async def test_subscriber_skips_invalid_messages(redis_client, channel):
    async with events.subscribe(redis_client, channel=channel) as subscription:
        await redis_client.publish(channel, "pas du JSON")
        await redis_client.publish(channel, json.dumps({"type": "unknown"}))
        await events.publish_queue_changed(redis_client, "c2", channel=channel)
        received = await subscription.get(timeout=2)
    assert received["conversation_id"] == "c2"


async def test_subscription_get_timeout(redis_client, channel):
    async with events.subscribe(redis_client, channel=channel) as subscription:
        assert await subscription.get(timeout=0.2) is None


async def test_subscription_async_iteration(redis_client, channel):
    async with events.subscribe(redis_client, channel=channel) as subscription:
        await events.publish_user_typing(redis_client, "c3", channel=channel)
        async for event in subscription:
            break
    assert event == {"type": "user_typing", "conversation_id": "c3"}


async def test_publish_rejects_invalid_event(redis_client, channel):
    with pytest.raises(ValueError):
        await events.publish(redis_client, {"type": "user_message", "conversation_id": "c1"}, channel=channel)


def test_default_channel_name():
    assert events.EVENTS_CHANNEL == "seconde_chance:handoff:events"


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[1, 2]",
        b'{"type": "nope", "conversation_id": "c"}',
        b'{"type": "user_message", "conversation_id": "c"}',
        b'{"type": "user_message", "conversation_id": "c", "message_id": true}',
        b'{"type": "delivered", "conversation_id": "c", "message_ids": ["1"]}',
        b'{"type": "queue_changed", "conversation_id": 5}',
    ],
)
def test_parse_event_rejects(data):
    assert events.parse_event(data) is None


def test_parse_event_accepts_bytes():
    assert events.parse_event(b'{"type": "queue_changed", "conversation_id": "c"}') == events.queue_changed("c")
