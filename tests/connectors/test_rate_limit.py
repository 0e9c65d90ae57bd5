"""Tests of connectors.rate_limit on the real Redis."""

import pytest
from redis import asyncio as aioredis

from connectors.rate_limit import (
    DEFAULT_MAX_MESSAGES_PER_MINUTE,
    RATE_LIMITED_MESSAGE,
    WINDOW_SECONDS,
    RateLimit,
    Verdict,
    limit_from_setting,
)


class FakeClock:
    """A clock the test moves by hand, so that windows change without waiting."""

    def __init__(self) -> None:
        self.now = 1_000_000 * WINDOW_SECONDS

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client(redis_url):
    redis_client = aioredis.Redis.from_url(redis_url)
    yield redis_client
    await redis_client.close()


async def test_limit_refuses_after_max(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=3, clock=FakeClock())

    verdicts = [await limit.check("user-a") for _ in range(6)]

    assert verdicts[:3] == [Verdict.ALLOWED] * 3
    assert verdicts[3] == Verdict.FIRST_OVER_LIMIT
    assert verdicts[4:] == [Verdict.OVER_LIMIT] * 2


async def test_admit_notifies_once_over_limit(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=2, clock=FakeClock())
    notices = []

    async def notify(text):
        notices.append(text)

    admitted = [await limit.admit("user-a", notify, "user a") for _ in range(5)]

    assert admitted == [True, True, False, False, False]
    assert notices == [RATE_LIMITED_MESSAGE]


async def test_limit_counts_each_user_apart(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=2, clock=FakeClock())
    for _ in range(3):
        await limit.check("user-a")

    assert await limit.check("user-b") == Verdict.ALLOWED


async def test_limit_counts_each_channel_apart(client, unique_id):
    clock = FakeClock()
    widget = RateLimit(client, f"widget-{unique_id}", max_per_minute=1, clock=clock)
    telegram = RateLimit(client, f"telegram-{unique_id}", max_per_minute=1, clock=clock)
    await widget.check("same-id")

    assert await telegram.check("same-id") == Verdict.ALLOWED


async def test_limit_resets_next_window(client, unique_id):
    clock = FakeClock()
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=1, clock=clock)
    await limit.check("user-a")
    assert await limit.check("user-a") == Verdict.FIRST_OVER_LIMIT

    clock.now += WINDOW_SECONDS

    assert await limit.check("user-a") == Verdict.ALLOWED


async def test_limit_keys_expire(client, unique_id):
    channel = f"test-{unique_id}"
    await RateLimit(client, channel, max_per_minute=5).check("user-a")

    keys = [key async for key in client.scan_iter(match=f"seconde_chance:rate:{channel}:*")]

    assert len(keys) == 1
    assert 0 < await client.ttl(keys[0]) <= 2 * WINDOW_SECONDS


async def test_zero_turns_the_limit_off(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=0)

    verdicts = {await limit.check("user-a") for _ in range(50)}

    assert verdicts == {Verdict.ALLOWED}


async def test_redis_failure_lets_messages_through(unique_id):
    # Nothing listens on port 1, so every command fails at once.
    unreachable = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    limit = RateLimit(unreachable, f"test-{unique_id}", max_per_minute=1)

    verdicts = [await limit.check("user-a") for _ in range(3)]

    assert verdicts == [Verdict.ALLOWED] * 3
    await unreachable.close()


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, DEFAULT_MAX_MESSAGES_PER_MINUTE), ("", DEFAULT_MAX_MESSAGES_PER_MINUTE), (" ", DEFAULT_MAX_MESSAGES_PER_MINUTE),
     (0, 0), ("0", 0), (12, 12), (" 45 ", 45)],
)
def test_limit_from_setting(value, expected):
    assert limit_from_setting(value) == expected


def test_limit_from_setting_rejects_words():
    with pytest.raises(ValueError):
        limit_from_setting("trente")
