"""Edge cases of the Telegram channel, seen from an operator and from a young user.

Each test states the behaviour the channel's README promises, or that a
young user needs. The tests under "Behaviour still wrong" fail until their
bug is fixed. The channel runs in a real Sanic server with real Redis,
SQLite and the fake Bot API of fake_bot_api.py; Rasa is the scripted
callback of server.py. The delivery tests call the console's
`ConsoleService` directly, with a recorder in place of the console's
WebSocket hub, and the Telegram sender that the handoff service uses.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import aiohttp
import pytest

from connectors import senders
from connectors.handoff_bridge import HandoffBridge
from connectors.telegram import messages
from connectors.telegram.channel import SECRET_HEADER, TelegramInput
from connectors.telegram.client import TelegramClient
from connectors.telegram.sender import REASON_BLOCKED, TelegramSender
from handoff import store
from handoff.config import HandoffSettings
from handoff.db import get_sessionmaker
from handoff.models import Message
from handoff.web.service import ConsoleService
from tests.connectors.console_service import HubRecorder, new_console_service
from tests.connectors.telegram.conftest import FAST_RETRY
from tests.connectors.telegram.fake_bot_api import FakeBotApi, Failure
from tests.connectors.telegram.server import (
    PLACE_CARDS,
    SECRET,
    bot_settings,
    button_update,
    load_update,
    post_update,
    serve_telegram,
    text_update,
)
from tests.integration.stack import free_port

# How long a test watches for a message that must not come.
SILENCE_SECONDS = 0.8
# How long the bot may take to reply when Redis does not respond.
HUNG_REDIS_REPLY_SECONDS = 15.0


# ---------------------------------------------------------------- Fixtures


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


async def escalate(bridge: HandoffBridge, database_url: str, chat_id: int, counsellor_id: Optional[int] = None) -> str:
    """Open a queued conversation for the chat, claimed when `counsellor_id` is given, and route the chat to it."""
    with get_sessionmaker(database_url)() as session:
        conversation = store.escalate(session, channel="telegram", sender_id=str(chat_id))
        if counsellor_id is not None:
            store.claim(session, conversation.id, counsellor_id)
        session.commit()
        conversation_id = conversation.id
    await bridge.router.set("telegram", str(chat_id), conversation_id)
    return conversation_id


async def wait_for_user_messages(database_url: str, conversation_id: str, count: int, timeout: float = 5.0) -> List[Message]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with get_sessionmaker(database_url)() as session:
            found = [message for message in store.transcript(session, conversation_id) if message.author == "user"]
        if len(found) >= count or loop.time() > deadline:
            return found
        await asyncio.sleep(0.05)


@pytest.fixture
async def console(fake_api, sqlite_url, redis_client, redis_url, key_prefix, monkeypatch) -> AsyncIterator[Tuple[ConsoleService, HubRecorder]]:
    """The console's service on SQLite and Redis, delivering to the fake Bot API with short retries."""
    sender = TelegramSender(TelegramClient(bot_settings(fake_api.url, redis_url), FAST_RETRY))
    monkeypatch.setattr(senders, "_senders", {"telegram": sender})
    service, hub = new_console_service(sqlite_url, redis_url, redis_client, key_prefix)
    yield service, hub
    await sender.close()


def claimed_conversation(database_url: str, chat_id: int, counsellor_id: int) -> str:
    with get_sessionmaker(database_url)() as session:
        conversation = store.escalate(session, channel="telegram", sender_id=str(chat_id))
        store.claim(session, conversation.id, counsellor_id)
        session.commit()
        return conversation.id


# ---------------------------------------------------------------- Behaviour that works


async def test_lowercase_secret_header_accepted(webhook_url, fake_api, rasa, chat_id):
    # Proxies may rewrite header names in lower case, and HTTP/2 requires it (RFC 9113, section 8.2).
    update = text_update(chat_id, "bonjour")
    async with aiohttp.ClientSession() as session:
        async with session.post(
            webhook_url,
            data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json", SECRET_HEADER.lower(): SECRET},
        ) as response:
            assert response.status == 200
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == ["bonjour"]


async def test_burst_with_copies_kept_in_order(webhook_url, fake_api, rasa, chat_id):
    texts = [f"message {number}" for number in range(30)]
    updates = [text_update(chat_id, text) for text in texts]
    for update in updates:
        # Telegram sends an update again when the webhook was slow: every one comes twice here.
        await post_update(webhook_url, update)
        await post_update(webhook_url, update)
    await fake_api.wait_for(lambda api: len(api.texts_to(chat_id)) >= 30, timeout=30)
    await asyncio.sleep(SILENCE_SECONDS)
    assert rasa.texts == texts
    assert fake_api.texts_to(chat_id) == [f"reçu : {text}" for text in texts]


