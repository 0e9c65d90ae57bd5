"""Tests of connectors.widget.channel against a real Sanic server and real Redis.

Rasa's message handling is replaced by a recording callback so that these
tests see exactly what the channel hands to Rasa; the end-to-end tests use
the real Rasa server.
"""

import asyncio

import pytest
from redis import asyncio as aioredis

from connectors.rate_limit import RATE_LIMITED_MESSAGE
from connectors.widget import messages
from connectors.widget.channel import WidgetInput, valid_session_id
from tests.connectors.conftest import away_from_rate_window_edge
from tests.connectors.widget.socket_client import RecordingRasa, SocketUser, forget_offered_payloads, serve_widget


@pytest.fixture
async def widget_server(redis_url):
    """A Sanic app serving the widget channel, without the human handoff, on a free port."""
    rasa = RecordingRasa()
    channel = WidgetInput(redis_url=redis_url, cors_allowed_origins="*")
    async with serve_widget(channel, rasa) as url:
        yield url, rasa


@pytest.fixture
async def user(widget_server, redis_url):
    url, _ = widget_server
    socket_user = await SocketUser().connect(url)
    yield socket_user
    await socket_user.client.disconnect()
    redis_client = aioredis.Redis.from_url(redis_url)
    await forget_offered_payloads(redis_client, socket_user.session_id)
    await redis_client.close()


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


async def test_payload_offered_elsewhere_refused(widget_server, user, unique_id, redis_url):
    url, rasa = widget_server
    other = await SocketUser().connect(url, session_id=unique_id)
    await other.client.emit("user_uttered", {"message": "boutons", "session_id": other.session_id})
    await other.next_message()

    await user.client.emit("user_uttered", {"message": "/find_place", "session_id": user.session_id})
    await user.next_message()
    assert rasa.messages[-1].text == "find_place"
    await other.client.disconnect()
    redis_client = aioredis.Redis.from_url(redis_url)
    await forget_offered_payloads(redis_client, other.session_id)
    await redis_client.close()


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


async def test_messages_over_rate_limit_left_out_after_notice(redis_url):
    rasa = RecordingRasa()
    channel = WidgetInput(redis_url=redis_url, max_messages_per_minute=3)
    async with serve_widget(channel, rasa) as url:
        socket_user = await SocketUser().connect(url)
        await away_from_rate_window_edge()

        for number in range(5):
            await socket_user.client.emit("user_uttered", {"message": f"message {number}", "session_id": socket_user.session_id})
        replies = [(await socket_user.next_message())["text"] for _ in range(4)]

        # Socket.io handles each event in its own task, so which three get through may vary.
        received = sorted(message.text for message in rasa.messages)
        assert len(received) == 3
        assert replies.count(RATE_LIMITED_MESSAGE) == 1
        assert sorted(reply for reply in replies if reply != RATE_LIMITED_MESSAGE) == [f"reçu : {text}" for text in received]
        assert await socket_user.no_message()
        await socket_user.client.disconnect()


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


async def test_new_session_leaves_old_room(widget_server, user):
    url, _ = widget_server
    old_session = user.session_id
    old_tab = await SocketUser().connect(url, session_id=old_session)

    await user.client.emit("session_request", {"session_id": None})
    new_session = await asyncio.wait_for(user.confirmed.get(), 5)
    await old_tab.client.emit("user_uttered", {"message": "ancienne", "session_id": old_session})

    assert new_session != old_session
    assert (await old_tab.next_message())["text"] == "reçu : ancienne"
    assert await user.no_message()
    await old_tab.client.disconnect()


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


@pytest.mark.parametrize(("setting", "expected"), [(None, 30), (0, 0), ("12", 12)])
def test_rate_limit_read_from_credentials(setting, expected):
    channel = WidgetInput.from_credentials({"handoff": "false", "max_messages_per_minute": setting})
    assert channel.max_messages_per_minute == expected
