"""Tests of connectors.rate_limit on the real Redis."""

import logging

import pytest
from redis import asyncio as aioredis

from connectors.rate_limit import (
    DEFAULT_MAX_MESSAGES_PER_MINUTE,
    HANDOFF_RATE_LIMITED_MESSAGE,
    RATE_LIMITED_MESSAGE,
    WINDOW_SECONDS,
    RateLimit,
    limit_from_setting,
)


class FakeClock:
    """A clock the test moves by hand, so that windows change without waiting."""

    def __init__(self) -> None:
        self.now = 1_000_000 * WINDOW_SECONDS

    def __call__(self) -> float:
        return self.now


class Notices:
    """The `notify` callback of `RateLimit.admit`; stores every text sent to the user."""

    def __init__(self) -> None:
        self.texts = []

    async def __call__(self, text):
        self.texts.append(text)


class HandoffState:
    """A handoff check that the test switches on and off, and that counts its calls."""

    def __init__(self, in_handoff=True) -> None:
        self.in_handoff = in_handoff
        self.calls = 0

    async def __call__(self):
        self.calls += 1
        return self.in_handoff


@pytest.fixture
async def client(redis_url):
    redis_client = aioredis.Redis.from_url(redis_url)
    yield redis_client
    await redis_client.close()


async def test_count_grows_per_message(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=3, clock=FakeClock())

    counts = [await limit.count("user-a") for _ in range(4)]

    assert counts == [1, 2, 3, 4]


async def test_admit_notifies_once_over_limit(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=2, clock=FakeClock())
    notices = Notices()

    admitted = [await limit.admit("user-a", notices, "user a") for _ in range(5)]

    assert admitted == [True, True, False, False, False]
    assert notices.texts == [RATE_LIMITED_MESSAGE]


async def test_limit_counts_each_user_apart(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=2, clock=FakeClock())
    for _ in range(3):
        await limit.count("user-a")

    assert await limit.count("user-b") == 1


async def test_limit_counts_each_channel_apart(client, unique_id):
    clock = FakeClock()
    widget = RateLimit(client, f"widget-{unique_id}", max_per_minute=1, clock=clock)
    telegram = RateLimit(client, f"telegram-{unique_id}", max_per_minute=1, clock=clock)
    await widget.count("same-id")

    assert await telegram.count("same-id") == 1


async def test_limit_resets_next_window(client, unique_id):
    clock = FakeClock()
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=1, clock=clock)
    notices = Notices()
    await limit.admit("user-a", notices, "user a")
    assert not await limit.admit("user-a", notices, "user a")

    clock.now += WINDOW_SECONDS

    assert await limit.admit("user-a", notices, "user a")
    assert not await limit.admit("user-a", notices, "user a")
    assert notices.texts == [RATE_LIMITED_MESSAGE, RATE_LIMITED_MESSAGE]


async def test_limit_keys_expire(client, unique_id):
    channel = f"test-{unique_id}"
    limit = RateLimit(client, channel, max_per_minute=1, clock=FakeClock())
    await limit.admit("user-a", Notices(), "user a")
    await limit.admit("user-a", Notices(), "user a")

    keys = sorted([key async for key in client.scan_iter(match=f"seconde_chance:rate:{channel}:*")])

    # The count, and the record that the user got the notice.
    assert len(keys) == 2
    assert keys[1].endswith(b":notice:bot")
    for key in keys:
        assert 0 < await client.ttl(key) <= 2 * WINDOW_SECONDS


async def test_zero_turns_the_limit_off(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=0)
    handoff = HandoffState()

    admitted = {await limit.admit("user-a", Notices(), "user a", handoff) for _ in range(50)}

    assert admitted == {True}
    assert await limit.count("user-a") is None
    assert handoff.calls == 0


async def test_redis_failure_lets_messages_through(unique_id):
    # Nothing listens on port 1, so every command fails at once.
    unreachable = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    limit = RateLimit(unreachable, f"test-{unique_id}", max_per_minute=1)
    notices = Notices()

    admitted = [await limit.admit("user-a", notices, "user a") for _ in range(3)]

    assert admitted == [True] * 3
    assert notices.texts == []
    assert await limit.count("user-a") is None
    await unreachable.close()


# ---------------------------------------------------------------- During a handoff


async def test_handoff_admits_up_to_four_times_limit(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=3, clock=FakeClock())
    notices = Notices()

    admitted = [await limit.admit("user-a", notices, "user a", HandoffState()) for _ in range(15)]

    assert limit.handoff_max_per_minute == 12
    assert admitted == [True] * 12 + [False] * 3
    assert notices.texts == [HANDOFF_RATE_LIMITED_MESSAGE]


async def test_handoff_left_out_messages_logged(client, unique_id, caplog):
    caplog.set_level(logging.INFO, logger="connectors.rate_limit")
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=1, clock=FakeClock())

    for _ in range(6):
        await limit.admit("user-a", Notices(), "Session 42", HandoffState())

    assert "Session 42 on " in caplog.text
    assert "went over 4 messages a minute (handoff limit)" in caplog.text
    assert caplog.text.count("Left out a message of Session 42") == 1


async def test_handoff_checked_only_over_limit(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=3, clock=FakeClock())
    handoff = HandoffState()

    for _ in range(5):
        await limit.admit("user-a", Notices(), "user a", handoff)

    assert handoff.calls == 2


async def test_outside_handoff_keeps_bot_limit(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=2, clock=FakeClock())
    notices = Notices()

    admitted = [await limit.admit("user-a", notices, "user a", HandoffState(False)) for _ in range(5)]

    assert admitted == [True, True, False, False, False]
    assert notices.texts == [RATE_LIMITED_MESSAGE]


async def test_failing_handoff_check_keeps_bot_limit(client, unique_id, caplog):
    caplog.set_level(logging.INFO, logger="connectors.rate_limit")
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=2, clock=FakeClock())
    notices = Notices()

    async def broken_check():
        raise ConnectionError("handoff database unreachable")

    admitted = [await limit.admit("user-a", notices, "user a", broken_check) for _ in range(5)]

    assert admitted == [True, True, False, False, False]
    assert notices.texts == [RATE_LIMITED_MESSAGE]
    assert caplog.text.count("Checking the handoff of user a") == 3
    assert "ConnectionError" in caplog.text


async def test_bot_notice_after_handoff_ends(client, unique_id):
    # A counsellor hands the conversation back in the middle of a busy
    # minute: the user must hear that the bot leaves the next messages out.
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=2, clock=FakeClock())
    notices = Notices()
    handoff = HandoffState()
    during = [await limit.admit("user-a", notices, "user a", handoff) for _ in range(5)]

    handoff.in_handoff = False
    after = [await limit.admit("user-a", notices, "user a", handoff) for _ in range(2)]

    assert during == [True] * 5
    assert after == [False, False]
    assert notices.texts == [RATE_LIMITED_MESSAGE]


async def test_handoff_notice_after_bot_notice(client, unique_id):
    limit = RateLimit(client, f"test-{unique_id}", max_per_minute=1, clock=FakeClock())
    notices = Notices()
    handoff = HandoffState(False)
    before = [await limit.admit("user-a", notices, "user a", handoff) for _ in range(2)]

    handoff.in_handoff = True
    during = [await limit.admit("user-a", notices, "user a", handoff) for _ in range(4)]

    assert before == [True, False]
    assert during == [True, True, False, False]
    assert notices.texts == [RATE_LIMITED_MESSAGE, HANDOFF_RATE_LIMITED_MESSAGE]


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
