"""Tests of connectors.messenger.sender against the fake Graph API server and the real Redis."""

import time

import pytest

from connectors import cards, senders
from connectors.messenger import messages
from connectors.messenger.ids import make_sender_id
from connectors.messenger.pages import Page
from connectors.messenger.sender import MessengerSender, sender_from_environment
from connectors.messenger.window import MessagingWindow
from connectors.senders import DeliveryError
from tests.connectors.messenger.helpers import (
    APP_SECRET,
    PAGE_LYON,
    PAGE_NATIONAL,
    PLACE_CARD,
    TOKEN_ENV,
    new_psid,
    write_pages_file,
)

COUNSELLOR_TEXT = {"text": "Bonjour, je suis Amina.", "author": "counsellor", "counsellor_name": "Amina",
                   "message_id": 12}
NOTICE = {"custom": {"type": "notice", "text": "Un conseiller a rejoint la conversation.", "with_counsellor": True},
          "author": "system", "message_id": 13}


@pytest.fixture
def window(redis_client, key_prefix):
    return MessagingWindow(redis_client, key_prefix=f"{key_prefix}last_user:")


@pytest.fixture
def sender(pages, graph_client, window):
    return MessengerSender(pages, graph_client, window)


@pytest.fixture
def psid():
    return new_psid()


@pytest.fixture
def sender_id(psid):
    return make_sender_id(PAGE_LYON, psid)


async def test_counsellor_text_within_a_day(sender, window, graph_api, sender_id, psid):
    await window.record_user_message(sender_id)
    await sender.send(sender_id, COUNSELLOR_TEXT)
    [request] = graph_api.sent_messages()
    assert request.psid == psid
    assert request.access_token == "jeton-page-lyon"
    assert request.text == cards.handoff_text(COUNSELLOR_TEXT)
    assert "Amina" in request.text
    assert (request.messaging_type, request.tag) == ("RESPONSE", None)


async def test_counsellor_text_after_a_day_tagged(sender, window, graph_api, sender_id):
    await window.record_user_message(sender_id, timestamp_ms=int((time.time() - 25 * 3600) * 1000))
    await sender.send(sender_id, COUNSELLOR_TEXT)
    [request] = graph_api.sent_messages()
    assert (request.messaging_type, request.tag) == ("MESSAGE_TAG", "HUMAN_AGENT")


async def test_unknown_last_message_tagged(sender, graph_api, sender_id):
    await sender.send(sender_id, COUNSELLOR_TEXT)
    [request] = graph_api.sent_messages()
    assert (request.messaging_type, request.tag) == ("MESSAGE_TAG", "HUMAN_AGENT")


async def test_window_rejection_resent_with_tag(sender, window, graph_api, sender_id):
    await window.record_user_message(sender_id)
    graph_api.fail_next(400, 10, subcode=2018278, message="(#10) Message sent outside of allowed window.")
    await sender.send(sender_id, COUNSELLOR_TEXT)
    requests = [request for request in graph_api.recorded() if request.message]
    assert [(request.status, request.messaging_type, request.tag) for request in requests] == [
        (400, "RESPONSE", None), (200, "MESSAGE_TAG", "HUMAN_AGENT")]


async def test_notice_sent_as_text(sender, window, graph_api, sender_id):
    await window.record_user_message(sender_id)
    await sender.send(sender_id, NOTICE)
    assert [request.text for request in graph_api.sent_messages()] == ["Un conseiller a rejoint la conversation."]


async def test_counsellor_places_as_template(sender, window, graph_api, sender_id):
    await window.record_user_message(sender_id)
    await sender.send(sender_id, {"custom": {"type": "place_cards", "places": [PLACE_CARD]}, "author": "counsellor",
                                  "counsellor_name": "Amina", "message_id": 14})
    intro, template = graph_api.sent_messages()
    assert "Amina" in intro.text
    assert [element["title"] for element in template.elements] == ["Mission locale de Lyon"]


async def test_long_counsellor_text_split(sender, window, graph_api, sender_id):
    await window.record_user_message(sender_id)
    await sender.send(sender_id, dict(COUNSELLOR_TEXT, text="\n\n".join(["phrase " * 200] * 3)))
    sent = graph_api.sent_messages()
    assert len(sent) == 3
    assert all(len(request.text) <= 2000 for request in sent)


@pytest.mark.parametrize("status, code", [(500, 2), (429, 4), (400, 613)])
async def test_transient_errors_retried(sender, window, graph_api, sender_id, status, code):
    await window.record_user_message(sender_id)
    graph_api.fail_next(status, code, times=2)
    await sender.send(sender_id, COUNSELLOR_TEXT)
    assert [request.status for request in graph_api.recorded()] == [status, status, 200]


async def test_retries_exhausted_not_permanent(sender, graph_api, sender_id):
    graph_api.fail_next(503, 2, times=10)
    with pytest.raises(DeliveryError) as raised:
        await sender.send(sender_id, COUNSELLOR_TEXT)
    assert raised.value.permanent is False
    assert raised.value.reason == messages.DELIVERY_UNAVAILABLE
    assert len(graph_api.recorded()) == 3


