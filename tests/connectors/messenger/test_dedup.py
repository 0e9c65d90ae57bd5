"""Tests of connectors.messenger.dedup against the real Redis server."""

import asyncio

from redis.asyncio import Redis

from connectors.messenger.dedup import DEFAULT_TTL_SECONDS, EventDeduplicator
from tests.integration.stack import free_port


def deduplicator(redis_client, key_prefix, **options):
    return EventDeduplicator(redis_client, key_prefix=f"{key_prefix}event:", **options)


async def test_first_delivery_then_redelivery(redis_client, key_prefix):
    dedup = deduplicator(redis_client, key_prefix)
    assert await dedup.first_delivery("message:m_1") is True
    assert await dedup.first_delivery("message:m_1") is False


async def test_other_events_independent(redis_client, key_prefix):
    dedup = deduplicator(redis_client, key_prefix)
    assert await dedup.first_delivery("message:m_1") is True
    assert await dedup.first_delivery("message:m_2") is True
    assert await dedup.first_delivery("postback:m_1") is True


async def test_key_expires_after_a_day(redis_client, key_prefix):
    dedup = deduplicator(redis_client, key_prefix)
    await dedup.first_delivery("message:m_ttl")
    ttl = await redis_client.ttl(dedup.key("message:m_ttl"))
    assert DEFAULT_TTL_SECONDS - 5 <= ttl <= DEFAULT_TTL_SECONDS


async def test_key_forgotten_after_expiry(redis_client, key_prefix):
    dedup = deduplicator(redis_client, key_prefix, ttl_seconds=1)
    assert await dedup.first_delivery("message:m_short") is True
    await asyncio.sleep(1.2)
    assert await dedup.first_delivery("message:m_short") is True


async def test_concurrent_deliveries_one_wins(redis_client, key_prefix):
    dedup = deduplicator(redis_client, key_prefix)
    results = await asyncio.gather(*(dedup.first_delivery("message:m_race") for _ in range(10)))
    assert sorted(results) == [False] * 9 + [True]


async def test_two_processes_share_keys(redis_client, redis_url, key_prefix):
    other_client = Redis.from_url(redis_url)
    try:
        assert await deduplicator(redis_client, key_prefix).first_delivery("message:m_shared") is True
        assert await deduplicator(other_client, key_prefix).first_delivery("message:m_shared") is False
    finally:
        await other_client.close()


async def test_key_hides_message_id(redis_client, key_prefix):
    key = deduplicator(redis_client, key_prefix).key("message:m_" + "x" * 900)
    assert key.startswith(f"{key_prefix}event:")
    assert len(key) == len(f"{key_prefix}event:") + 32


async def test_event_without_key_always_handled(redis_client, key_prefix):
    dedup = deduplicator(redis_client, key_prefix)
    assert await dedup.first_delivery(None) is True
    assert await dedup.first_delivery(None) is True


async def test_redis_down_handles_event():
    unreachable = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    try:
        assert await EventDeduplicator(unreachable).first_delivery("message:m_down") is True
    finally:
        await unreachable.close()
