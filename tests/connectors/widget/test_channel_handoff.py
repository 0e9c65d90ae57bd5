"""Tests of the human handoff in the widget channel, with a real Sanic server, SQLite and Redis.

Rasa is replaced by a recording callback, so the tests see which messages
reach it. The counsellor side is played by `handoff.store` calls and by
`connectors.senders.WidgetSender`, as the handoff service does it.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, List

import pytest

from connectors.handoff_bridge import HandoffBridge, message_for_user
from connectors.rate_limit import DEFAULT_MAX_MESSAGES_PER_MINUTE, HANDOFF_RATE_LIMITED_MESSAGE
from connectors.senders import WidgetSender
from connectors.widget import messages
from connectors.widget.channel import LOCATION_HANDOFF_TEXT, WidgetInput
from handoff import events, store
from handoff.config import HandoffSettings
from handoff.db import dispose_engine, get_sessionmaker
from handoff.models import Message
from tests.connectors.conftest import away_from_rate_window_edge
from tests.connectors.widget.socket_client import (
    HandoffServer,
    RecordingRasa,
    SocketUser,
    forget_offered_payloads,
    serve_widget,
)


@pytest.fixture
async def user(handoff_server, redis_client) -> AsyncIterator[SocketUser]:
    socket_user = await SocketUser().connect(handoff_server.url)
    yield socket_user
    await socket_user.client.disconnect()
    await forget_offered_payloads(redis_client, socket_user.session_id)


async def escalate(server: HandoffServer, sender_id: str) -> str:
    with get_sessionmaker(server.database_url)() as session:
        conversation = store.escalate(session, channel="widget", sender_id=sender_id)
        session.commit()
    await server.bridge.router.set("widget", sender_id, conversation.id)
    return conversation.id


def claim(server: HandoffServer, conversation_id: str, counsellor_id: int) -> None:
    with get_sessionmaker(server.database_url)() as session:
        store.claim(session, conversation_id, counsellor_id)
        session.commit()


def add_counsellor_message(server: HandoffServer, conversation_id: str, counsellor_id: int, text: str) -> int:
    with get_sessionmaker(server.database_url)() as session:
        message = store.add_message(session, conversation_id, "counsellor", text, counsellor_id)
        session.commit()
        return message.id


def user_messages(server: HandoffServer, conversation_id: str) -> List[Message]:
    with get_sessionmaker(server.database_url)() as session:
        return [message for message in store.transcript(session, conversation_id) if message.author == "user"]


def get_message(server: HandoffServer, message_id: int) -> Message:
    with get_sessionmaker(server.database_url)() as session:
        return session.get(Message, message_id)


async def send(user: SocketUser, text: str, **fields) -> None:
    await user.client.emit("user_uttered", {"message": text, "session_id": user.session_id, **fields})


async def wait_for_user_messages(server: HandoffServer, conversation_id: str, count: int,
                                 timeout: float = 10.0) -> List[Message]:
    """Return the conversation's user messages once there are `count` of them, or at `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = user_messages(server, conversation_id)
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_routed_message_reaches_sql_and_events(handoff_server, user, redis_client, events_channel):
    conversation_id = await escalate(handoff_server, user.session_id)
    async with events.subscribe(redis_client, channel=events_channel) as subscription:
        await send(user, "j'ai une question sur mon dossier")
        event = await subscription.get(timeout=5)
    [stored] = user_messages(handoff_server, conversation_id)
    assert stored.text == "j'ai une question sur mon dossier"
    assert event == {"type": "user_message", "conversation_id": conversation_id, "message_id": stored.id}


async def test_routed_message_gets_no_reply(handoff_server, user):
    await escalate(handoff_server, user.session_id)
    await send(user, "allo ?")
    assert await user.no_message(timeout=1.0)
    assert handoff_server.rasa.messages == []


async def test_routed_message_reported_to_widget(handoff_server, user):
    await escalate(handoff_server, user.session_id)
    await send(user, "allo ?")
    status = await asyncio.wait_for(user.handoff_status.get(), 5)
    assert status == {"with_counsellor": True}


async def test_danger_while_queued_gets_notice(handoff_server, user):
    # The paused bot cannot reply, so the channel sends 15, 112 and 3114 itself.
    await escalate(handoff_server, user.session_id)
    await send(user, "jveux mourir")
    received = await user.next_message()
    assert received["custom"]["text"] == store.NOTICE_DANGER_WHILE_WAITING
    assert handoff_server.rasa.messages == []


async def test_next_message_after_hand_back_reaches_bot(handoff_server, user, make_counsellor):
    counsellor_id = make_counsellor()
    conversation_id = await escalate(handoff_server, user.session_id)
    claim(handoff_server, conversation_id, counsellor_id)
    await send(user, "merci pour ton aide")
    await asyncio.wait_for(user.handoff_status.get(), 5)

    with get_sessionmaker(handoff_server.database_url)() as session:
        store.hand_back(session, conversation_id, counsellor_id)
        session.commit()
    await handoff_server.bridge.router.set("widget", user.session_id, None)
    await asyncio.sleep(0.1)
    await send(user, "bonjour")
    reply = await user.next_message()
    assert reply == {"text": "reçu : bonjour"}
    assert [message.text for message in handoff_server.rasa.messages] == ["bonjour"]


