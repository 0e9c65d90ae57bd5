"""Tests of connectors.user_input."""

import pytest
from redis import asyncio as aioredis

from connectors.user_input import (
    OfferedPayloads,
    clean_typed_text,
    is_payload,
    location_payload,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("/restart", "restart"),
        ('/ask_counsellor{"x":1}', 'ask_counsellor{"x":1}'),
        ("  / /restart", "restart"),
        ("\u00a0/greet", "greet"),
        ("//find_place", "find_place"),
        ("bonjour", "bonjour"),
        ("a/b", "a/b"),
        ("ligne 1\nligne 2", "ligne 1\nligne 2"),
        ("bip\x07bip", "bip bip"),
        ("   ", ""),
        ("", ""),
        ("/", ""),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ],
    ids=[
        "restart", "intent-with-entities", "spaces-between-slashes", "nbsp-before-slash",
        "double-slash", "plain", "slash-inside", "newlines-kept", "control-char",
        "blank", "empty", "slash-only", "html-kept-as-text",
    ],
)
def test_clean_typed_text_cases(raw, expected):
    cleaned, truncated = clean_typed_text(raw)
    assert cleaned == expected
    assert truncated is False


def test_clean_typed_text_never_starts_with_prefix():
    for raw in ["/a", " /a", "\t/\n/a", "/ " * 50 + "x"]:
        cleaned, _ = clean_typed_text(raw)
        assert not cleaned.startswith("/")


def test_clean_typed_text_truncates_long_text():
    cleaned, truncated = clean_typed_text("é" * 10_000, max_chars=2000)
    assert truncated is True
    assert len(cleaned) == 2000


def test_clean_typed_text_keeps_end_of_long_text():
    text = "bla " * 1000 + "je veux me suicider ce soir"
    cleaned, _ = clean_typed_text(text, max_chars=2000)
    assert cleaned.endswith("je veux me suicider ce soir")
    assert cleaned.startswith("bla bla")
    assert "[…]" in cleaned


def test_clean_typed_text_normalises_to_nfc():
    cleaned, _ = clean_typed_text("e\u0301cole")
    assert cleaned == "\u00e9cole"


def test_is_payload():
    assert is_payload("/find_place")
    assert is_payload("  /find_place")
    assert not is_payload("find_place")


@pytest.mark.parametrize(
    "latitude, longitude, expected",
    [
        (45.76712, 4.88049, '/share_location{"latitude": 45.767, "longitude": 4.88}'),
        ("45.5", "4.5", '/share_location{"latitude": 45.5, "longitude": 4.5}'),
        (-20.9, 55.45, '/share_location{"latitude": -20.9, "longitude": 55.45}'),
    ],
    ids=["floats-rounded", "strings", "southern-hemisphere"],
)
def test_location_payload_valid(latitude, longitude, expected):
    assert location_payload(latitude, longitude) == expected


@pytest.mark.parametrize(
    "latitude, longitude",
    [
        (91, 0), (0, 181), ("nan", 0), (float("inf"), 0), (None, 1),
        ("45}; /restart", 4), (True, False), ([45], 4), ({}, 4),
    ],
    ids=[
        "lat-out-of-range", "lon-out-of-range", "nan", "infinite", "missing",
        "injection", "booleans", "list", "dict",
    ],
)
def test_location_payload_invalid(latitude, longitude):
    assert location_payload(latitude, longitude) is None


async def test_offered_payloads_round_trip(redis_url, unique_id):
    client = aioredis.Redis.from_url(redis_url)
    registry = OfferedPayloads(client, "test", ttl_seconds=60)
    try:
        await registry.remember(unique_id, ["/find_place", '/inform_location{"commune_insee": "93066"}'])

        assert await registry.was_offered(unique_id, "/find_place")
        assert await registry.was_offered(unique_id, ' /inform_location{"commune_insee": "93066"} ')
        assert not await registry.was_offered(unique_id, "/restart")
        assert not await registry.was_offered("other-" + unique_id, "/find_place")
    finally:
        await client.delete(f"seconde_chance:payloads:test:{unique_id}")
        await client.close()


async def test_offered_payloads_expire(redis_url, unique_id):
    client = aioredis.Redis.from_url(redis_url)
    registry = OfferedPayloads(client, "test", ttl_seconds=60)
    try:
        await registry.remember(unique_id, ["/find_place"])
        ttl = await client.ttl(f"seconde_chance:payloads:test:{unique_id}")
        assert 0 < ttl <= 60
    finally:
        await client.delete(f"seconde_chance:payloads:test:{unique_id}")
        await client.close()


async def test_offered_payloads_ignores_plain_text(redis_url, unique_id):
    client = aioredis.Redis.from_url(redis_url)
    registry = OfferedPayloads(client, "test", ttl_seconds=60)
    try:
        await registry.remember(unique_id, ["Oui", ""])
        assert not await client.exists(f"seconde_chance:payloads:test:{unique_id}")
    finally:
        await client.close()


def test_lone_surrogate_replaced():
    cleaned, truncated = clean_typed_text("salut \ud800 toi \udfff")
    assert cleaned == "salut \ufffd toi \ufffd"
    assert not truncated
    cleaned.encode("utf-8")


def test_surrogate_pair_of_emoji_kept():
    assert clean_typed_text("merci 😀")[0] == "merci 😀"
