"""Tests of connectors.messenger.events: every fixture payload, and malformed events."""

import copy

import pytest

from connectors.messenger.events import (
    LIKE_STICKER_ID,
    AttachmentMessage,
    Delivery,
    Echo,
    Postback,
    QuickReply,
    Reaction,
    Read,
    TextMessage,
    WebhookError,
    parse_webhook,
)
from tests.connectors.messenger.helpers import PAGE_LYON, PAGE_NATIONAL, load_fixture

PSID = "2468013579246801"


def only_event(name):
    parsed = parse_webhook(load_fixture(name))
    assert parsed.ignored == []
    [event] = parsed.events
    return event


def test_text_message():
    event = only_event("text_message")
    assert event == TextMessage(PAGE_NATIONAL, PSID, 1767261600000, "m_AbCdEfGhIjKlMnOpQrStUvWx0001", "Bonjour")
    assert event.dedup_key == "message:m_AbCdEfGhIjKlMnOpQrStUvWx0001"


def test_quick_reply():
    event = only_event("quick_reply")
    assert isinstance(event, QuickReply)
    assert event.payload == "/find_place"
    assert event.text == "Trouver un lieu…"


def test_postback_get_started():
    event = only_event("postback_get_started")
    assert isinstance(event, Postback)
    assert (event.title, event.payload) == ("Démarrer", "/greet")
    assert event.dedup_key == "postback:m_AbCdEfGhIjKlMnOpQrStUvWx0003"


def test_postback_without_mid_keyed_by_time_and_payload():
    data = load_fixture("postback_menu")
    del data["entry"][0]["messaging"][0]["postback"]["mid"]
    [event] = parse_webhook(data).events
    assert event.mid is None
    assert event.dedup_key.startswith(f"postback:{PAGE_NATIONAL}:{PSID}:1767261600000:")


def test_postback_without_mid_or_time_not_deduplicated():
    data = load_fixture("postback_menu")
    del data["entry"][0]["messaging"][0]["postback"]["mid"]
    del data["entry"][0]["messaging"][0]["timestamp"]
    [event] = parse_webhook(data).events
    assert event.dedup_key is None


def test_location():
    event = only_event("location")
    assert isinstance(event, AttachmentMessage)
    assert event.location is not None
    assert (event.location.latitude, event.location.longitude) == (45.76404, 4.83566)
    assert not event.is_sticker


def test_like_sticker():
    event = only_event("sticker_like")
    assert isinstance(event, AttachmentMessage)
    assert event.sticker_id == LIKE_STICKER_ID
    assert event.is_sticker
    assert event.location is None


@pytest.mark.parametrize("name", ["image", "audio", "video", "file"])
def test_media_attachment(name):
    event = only_event(name)
    assert isinstance(event, AttachmentMessage)
    assert [attachment.type for attachment in event.attachments] == [name]
    assert event.attachments[0].url.startswith("https://")
    assert not event.is_sticker


def test_reaction():
    event = only_event("reaction")
    assert event == Reaction(PAGE_NATIONAL, PSID, 1767261600000, "m_PageMessage00000000000000001", "react", "❤️")
    assert event.dedup_key is None


def test_read():
    assert only_event("read") == Read(PAGE_NATIONAL, PSID, 1767261600000, 1767261590000)


def test_delivery():
    event = only_event("delivery")
    assert isinstance(event, Delivery)
    assert event.mids == ("m_PageMessage00000000000000001",)


def test_echo_names_the_user_as_psid():
    event = only_event("echo")
    assert event == Echo(PAGE_NATIONAL, PSID, 1767261600000, "m_PageMessage00000000000000002")


def test_batch_of_entries():
    parsed = parse_webhook(load_fixture("batch"))
    assert [type(event) for event in parsed.events] == [TextMessage, Read, TextMessage]
    assert parsed.events[2].page_id == PAGE_LYON
    assert parsed.events[2].psid == "1357924680135792"


def test_text_with_link_preview_is_text():
    data = load_fixture("text_message", text="regarde https://exemple.fr")
    data["entry"][0]["messaging"][0]["message"]["attachments"] = [
        {"type": "fallback", "payload": {"url": "https://exemple.fr"}, "title": "Exemple"}]
    [event] = parse_webhook(data).events
    assert isinstance(event, TextMessage)