async def test_message_during_hand_back_reaches_both(handoff_server, user, make_counsellor):
    # SQL is closed but the route still names the conversation: the message
    # is stored for the counsellor, and Rasa handles it too.
    counsellor_id = make_counsellor()
    conversation_id = await escalate(handoff_server, user.session_id)
    claim(handoff_server, conversation_id, counsellor_id)
    with get_sessionmaker(handoff_server.database_url)() as session:
        store.hand_back(session, conversation_id, counsellor_id)
        session.commit()
    await send(user, "tu es là ?")
    assert (await user.next_message())["text"] == "reçu : tu es là ?"
    assert [message.text for message in user_messages(handoff_server, conversation_id)] == ["tu es là ?"]


async def test_messages_over_rate_limit_reach_counsellor(handoff_server, user):
    conversation_id = await escalate(handoff_server, user.session_id)
    await away_from_rate_window_edge()
    texts = [f"message {number}" for number in range(DEFAULT_MAX_MESSAGES_PER_MINUTE + 5)]

    for text in texts:
        await send(user, text)
    stored = await wait_for_user_messages(handoff_server, conversation_id, len(texts))

    # Socket.io handles each event in its own task, so the order may vary.
    assert sorted(message.text for message in stored) == sorted(texts)
    assert await user.no_message(timeout=0.5)
    assert handoff_server.rasa.messages == []


async def test_messages_over_handoff_limit_left_out(sqlite_url, redis_client, redis_url, key_prefix, events_channel):
    rasa = RecordingRasa()
    bridge = HandoffBridge(HandoffSettings(database_url=sqlite_url, redis_url=redis_url), redis=redis_client,
                           key_prefix=key_prefix, events_channel=events_channel)
    # The handoff limit is 4 times this one: 8 messages a minute.
    channel = WidgetInput(redis_url=redis_url, handoff_bridge=bridge, max_messages_per_minute=2)
    async with serve_widget(channel, rasa) as url:
        server = HandoffServer(url, rasa, bridge, sqlite_url, redis_url)
        socket_user = await SocketUser().connect(url)
        conversation_id = await escalate(server, socket_user.session_id)
        await away_from_rate_window_edge()

        for number in range(11):
            await send(socket_user, f"message {number}")
        notice = await socket_user.next_message()
        stored = await wait_for_user_messages(server, conversation_id, 8)
        nothing_more = await socket_user.no_message(timeout=1.0)
        await socket_user.client.disconnect()

    assert notice == {"text": HANDOFF_RATE_LIMITED_MESSAGE}
    assert len(stored) == 8
    assert len(user_messages(server, conversation_id)) == 8
    assert nothing_more
    assert rasa.messages == []


async def test_counsellor_message_reaches_socket(handoff_server, user, make_counsellor):
    counsellor_id = make_counsellor(display_name="Amina")
    conversation_id = await escalate(handoff_server, user.session_id)
    claim(handoff_server, conversation_id, counsellor_id)
    message_id = add_counsellor_message(handoff_server, conversation_id, counsellor_id, "Bonjour, je m'appelle Amina.")
    sender = WidgetSender(handoff_server.redis_url)
    await sender.send(user.session_id, message_for_user(get_message(handoff_server, message_id)))
    received = await user.next_message()
    assert received == {"text": "Bonjour, je m'appelle Amina.", "author": "counsellor",
                        "counsellor_name": "Amina", "message_id": message_id}


async def test_disconnected_message_delivered_on_reconnect(handoff_server, make_counsellor):
    counsellor_id = make_counsellor()
    first = await SocketUser().connect(handoff_server.url)
    session_id = first.session_id
    conversation_id = await escalate(handoff_server, session_id)
    claim(handoff_server, conversation_id, counsellor_id)
    await first.client.disconnect()

    message_id = add_counsellor_message(handoff_server, conversation_id, counsellor_id, "Tu es toujours là ?")
    await WidgetSender(handoff_server.redis_url).send(session_id, message_for_user(get_message(handoff_server, message_id)))
    # Let the emit reach the server while no socket is in the session's room.
    await asyncio.sleep(0.5)

    again = await SocketUser().connect(handoff_server.url, session_id=session_id)
    notice = await again.next_message()
    reply = await again.next_message()
    nothing_more = await again.no_message(timeout=0.5)
    await again.client.disconnect()
    assert notice["custom"] == {"type": "notice", "text": store.NOTICE_CLAIMED, "with_counsellor": True}
    assert reply["text"] == "Tu es toujours là ?"
    assert reply["message_id"] == message_id
    assert nothing_more


