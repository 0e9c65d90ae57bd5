"""Tests of connectors.telegram.updates: sample updates and malformed ones."""

from __future__ import annotations

import copy

import pytest

from connectors.telegram.updates import (
    ButtonPress,
    Command,
    Ignored,
    SharedLocation,
    TextMessage,
    UnsupportedContent,
    read_update,
)
from tests.connectors.telegram.server import FIXTURE_CHAT_ID, FIXTURES_DIR, load_update

CHAT = FIXTURE_CHAT_ID


def sample(name: str) -> dict:
    return load_update(name, update_id=1000)


def test_every_fixture_read():
    # Each sample update is read without falling back to `Ignored` for a parse error.
    for path in sorted(FIXTURES_DIR.glob("*.json")):
        event = read_update(sample(path.stem))
        assert "could not read" not in getattr(event, "reason", ""), path.name


def test_text_message():
    assert read_update(sample("text_message")) == TextMessage(
        1000, CHAT, "Bonjour, je cherche une mission locale à Lyon"
    )


def test_text_with_command_and_url_is_text():
    event = read_update(sample("command_in_text"))
    assert isinstance(event, TextMessage)
    assert event.text == 'je tape /bot et /intent{"x": 1} ici, voir https://example.org/page?a=1&b=2'


def test_edited_message_is_text():
    assert read_update(sample("edited_message")) == TextMessage(
        1000, CHAT, "Bonjour, je cherche une mission locale à Lyon 3e", edited=True
    )


@pytest.mark.parametrize(
    "text, name",
    [
        ("/start", "start"),
        ("/start@seconde_chance_test_bot", "start"),
        ("/start affiche-lycee", "start"),
        ("  /START  ", "start"),
        ("/aide", "aide"),
        ("/help", "aide"),
        ("/conseiller", "conseiller"),
    ],
)
def test_commands(text, name):
    update = sample("text_message")
    update["message"]["text"] = text
    assert read_update(update) == Command(1000, CHAT, name, text)


@pytest.mark.parametrize("text", ["/bot", "/restart", '/greet{"x": 1}', "/start/aide", "start", "/ aide", "/aidez-moi"])
def test_other_slash_texts_are_text(text):
    update = sample("text_message")
    update["message"]["text"] = text
    assert read_update(update) == TextMessage(1000, CHAT, text)


def test_location():
    assert read_update(sample("location_message")) == SharedLocation(1000, CHAT, 45.764043, 4.835659)


def test_venue_is_location():
    assert read_update(sample("venue_message")) == SharedLocation(1000, CHAT, 45.7578, 4.832)


def test_live_location_update_ignored():
    event = read_update(sample("edited_live_location"))
    assert isinstance(event, Ignored)
    assert event.reason == "a live-location update"


@pytest.mark.parametrize(
    "name, kind, caption",
    [
        ("sticker_message", "sticker", ""),
        ("photo_message", "photo", "Mon bulletin de notes"),
        ("voice_message", "voice", ""),
        ("document_message", "document", ""),
        ("poll_message", "poll", ""),
    ],
)
def test_unsupported_content(name, kind, caption):
    assert read_update(sample(name)) == UnsupportedContent(1000, CHAT, kind, caption)


def test_button_press_with_title():
    event = read_update(sample("callback_query"))
    assert event == ButtonPress(1000, "4382bfdwdsb323b2d9", CHAT, "p:/find_place", "Trouver un lieu près de chez moi")


def test_button_on_inaccessible_message():
    event = read_update(sample("callback_query_old_message"))
    assert event == ButtonPress(1000, "4382bfdwdsb323b2e0", CHAT, "k:Zm9yZ290dGVuLWtleQ", None)


def test_button_without_message_answered_only():
    update = sample("callback_query")
    del update["callback_query"]["message"]
    event = read_update(update)
    assert isinstance(event, Ignored)
    assert event.callback_query_id == "4382bfdwdsb323b2d9"


def test_button_without_data_answered_only():
    update = sample("callback_query")
    del update["callback_query"]["data"]
    event = read_update(update)
    assert isinstance(event, Ignored)
    assert event.callback_query_id == "4382bfdwdsb323b2d9"


@pytest.mark.parametrize(
    "name, reason",
    [
        ("group_message", "a message outside a private chat, or without a valid chat"),
        ("new_chat_members", "a message outside a private chat, or without a valid chat"),
        ("pinned_message_service", "a service message"),
        ("channel_post", "an update type the channel does not handle"),
        ("my_chat_member", "an update type the channel does not handle"),
    ],
)
def test_service_updates_ignored(name, reason):
    assert read_update(sample(name)) == Ignored(1000, reason)


@pytest.mark.parametrize(
    "data",
    [None, [], "texte", 42, {}, {"update_id": "1"}, {"update_id": True}, {"update_id": 1.5}, {"update_id": None}],
)
def test_no_valid_update_id(data):
    event = read_update(data)
    assert isinstance(event, Ignored)
    assert event.update_id is None


def mutated(name: str, path: list, value) -> dict:
    update = copy.deepcopy(sample(name))
    target = update
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return update


@pytest.mark.parametrize(
    "update",
    [
        mutated("text_message", ["message"], "texte"),
        mutated("text_message", ["message"], None),
        mutated("text_message", ["message", "chat", "id"], "700000001"),
        mutated("text_message", ["message", "chat", "id"], True),
        mutated("text_message", ["message", "chat"], KeyError),
        mutated("text_message", ["message", "chat"], []),
        mutated("text_message", ["message", "date"], KeyError),
        mutated("text_message", ["message", "date"], "hier"),
        mutated("text_message", ["message", "text"], 42),
        mutated("text_message", ["message", "text"], ["a"]),
        mutated("text_message", ["message", "from"], "x"),
        mutated("text_message", ["message", "entities"], "x"),
        mutated("location_message", ["message", "location"], {"latitude": 45}),
        mutated("location_message", ["message", "location"], "45,4"),
        mutated("callback_query", ["callback_query", "id"], 5),
        mutated("callback_query", ["callback_query", "message", "reply_markup"], "x"),
        mutated("callback_query", ["callback_query", "message", "reply_markup", "inline_keyboard"], [["x"]]),
        mutated("callback_query", ["callback_query", "from"], KeyError),
    ],
)
def test_malformed_updates_never_raise(update):
    event = read_update(update)
    assert event.update_id == 1000
    if isinstance(event, TextMessage):
        assert isinstance(event.text, str)
    if hasattr(event, "chat_id"):
        assert isinstance(event.chat_id, int) and not isinstance(event.chat_id, bool)


def test_unparsed_text_still_read():
    # PTB requires `date`; the text is still read.
    update = mutated("text_message", ["message", "date"], KeyError)
    assert read_update(update) == TextMessage(1000, CHAT, "Bonjour, je cherche une mission locale à Lyon")


def test_unparsed_content_gets_reply():
    update = mutated("poll_message", ["message", "poll", "options"], [{"text": "CAP"}])
    assert read_update(update) == UnsupportedContent(1000, CHAT, "poll")


def test_string_chat_id_ignored():
    event = read_update(mutated("text_message", ["message", "chat", "id"], "700000001"))
    assert isinstance(event, Ignored)
