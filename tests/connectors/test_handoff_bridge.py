"""Tests of connectors.handoff_bridge against real SQLite and PostgreSQL databases and the real Redis."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Dict, List, Optional

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from connectors.handoff_bridge import (
    MAX_ACKNOWLEDGED_IDS,
    HandoffBridge,
    describe_error,
    message_for_user,
    valid_message_ids,
)
from handoff import events, store
from handoff.config import HandoffSettings
from handoff.db import dispose_engine, get_sessionmaker
from handoff.models import Message


@pytest.fixture
def events_channel(key_prefix) -> str:
    return f"{key_prefix}events"


@pytest.fixture
def bridge(database_url, redis_client, redis_url, key_prefix, events_channel) -> HandoffBridge:
    settings = HandoffSettings(database_url=database_url, redis_url=redis_url)
    return HandoffBridge(settings, redis=redis_client, key_prefix=key_prefix, events_channel=events_channel)


def escalate(url: str, sender_id: str) -> str:
    with get_sessionmaker(url)() as session:
        conversation = store.escalate(session, channel="widget", sender_id=sender_id)
        session.commit()
        return conversation.id


def claim(url: str, conversation_id: str, counsellor_id: int) -> None:
    with get_sessionmaker(url)() as session:
        store.claim(session, conversation_id, counsellor_id)
        session.commit()


def counsellor_message(url: str, conversation_id: str, counsellor_id: int, text: str,
                       payload: Optional[Any] = None) -> int:
    with get_sessionmaker(url)() as session:
        message = store.add_message(session, conversation_id, "counsellor", text, counsellor_id, payload)
        session.commit()
        return message.id


def hand_back(url: str, conversation_id: str, counsellor_id: int) -> None:
    with get_sessionmaker(url)() as session:
        store.hand_back(session, conversation_id, counsellor_id)
        session.commit()


def messages_of(url: str, conversation_id: str, author: str) -> List[Message]:
    with get_sessionmaker(url)() as session:
        return [message for message in store.transcript(session, conversation_id) if message.author == author]


class Collected:
    """Stands in for a channel's send function and keeps what it sent."""

    def __init__(self) -> None:
        self.messages: List[Dict[str, Any]] = []

    async def __call__(self, message: Dict[str, Any]) -> None:
        self.messages.append(message)


async def test_bridge_bot_without_conversation(bridge, unique_id):
    assert await bridge.handle_user_message("widget", unique_id, "bonjour") is False


async def test_bridge_routes_queued_conversation(bridge, database_url, unique_id):
    conversation_id = escalate(database_url, unique_id)
    await bridge.router.set("widget", unique_id, conversation_id)
    assert await bridge.handle_user_message("widget", unique_id, "tu es là ?") is True
    [stored] = messages_of(database_url, conversation_id, "user")
    assert stored.text == "tu es là ?"


async def test_bridge_routes_active_conversation(bridge, database_url, unique_id, make_counsellor):
    conversation_id = escalate(database_url, unique_id)
    claim(database_url, conversation_id, make_counsellor())
    assert await bridge.handle_user_message("widget", unique_id, "merci") is True


async def test_bridge_route_rebuilt_from_database(bridge, database_url, unique_id):
    # No Redis key: the router reads SQL, as after a Redis restart.
    conversation_id = escalate(database_url, unique_id)
    assert await bridge.handle_user_message("widget", unique_id, "allo") is True
    assert len(messages_of(database_url, conversation_id, "user")) == 1


async def test_bridge_publishes_user_message(bridge, database_url, redis_client, events_channel, unique_id):
    conversation_id = escalate(database_url, unique_id)
    async with events.subscribe(redis_client, channel=events_channel) as subscription:
        await bridge.handle_user_message("widget", unique_id, "allo")
        event = await subscription.get(timeout=5)
    [stored] = messages_of(database_url, conversation_id, "user")
    assert event == {"type": "user_message", "conversation_id": conversation_id, "message_id": stored.id}


async def test_bridge_stores_payload(bridge, database_url, unique_id):
    conversation_id = escalate(database_url, unique_id)
    position = {"type": "location", "latitude": 45.767, "longitude": 4.88}
    await bridge.handle_user_message("widget", unique_id, "📍 Position partagée", position)
    [stored] = messages_of(database_url, conversation_id, "user")
    assert stored.payload_data == position


async def test_bridge_stores_long_message_whole(bridge, database_url, unique_id):
    conversation_id = escalate(database_url, unique_id)
    text = "a" * 1_000_000
    assert await bridge.handle_user_message("widget", unique_id, text) is True
    [stored] = messages_of(database_url, conversation_id, "user")
    assert len(stored.text) == 1_000_000