def test_unsupported_message_is_attachment():
    data = load_fixture("text_message")
    message = data["entry"][0]["messaging"][0]["message"]
    del message["text"]
    message["is_unsupported"] = True
    [event] = parse_webhook(data).events
    assert [attachment.type for attachment in event.attachments] == ["unsupported"]


@pytest.mark.parametrize("body, reason", [
    ([], "the body is not a JSON object"),
    ("page", "the body is not a JSON object"),
    ({"object": "instagram", "entry": []}, 'the object is not "page"'),
    ({"entry": []}, 'the object is not "page"'),
    ({"object": "page"}, "the body has no entry list"),
    ({"object": "page", "entry": {}}, "the body has no entry list"),
])
def test_top_level_errors(body, reason):
    with pytest.raises(WebhookError) as raised:
        parse_webhook(body)
    assert str(raised.value) == reason


def mutate(change):
    data = load_fixture("text_message")
    event = data["entry"][0]["messaging"][0]
    change(data["entry"][0], event)
    return data


MALFORMED = [
    ("entry without id", lambda e, m: e.pop("id"), "entry has no valid page id"),
    ("entry id number", lambda e, m: e.update({"id": 111111111111111}), "entry has no valid page id"),
    ("standby entry", lambda e, m: e.pop("messaging") and e.update({"standby": []}), "entry has no messaging list (standby or changes)"),
    ("messaging dict", lambda e, m: e.update({"messaging": {}}), "entry messaging is not a list"),
    ("no sender", lambda e, m: m.pop("sender"), "event has no valid sender or recipient id"),
    ("sender user_ref", lambda e, m: m.update({"sender": {"user_ref": "abc"}}), "event has no valid sender or recipient id"),
    ("psid with colon", lambda e, m: m.update({"sender": {"id": "12:34"}}), "event has no valid sender or recipient id"),
    ("psid with underscore", lambda e, m: m.update({"sender": {"id": "12_34"}}), "event has no valid sender or recipient id"),
    ("other recipient", lambda e, m: m.update({"recipient": {"id": "999"}}), "event recipient is not the entry's page"),
    ("optin", lambda e, m: m.pop("message") and m.update({"optin": {"ref": "x"}}), "unsupported event type"),
    ("message list", lambda e, m: m.update({"message": []}), "message is not an object"),
    ("no mid", lambda e, m: m["message"].pop("mid"), "message has no valid mid"),
    ("text number", lambda e, m: m["message"].update({"text": 42}), "message text is not a string"),
    ("empty message", lambda e, m: m["message"].pop("text"), "message has neither text nor attachments"),
    ("quick reply no payload", lambda e, m: m["message"].update({"quick_reply": {}}), "quick reply has no valid payload"),
    ("postback no payload", lambda e, m: m.pop("message") and m.update({"postback": {"title": "x"}}), "postback has no valid payload"),
    ("postback long payload", lambda e, m: m.pop("message") and m.update({"postback": {"payload": "x" * 1001}}), "postback has no valid payload"),
]


@pytest.mark.parametrize("label, change, reason", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_event_ignored_with_reason(label, change, reason):
    parsed = parse_webhook(mutate(change))
    assert parsed.events == []
    assert parsed.ignored == [reason]


def test_malformed_event_does_not_hide_others():
    data = load_fixture("batch")
    data["entry"][0]["messaging"].insert(0, "pas un objet")
    parsed = parse_webhook(data)
    assert len(parsed.events) == 3
    assert parsed.ignored == ["event is not an object"]


def test_bad_coordinates_give_no_location():
    data = load_fixture("location")
    coordinates = data["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["coordinates"]
    for lat in ["45.7", True, None, 10**400, float("nan")]:
        coordinates["lat"] = lat
        [event] = parse_webhook(copy.deepcopy(data)).events
        assert event.location is None, lat


def test_boolean_timestamp_ignored():
    data = mutate(lambda e, m: m.update({"timestamp": True}))
    [event] = parse_webhook(data).events
    assert event.timestamp is None


def test_entry_not_object_ignored():
    data = load_fixture("text_message")
    data["entry"].append("pas un objet")
    parsed = parse_webhook(data)
    assert len(parsed.events) == 1
    assert parsed.ignored == ["entry is not an object"]
