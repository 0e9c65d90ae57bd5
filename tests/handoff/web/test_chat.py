"""Tests of the chat view: transcript, replies delivered to the real widget channel, live events, actions."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Optional

import pytest
import socketio
from redis.asyncio import Redis

from connectors.telegram.sender import REASON_BLOCKED
from connectors.widget.channel import WidgetInput
from handoff import events, store
from handoff.config import HandoffSettings
from tests.connectors.widget.socket_client import serve_widget

from .conftest import RASA_TOKEN, ConsoleClient, next_ws_message


class SocketUser:
    """A socket.io client of the widget channel that collects what the user receives."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: "asyncio.Queue[tuple[str, Any]]" = asyncio.Queue()
        self.confirmed: "asyncio.Queue[str]" = asyncio.Queue()
        self.client.on("bot_uttered", lambda data: self.received.put_nowait(("bot_uttered", data)))
        self.client.on("counsellor_typing", lambda data: self.received.put_nowait(("counsellor_typing", data)))
        self.client.on("session_confirm", lambda session_id: self.confirmed.put_nowait(session_id))

    async def connect(self, url: str, session_id: str) -> "SocketUser":
        await self.client.connect(url, socketio_path="/socket.io", transports=["websocket"])
        await self.client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(self.confirmed.get(), 5)
        return self

    async def next_event(self, name: str, timeout: float = 5.0, predicate=None) -> Any:
        """Return the next event of this name that satisfies `predicate`, skipping the others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event, data = await asyncio.wait_for(self.received.get(), max(0.01, deadline - loop.time()))
            if event == name and (predicate is None or predicate(data)):
                return data


@asynccontextmanager
async def widget_channel(redis_url: str, bridge: Any = None) -> AsyncIterator[str]:
    """Serve the real widget channel on a free port and yield its URL."""

    async def rasa(message) -> None:
        await message.output_channel.send_text_message(message.sender_id, "réponse de l'assistant")

    channel = WidgetInput(redis_url=redis_url, cors_allowed_origins="*", handoff_bridge=bridge)
    async with serve_widget(channel, rasa) as url:
        yield url


@pytest.fixture
async def widget(redis_url):
    async with widget_channel(redis_url) as url:
        yield url


def counsellor_text(text: str):
    return lambda data: data.get("text") == text


async def test_chat_page_renders(console, data):
    login = data.counsellor()
    conversation = data.escalate(sender_id="id-plateforme-a-ne-jamais-montrer")
    data.claim(conversation.id, login)
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.get(f"/conversations/{conversation.id}")
        html = await response.text()
    assert response.status == 200
    assert conversation.pseudonym in html
    assert "Envoyer un lieu" in html
    assert "Rendre la main à l'assistant" in html
    assert "id-plateforme-a-ne-jamais-montrer" not in html


async def test_conversation_api_keeps_order(console, data):
    login = data.counsellor("Alice")
    conversation = data.escalate()
    async with ConsoleClient(console) as client:
        await client.login(login)
        await client.post_json(f"/conversations/{conversation.id}/claim")
        body = await (await client.get(f"/api/conversations/{conversation.id}")).json()
    authors = [message["author"] for message in body["messages"]]
    assert authors == ["user", "bot", "user", "system"]
    assert body["messages"][1]["author_label"] == "Assistant"
    assert body["messages"][0]["author_label"] == conversation.pseudonym
    assert body["messages"][3]["text"] == store.NOTICE_CLAIMED
    assert body["conversation"]["status"] == "active"
    assert "sender_id" not in body["conversation"]


async def test_conversation_api_after_id(console, data):
    login = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(console) as client:
        await client.login(login)
        everything = await (await client.get(f"/api/conversations/{conversation.id}")).json()
        second_id = everything["messages"][1]["id"]
        rest = await (await client.get(f"/api/conversations/{conversation.id}?after={second_id}")).json()
    assert [m["id"] for m in rest["messages"]] == [m["id"] for m in everything["messages"][2:]]


async def test_conversation_api_shows_delivery_failure(console, data):
    # Recorded by the store, so a reload of the page shows « non remis » and the reason again.
    login = data.counsellor("Alice")
    conversation = data.escalate(channel="telegram")
    data.claim(conversation.id, login)
    refused_id = data.refused_message(conversation.id, login, "Tu es là ?", REASON_BLOCKED)
    retried_id = data.refused_message(conversation.id, login, "Je reste disponible.", REASON_BLOCKED)
    with data.factory() as session:
        store.clear_refusals(session, "telegram", conversation.sender_id)
        store.mark_delivered(session, [retried_id])
        session.commit()
    async with ConsoleClient(console) as client:
        await client.login(login)
        body = await (await client.get(f"/api/conversations/{conversation.id}")).json()
    by_id = {message["id"]: message for message in body["messages"]}
    assert by_id[refused_id]["delivered"] is False
    assert by_id[refused_id]["delivery_error"] == REASON_BLOCKED
    assert by_id[retried_id]["delivered"] is True
    assert by_id[retried_id]["delivery_error"] is None
    assert all(message["delivery_error"] is None for message in body["messages"][:-2])


async def test_message_stored_and_sent_to_widget(console, data, widget):
    login = data.counsellor("Alice")
    sender_id = uuid.uuid4().hex
    conversation = data.escalate(sender_id=sender_id)
    user = await SocketUser().connect(widget, sender_id)
    async with ConsoleClient(console) as client:
        await client.login(login)
        await client.post_json(f"/conversations/{conversation.id}/claim")
        notice = await user.next_event("bot_uttered")
        response = await client.post_json(
            f"/conversations/{conversation.id}/messages", {"text": "Bonjour, je suis Alice. Je t'écoute."}
        )
        body = await response.json()
        reply = await user.next_event("bot_uttered", predicate=counsellor_text("Bonjour, je suis Alice. Je t'écoute."))
    await user.client.disconnect()

    assert notice["custom"] == {"type": "notice", "text": store.NOTICE_CLAIMED, "with_counsellor": True}
    assert notice["author"] == "system"
    assert isinstance(notice["message_id"], int)
    assert response.status == 200
    assert body["sent"] is True
    assert reply == {
        "text": "Bonjour, je suis Alice. Je t'écoute.",
        "author": "counsellor",
        "counsellor_name": "Alice",
        "message_id": body["message"]["id"],
    }
    stored = data.transcript(conversation.id)[-1]
    assert stored.author == "counsellor"
    assert stored.text == "Bonjour, je suis Alice. Je t'écoute."


async def test_unacknowledged_messages_sent_again(console, data, widget):
    login = data.counsellor()
    sender_id = uuid.uuid4().hex
    conversation = data.escalate(sender_id=sender_id)
    async with ConsoleClient(console) as client:
        await client.login(login)
        await client.post_json(f"/conversations/{conversation.id}/claim")
        first = await (await client.post_json(
            f"/conversations/{conversation.id}/messages", {"text": "premier message"})).json()
        # The user opens the widget only now: the next message brings the earlier ones.
        user = await SocketUser().connect(widget, sender_id)
        await client.post_json(f"/conversations/{conversation.id}/messages", {"text": "deuxième message"})
        received = []
        while not received or received[-1].get("text") != "deuxième message":
            received.append(await user.next_event("bot_uttered"))
    await user.client.disconnect()
    ids = [message["message_id"] for message in received]
    assert first["message"]["id"] in ids
    assert received[0]["custom"]["text"] == store.NOTICE_CLAIMED
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("text", "status"),
    [("a" * 5000, 200), ("a" * 5001, 400), ("   \n ", 400)],
)
async def test_message_length_limit(console, data, text, status):
    login = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, login)
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_json(f"/conversations/{conversation.id}/messages", {"text": text})
        body = await response.json()
    assert response.status == status
    if status == 400:
        assert body["error"] in (
            "Le message est vide.",
            "Votre message dépasse 5\u202f000 caractères : raccourcissez-le ou envoyez-le en plusieurs fois.",
        )


async def test_message_on_colleague_conversation_409(console, data):
    owner = data.counsellor("Bruno")
    other = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, owner)
    async with ConsoleClient(console) as client:
        await client.login(other)
        response = await client.post_json(f"/conversations/{conversation.id}/messages", {"text": "bonjour"})
        body = await response.json()
    assert response.status == 409
    assert body == {"error": "Cette conversation est suivie par Bruno : vous ne pouvez pas agir dessus."}


async def test_user_message_pushed_whole(console, data):
    login = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, login)
    huge = ("<script>alert(1)</script> " * 40_000)[:1_000_000]
    async with ConsoleClient(console) as client:
        await client.login(login)
        ws = await client.websocket(conversation.id)
        await next_ws_message(ws, "queue")
        message_id = data.add_user_message(conversation.id, huge)
        redis = Redis.from_url(console.redis_url)
        await events.publish_user_message(redis, conversation.id, message_id, channel=console.events_channel)
        pushed = await next_ws_message(ws, "message", timeout=10)
        await redis.close()
        await ws.close()
    assert pushed["message"]["id"] == message_id
    assert pushed["message"]["author"] == "user"
    assert len(pushed["message"]["text"]) == 1_000_000


async def test_user_message_not_pushed_to_other_pages(console, data):
    login = data.counsellor()
    shown = data.escalate()
    other = data.escalate()
    async with ConsoleClient(console) as client:
        await client.login(login)
        ws = await client.websocket(shown.id)
        await next_ws_message(ws, "queue")
        redis = Redis.from_url(console.redis_url)
        other_id = data.add_user_message(other.id, "pour une autre page")
        await events.publish_user_message(redis, other.id, other_id, channel=console.events_channel)
        shown_id = data.add_user_message(shown.id, "pour cette page")
        await events.publish_user_message(redis, shown.id, shown_id, channel=console.events_channel)
        pushed = await next_ws_message(ws, "message")
        await redis.close()
        await ws.close()
    assert pushed["message"]["id"] == shown_id


async def test_user_typing_and_delivery_pushed(console, data):
    login = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(console) as client:
        await client.login(login)
        ws = await client.websocket(conversation.id)
        await next_ws_message(ws, "queue")
        redis = Redis.from_url(console.redis_url)
        await events.publish_user_typing(redis, conversation.id, channel=console.events_channel)
        typing = await next_ws_message(ws, "user_typing")
        await events.publish_delivered(redis, conversation.id, [41, 42], channel=console.events_channel)
        delivered = await next_ws_message(ws, "delivered")
        await redis.close()
        await ws.close()
    assert typing["conversation_id"] == conversation.id
    assert delivered["message_ids"] == [41, 42]


async def test_widget_round_trip_through_bridge(console, data, redis_url):
    from connectors.handoff_bridge import HandoffBridge

    login = data.counsellor("Alice")
    sender_id = uuid.uuid4().hex
    conversation = data.escalate(sender_id=sender_id)
    data.claim(conversation.id, login)
    bridge = HandoffBridge(
        HandoffSettings(database_url=console.database_url, redis_url=redis_url),
        key_prefix=console.key_prefix,
        events_channel=console.events_channel,
    )
    try:
        async with widget_channel(redis_url, bridge) as url:
            async with ConsoleClient(console) as client:
                await client.login(login)
                ws = await client.websocket(conversation.id)
                await next_ws_message(ws, "queue")
                user = await SocketUser().connect(url, sender_id)

                await user.client.emit("user_uttered", {"message": "<b>coucou</b>", "session_id": sender_id})
                pushed = await next_ws_message(ws, "message")

                sent = await (await client.post_json(
                    f"/conversations/{conversation.id}/messages", {"text": "Salut !"})).json()
                await user.next_event("bot_uttered", predicate=counsellor_text("Salut !"))
                await user.client.emit("message_ack", {"session_id": sender_id, "message_ids": [sent["message"]["id"]]})
                delivered = await next_ws_message(ws, "delivered")
                await user.client.disconnect()
                await ws.close()
    finally:
        await bridge.close()
    assert pushed["message"]["text"] == "<b>coucou</b>"
    assert pushed["message"]["author"] == "user"
    assert sent["message"]["id"] in delivered["message_ids"]


async def test_counsellor_typing_reaches_widget(console, data, widget):
    login = data.counsellor()
    sender_id = uuid.uuid4().hex
    conversation = data.escalate(sender_id=sender_id)
    data.claim(conversation.id, login)
    user = await SocketUser().connect(widget, sender_id)
    async with ConsoleClient(console) as client:
        await client.login(login)
        ws = await client.websocket(conversation.id)
        await next_ws_message(ws, "queue")
        await ws.send_str(json.dumps({"type": "typing", "conversation_id": conversation.id, "typing": True}))
        started = await user.next_event("counsellor_typing")
        await ws.send_str(json.dumps({"type": "typing", "conversation_id": conversation.id, "typing": False}))
        stopped = await user.next_event("counsellor_typing")
        await ws.close()
    await user.client.disconnect()
    assert started == {"typing": True}
    assert stopped == {"typing": False}


async def test_typing_ignored_on_colleague_conversation(console, data, widget):
    owner = data.counsellor()
    other = data.counsellor()
    sender_id = uuid.uuid4().hex
    conversation = data.escalate(sender_id=sender_id)
    data.claim(conversation.id, owner)
    user = await SocketUser().connect(widget, sender_id)
    async with ConsoleClient(console) as client:
        await client.login(other)
        ws = await client.websocket(conversation.id)
        await next_ws_message(ws, "queue")
        await ws.send_str(json.dumps({"type": "typing", "conversation_id": conversation.id, "typing": True}))
        with pytest.raises(asyncio.TimeoutError):
            await user.next_event("counsellor_typing", timeout=1.0)
        await ws.close()
    await user.client.disconnect()


async def test_transfer_to_colleague(console, data):
    alice = data.counsellor("Alice")
    bruno = data.counsellor("Bruno")
    conversation = data.escalate()
    data.claim(conversation.id, alice)
    async with ConsoleClient(console) as giver, ConsoleClient(console) as receiver:
        await giver.login(alice)
        await receiver.login(bruno)
        ws = await receiver.websocket()
        await next_ws_message(ws, "queue")
        response = await giver.post_json(
            f"/conversations/{conversation.id}/transfer", {"counsellor_id": data.counsellor_id(bruno)}
        )
        assigned = await next_ws_message(ws, "assigned")
        await ws.close()
    assert response.status == 200
    assert assigned == {"type": "assigned", "conversation_id": conversation.id, "pseudonym": conversation.pseudonym}
    assert data.conversation(conversation.id).counsellor_id == data.counsellor_id(bruno)
    assert data.transcript(conversation.id)[-1].text == store.NOTICE_TRANSFERRED


async def test_transfer_to_inactive_account_400(console, data):
    alice = data.counsellor()
    gone = data.counsellor(active=False)
    conversation = data.escalate()
    data.claim(conversation.id, alice)
    async with ConsoleClient(console) as client:
        await client.login(alice)
        response = await client.post_json(
            f"/conversations/{conversation.id}/transfer", {"counsellor_id": data.counsellor_id(gone)}
        )
        body = await response.json()
    assert response.status == 400
    assert body == {"error": "Ce conseiller n'existe pas ou son compte est désactivé."}
    assert data.conversation(conversation.id).counsellor_id == data.counsellor_id(alice)


@pytest.mark.parametrize("target", [1e20, 2**64, -1, True, "abc", None])
async def test_transfer_invalid_id_400(console, data, target):
    alice = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, alice)
    async with ConsoleClient(console) as client:
        await client.login(alice)
        response = await client.post_json(f"/conversations/{conversation.id}/transfer", {"counsellor_id": target})
    assert response.status == 400


@pytest.mark.parametrize("after", ["99999999999999999999999", "-5", "x"])
async def test_conversation_api_invalid_after_400(console, data, after):
    login = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.get(f"/api/conversations/{conversation.id}?after={after}")
    assert response.status == 400


async def test_lone_surrogate_stored_replaced(console, data):
    login = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, login)
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_json(f"/conversations/{conversation.id}/messages", {"text": "salut \ud800 toi"})
    assert response.status == 200
    assert data.transcript(conversation.id)[-1].text == "salut \ufffd toi"


async def route_of(console, sender_id: str) -> Optional[bytes]:
    redis = Redis.from_url(console.redis_url)
    try:
        return await redis.get(f"{console.key_prefix}route:widget:{sender_id}")
    finally:
        await redis.close()


async def test_hand_back_resumes_rasa_then_routes_bot(console, data, rasa_stub, widget):
    login = data.counsellor()
    sender_id = uuid.uuid4().hex
    conversation = data.escalate(sender_id=sender_id)
    async with ConsoleClient(console) as client:
        await client.login(login)
        await client.post_json(f"/conversations/{conversation.id}/claim")
        assert await route_of(console, sender_id) == conversation.id.encode()
        user = await SocketUser().connect(widget, sender_id)
        response = await client.post_json(f"/conversations/{conversation.id}/hand-back")
        notice = await user.next_event(
            "bot_uttered", predicate=lambda m: m.get("custom", {}).get("text") == store.NOTICE_HANDED_BACK
        )
    await user.client.disconnect()
    assert response.status == 200
    requests = rasa_stub.requests_for(sender_id)
    assert requests == [
        {"path": f"/conversations/{sender_id}/tracker/events", "token": RASA_TOKEN, "json": {"event": "resume"}}
    ]
    stored = data.conversation(conversation.id)
    assert stored.status == "closed"
    assert stored.handed_back is True
    assert await route_of(console, sender_id) == b"bot"
    assert notice["author"] == "system"


async def test_close_with_note(console, data, rasa_stub):
    login = data.counsellor()
    sender_id = uuid.uuid4().hex
    conversation = data.escalate(sender_id=sender_id)
    data.claim(conversation.id, login)
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_json(
            f"/conversations/{conversation.id}/close", {"note": "Orienté vers la Mission locale de Lille."}
        )
        again = await client.post_json(f"/conversations/{conversation.id}/close", {"note": "encore"})
    assert response.status == 200
    assert again.status == 410
    stored = data.conversation(conversation.id)
    assert stored.status == "closed"
    assert stored.handed_back is False
    assert stored.close_note == "Orienté vers la Mission locale de Lille."
    assert rasa_stub.requests_for(sender_id)[0]["json"] == {"event": "resume"}
    assert data.transcript(conversation.id)[-1].text == store.NOTICE_CLOSED
    assert await route_of(console, sender_id) == b"bot"


async def test_hand_back_with_rasa_down_keeps_conversation(console, data, rasa_stub):
    login = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, login)
    rasa_stub.status = 503
    try:
        async with ConsoleClient(console) as client:
            await client.login(login)
            response = await client.post_json(f"/conversations/{conversation.id}/hand-back")
            body = await response.json()
    finally:
        rasa_stub.status = 200
    assert response.status == 502
    assert "La conversation reste avec vous" in body["error"]
    assert data.conversation(conversation.id).status == "active"


async def test_hand_back_by_colleague_refused_before_rasa(console, data, rasa_stub):
    owner = data.counsellor("Chloé")
    other = data.counsellor()
    sender_id = uuid.uuid4().hex
    conversation = data.escalate(sender_id=sender_id)
    data.claim(conversation.id, owner)
    async with ConsoleClient(console) as client:
        await client.login(other)
        response = await client.post_json(f"/conversations/{conversation.id}/hand-back")
    assert response.status == 409
    assert rasa_stub.requests_for(sender_id) == []
    assert data.conversation(conversation.id).status == "active"


async def test_places_search_found(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.get("/api/places?q=69100&type=mission_locale")
        body = await response.json()
    assert response.status == 200
    assert body["status"] == "found"
    assert body["location"] == "Villeurbanne (69)"
    assert body["places"]
    assert body["places"][0]["card"]["type"] == "mission_locale"


async def test_places_search_ambiguous(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        body = await (await client.get("/api/places?q=Saint-Denis&type=cio")).json()
        insee = body["candidates"][0]["insee"]
        chosen = await (await client.get(f"/api/places?insee={insee}&type=cio")).json()
    assert body["status"] == "ambiguous"
    assert len(body["candidates"]) >= 2
    assert chosen["status"] == "found"
    assert chosen["insee"] == insee


@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("q=Zzyzxville&type=cio", 200, {"status": "not_found"}),
        ("q=Lyon&type=boulangerie", 400, {"error": "Type de lieu inconnu."}),
        ("q=&type=cio", 400, {"error": "Indiquez une ville ou un code postal."}),
    ],
)
async def test_places_search_errors(console, data, query, status, expected):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.get(f"/api/places?{query}")
        body = await response.json()
    assert response.status == status
    assert body == expected


async def test_send_place_card_to_widget(console, data, widget):
    login = data.counsellor("Alice")
    sender_id = uuid.uuid4().hex
    conversation = data.escalate(sender_id=sender_id)
    data.claim(conversation.id, login)
    user = await SocketUser().connect(widget, sender_id)
    async with ConsoleClient(console) as client:
        await client.login(login)
        found = await (await client.get("/api/places?q=Villeurbanne&type=mission_locale")).json()
        place = found["places"][0]
        response = await client.post_json(
            f"/conversations/{conversation.id}/messages", {"place_id": place["id"], "insee": found["insee"]}
        )
        body = await response.json()
        card_message = await user.next_event("bot_uttered", predicate=lambda m: "custom" in m
                                             and m["custom"].get("type") == "place_cards")
    await user.client.disconnect()
    assert response.status == 200
    assert card_message["author"] == "counsellor"
    assert card_message["message_id"] == body["message"]["id"]
    assert card_message["custom"]["places"] == [place["card"]]
    assert body["message"]["card"]["name"] == place["card"]["name"]


async def test_send_unknown_place_404(console, data):
    login = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, login)
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_json(f"/conversations/{conversation.id}/messages", {"place_id": 987654321})
    assert response.status == 404
