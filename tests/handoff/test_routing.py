"""Tests of handoff.routing against the real Redis and a migrated SQLite database."""

from __future__ import annotations

import socket

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from handoff import store
from handoff.db import get_sessionmaker
from handoff.models import Counsellor
from handoff.routing import BOT, Router


@pytest.fixture
def router(redis_client, key_prefix, sqlite_url):
    return Router(redis_client, get_sessionmaker(sqlite_url), key_prefix=key_prefix)


def escalate(sqlite_url, sender_id="sender-1"):
    with get_sessionmaker(sqlite_url)() as session:
        conversation = store.escalate(session, channel="widget", sender_id=sender_id, reason="user_request")
        session.commit()
        return conversation.id


async def flush_prefix(redis, prefix):
    """Delete the keys of this test only, as a Redis restart would (never FLUSHALL: Redis is shared)."""
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)


async def test_route_unknown_is_bot(router, redis_client):
    assert await router.route("widget", "nobody") is None
    assert await redis_client.get(router.key("widget", "nobody")) == BOT.encode()


async def test_route_open_conversation(router, sqlite_url):
    conversation_id = escalate(sqlite_url)
    await router.set("widget", "sender-1", conversation_id)
    assert await router.route("widget", "sender-1") == conversation_id


async def test_route_key_name(router, key_prefix):
    assert router.key("widget", "abc") == f"{key_prefix}route:widget:abc"


async def test_route_default_key_name(redis_client, sqlite_url):
    default_router = Router(redis_client, get_sessionmaker(sqlite_url))
    assert default_router.key("widget", "abc") == "seconde_chance:route:widget:abc"


async def test_route_rebuilt_after_keys_lost(router, redis_client, key_prefix, sqlite_url):
    conversation_id = escalate(sqlite_url)
    await router.set("widget", "sender-1", conversation_id)
    await flush_prefix(redis_client, key_prefix)
    assert await redis_client.get(router.key("widget", "sender-1")) is None
    assert await router.route("widget", "sender-1") == conversation_id
    assert await redis_client.get(router.key("widget", "sender-1")) == conversation_id.encode()
    ttl = await redis_client.ttl(router.key("widget", "sender-1"))
    assert 0 < ttl <= 300


async def test_route_miss_reads_sql_not_stale_bot(router, redis_client, sqlite_url):
    assert await router.route("widget", "sender-1") is None
    conversation_id = escalate(sqlite_url)
    # The key still says "bot" until the escalating process calls set().
    await router.set("widget", "sender-1", conversation_id)
    assert await router.route("widget", "sender-1") == conversation_id


async def test_route_after_hand_back(router, sqlite_url, test_password_hash):
    conversation_id = escalate(sqlite_url)
    await router.set("widget", "sender-1", conversation_id)
    with get_sessionmaker(sqlite_url)() as session:
        counsellor = Counsellor(login="alice", display_name="Alice", password_hash=test_password_hash)
        session.add(counsellor)
        session.flush()
        store.hand_back(session, conversation_id, counsellor.id)
        session.commit()
    await router.set("widget", "sender-1", None)
    assert await router.route("widget", "sender-1") is None


async def test_route_rebuild_keeps_newer_set(router, redis_client, redis_url, sqlite_url):
    other_process = SyncRedis.from_url(redis_url)
    sessions = get_sessionmaker(sqlite_url)
    key = router.key("widget", "sender-1")

    def session_while_status_changes():
        # Another process escalates and sets the route while this one reads SQL.
        other_process.set(key, "c" * 32, ex=300)
        return sessions()

    router.session_factory = session_while_status_changes
    try:
        assert await router.route("widget", "sender-1") is None
        assert await redis_client.get(key) == b"c" * 32
    finally:
        other_process.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_route_redis_down_reads_sql(sqlite_url):
    conversation_id = escalate(sqlite_url)
    unreachable = Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=0.5)
    try:
        router = Router(unreachable, get_sessionmaker(sqlite_url))
        assert await router.route("widget", "sender-1") == conversation_id
        assert await router.route("widget", "other") is None
    finally:
        await unreachable.close()