async def test_acknowledged_message_not_sent_again(handoff_server, redis_client, events_channel, make_counsellor):
    counsellor_id = make_counsellor()
    first = await SocketUser().connect(handoff_server.url)
    session_id = first.session_id
    conversation_id = await escalate(handoff_server, session_id)
    claim(handoff_server, conversation_id, counsellor_id)
    message_id = add_counsellor_message(handoff_server, conversation_id, counsellor_id, "Coucou")
    await first.client.disconnect()

    again = await SocketUser().connect(handoff_server.url, session_id=session_id)
    ids = [(await again.next_message())["message_id"], (await again.next_message())["message_id"]]
    async with events.subscribe(redis_client, channel=events_channel) as subscription:
        await again.client.emit("message_ack", {"session_id": session_id, "message_ids": ids})
        event = await subscription.get(timeout=5)
    await again.client.disconnect()
    assert event == {"type": "delivered", "conversation_id": conversation_id, "message_ids": sorted(ids)}
    assert get_message(handoff_server, message_id).delivered_at is not None

    third = await SocketUser().connect(handoff_server.url, session_id=session_id)
    assert await third.no_message(timeout=1.0)
    await third.client.disconnect()


@pytest.mark.parametrize("data", [None, "x", {"message_ids": "1,2"}, {"message_ids": [True, -3]}],
                         ids=["none", "string", "ids-string", "ids-invalid"])
async def test_malformed_ack_ignored(handoff_server, user, data):
    await user.client.emit("message_ack", data)
    await send(user, "bonjour")
    assert (await user.next_message())["text"] == "reçu : bonjour"


async def test_user_typing_reaches_events(handoff_server, user, redis_client, events_channel):
    conversation_id = await escalate(handoff_server, user.session_id)
    async with events.subscribe(redis_client, channel=events_channel) as subscription:
        await user.client.emit("user_typing", {"session_id": user.session_id})
        event = await subscription.get(timeout=5)
    assert event == {"type": "user_typing", "conversation_id": conversation_id}


async def test_counsellor_typing_reaches_socket(handoff_server, user):
    await WidgetSender(handoff_server.redis_url).send_typing(user.session_id, True)
    assert await asyncio.wait_for(user.counsellor_typing.get(), 5) == {"typing": True}


async def test_ask_counsellor_payload_always_allowed(handoff_server, user):
    await send(user, "/ask_counsellor", title="Parler à un conseiller")
    await user.next_message()
    assert handoff_server.rasa.messages[-1].text == "/ask_counsellor"


async def test_routed_position_stored_with_coordinates(handoff_server, user):
    conversation_id = await escalate(handoff_server, user.session_id)
    await send(user, "Ma position", location={"latitude": 45.76712, "longitude": 4.88049})
    await asyncio.wait_for(user.handoff_status.get(), 5)
    [stored] = user_messages(handoff_server, conversation_id)
    assert stored.text == LOCATION_HANDOFF_TEXT
    assert stored.payload_data == {"type": "location", "latitude": 45.767, "longitude": 4.88}
    assert handoff_server.rasa.messages == []


async def test_routed_button_stores_title(handoff_server, user):
    await send(user, "boutons")
    await user.next_message()
    conversation_id = await escalate(handoff_server, user.session_id)
    await send(user, "/find_place", title="Lieu")
    await asyncio.wait_for(user.handoff_status.get(), 5)
    [stored] = user_messages(handoff_server, conversation_id)
    assert stored.text == "Lieu"
    assert stored.payload_data == {"type": "button", "payload": "/find_place"}


async def test_routed_long_message_kept_whole(handoff_server, user):
    conversation_id = await escalate(handoff_server, user.session_id)
    await send(user, "a" * 5000)
    await asyncio.wait_for(user.handoff_status.get(), 5)
    assert len(user_messages(handoff_server, conversation_id)[0].text) == 5000
    assert await user.no_message(timeout=0.5)


async def test_long_message_to_bot_still_truncated(handoff_server, user):
    await send(user, "a" * 5000)
    assert await user.next_message() == {"text": messages.TRUNCATED_MESSAGE}
    assert len(handoff_server.rasa.messages[-1].text) == 2000


async def test_database_down_bot_answers(tmp_path, redis_client, redis_url, key_prefix):
    url = f"sqlite:///{tmp_path / 'not-migrated.sqlite3'}"
    rasa = RecordingRasa()
    bridge = HandoffBridge(HandoffSettings(database_url=url, redis_url=redis_url), redis=redis_client,
                           key_prefix=key_prefix)
    channel = WidgetInput(redis_url=redis_url, handoff_bridge=bridge)
    try:
        async with serve_widget(channel, rasa) as server_url:
            socket_user = await SocketUser().connect(server_url)
            await send(socket_user, "bonjour")
            reply = await socket_user.next_message()
            await socket_user.client.disconnect()
    finally:
        dispose_engine(url)
    assert reply == {"text": "reçu : bonjour"}


def test_from_credentials_handoff_switch(monkeypatch, sqlite_url, redis_url):
    monkeypatch.setenv("HANDOFF_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    with_handoff = WidgetInput.from_credentials({"redis_url": redis_url})
    without_handoff = WidgetInput.from_credentials({"redis_url": redis_url, "handoff": False})
    assert with_handoff.handoff_bridge is not None
    assert with_handoff.handoff_bridge.settings.database_url == sqlite_url
    assert without_handoff.handoff_bridge is None