@pytest.mark.parametrize("code, subcode, reason", [
    (551, 1545041, messages.DELIVERY_BLOCKED),
    (100, 2018001, messages.DELIVERY_BLOCKED),
    # No time of the user's last message is known here.
    (10, 2018278, messages.DELIVERY_WINDOW_UNKNOWN),
    (10, 2018108, messages.DELIVERY_WINDOW_UNKNOWN),
    (190, None, messages.DELIVERY_TOKEN_INVALID),
    (200, 2018028, messages.DELIVERY_NOT_ALLOWED),
    (10, None, messages.DELIVERY_NOT_ALLOWED),
    (100, None, messages.DELIVERY_INVALID_MESSAGE),
    (3, None, "Messenger a refusé l'envoi (erreur 3)."),
])
async def test_permanent_rejection(sender, graph_api, sender_id, code, subcode, reason):
    graph_api.fail_next(400, code, subcode=subcode)
    with pytest.raises(DeliveryError) as raised:
        await sender.send(sender_id, COUNSELLOR_TEXT)
    assert raised.value.permanent is True
    assert raised.value.reason == reason
    assert len(graph_api.recorded()) == 1


async def test_window_refusal_after_seven_days(sender, window, graph_api, sender_id):
    await window.record_user_message(sender_id, timestamp_ms=int((time.time() - 7.5 * 24 * 3600) * 1000))
    graph_api.fail_next(400, 10, subcode=2018278)
    with pytest.raises(DeliveryError) as raised:
        await sender.send(sender_id, COUNSELLOR_TEXT)
    assert raised.value.reason == messages.DELIVERY_WINDOW_CLOSED


async def test_window_refusal_within_seven_days_blames_the_permission(sender, window, graph_api, sender_id):
    await window.record_user_message(sender_id, timestamp_ms=int((time.time() - 2 * 24 * 3600) * 1000))
    graph_api.fail_next(400, 10, subcode=2018278)
    with pytest.raises(DeliveryError) as raised:
        await sender.send(sender_id, COUNSELLOR_TEXT)
    assert raised.value.reason == messages.DELIVERY_HUMAN_AGENT_REFUSED


async def test_unknown_page_rejected(sender, graph_api):
    with pytest.raises(DeliveryError) as raised:
        await sender.send(make_sender_id("999999", "123"), COUNSELLOR_TEXT)
    assert raised.value.permanent is True
    assert raised.value.reason == messages.DELIVERY_UNKNOWN_PAGE
    assert graph_api.recorded() == []


async def test_widget_sender_id_rejected(sender, graph_api):
    with pytest.raises(DeliveryError):
        await sender.send("0123456789abcdef0123456789abcdef", COUNSELLOR_TEXT)


async def test_typing_actions(sender, graph_api, sender_id, psid):
    await sender.send_typing(sender_id, True)
    await sender.send_typing(sender_id, False)
    assert [(request.psid, request.sender_action) for request in graph_api.recorded()] == [
        (psid, "typing_on"), (psid, "typing_off")]


async def test_typing_failure_not_raised(window, graph_client, graph_api):
    page = Page(page_id=PAGE_NATIONAL, name="Seconde chance", token_variable="T", access_token="jeton-inconnu")
    sender = MessengerSender({PAGE_NATIONAL: page}, graph_client, window)
    await sender.send_typing(make_sender_id(PAGE_NATIONAL, "123"), True)
    await sender.send_typing("pas-un-identifiant", True)
    [request] = graph_api.recorded()
    assert request.status == 400


def test_not_configured_without_pages_file():
    assert sender_from_environment("redis://127.0.0.1:6379/0", {}) is None


def test_not_configured_with_invalid_pages_file(tmp_path, caplog):
    path = tmp_path / "pages.yml"
    path.write_text("pages: 3\n", encoding="utf-8")
    assert sender_from_environment("redis://127.0.0.1:6379/0", {"MESSENGER_PAGES_FILE": str(path)}) is None
    assert "Messenger sender unavailable" in caplog.text


def test_not_configured_without_tokens(tmp_path):
    environ = {"MESSENGER_PAGES_FILE": str(write_pages_file(tmp_path))}
    assert sender_from_environment("redis://127.0.0.1:6379/0", environ) is None


def test_built_from_environment(tmp_path):
    environ = {"MESSENGER_PAGES_FILE": str(write_pages_file(tmp_path)), **TOKEN_ENV,
               "MESSENGER_GRAPH_API_URL": "http://127.0.0.1:9/v19.0", "MESSENGER_APP_SECRET": APP_SECRET,
               "MESSENGER_SEND_ATTEMPTS": "5"}
    sender = sender_from_environment("redis://127.0.0.1:6379/0", environ)
    assert sender.confirms_delivery is True
    assert sorted(sender.pages) == [PAGE_NATIONAL, PAGE_LYON]
    assert sender.graph_api.base_url == "http://127.0.0.1:9/v19.0"
    assert sender.graph_api.retry.attempts == 5


def test_registry_returns_messenger_sender(tmp_path, monkeypatch):
    monkeypatch.setenv("MESSENGER_PAGES_FILE", str(write_pages_file(tmp_path)))
    for name, value in TOKEN_ENV.items():
        monkeypatch.setenv(name, value)
    senders._senders.pop("messenger", None)
    try:
        sender = senders.get_sender("messenger", "redis://127.0.0.1:6379/0")
        assert isinstance(sender, MessengerSender)
        assert sender.confirms_delivery is True
    finally:
        senders._senders.pop("messenger", None)
