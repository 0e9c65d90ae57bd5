"""Tests of connectors.messenger.window against the real Redis server."""

import time

from redis.asyncio import Redis

from connectors.messenger.window import TTL_SECONDS, MessagingWindow
from tests.integration.stack import free_port

SENDER = "111111111111111:2468013579246801"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def window(redis_client, key_prefix, clock):
    return MessagingWindow(redis_client, key_prefix=f"{key_prefix}last_user:", clock=clock)


async def test_response_within_a_day(redis_client, key_prefix):
    clock = Clock(1_800_000_000.0)
    messaging = window(redis_client, key_prefix, clock)
    await messaging.record_user_message(SENDER)
    clock.now += 23 * 3600
    assert await messaging.messaging_type(SENDER) == ("RESPONSE", None)


async def test_human_agent_after_a_day(redis_client, key_prefix):
    clock = Clock(1_800_000_000.0)
    messaging = window(redis_client, key_prefix, clock)
    await messaging.record_user_message(SENDER)
    clock.now += 24 * 3600 + 1
    assert await messaging.messaging_type(SENDER) == ("MESSAGE_TAG", "HUMAN_AGENT")


async def test_human_agent_when_unknown(redis_client, key_prefix):
    messaging = window(redis_client, key_prefix, time.time)
    assert await messaging.messaging_type(SENDER) == ("MESSAGE_TAG", "HUMAN_AGENT")


async def test_meta_timestamp_used(redis_client, key_prefix):
    clock = Clock(1_800_000_000.0)
    messaging = window(redis_client, key_prefix, clock)
    await messaging.record_user_message(SENDER, timestamp_ms=int((clock.now - 3600) * 1000))
    assert await messaging.last_user_message(SENDER) == clock.now - 3600


async def test_future_timestamp_replaced_by_now(redis_client, key_prefix):
    clock = Clock(1_800_000_000.0)
    messaging = window(redis_client, key_prefix, clock)
    await messaging.record_user_message(SENDER, timestamp_ms=int((clock.now + 3600) * 1000))
    assert await messaging.last_user_message(SENDER) == clock.now


async def test_ancient_timestamp_replaced_by_now(redis_client, key_prefix):
    clock = Clock(1_800_000_000.0)
    messaging = window(redis_client, key_prefix, clock)
    await messaging.record_user_message(SENDER, timestamp_ms=1000)
    assert await messaging.last_user_message(SENDER) == clock.now


async def test_key_expires_after_eight_days(redis_client, key_prefix):
    messaging = window(redis_client, key_prefix, time.time)
    await messaging.record_user_message(SENDER)
    ttl = await redis_client.ttl(messaging.key(SENDER))
    assert TTL_SECONDS - 5 <= ttl <= TTL_SECONDS
    assert TTL_SECONDS == 8 * 24 * 3600


async def test_redis_down_means_human_agent():
    unreachable = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    try:
        messaging = MessagingWindow(unreachable)
        await messaging.record_user_message(SENDER)
        assert await messaging.messaging_type(SENDER) == ("MESSAGE_TAG", "HUMAN_AGENT")
    finally:
        await unreachable.close()
