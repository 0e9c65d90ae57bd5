"""Tests of connectors.messenger.channel: the webhook served by Sanic, real Redis, the fake Graph API.

Rasa is replaced by a recording callback (helpers.RecordingRasa), so that
these tests see exactly what the channel hands to Rasa. The end-to-end test
uses the real Rasa server.
"""

import asyncio
import json
import logging

import pytest

from connectors.messenger import messages
from connectors.messenger.channel import MessengerInput
from connectors.messenger.ids import make_sender_id
from connectors.messenger.window import MessagingWindow
from connectors.rate_limit import RATE_LIMITED_MESSAGE
from tests.connectors.conftest import away_from_rate_window_edge
from tests.connectors.messenger.helpers import (
    APP_SECRET,
    LYON_TERRITORY,
    PAGE_LYON,
    PAGE_NATIONAL,
    VERIFY_TOKEN,
    load_fixture,
    new_mid,
    new_psid,
    post,
    serve_messenger,
    write_pages_file,
)

ALL_ATTACHMENTS = [("sticker_like", "sticker"), ("image", "image"), ("audio", "audio"), ("video", "video"),
                   ("file", "file")]


@pytest.fixture
def psid():
    return new_psid()


async def settle(webhook_url):
    """Give the background tasks time to run; the handler's own tasks are awaited when the server stops."""
    await asyncio.sleep(0.3)


# ---------------------------------------------------------------- verification


async def verify(http, url, **params):
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    query.update(params)
    query = {key: value for key, value in query.items() if value is not None}
    async with http.get(url, params=query) as response:
        return response.status, await response.text(), response.headers.get("Content-Type", "")


async def test_verification_returns_challenge(webhook, http):
    status, body, content_type = await verify(http, webhook)
    assert (status, body) == (200, "1158201444")
    assert content_type.startswith("text/plain")


@pytest.mark.parametrize("params", [
    {"hub.verify_token": "mauvais-jeton"},
    {"hub.verify_token": None},
    {"hub.mode": "unsubscribe"},
    {"hub.mode": None},
])
async def test_verification_rejected(webhook, http, params, caplog):
    status, body, _ = await verify(http, webhook, **params)
    assert status == 403
    assert "1158201444" not in body
    assert "verification rejected" in caplog.text


async def test_verification_without_challenge(webhook, http):
    status, _, _ = await verify(http, webhook, **{"hub.challenge": None})
    assert status == 400


async def test_verification_rejected_without_token(pages, graph_client, redis_url, rasa, http):
    channel = MessengerInput(app_secret=APP_SECRET, verify_token="", pages=pages, graph_api=graph_client,
                             redis_url=redis_url)
    async with serve_messenger(channel, rasa) as url:
        status, _, _ = await verify(http, url, **{"hub.verify_token": ""})
    assert status == 403


# ---------------------------------------------------------------- request checks


async def test_signed_event_accepted(webhook, http, psid):
    status, body = await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid()))
    assert (status, body) == (200, "EVENT_RECEIVED")


async def test_missing_signature_rejected(webhook, http, graph_api, rasa, psid, caplog):
    body = json.dumps(load_fixture("text_message", psid=psid, mid=new_mid())).encode()
    status, text = await post(http, webhook, body, headers={"Content-Type": "application/json"})
    await settle(webhook)
    assert status == 403
    assert "missing X-Hub-Signature-256 header" in text
    assert "invalid signature" in caplog.text
    assert rasa.messages == []
    assert graph_api.recorded() == []


async def test_wrong_signature_rejected(webhook, http, graph_api, rasa, psid):
    status, _ = await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid()),
                           secret="autre-secret")
    await settle(webhook)
    assert status == 403
    assert rasa.messages == []
    assert graph_api.recorded() == []


async def test_invalid_json_rejected(webhook, http):
    status, text = await post(http, webhook, b'{"object": "page", "entry": [')
    assert status == 400
    assert text == "the body is not valid JSON"


async def test_deeply_nested_json_rejected(webhook, http):
    status, _ = await post(http, webhook, b"[" * 100_000 + b"]" * 100_000)
    assert status == 400


async def test_other_object_rejected(webhook, http):
    status, text = await post(http, webhook, {"object": "instagram", "entry": []})
    assert status == 400
    assert "not a Messenger page notification" in text


async def test_health(webhook, http):
    async with http.get(webhook.rsplit("/", 1)[0] + "/") as response:
        assert response.status == 200