async def test_bridge_closed_conversation_goes_to_bot(bridge, database_url, unique_id, make_counsellor):
    counsellor_id = make_counsellor()
    conversation_id = escalate(database_url, unique_id)
    claim(database_url, conversation_id, counsellor_id)
    hand_back(database_url, conversation_id, counsellor_id)
    await bridge.router.set("widget", unique_id, None)
    assert await bridge.handle_user_message("widget", unique_id, "re bonjour") is False
    assert messages_of(database_url, conversation_id, "user") == []


async def test_bridge_rechecks_after_insert(bridge, database_url, redis_client, unique_id, make_counsellor):
    # The hand-back committed, but the route still names the conversation:
    # the message is stored for the counsellor and the bot answers it too.
    counsellor_id = make_counsellor()
    conversation_id = escalate(database_url, unique_id)
    claim(database_url, conversation_id, counsellor_id)
    await bridge.router.set("widget", unique_id, conversation_id)
    hand_back(database_url, conversation_id, counsellor_id)
    assert await bridge.handle_user_message("widget", unique_id, "tu es parti ?") is False
    assert [m.text for m in messages_of(database_url, conversation_id, "user")] == ["tu es parti ?"]
    assert await redis_client.get(bridge.router.key("widget", unique_id)) is None


async def test_bridge_purged_conversation_goes_to_bot(bridge, unique_id):
    await bridge.router.set("widget", unique_id, "0" * 32)
    assert await bridge.handle_user_message("widget", unique_id, "bonjour") is False


async def test_bridge_database_down_goes_to_bot(tmp_path, redis_client, redis_url, key_prefix, unique_id):
    url = f"sqlite:///{tmp_path / 'not-migrated.sqlite3'}"
    broken = HandoffBridge(HandoffSettings(database_url=url, redis_url=redis_url), redis=redis_client,
                           key_prefix=key_prefix)
    try:
        assert await broken.handle_user_message("widget", unique_id, "bonjour") is False
        await broken.router.set("widget", unique_id, "f" * 32)
        assert await broken.handle_user_message("widget", unique_id, "bonjour") is False
        assert await broken.deliver_pending("widget", unique_id, Collected()) == 0
        assert await broken.acknowledge("widget", unique_id, [1]) == []
    finally:
        dispose_engine(url)


def test_bridge_database_check(tmp_path, redis_url, sqlite_url):
    url = f"sqlite:///{tmp_path / 'missing.sqlite3'}"
    assert HandoffBridge(HandoffSettings(database_url=url, redis_url=redis_url)).check_database() is False
    assert HandoffBridge(HandoffSettings(database_url=sqlite_url, redis_url=redis_url)).check_database() is True


async def test_bridge_does_not_block_event_loop(database_url, redis_client, redis_url, key_prefix, unique_id):
    # Every session takes 0.3 s to open: a ticker that wakes every 10 ms keeps
    # running meanwhile only if the bridge reads SQL outside the event loop.
    factory = get_sessionmaker(database_url)

    def slow_session():
        time.sleep(0.3)
        return factory()

    slow = HandoffBridge(HandoffSettings(database_url=database_url, redis_url=redis_url), redis=redis_client,
                         session_factory=slow_session, key_prefix=key_prefix)
    escalate(database_url, unique_id)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.ensure_future(tick())
    await slow.handle_user_message("widget", unique_id, "bonjour")
    ticker.cancel()
    assert ticks >= 45


async def test_deliver_pending_in_order(bridge, database_url, unique_id, make_counsellor):
    counsellor_id = make_counsellor(display_name="Amina")
    conversation_id = escalate(database_url, unique_id)
    claim(database_url, conversation_id, counsellor_id)
    message_id = counsellor_message(database_url, conversation_id, counsellor_id, "Bonjour, je suis là.")
    sent = Collected()
    assert await bridge.deliver_pending("widget", unique_id, sent) == 2
    notice, reply = sent.messages
    assert notice["custom"] == {"type": "notice", "text": store.NOTICE_CLAIMED, "with_counsellor": True}
    assert notice["author"] == "system"
    assert reply == {"text": "Bonjour, je suis là.", "author": "counsellor", "counsellor_name": "Amina",
                     "message_id": message_id}
    assert notice["message_id"] < message_id


async def test_deliver_pending_after_hand_back(bridge, database_url, unique_id, make_counsellor):
    counsellor_id = make_counsellor()
    conversation_id = escalate(database_url, unique_id)
    claim(database_url, conversation_id, counsellor_id)
    hand_back(database_url, conversation_id, counsellor_id)
    sent = Collected()
    await bridge.deliver_pending("widget", unique_id, sent)
    assert [m["custom"]["text"] for m in sent.messages] == [store.NOTICE_CLAIMED, store.NOTICE_HANDED_BACK]


