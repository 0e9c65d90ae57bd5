"""Tests of the human handoff in the Telegram channel, with a real Sanic server, SQLite, Redis and the fake Bot API.

Rasa is replaced by a scripted callback, so the tests see which messages
reach it. The counsellor side is played by `handoff.store` calls, as the
handoff service does it.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, List

import pytest

from connectors.handoff_bridge import HandoffBridge
from connectors.rate_limit import HANDOFF_RATE_LIMITED_MESSAGE
from connectors.telegram import messages
from connectors.telegram.channel import TelegramInput
from handoff import store
from handoff.config import HandoffSettings
from handoff.db import get_sessionmaker
from handoff.models import Message
from tests.connectors.conftest import away_from_rate_window_edge
from tests.connectors.telegram.conftest import FAST_RETRY
from tests.connectors.telegram.server import (
    button_update,
    load_update,
    post_update,
    serve_telegram,
    text_update,
)


@pytest.fixture
def database_url(sqlite_url) -> str:
    return sqlite_url


@pytest.fixture
async def bridge(sqlite_url, redis_client, redis_url, key_prefix) -> HandoffBridge:
    return HandoffBridge(
        HandoffSettings(database_url=sqlite_url, redis_url=redis_url),
        redis=redis_client,
        key_prefix=key_prefix,
        events_channel=f"{key_prefix}events",
    )


@pytest.fixture
async def handoff_webhook(settings, rasa, key_prefix, bridge) -> AsyncIterator[str]:
    channel = TelegramInput(
        settings, handoff_bridge=bridge, key_prefix=key_prefix, retry=FAST_RETRY, register_at_start=False
    )
    async with serve_telegram(channel, rasa) as url:
        yield url


async def escalate(bridge: HandoffBridge, database_url: str, chat_id: int, counsellor_id: int | None = None) -> str:
    """Open a queued conversation for the chat, claimed when `counsellor_id` is given, and route the chat to it."""
    with get_sessionmaker(database_url)() as session:
        conversation = store.escalate(session, channel="telegram", sender_id=str(chat_id))
        if counsellor_id is not None:
            store.claim(session, conversation.id, counsellor_id)
        session.commit()
        conversation_id = conversation.id
    await bridge.router.set("telegram", str(chat_id), conversation_id)
    return conversation_id


def user_messages(database_url: str, conversation_id: str) -> List[Message]:
    with get_sessionmaker(database_url)() as session:
        return [message for message in store.transcript(session, conversation_id) if message.author == "user"]


async def wait_for_user_messages(database_url: str, conversation_id: str, count: int, timeout: float = 5.0) -> List[Message]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = user_messages(database_url, conversation_id)
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_routed_text_goes_to_counsellor(handoff_webhook, bridge, sqlite_url, fake_api, rasa, chat_id, make_counsellor):
    conversation_id = await escalate(bridge, sqlite_url, chat_id, make_counsellor("Camille"))
    await post_update(handoff_webhook, text_update(chat_id, "j'ai une question sur mon dossier"))
    [stored] = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert stored.text == "j'ai une question sur mon dossier"
    await asyncio.sleep(0.3)
    assert rasa.messages == []
    assert fake_api.calls == []


async def test_queued_conversation_also_routed(handoff_webhook, bridge, sqlite_url, fake_api, rasa, chat_id):
    conversation_id = await escalate(bridge, sqlite_url, chat_id)
    await post_update(handoff_webhook, text_update(chat_id, "vous êtes là ?"))
    [stored] = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert stored.text == "vous êtes là ?"
    await asyncio.sleep(0.3)
    assert rasa.messages == []


async def test_routed_button_press_answered_silently(handoff_webhook, bridge, sqlite_url, fake_api, rasa, chat_id, make_counsellor):
    conversation_id = await escalate(bridge, sqlite_url, chat_id, make_counsellor())
    await post_update(handoff_webhook, button_update(chat_id, "p:/ask_counsellor", "Parler à un conseiller"))
    [stored] = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert stored.text == "Parler à un conseiller"
    assert stored.payload_data == {"type": "button", "payload": "/ask_counsellor"}
    await fake_api.wait_for(lambda api: api.calls_to("answerCallbackQuery"))
    await asyncio.sleep(0.3)
    assert fake_api.calls_to("sendMessage") == []
    assert rasa.messages == []


async def test_routed_old_button_silent(handoff_webhook, bridge, sqlite_url, fake_api, rasa, chat_id, make_counsellor):
    conversation_id = await escalate(bridge, sqlite_url, chat_id, make_counsellor())
    await post_update(handoff_webhook, button_update(chat_id, "p:/find_training", "Reprendre une formation"))
    [stored] = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert stored.text == "Reprendre une formation"
    await asyncio.sleep(0.3)
    assert fake_api.calls_to("sendMessage") == []
    assert len(fake_api.calls_to("answerCallbackQuery")) == 1


async def test_routed_location_stored_rounded(handoff_webhook, bridge, sqlite_url, fake_api, rasa, chat_id, make_counsellor):
    conversation_id = await escalate(bridge, sqlite_url, chat_id, make_counsellor())
    await post_update(handoff_webhook, load_update("location_message", chat_id=chat_id))
    [stored] = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert stored.text == messages.LOCATION_FOR_COUNSELLOR
    assert stored.payload_data == {"type": "location", "latitude": 45.764, "longitude": 4.836}
    assert rasa.messages == []


async def test_routed_command_and_sticker(handoff_webhook, bridge, sqlite_url, fake_api, rasa, chat_id, make_counsellor):
    conversation_id = await escalate(bridge, sqlite_url, chat_id, make_counsellor())
    await post_update(handoff_webhook, load_update("help_command", chat_id=chat_id))
    await post_update(handoff_webhook, load_update("photo_message", chat_id=chat_id))
    first, second = await wait_for_user_messages(sqlite_url, conversation_id, 2)
    assert first.text == "/aide"
    assert second.text == messages.UNSUPPORTED_FOR_COUNSELLOR["photo"] + "\nMon bulletin de notes"
    assert second.payload_data == {"type": "unsupported", "content": "photo"}
    await asyncio.sleep(0.3)
    assert fake_api.calls == []


async def test_routed_edited_message_marked(handoff_webhook, bridge, sqlite_url, fake_api, rasa, chat_id, make_counsellor):
    conversation_id = await escalate(bridge, sqlite_url, chat_id, make_counsellor())
    await post_update(handoff_webhook, load_update("edited_message", chat_id=chat_id))
    [stored] = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert stored.text == messages.EDITED_FOR_COUNSELLOR + "Bonjour, je cherche une mission locale à Lyon 3e"


async def test_long_text_whole_for_counsellor(handoff_webhook, bridge, sqlite_url, rasa, chat_id, make_counsellor):
    conversation_id = await escalate(bridge, sqlite_url, chat_id, make_counsellor())
    long_text = "début " + "x" * 3000 + " fin"
    await post_update(handoff_webhook, text_update(chat_id, long_text))
    [stored] = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert stored.text == long_text


async def test_after_hand_back_bot_answers(handoff_webhook, bridge, sqlite_url, fake_api, rasa, chat_id, make_counsellor):
    counsellor_id = make_counsellor()
    conversation_id = await escalate(bridge, sqlite_url, chat_id, counsellor_id)
    await post_update(handoff_webhook, text_update(chat_id, "merci"))
    await wait_for_user_messages(sqlite_url, conversation_id, 1)

    with get_sessionmaker(sqlite_url)() as session:
        store.hand_back(session, conversation_id, counsellor_id)
        session.commit()
    await bridge.router.set("telegram", str(chat_id), None)
    await post_update(handoff_webhook, text_update(chat_id, "bonjour"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == ["bonjour"]
    assert fake_api.texts_to(chat_id) == ["reçu : bonjour"]


async def test_updates_over_rate_limit_reach_counsellor(settings, rasa, key_prefix, bridge, sqlite_url, fake_api,
                                                         chat_id, make_counsellor):
    # The handoff limit is 4 times this one: 8 messages a minute.
    channel = TelegramInput(settings, handoff_bridge=bridge, key_prefix=key_prefix, retry=FAST_RETRY,
                            register_at_start=False, max_messages_per_minute=2)
    conversation_id = await escalate(bridge, sqlite_url, chat_id, make_counsellor())
    async with serve_telegram(channel, rasa) as url:
        await away_from_rate_window_edge()
        for number in range(10):
            await post_update(url, text_update(chat_id, f"message {number}"))
        await fake_api.wait_for(lambda api: api.texts_to(chat_id))
        await asyncio.sleep(0.5)

    assert [message.text for message in user_messages(sqlite_url, conversation_id)] == [
        f"message {number}" for number in range(8)
    ]
    assert fake_api.texts_to(chat_id) == [HANDOFF_RATE_LIMITED_MESSAGE]
    assert rasa.messages == []


async def test_handoff_failure_lets_bot_answer(settings, rasa, key_prefix, fake_api, chat_id, redis_client, redis_url, tmp_path):
    # A database file that was never migrated: the bridge fails, the bot replies.
    broken = HandoffBridge(
        HandoffSettings(database_url=f"sqlite:///{tmp_path / 'absent.sqlite3'}", redis_url=redis_url),
        redis=redis_client,
        key_prefix=key_prefix,
    )
    await broken.router.set("telegram", str(chat_id), "conversation-introuvable")
    channel = TelegramInput(settings, handoff_bridge=broken, key_prefix=key_prefix, register_at_start=False)
    async with serve_telegram(channel, rasa) as url:
        await post_update(url, text_update(chat_id, "bonjour"))
        await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == ["bonjour"]