async def test_disabled_channel_answers_503(rasa, http, caplog):
    channel = MessengerInput(app_secret="", pages={}, graph_api=None, disabled_reason="app_secret is empty")
    assert "Messenger channel disabled: app_secret is empty" in caplog.text
    async with serve_messenger(channel, rasa) as url:
        status_get, _, _ = await verify(http, url)
        status_post, text = await post(http, url, load_fixture("text_message"))
        async with http.get(url.rsplit("/", 1)[0] + "/") as response:
            health = response.status
    assert (status_get, status_post, health) == (503, 503, 503)
    assert "app_secret is empty" in text
    assert channel.get_output_channel() is None


def test_from_credentials_disabled_without_secret(caplog):
    channel = MessengerInput.from_credentials({"app_secret": "", "pages_file": "/nulle/part.yml"})
    assert channel.disabled_reason == "app_secret is empty (set MESSENGER_APP_SECRET)"


def test_from_credentials_disabled_without_pages_file():
    channel = MessengerInput.from_credentials({"app_secret": APP_SECRET, "pages_file": ""})
    assert channel.disabled_reason == "pages_file is empty (set MESSENGER_PAGES_FILE)"


def test_from_credentials_disabled_with_bad_pages_file(tmp_path):
    channel = MessengerInput.from_credentials({"app_secret": APP_SECRET, "pages_file": str(tmp_path / "absent.yml")})
    assert "cannot read the Messenger pages file" in channel.disabled_reason


def test_from_credentials_enabled(tmp_path, monkeypatch):
    monkeypatch.setenv("MESSENGER_TOKEN_NATIONAL", "jeton-page-nationale")
    channel = MessengerInput.from_credentials({
        "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "pages_file": str(write_pages_file(tmp_path)),
        "graph_api_url": "http://127.0.0.1:9/v19.0", "redis_url": "redis://127.0.0.1:6379/0", "handoff": "false"})
    assert channel.disabled_reason is None
    assert list(channel.pages) == [PAGE_NATIONAL]
    assert channel.graph_api.base_url == "http://127.0.0.1:9/v19.0"
    assert MessengerInput.name() == "messenger"


# ---------------------------------------------------------------- messages to Rasa


async def test_text_reaches_rasa_and_reply_sent(webhook, http, rasa, graph_api, psid):
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid()))
    [reply] = await graph_api.wait_for_messages_async(1, psid)
    [message] = rasa.messages
    assert message.text == "Bonjour"
    assert message.sender_id == make_sender_id(PAGE_NATIONAL, psid)
    assert message.input_channel == "messenger"
    assert message.metadata == {"page_id": PAGE_NATIONAL}
    assert reply.text == "reçu : Bonjour"
    assert reply.access_token == "jeton-page-nationale"
    assert reply.messaging_type == "RESPONSE"


async def test_typing_shown_before_reply(webhook, http, graph_api, psid):
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid()))
    await graph_api.wait_for_messages_async(1, psid)
    kinds = [request.sender_action or "message" for request in graph_api.recorded() if request.psid == psid]
    assert kinds == ["typing_on", "message"]


async def test_local_page_sends_territory(webhook, http, rasa, graph_api, psid):
    await post(http, webhook, load_fixture("text_message", page_id=PAGE_LYON, psid=psid, mid=new_mid(),
                                           text="mission locale près de chez moi"))
    [reply] = await graph_api.wait_for_messages_async(1, psid)
    [message] = rasa.messages
    assert message.sender_id == make_sender_id(PAGE_LYON, psid)
    assert message.metadata == {"page_id": PAGE_LYON, "territory": LYON_TERRITORY}
    assert reply.access_token == "jeton-page-lyon"


async def test_user_message_time_recorded(webhook, http, graph_api, redis_client, key_prefix, psid):
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid()))
    await graph_api.wait_for_messages_async(1, psid)
    window = MessagingWindow(redis_client, key_prefix=f"{key_prefix}last_user:")
    assert await window.last_user_message(make_sender_id(PAGE_NATIONAL, psid)) is not None


@pytest.mark.parametrize("typed, expected", [
    ("/restart", "restart"),
    ('/ask_counsellor{"x": 1}', 'ask_counsellor{"x": 1}'),
    ("/greet", "greet"),
])
async def test_typed_command_read_as_text(webhook, http, rasa, graph_api, psid, typed, expected):
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid(), text=typed))
    await graph_api.wait_for_messages_async(1, psid)
    assert rasa.messages[0].text == expected


async def test_quick_reply_offered_reaches_rasa_as_payload(webhook, http, rasa, graph_api, psid):
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid(), text="boutons"))
    [offer] = await graph_api.wait_for_messages_async(1, psid)
    reply = offer.message["quick_replies"][3]
    quick_reply = load_fixture("quick_reply", psid=psid, mid=new_mid())
    quick_reply["entry"][0]["messaging"][0]["message"].update({"text": reply["title"],
                                                               "quick_reply": {"payload": reply["payload"]}})
    await post(http, webhook, quick_reply)
    await graph_api.wait_for_messages_async(2, psid)
    assert rasa.messages[1].text == "/choice_3"