@pytest.mark.parametrize(
    "typed",
    ['/inform_location{"commune_insee": "69123"}', '/share_location{"latitude": 48.85, "longitude": 2.35}', "/ask_counsellor"],
)
async def test_typed_payload_never_a_payload(webhook_url, fake_api, rasa, chat_id, typed):
    await post_update(webhook_url, text_update(chat_id, typed))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    [received] = rasa.texts
    assert not received.lstrip().startswith("/")
    assert received == typed[1:]


# ---------------------------------------------------------------- Behaviour still wrong


async def test_counsellor_command_keeps_text(webhook_url, fake_api, rasa, chat_id):
    # A young person types the command and their situation in one message.
    await post_update(webhook_url, text_update(chat_id, "/conseiller je suis à la rue ce soir"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    await asyncio.sleep(SILENCE_SECONDS)
    assert "/ask_counsellor" in rasa.texts
    assert any("je suis à la rue ce soir" in text for text in rasa.texts), rasa.texts


async def test_invalid_position_silent_in_handoff(handoff_webhook, bridge, sqlite_url, fake_api, rasa, chat_id, make_counsellor):
    # README: while a counsellor has the conversation, the message is theirs and the bot stays silent.
    conversation_id = await escalate(bridge, sqlite_url, chat_id, make_counsellor())
    update = load_update("location_message", chat_id=chat_id)
    update["message"]["location"] = {"latitude": 91.0, "longitude": 2.0}
    await post_update(handoff_webhook, update)
    await asyncio.sleep(SILENCE_SECONDS)
    assert fake_api.texts_to(chat_id) == []
    assert len(await wait_for_user_messages(sqlite_url, conversation_id, 1, timeout=1.0)) == 1


async def test_control_characters_silent_in_handoff(handoff_webhook, bridge, sqlite_url, fake_api, rasa, chat_id, make_counsellor):
    # Control characters only: the text is empty once cleaned, but the bot must still keep quiet.
    await escalate(bridge, sqlite_url, chat_id, make_counsellor())
    await post_update(handoff_webhook, text_update(chat_id, "\u0007"))
    await asyncio.sleep(SILENCE_SECONDS)
    assert messages.EMPTY_MESSAGE not in fake_api.texts_to(chat_id)
    assert rasa.texts == []


async def test_hung_redis_still_answered(fake_api, rasa, chat_id, key_prefix):
    # A Redis server that accepts connections and never responds, as behind a dead network link.
    connections: List[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = bot_settings(fake_api.url, f"redis://127.0.0.1:{port}/0")
    channel = TelegramInput(settings, key_prefix=key_prefix, retry=FAST_RETRY, register_at_start=False)
    try:
        async with serve_telegram(channel, rasa) as url:
            await post_update(url, text_update(chat_id, "bonjour"))
            try:
                await fake_api.wait_for(lambda api: api.texts_to(chat_id), timeout=HUNG_REDIS_REPLY_SECONDS)
            finally:
                for task in list(channel._tasks):
                    task.cancel()
        assert fake_api.texts_to(chat_id) == ["reçu : bonjour"]
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_button_with_redis_down_not_old(fake_api, rasa, chat_id, key_prefix):
    # A fresh greeting button pressed while Redis is down: the user must not read that the button is old.
    settings = bot_settings(fake_api.url, f"redis://127.0.0.1:{free_port()}/0")
    channel = TelegramInput(settings, key_prefix=key_prefix, retry=FAST_RETRY, register_at_start=False)
    async with serve_telegram(channel, rasa) as url:
        await post_update(url, button_update(chat_id, "p:/find_place", "Trouver un lieu près de chez moi"))
        await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert messages.OLD_BUTTON not in fake_api.texts_to(chat_id)


async def test_blocked_user_every_message_marked(console, fake_api, sqlite_url, chat_id, make_counsellor):
    # The console shows « non remis » and the reason next to each message the platform refused.
    service, hub = console
    counsellor_id = make_counsellor("Camille")
    conversation_id = claimed_conversation(sqlite_url, chat_id, counsellor_id)
    _, sent = await service.send_text(conversation_id, counsellor_id, "Bonjour")
    assert sent is True

    fake_api.fail_chat(chat_id)
    first, first_sent = await service.send_text(conversation_id, counsellor_id, "Tu es là ?")
    second, second_sent = await service.send_text(conversation_id, counsellor_id, "Je reste disponible.")
    assert first_sent is False
    assert second_sent is False
    assert first["id"] in hub.ids_of("delivery_failed")
    assert second["id"] in hub.ids_of("delivery_failed"), hub.pushed


async def test_partial_delivery_not_sent_twice(console, fake_api, sqlite_url, chat_id, make_counsellor):
    # A place card goes as a signed header then one message per card. When only the
    # card fails, the next delivery must not send the header a second time.
    service, hub = console
    counsellor_id = make_counsellor("Camille")
    conversation_id = claimed_conversation(sqlite_url, chat_id, counsellor_id)
    await service.send_text(conversation_id, counsellor_id, "Bonjour")

    api: FakeBotApi = fake_api
    html_failures = [Failure(500, "Internal Server Error")] * FAST_RETRY.attempts
    original = api._failure_for

    def fail_cards(method: str, params: Dict[str, Any]) -> Optional[Failure]:
        if method == "sendMessage" and params.get("parse_mode") == "HTML" and html_failures:
            return html_failures.pop()
        return original(method, params)

    api._failure_for = fail_cards  # type: ignore[method-assign]
    card = PLACE_CARDS["places"][0]
    _, sent = await service.send_place(conversation_id, counsellor_id, card)
    assert sent is False
    _, sent = await service.send_text(conversation_id, counsellor_id, "Tu l'as reçu ?")
    assert sent is True

    headers = [text for text in api.texts_to(chat_id) if text.endswith(messages.COUNSELLOR_CARDS_INTRO)]
    # Only card messages fail here, so every header call reached the user.
    assert len(headers) == 1, api.texts_to(chat_id)


async def test_refusal_survives_restart_until_user_writes(console, fake_api, sqlite_url, redis_client, redis_url,
                                                          key_prefix, chat_id, make_counsellor, monkeypatch):
    # The user blocked the bot. After a restart of the handoff service, the
    # counsellor must still read « non remis » with the reason, and the
    # refused message must not be tried again. Once the user writes, it goes out.
    service, _ = console
    counsellor_id = make_counsellor("Camille")
    conversation_id = claimed_conversation(sqlite_url, chat_id, counsellor_id)
    await service.send_text(conversation_id, counsellor_id, "Bonjour")
    fake_api.fail_chat(chat_id)
    refused, sent = await service.send_text(conversation_id, counsellor_id, "Tu es là ?")
    assert sent is False

    # The restart: a new sender and a new service, with only the database and Redis kept.
    sender = TelegramSender(TelegramClient(bot_settings(fake_api.url, redis_url), FAST_RETRY))
    monkeypatch.setattr(senders, "_senders", {"telegram": sender})
    restarted, hub = new_console_service(sqlite_url, redis_url, redis_client, key_prefix)
    try:
        fake_api.clear_calls()
        later, sent = await restarted.send_text(conversation_id, counsellor_id, "Je reste disponible.")
        assert sent is False
        assert fake_api.texts_to(chat_id) == ["👤 Camille : Je reste disponible."]
        assert hub.ids_of("delivery_failed") == [later["id"]]
        shown = {message["id"]: message for message in (await restarted.conversation(conversation_id))["messages"]}
        assert shown[refused["id"]]["delivered"] is False
        assert shown[refused["id"]]["delivery_error"] == REASON_BLOCKED

        fake_api.clear_failures()
        fake_api.clear_calls()
        await restarted.redeliver(conversation_id)
        assert fake_api.texts_to(chat_id) == ["👤 Camille : Tu es là ?", "👤 Camille : Je reste disponible."]
        shown = {message["id"]: message for message in (await restarted.conversation(conversation_id))["messages"]}
        for message_id in (refused["id"], later["id"]):
            assert shown[message_id]["delivered"] is True
            assert shown[message_id]["delivery_error"] is None
    finally:
        await sender.close()


async def test_danger_while_queued_notice_delivered(handoff_webhook, bridge, console, sqlite_url, fake_api, rasa, chat_id):
    # The paused bot cannot reply. The bridge stores the danger notice, and the
    # handoff service delivers it when the user's message is announced.
    service, _ = console
    conversation_id = await escalate(bridge, sqlite_url, chat_id)
    await post_update(handoff_webhook, text_update(chat_id, "jveux mourir"))
    await wait_for_user_messages(sqlite_url, conversation_id, 1)

    await service.redeliver(conversation_id)

    assert any(store.NOTICE_DANGER_WHILE_WAITING in text for text in fake_api.texts_to(chat_id))
    assert rasa.messages == []
