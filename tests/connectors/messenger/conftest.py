"""Fixtures of the Messenger tests: the fake Graph API, the pages, and the channel served for real."""

from __future__ import annotations

from typing import AsyncIterator, Dict

import aiohttp
import pytest

from connectors.handoff_bridge import HandoffBridge
from connectors.messenger.channel import MessengerInput
from connectors.messenger.graph_api import GraphApiClient, RetryPolicy
from connectors.messenger.pages import Page, load_pages
from connectors.user_input import OfferedPayloads
from handoff.config import HandoffSettings
from tests.connectors.messenger.fake_graph_api import FakeGraphApi
from tests.connectors.messenger.helpers import (
    APP_SECRET,
    TOKEN_ENV,
    TOKENS,
    VERIFY_TOKEN,
    RecordingRasa,
    serve_messenger,
    write_pages_file,
)

# Short retries, so that the tests of transient failures stay fast.
FAST_RETRY = RetryPolicy(attempts=3, first_delay_seconds=0.01, max_delay_seconds=0.05, request_timeout_seconds=2.0)


@pytest.fixture
def pages(tmp_path) -> Dict[str, Page]:
    return load_pages(str(write_pages_file(tmp_path)), TOKEN_ENV)


@pytest.fixture
async def graph_api() -> AsyncIterator[FakeGraphApi]:
    api = await FakeGraphApi(dict(TOKENS), app_secret=APP_SECRET).start()
    yield api
    await api.stop()


@pytest.fixture
async def graph_client(graph_api) -> AsyncIterator[GraphApiClient]:
    client = GraphApiClient(graph_api.base_url, FAST_RETRY, app_secret=APP_SECRET)
    yield client
    await client.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def rasa() -> RecordingRasa:
    return RecordingRasa()


def make_channel(pages, graph_client, redis_url, key_prefix, bridge=None) -> MessengerInput:
    return MessengerInput(
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        pages=pages,
        graph_api=graph_client,
        redis_url=redis_url,
        handoff_bridge=bridge,
        dedup_key_prefix=f"{key_prefix}event:",
        window_key_prefix=f"{key_prefix}last_user:",
    )


@pytest.fixture
async def webhook(pages, graph_client, redis_url, key_prefix, rasa, redis_client) -> AsyncIterator[str]:
    """URL of the webhook of a channel without the human handoff, served by Sanic on a free port."""
    channel = make_channel(pages, graph_client, redis_url, key_prefix)
    async with serve_messenger(channel, rasa) as url:
        yield url
        await forget_offered_payloads(redis_client, rasa)


@pytest.fixture
def events_channel(key_prefix) -> str:
    return f"{key_prefix}events"


@pytest.fixture
async def bridge(sqlite_url, redis_client, redis_url, key_prefix, events_channel) -> HandoffBridge:
    return HandoffBridge(HandoffSettings(database_url=sqlite_url, redis_url=redis_url), redis=redis_client,
                         key_prefix=key_prefix, events_channel=events_channel)


@pytest.fixture
async def handoff_webhook(pages, graph_client, redis_url, key_prefix, rasa, bridge, redis_client) -> AsyncIterator[str]:
    """URL of the webhook of a channel with the human handoff on (SQLite and Redis)."""
    channel = make_channel(pages, graph_client, redis_url, key_prefix, bridge)
    async with serve_messenger(channel, rasa) as url:
        yield url
        await forget_offered_payloads(redis_client, rasa)


async def forget_offered_payloads(redis_client, rasa: RecordingRasa) -> None:
    """Delete the payloads offered to the test users (they live 7 days otherwise)."""
    registry = OfferedPayloads(redis_client, "messenger")
    keys = {registry._key(message.sender_id) for message in rasa.messages}
    if keys:
        await redis_client.delete(*keys)
