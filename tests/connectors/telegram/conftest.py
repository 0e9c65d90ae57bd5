"""Fixtures of the Telegram channel tests: the fake Bot API and the channel served for real."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from redis.asyncio import Redis

from connectors.telegram.channel import TelegramInput
from connectors.telegram.client import RetryPolicy
from connectors.user_input import OfferedPayloads
from tests.connectors.telegram.fake_bot_api import FakeBotApi
from tests.connectors.telegram.server import ScriptedRasa, new_chat_id, serve_telegram, bot_settings

# Short waits, so that retries take milliseconds.
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2, max_retry_after=2.0)


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


@pytest.fixture
def settings(fake_api, redis_url):
    return bot_settings(fake_api.url, redis_url)


@pytest.fixture
def rasa() -> ScriptedRasa:
    return ScriptedRasa()


@pytest.fixture
async def chat_id(redis_client) -> AsyncIterator[int]:
    """A random chat id; the payloads offered to it are deleted afterwards."""
    chat = new_chat_id()
    yield chat
    await redis_client.delete(OfferedPayloads(redis_client, "telegram")._key(str(chat)))


@pytest.fixture
async def webhook_url(settings, rasa, key_prefix, redis_client) -> AsyncIterator[str]:
    """The channel, without the human handoff, served on a free port; yields its webhook URL."""
    channel = TelegramInput(settings, key_prefix=key_prefix, retry=FAST_RETRY, register_at_start=False)
    async with serve_telegram(channel, rasa) as url:
        yield url


async def offered_payloads(redis_client: Redis, chat_id: int) -> set:
    """Return the payloads the channel remembered as offered to a chat."""
    members = await redis_client.smembers(OfferedPayloads(redis_client, "telegram")._key(str(chat_id)))
    return {member.decode() for member in members}