async def test_deliver_pending_other_user_empty(bridge, database_url, unique_id, make_counsellor):
    conversation_id = escalate(database_url, unique_id)
    claim(database_url, conversation_id, make_counsellor())
    assert await bridge.deliver_pending("widget", f"{unique_id}-other", Collected()) == 0


async def test_acknowledge_stops_delivery(bridge, database_url, unique_id, make_counsellor):
    counsellor_id = make_counsellor()
    conversation_id = escalate(database_url, unique_id)
    claim(database_url, conversation_id, counsellor_id)
    counsellor_message(database_url, conversation_id, counsellor_id, "Coucou")
    sent = Collected()
    await bridge.deliver_pending("widget", unique_id, sent)
    ids = [message["message_id"] for message in sent.messages]
    assert await bridge.acknowledge("widget", unique_id, ids) == sorted(ids)
    assert await bridge.deliver_pending("widget", unique_id, Collected()) == 0
    delivered = messages_of(database_url, conversation_id, "counsellor")[0]
    assert delivered.delivered_at is not None


async def test_acknowledge_publishes_delivered(bridge, database_url, redis_client, events_channel, unique_id,
                                               make_counsellor):
    counsellor_id = make_counsellor()
    conversation_id = escalate(database_url, unique_id)
    claim(database_url, conversation_id, counsellor_id)
    message_id = counsellor_message(database_url, conversation_id, counsellor_id, "Coucou")
    async with events.subscribe(redis_client, channel=events_channel) as subscription:
        await bridge.acknowledge("widget", unique_id, [message_id])
        event = await subscription.get(timeout=5)
    assert event == {"type": "delivered", "conversation_id": conversation_id, "message_ids": [message_id]}


async def test_acknowledge_other_user_ignored(bridge, database_url, unique_id, make_counsellor):
    counsellor_id = make_counsellor()
    conversation_id = escalate(database_url, unique_id)
    claim(database_url, conversation_id, counsellor_id)
    message_id = counsellor_message(database_url, conversation_id, counsellor_id, "Coucou")
    assert await bridge.acknowledge("widget", f"{unique_id}-other", [message_id]) == []
    assert messages_of(database_url, conversation_id, "counsellor")[0].delivered_at is None


async def test_acknowledge_user_message_ignored(bridge, database_url, unique_id):
    conversation_id = escalate(database_url, unique_id)
    await bridge.handle_user_message("widget", unique_id, "allo")
    [stored] = messages_of(database_url, conversation_id, "user")
    assert await bridge.acknowledge("widget", unique_id, [stored.id]) == []


async def test_user_typing_published(bridge, database_url, redis_client, events_channel, unique_id):
    conversation_id = escalate(database_url, unique_id)
    async with events.subscribe(redis_client, channel=events_channel) as subscription:
        assert await bridge.user_typing("widget", unique_id) is True
        event = await subscription.get(timeout=5)
    assert event == {"type": "user_typing", "conversation_id": conversation_id}


async def test_user_typing_throttled(bridge, database_url, unique_id):
    escalate(database_url, unique_id)
    assert await bridge.user_typing("widget", unique_id) is True
    assert await bridge.user_typing("widget", unique_id) is False


async def test_user_typing_with_bot_not_published(bridge, unique_id):
    assert await bridge.user_typing("widget", unique_id) is False


def test_message_for_user_place_card(database_url, unique_id, make_counsellor):
    counsellor_id = make_counsellor()
    conversation_id = escalate(database_url, unique_id)
    claim(database_url, conversation_id, counsellor_id)
    card = {"name": "Mission locale de Lyon", "type": "mission_locale", "commune": "Lyon"}
    message_id = counsellor_message(database_url, conversation_id, counsellor_id, "Mission locale de Lyon", card)
    with get_sessionmaker(database_url)() as session:
        message = session.get(Message, message_id)
        outgoing = message_for_user(message)
    assert outgoing["custom"] == {"type": "place_cards", "places": [card]}
    assert "text" not in outgoing


@pytest.mark.parametrize(
    "payload",
    [
        {"custom": {"type": "place_cards", "places": [{"name": "CIO"}]}},
        {"type": "place_cards", "places": [{"name": "CIO"}]},
        [{"name": "CIO"}],
        {"name": "CIO"},
    ],
    ids=["custom", "content", "list", "card"],
)
def test_message_for_user_card_shapes(payload):
    message = Message(id=7, conversation_id="c", author="counsellor", text="CIO",
                      payload=json.dumps(payload))
    assert message_for_user(message)["custom"] == {"type": "place_cards", "places": [{"name": "CIO"}]}


def test_message_for_user_without_author_name():
    message = Message(id=8, conversation_id="c", author="counsellor", text="Bonjour")
    assert message_for_user(message)["counsellor_name"] == "Conseiller"