async def test_quick_replies_fit_messenger_limits(webhook, http, graph_api, psid):
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid(), text="boutons"))
    [offer] = await graph_api.wait_for_messages_async(1, psid)
    replies = offer.message["quick_replies"]
    assert len(replies) == 13
    assert all(len(reply["title"]) <= 20 for reply in replies)


async def test_quick_reply_not_offered_read_as_title(webhook, http, rasa, graph_api, psid):
    await post(http, webhook, load_fixture("quick_reply", psid=psid, mid=new_mid()))
    await graph_api.wait_for_messages_async(1, psid)
    assert rasa.messages[0].text == "Trouver un lieu…"


@pytest.mark.parametrize("fixture, payload", [("postback_get_started", "/greet"), ("postback_menu", "/ask_counsellor")])
async def test_always_allowed_postbacks(webhook, http, rasa, graph_api, psid, fixture, payload):
    await post(http, webhook, load_fixture(fixture, psid=psid, mid=new_mid()))
    await graph_api.wait_for_messages_async(1, psid)
    assert rasa.messages[0].text == payload


async def test_postback_not_offered_read_as_title(webhook, http, rasa, graph_api, psid):
    data = load_fixture("postback_menu", psid=psid, mid=new_mid())
    data["entry"][0]["messaging"][0]["postback"].update({"payload": '/restart{"a": 1}', "title": "Recommencer"})
    await post(http, webhook, data)
    await graph_api.wait_for_messages_async(1, psid)
    assert rasa.messages[0].text == "Recommencer"


async def test_location_becomes_payload(webhook, http, rasa, graph_api, psid):
    await post(http, webhook, load_fixture("location", psid=psid, mid=new_mid()))
    await graph_api.wait_for_messages_async(1, psid)
    assert rasa.messages[0].text == '/share_location{"latitude": 45.764, "longitude": 4.836}'


async def test_events_over_rate_limit_left_out_after_notice(pages, graph_client, graph_api, redis_url, key_prefix,
                                                           rasa, http, psid):
    channel = MessengerInput(app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, pages=pages, graph_api=graph_client,
                             redis_url=redis_url, max_messages_per_minute=2,
                             dedup_key_prefix=f"{key_prefix}event:", window_key_prefix=f"{key_prefix}last_user:")
    async with serve_messenger(channel, rasa) as url:
        await away_from_rate_window_edge()
        for number in range(4):
            await post(http, url, load_fixture("text_message", psid=psid, mid=new_mid(), text=f"message {number}"))
        replies = await graph_api.wait_for_messages_async(3, psid)
        await asyncio.sleep(0.5)

    assert [reply.text for reply in replies] == ["reçu : message 0", "reçu : message 1", RATE_LIMITED_MESSAGE]
    assert len(graph_api.sent_messages(psid)) == 3
    assert [message.text for message in rasa.messages] == ["message 0", "message 1"]


