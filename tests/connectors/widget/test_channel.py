"""Tests of connectors.widget.channel against a real Sanic server and real Redis.

Rasa's message handling is replaced by a recording callback so that these
tests see exactly what the channel hands to Rasa; the end-to-end tests use
the real Rasa server.
"""

import asyncio
from typing import Any, Dict, List

import pytest
import socketio
from redis import asyncio as aioredis
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from connectors.widget import messages
from connectors.widget.channel import WidgetInput, valid_session_id
from tests.integration.stack import free_port


class RecordingRasa:
    """Stands in for Rasa: records messages and answers by a small script."""

    def __init__(self) -> None:
        self.messages: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        if message.text == "silence":
            return
        if message.text == "panne":
            raise RuntimeError("simulated fault")
        if message.text == "boutons":
            await message.output_channel.send_text_with_buttons(
                message.sender_id, "Choisis :", [{"title": "Lieu", "payload": "/find_place"}]
            )
            return
        await message.output_channel.send_text_message(message.sender_id, f"reçu : {message.text}")


class SocketUser:
    """An asyncio socket.io client that collects bot messages."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.bot_messages: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue()
        self.confirmed: "asyncio.Queue[str]" = asyncio.Queue()
        self.client.on("bot_uttered", self._on_bot)
        self.client.on("session_confirm", self._on_confirm)
        self.session_id = ""

    async def _on_bot(self, data: Dict[str, Any]) -> None:
        await self.bot_messages.put(data)

    async def _on_confirm(self, session_id: str) -> None:
        await self.confirmed.put(session_id)

    async def connect(self, url: str, session_id: Any = None) -> "SocketUser":
        await self.client.connect(url, socketio_path="/socket.io", transports=["websocket"])
        await self.client.emit("session_request", {"session_id": session_id})
        self.session_id = await asyncio.wait_for(self.confirmed.get(), 5)
        return self

    async def next_message(self, timeout: float = 5) -> Dict[str, Any]:
        return await asyncio.wait_for(self.bot_messages.get(), timeout)


@pytest.fixture
async def widget_server(redis_url):
    """A Sanic app serving the widget channel on a free port."""
    rasa = RecordingRasa()
    channel = WidgetInput(redis_url=redis_url, cors_allowed_origins="*")
    # Sanic rewrites some of its methods when an app starts; in test mode it
    # keeps the originals, so that several apps can start in one process.
    Sanic.test_mode = True
    app = Sanic(f"widget_test_{free_port()}")
    app.blueprint(channel.blueprint(rasa), url_prefix="/webhooks/widget")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    task = asyncio.ensure_future(server.serve_forever())
    # Let the Redis manager start listening before the first emit.
    await asyncio.sleep(0.3)
    yield f"http://127.0.0.1:{port}", rasa
    task.cancel()
    server.close()
    await server.wait_closed()


@pytest.fixture
async def user(widget_server):
    url, _ = widget_server
    socket_user = await SocketUser().connect(url)
    yield socket_user
    await socket_user.client.disconnect()


async def test_session_request_issues_id(user):
    assert valid_session_id(user.session_id)


async def test_session_request_keeps_valid_id(widget_server, unique_id):
    url, _ = widget_server
    socket_user = await SocketUser().connect(url, session_id=unique_id)
    assert socket_user.session_id == unique_id
    await socket_user.client.disconnect()


@pytest.mark.parametrize("bad_id", ["../../etc", "x", "a" * 200, 42, {"$ne": 1}])
async def test_session_request_replaces_invalid_id(widget_server, bad_id):
    url, _ = widget_server
    socket_user = await SocketUser().connect(url, session_id=bad_id)
    assert socket_user.session_id != bad_id
    assert valid_session_id(socket_user.session_id)
    await socket_user.client.disconnect()


async def test_text_reaches_rasa_unchanged(widget_server, user):
    _, rasa = widget_server
    await user.client.emit("user_uttered", {"message": "bonjour", "session_id": user.session_id})
    reply = await user.next_message()
    assert reply == {"text": "reçu : bonjour"}
    assert rasa.messages[-1].sender_id == user.session_id
    assert rasa.messages[-1].input_channel == "widget"


async def test_typed_command_read_as_text(widget_server, user):
    _, rasa = widget_server
    await user.client.emit("user_uttered", {"message": "/restart", "session_id": user.session_id})
    await user.next_message()
    assert rasa.messages[-1].text == "restart"


async def test_typed_intent_with_entities_read_as_text(widget_server, user):
    _, rasa = widget_server
    await user.client.emit(
        "user_uttered", {"message": '/ask_counsellor{"x":1}', "session_id": user.session_id}
    )
    await user.next_message()
    assert rasa.messages[-1].text == 'ask_counsellor{"x":1}'


async def test_offered_payload_accepted(widget_server, user):
    _, rasa = widget_server
    await user.client.emit("user_uttered", {"message": "boutons", "session_id": user.session_id})
    offered = await user.next_message()
    assert offered["quick_replies"][0]["payload"] == "/find_place"

    await user.client.emit("user_uttered", {"message": "/find_place", "session_id": user.session_id})
    await user.next_message()
    assert rasa.messages[-1].text == "/find_place"


async def test_payload_offered_elsewhere_refused(widget_server, user, unique_id):
    url, rasa = widget_server
    other = await SocketUser().connect(url, session_id=unique_id)
    await other.client.emit("user_uttered", {"message": "boutons", "session_id": other.session_id})
    await other.next_message()

    await user.client.emit("user_uttered", {"message": "/find_place", "session_id": user.session_id})
    await user.next_message()
    assert rasa.messages[-1].text == "find_place"
    await other.client.disconnect()


async def test_empty_message_answered_without_rasa(widget_server, user):
    _, rasa = widget_server
    await user.client.emit("user_uttered", {"message": "   ", "session_id": user.session_id})
    reply = await user.next_message()
    assert reply == {"text": messages.EMPTY_MESSAGE}
    assert rasa.messages == []


async def test_missing_text_answered(widget_server, user):
    _, rasa = widget_server
    await user.client.emit("user_uttered", {"session_id": user.session_id})
    reply = await user.next_message()
    assert reply == {"text": messages.EMPTY_MESSAGE}
    assert rasa.messages == []


@pytest.mark.parametrize("payload", [["liste"], "texte brut", 42, None])
async def test_malformed_event_answered(widget_server, user, payload):
    _, rasa = widget_server
    await user.client.emit("user_uttered", payload)
    reply = await user.next_message()
    assert reply == {"text": messages.MALFORMED_MESSAGE}
    assert rasa.messages == []


async def test_non_string_text_answered(widget_server, user):
    _, rasa = widget_server
    await user.client.emit("user_uttered", {"message": {"a": 1}, "session_id": user.session_id})
    reply = await user.next_message()
    assert reply == {"text": messages.MALFORMED_MESSAGE}
    assert rasa.messages == []


async def test_long_message_truncated_with_notice(widget_server, user):
    _, rasa = widget_server
    await user.client.emit("user_uttered", {"message": "a" * 10_000, "session_id": user.session_id})
    notice = await user.next_message()
    reply = await user.next_message()
    assert notice == {"text": messages.TRUNCATED_MESSAGE}
    assert reply["text"].startswith("reçu : aaa")
    assert len(rasa.messages[-1].text) == 2000
    assert "[…]" in rasa.messages[-1].text


async def test_position_becomes_location_payload(widget_server, user):
    _, rasa = widget_server
    await user.client.emit(
        "user_uttered",
        {"message": "Ma position", "session_id": user.session_id,
         "location": {"latitude": 45.76712, "longitude": 4.88049, "accuracy": 20}},
    )
    await user.next_message()
    assert rasa.messages[-1].text == '/share_location{"latitude": 45.767, "longitude": 4.88}'


async def test_invalid_position_answered(widget_server, user):
    _, rasa = widget_server
    await user.client.emit(
        "user_uttered",
        {"message": "Ma position", "session_id": user.session_id,
         "location": {"latitude": "45}/restart", "longitude": 4}},
    )
    reply = await user.next_message()
    assert reply == {"text": messages.INVALID_POSITION}
    assert rasa.messages == []


async def test_no_reply_reported_to_user(widget_server, user):
    await user.client.emit("user_uttered", {"message": "silence", "session_id": user.session_id})
    reply = await user.next_message()
    assert reply == {"text": messages.TECHNICAL_PROBLEM}


async def test_fault_reported_to_user(widget_server, user):
    await user.client.emit("user_uttered", {"message": "panne", "session_id": user.session_id})
    reply = await user.next_message()
    assert reply == {"text": messages.TECHNICAL_PROBLEM}


async def test_reply_reaches_every_socket_of_session(widget_server, user):
    url, _ = widget_server
    second_tab = await SocketUser().connect(url, session_id=user.session_id)
    await user.client.emit("user_uttered", {"message": "salut", "session_id": user.session_id})
    assert (await user.next_message())["text"] == "reçu : salut"
    assert (await second_tab.next_message())["text"] == "reçu : salut"
    await second_tab.client.disconnect()


async def test_message_uses_confirmed_session(widget_server, user, unique_id):
    _, rasa = widget_server
    await user.client.emit("user_uttered", {"message": "coucou", "session_id": unique_id})
    await user.next_message()
    assert rasa.messages[-1].sender_id == user.session_id


async def test_helplines_route_lists_numbers(widget_server):
    url, _ = widget_server
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/webhooks/widget/helplines") as response:
            body = await response.json()
            assert response.status == 200
            assert response.headers["Access-Control-Allow-Origin"] == "*"
    numbers = [h["number"] for h in body["helplines"]]
    assert "3114" in numbers
    assert body["last_verified"]


def test_socket_close_error_filtered():
    import logging

    from sanic.exceptions import ServerError

    from connectors.widget.channel import _SocketCloseErrorFilter

    log_filter = _SocketCloseErrorFilter()
    closed = ServerError("Invalid response type None (need HTTPResponse)")
    other = ServerError("Invalid response type 42 (need HTTPResponse)")

    def record(error):
        return logging.LogRecord("sanic.error", logging.ERROR, __file__, 1, "Exception occurred", None,
                                 (type(error), error, None))

    assert log_filter.filter(record(closed)) is False
    assert log_filter.filter(record(other)) is True