@pytest.mark.parametrize(
    "text, with_counsellor",
    [
        (store.NOTICE_CLAIMED, True),
        (store.NOTICE_RELEASED, True),
        (store.NOTICE_HANDED_BACK, False),
        (store.NOTICE_CLOSED, False),
        (store.NOTICE_EXPIRED_URGENT, False),
    ],
)
def test_message_for_user_notice_state(text, with_counsellor):
    message = Message(id=10, conversation_id="c", author="system", text=text)
    assert message_for_user(message)["custom"]["with_counsellor"] is with_counsellor


def test_message_for_user_other_notice_no_state():
    message = Message(id=11, conversation_id="c", author="system", text="Note de service")
    assert "with_counsellor" not in message_for_user(message)["custom"]


@pytest.mark.parametrize("author", ["user", "bot"])
def test_message_for_user_skips_user_and_bot(author):
    assert message_for_user(Message(id=9, conversation_id="c", author=author, text="x")) is None


@pytest.mark.parametrize(
    "values, expected",
    [
        ([3, 1, 3], [3, 1]),
        ([True, "4", 5.0, -1, 0, 6], [6]),
        ("1,2", []),
        (None, []),
        (list(range(1, 500)), list(range(1, MAX_ACKNOWLEDGED_IDS + 1))),
    ],
    ids=["duplicates", "wrong-types", "string", "none", "too-many"],
)
def test_valid_message_ids(values, expected):
    assert valid_message_ids(values) == expected


def test_describe_error_hides_parameters():
    error = IntegrityError("INSERT INTO followups VALUES (?)", ("lea@exemple.fr",), Exception("UNIQUE failed"))
    assert "lea@exemple.fr" not in describe_error(error)


def test_describe_error_keeps_connection_reason():
    error = OperationalError("SELECT 1", ("secret",), Exception("database is locked"))
    assert describe_error(error) == "OperationalError: database is locked"


def conversation_state(url: str, conversation_id: str):
    """Return whether the conversation is urgent, and the texts of its system messages."""
    with get_sessionmaker(url)() as session:
        conversation = store.get_conversation(session, conversation_id)
        notices = [m.text for m in store.transcript(session, conversation_id) if m.author == "system"]
        return conversation.urgent, notices


async def test_danger_while_queued_sends_notice(bridge, database_url, unique_id):
    conversation_id = escalate(database_url, unique_id)
    sent = Collected()

    assert await bridge.handle_user_message("widget", unique_id, "jveux mourir", send=sent) is True

    urgent, notices = conversation_state(database_url, conversation_id)
    assert urgent
    assert notices == [store.NOTICE_DANGER_WHILE_WAITING]
    assert [m["custom"]["text"] for m in sent.messages] == [store.NOTICE_DANGER_WHILE_WAITING]


async def test_danger_notice_sent_once(bridge, database_url, unique_id):
    conversation_id = escalate(database_url, unique_id)
    await bridge.handle_user_message("widget", unique_id, "jveux plus vivre")
    await bridge.handle_user_message("widget", unique_id, "oui ce soir")

    _, notices = conversation_state(database_url, conversation_id)
    assert notices == [store.NOTICE_DANGER_WHILE_WAITING]


async def test_plan_with_time_while_queued_is_danger(bridge, database_url, unique_id):
    conversation_id = escalate(database_url, unique_id)
    await bridge.handle_user_message("widget", unique_id, "oui ce soir")

    urgent, notices = conversation_state(database_url, conversation_id)
    assert urgent
    assert notices == [store.NOTICE_DANGER_WHILE_WAITING]


async def test_danger_with_counsellor_marks_urgent_only(bridge, database_url, unique_id, make_counsellor):
    conversation_id = escalate(database_url, unique_id)
    claim(database_url, conversation_id, make_counsellor())
    await bridge.handle_user_message("widget", unique_id, "jveux mourir")

    urgent, notices = conversation_state(database_url, conversation_id)
    assert urgent
    assert notices == [store.NOTICE_CLAIMED]


async def test_ordinary_message_while_queued_no_notice(bridge, database_url, unique_id):
    conversation_id = escalate(database_url, unique_id)
    sent = Collected()
    await bridge.handle_user_message("widget", unique_id, "c'est long", send=sent)

    urgent, notices = conversation_state(database_url, conversation_id)
    assert not urgent
    assert notices == []
    assert sent.messages == []


async def test_danger_publishes_queue_changed(bridge, database_url, redis_client, events_channel, unique_id):
    conversation_id = escalate(database_url, unique_id)
    async with events.subscribe(redis_client, channel=events_channel) as subscription:
        await bridge.handle_user_message("widget", unique_id, "jveux mourir")
        first = await subscription.get(timeout=5)
        second = await subscription.get(timeout=5)
    assert first["type"] == "user_message"
    assert second == {"type": "queue_changed", "conversation_id": conversation_id}