async def test_invalid_location_gets_reply(webhook, http, rasa, graph_api, psid):
    data = load_fixture("location", psid=psid, mid=new_mid())
    data["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["coordinates"]["lat"] = 123.0
    await post(http, webhook, data)
    [reply] = await graph_api.wait_for_messages_async(1, psid)
    assert reply.text == messages.INVALID_POSITION
    assert rasa.messages == []


@pytest.mark.parametrize("fixture, kind", ALL_ATTACHMENTS)
async def test_attachment_gets_french_reply(webhook, http, rasa, graph_api, psid, fixture, kind):
    await post(http, webhook, load_fixture(fixture, psid=psid, mid=new_mid()))
    [reply] = await graph_api.wait_for_messages_async(1, psid)
    assert reply.text == messages.ATTACHMENT_REPLIES[kind]
    assert rasa.messages == []


@pytest.mark.parametrize("fixture", ["reaction", "read", "delivery", "echo"])
async def test_receipts_and_echoes_silent(webhook, http, rasa, graph_api, psid, fixture):
    status, _ = await post(http, webhook, load_fixture(fixture, psid=psid))
    await settle(webhook)
    assert status == 200
    assert rasa.messages == []
    assert graph_api.recorded() == []


async def test_unknown_page_ignored(webhook, http, rasa, graph_api, psid, caplog):
    status, _ = await post(http, webhook, load_fixture("text_message", page_id="999999999", psid=psid, mid=new_mid()))
    await settle(webhook)
    assert status == 200
    assert rasa.messages == []
    assert graph_api.recorded() == []
    assert "page 999999999: the page is not configured" in caplog.text


async def test_batch_handles_every_page(webhook, http, rasa, graph_api):
    data = load_fixture("batch")
    for entry in data["entry"]:
        for event in entry["messaging"]:
            if "message" in event:
                event["message"]["mid"] = new_mid()
    await post(http, webhook, data)
    await graph_api.wait_for_messages_async(2)
    assert sorted(message.sender_id for message in rasa.messages) == [
        make_sender_id(PAGE_NATIONAL, "2468013579246801"), make_sender_id(PAGE_LYON, "1357924680135792")]


async def test_malformed_events_logged(webhook, http, caplog, psid):
    caplog.set_level(logging.INFO, logger="connectors.messenger")
    data = load_fixture("text_message", psid=psid, mid=new_mid())
    data["entry"][0]["messaging"].append({"sender": {"id": "x"}})
    status, _ = await post(http, webhook, data)
    assert status == 200
    assert "left out 1 event(s): event has no valid sender or recipient id ×1" in caplog.text


# ---------------------------------------------------------------- redelivery and order


async def test_redelivery_while_processing_answered_once(webhook, http, rasa, graph_api, psid):
    event = load_fixture("text_message", psid=psid, mid=new_mid(), text="lent")
    await post(http, webhook, event)
    await asyncio.sleep(0.2)
    await post(http, webhook, event)
    await graph_api.wait_for_messages_async(1, psid)
    await asyncio.sleep(1.5)
    assert [message.text for message in rasa.messages] == ["lent"]
    assert [request.text for request in graph_api.sent_messages(psid)] == ["reçu : lent"]


async def test_redelivery_later_dropped(webhook, http, rasa, graph_api, psid):
    event = load_fixture("text_message", psid=psid, mid=new_mid())
    await post(http, webhook, event)
    await graph_api.wait_for_messages_async(1, psid)
    await post(http, webhook, event)
    await settle(webhook)
    assert len(rasa.messages) == 1
    assert len(graph_api.sent_messages(psid)) == 1


async def test_replies_keep_message_order(webhook, http, graph_api, psid):
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid(), text="lent"))
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid(), text="vite"))
    replies = await graph_api.wait_for_messages_async(2, psid)
    assert [reply.text for reply in replies] == ["reçu : lent", "reçu : vite"]


# ---------------------------------------------------------------- faults and limits


async def test_rasa_fault_gets_apology(webhook, http, graph_api, psid):
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid(), text="panne"))
    [reply] = await graph_api.wait_for_messages_async(1, psid)
    assert reply.text == messages.technical_problem()
    assert "112" in reply.text


async def test_no_reply_gets_apology(webhook, http, graph_api, psid):
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid(), text="silence"))
    [reply] = await graph_api.wait_for_messages_async(1, psid)
    assert reply.text == messages.technical_problem()


async def test_long_text_truncated_with_notice(webhook, http, rasa, graph_api, psid):
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid(), text="mot " * 1000))
    # The echo of 2000 characters by the Rasa stand-in takes two messages.
    notice, *replies = await graph_api.wait_for_messages_async(3, psid)
    assert notice.text == messages.TRUNCATED_MESSAGE
    assert len(replies) == 2
    assert len(rasa.messages[0].text) == 2000


async def test_place_cards_sent_as_template(webhook, http, graph_api, psid):
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid(), text="lieux"))
    [template] = await graph_api.wait_for_messages_async(1, psid)
    [element] = template.elements
    assert element["title"] == "Mission locale de Lyon"
    assert [button["type"] for button in element["buttons"]] == ["web_url", "phone_number", "web_url"]


async def test_graph_error_on_reply_logged(webhook, http, graph_api, psid, caplog):
    graph_api.fail_next(400, 551, subcode=1545041)
    await post(http, webhook, load_fixture("text_message", psid=psid, mid=new_mid()))
    for _ in range(50):
        if "did not take a reply" in caplog.text:
            break
        await asyncio.sleep(0.05)
    assert "did not take a reply" in caplog.text
    assert psid not in caplog.text


async def test_output_channel_for_rasa_api(pages, graph_client, redis_url, rasa, graph_api, psid):
    channel = MessengerInput(app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, pages=pages, graph_api=graph_client,
                             redis_url=redis_url)
    async with serve_messenger(channel, rasa):
        output = channel.get_output_channel()
        await output.send_response(make_sender_id(PAGE_LYON, psid), {"text": "Bonjour", "image": "https://exemple.fr/a.png"})
    assert [request.message for request in graph_api.sent_messages(psid)] == [
        {"text": "Bonjour"},
        {"attachment": {"type": "image", "payload": {"url": "https://exemple.fr/a.png", "is_reusable": True}}},
    ]
