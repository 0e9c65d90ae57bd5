"""Fixtures of the widget channel tests: the channel with the human handoff on, served for real."""

from __future__ import annotations

import uuid
from typing import AsyncIterator, Callable

import pytest

from connectors.handoff_bridge import HandoffBridge
from connectors.widget.channel import WidgetInput
from handoff.config import HandoffSettings
from handoff.db import get_sessionmaker
from handoff.models import Counsellor
from tests.connectors.widget.socket_client import HandoffServer, RecordingRasa, serve_widget


@pytest.fixture
def events_channel(key_prefix) -> str:
    return f"{key_prefix}events"


@pytest.fixture
def make_counsellor(sqlite_url, test_password_hash) -> Callable[..., int]:
    """Create a counsellor account in the SQLite database of the server and return its id."""

    def make(display_name: str = "Conseiller") -> int:
        with get_sessionmaker(sqlite_url)() as session:
            counsellor = Counsellor(login=f"c{uuid.uuid4().hex[:10]}", display_name=display_name,
                                    password_hash=test_password_hash)
            session.add(counsellor)
            session.commit()
            return counsellor.id

    return make


@pytest.fixture
async def handoff_server(sqlite_url, redis_client, redis_url, key_prefix, events_channel) -> AsyncIterator[HandoffServer]:
    rasa = RecordingRasa()
    bridge = HandoffBridge(HandoffSettings(database_url=sqlite_url, redis_url=redis_url), redis=redis_client,
                           key_prefix=key_prefix, events_channel=events_channel)
    channel = WidgetInput(redis_url=redis_url, cors_allowed_origins="*", handoff_bridge=bridge)
    async with serve_widget(channel, rasa) as url:
        yield HandoffServer(url, rasa, bridge, sqlite_url, redis_url)
