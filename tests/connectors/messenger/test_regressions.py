"""Edge cases of the Messenger channel, seen from an operator, a counsellor and a young user.

The tests under "Behaviour that works" guard what the channel already does
right. Each test under "Behaviour still wrong" states what the README, the
console or a young user needs, and fails until its bug is fixed.

The channel runs in a real Sanic server with the real Redis, SQLite and the
fake Graph API of fake_graph_api.py, and Rasa is the recording callback of
helpers.py. The delivery tests call the console's `ConsoleService` directly,
with a recorder in place of its WebSocket hub, and the `MessengerSender`
that the handoff service uses.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any, AsyncIterator, Dict, List, Tuple

import aiohttp
import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import lookup, search
from connectors import cards, senders
from connectors.messenger import messages
from connectors.messenger.ids import make_sender_id
from connectors.messenger.pages import load_pages
from connectors.messenger.sender import MessengerSender
from connectors.messenger.signature import SIGNATURE_HEADER
from connectors.messenger.window import MessagingWindow
from connectors.senders import DeliveryError
from handoff import store
from handoff.db import get_sessionmaker
from handoff.routing import Router
from handoff.web.service import ConsoleService
from tests.connectors.console_service import HubRecorder, new_console_service
from tests.bot.conftest import make_tracker
from tests.connectors.messenger.conftest import make_channel
from tests.connectors.messenger.helpers import (
    APP_SECRET,
    PAGE_LYON,
    PAGE_NATIONAL,
    PAGES_YAML,
    TOKEN_ENV,
    load_fixture,
    new_mid,
    new_psid,
    post,
    serve_messenger,
)
from tests.integration.stack import free_port

# How long a test watches for a message that must not come, or waits for one that must.
SILENCE_SECONDS = 1.0
REPLY_SECONDS = 5.0
# A sticker that is not the « like » thumbs-up (any sticker id other than Messenger's like button).
OTHER_STICKER_ID = 126361874215276
PAGE_WITHOUT_TOKEN = "555555555555555"


@pytest.fixture
def psid() -> str:
    return new_psid()


@pytest.fixture
def sender_id(psid) -> str:
    return make_sender_id(PAGE_LYON, psid)


@pytest.fixture
def database_url(sqlite_url) -> str:
    """The handoff database of make_counsellor: SQLite, so that no PostgreSQL server is needed."""
    return sqlite_url


@pytest.fixture
def window(redis_client, key_prefix) -> MessagingWindow:
    return MessagingWindow(redis_client, key_prefix=f"{key_prefix}last_user:")


@pytest.fixture
def sender(pages, graph_client, window) -> MessengerSender:
    return MessengerSender(pages, graph_client, window)


@pytest.fixture
async def console(sender, sqlite_url, redis_client, redis_url, key_prefix,
                  monkeypatch) -> AsyncIterator[Tuple[ConsoleService, HubRecorder]]:
    """The console's service on SQLite and Redis, delivering to the fake Graph API with short retries."""
    monkeypatch.setattr(senders, "_senders", {"messenger": sender})
    service, hub = new_console_service(sqlite_url, redis_url, redis_client, key_prefix)
    yield service, hub


async def claimed_conversation(database_url: str, redis_client, key_prefix: str, sender_id: str,
                               counsellor_id: int) -> str:
    """Open a conversation claimed by a counsellor, and route the user's messages to it as the console does."""
    session_factory = get_sessionmaker(database_url)
    with session_factory() as session:
        conversation = store.escalate(session, channel="messenger", sender_id=sender_id)
        store.claim(session, conversation.id, counsellor_id)
        session.commit()
        conversation_id = conversation.id
    await Router(redis_client, session_factory, key_prefix=key_prefix).set("messenger", sender_id, conversation_id)
    return conversation_id


async def deliver_claim_notice(service: ConsoleService, conversation_id: str) -> None:
    """Deliver the « a counsellor joined » notice that store.claim added, as the console does right after a claim."""
    conversation = await service.run(store.get_conversation, conversation_id)
    assert await service.deliver(conversation)


def transcript(database_url: str, conversation_id: str, author: str) -> List[str]:
    with get_sessionmaker(database_url)() as session:
        return [message.text for message in store.transcript(session, conversation_id) if message.author == author]


async def wait_for_transcript(database_url: str, conversation_id: str, author: str, count: int) -> List[str]:
    deadline = time.monotonic() + REPLY_SECONDS
    while True:
        found = transcript(database_url, conversation_id, author)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


def text_event(page_id: str, psid: str, text: str) -> Dict[str, Any]:
    return load_fixture("text_message", page_id=page_id, psid=psid, mid=new_mid(), text=text)


def texts_to(graph_api, psid: str) -> List[str]:
    return [request.text for request in graph_api.sent_messages(psid) if request.text is not None]


# ---------------------------------------------------------------- Behaviour that works


@pytest.mark.parametrize("typed", [
    "/ask_counsellor",
    '/inform_location{"commune_insee": "69123"}',
    "\u00a0/restart",
    "\u3000/restart",
    "\u2028/restart",
    " / /restart",
])
async def test_typed_payload_stays_text(webhook, http, rasa, graph_api, psid, typed):
    await post(http, webhook, text_event(PAGE_NATIONAL, psid, typed))
    await graph_api.wait_for_messages_async(1, psid)
    [message] = rasa.messages
    assert not message.text.lstrip().startswith("/")


async def test_concurrent_redelivery_answered_once(webhook, http, rasa, graph_api, psid):
    body = json.dumps(text_event(PAGE_NATIONAL, psid, "Bonjour")).encode()
    statuses = await asyncio.gather(*(post(http, webhook, body) for _ in range(8)))
    await graph_api.wait_for_messages_async(1, psid)
    await asyncio.sleep(SILENCE_SECONDS)
    assert [status for status, _ in statuses] == [200] * 8
    assert [message.text for message in rasa.messages] == ["Bonjour"]
    assert texts_to(graph_api, psid) == ["reçu : Bonjour"]


async def test_burst_of_thirty_kept_in_order(webhook, http, rasa, graph_api, psid):
    texts = [f"message {number}" for number in range(30)]
    for text in texts:
        await post(http, webhook, text_event(PAGE_NATIONAL, psid, text))
    await graph_api.wait_for_messages_async(30, psid, timeout=30)
    assert [message.text for message in rasa.messages] == texts
    assert texts_to(graph_api, psid) == [f"reçu : {text}" for text in texts]


async def test_batch_of_pages_answered_with_their_tokens(webhook, http, rasa, graph_api):
    users = {PAGE_NATIONAL: new_psid(), PAGE_LYON: new_psid(), "999999999999999": new_psid()}
    entries = []
    for page_id, user in users.items():
        events = [text_event(page_id, user, f"bonjour {number}")["entry"][0]["messaging"][0] for number in range(3)]
        entries.append({"id": page_id, "time": 1767261600500, "messaging": events})
    await post(http, webhook, {"object": "page", "entry": entries})
    await graph_api.wait_for_messages_async(6)
    await asyncio.sleep(SILENCE_SECONDS)

    national = graph_api.sent_messages(users[PAGE_NATIONAL])
    lyon = graph_api.sent_messages(users[PAGE_LYON])
    assert [request.text for request in national] == [f"reçu : bonjour {number}" for number in range(3)]
    assert {request.access_token for request in national} == {"jeton-page-nationale"}
    assert {request.access_token for request in lyon} == {"jeton-page-lyon"}
    assert graph_api.sent_messages(users["999999999999999"]) == []


@pytest.mark.parametrize("label", ["sha1 only", "signature of re-serialized body", "empty body"])
async def test_signature_variants_rejected(webhook, http, rasa, psid, label):
    event = text_event(PAGE_NATIONAL, psid, "Bonjour é")
    body = json.dumps(event, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if label == "sha1 only":
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()
    elif label == "signature of re-serialized body":
        other = json.dumps(event).encode()
        headers[SIGNATURE_HEADER] = "sha256=" + hmac.new(APP_SECRET.encode(), other, hashlib.sha256).hexdigest()
    else:
        body = b""
    status, _ = await post(http, webhook, body, headers=headers)
    await asyncio.sleep(SILENCE_SECONDS)
    assert status == 403
    assert rasa.messages == []


async def test_handover_and_referral_events_silent(webhook, http, rasa, graph_api, psid):
    base = text_event(PAGE_NATIONAL, psid, "x")["entry"][0]["messaging"][0]
    events = []
    for kind, value in (("pass_thread_control", {"new_owner_app_id": "123"}), ("referral", {"ref": "affiche"}),
                        ("optin", {"ref": "x"})):
        event = {key: base[key] for key in ("sender", "recipient", "timestamp")}
        event[kind] = value
        events.append(event)
    standby = {"id": PAGE_NATIONAL, "time": 1, "standby": [dict(base)]}
    status, _ = await post(http, webhook, {"object": "page", "entry": [
        {"id": PAGE_NATIONAL, "time": 1, "messaging": events}, standby]})
    await asyncio.sleep(SILENCE_SECONDS)
    assert status == 200
    assert rasa.messages == []
    assert graph_api.recorded() == []


async def test_long_counsellor_text_split_whole(sender, window, graph_api, sender_id):
    paragraph = "Voici ce que je te propose 😀 <b>pas de HTML</b> & des accents : é, à, ç. " * 20
    text = "\n\n".join([paragraph.strip()] * 3)[:4990].strip()
    await window.record_user_message(sender_id)
    await sender.send(sender_id, {"text": text, "author": "counsellor", "counsellor_name": "Camille",
                                  "message_id": 7})
    parts = [request.text for request in graph_api.sent_messages()]
    assert len(parts) >= 3
    assert all(1 <= len(part) <= 2000 for part in parts)
    assert parts[0].startswith("👤 Camille : ")
    joined = " ".join(" ".join(parts).split())
    assert joined == " ".join(cards.handoff_text({"text": text, "author": "counsellor",
                                                  "counsellor_name": "Camille"}).split())


async def test_console_sees_retries_and_refusals(console, graph_api, window, sqlite_url, redis_client, key_prefix,
                                                 sender_id, make_counsellor):
    service, hub = console
    counsellor_id = make_counsellor("Camille")
    conversation_id = await claimed_conversation(sqlite_url, redis_client, key_prefix, sender_id, counsellor_id)
    await window.record_user_message(sender_id)
    await deliver_claim_notice(service, conversation_id)

    graph_api.fail_next(500, 2, times=2)
    first, sent = await service.send_text(conversation_id, counsellor_id, "message A")
    assert sent
    assert first["id"] in hub.ids_of("delivered")

    graph_api.fail_next(400, 551, message="This person isn't available right now.")
    second, sent = await service.send_text(conversation_id, counsellor_id, "message B")
    assert not sent
    [failure] = hub.failures()
    assert failure["message_ids"] == [second["id"]]
    assert failure["reason"] == messages.DELIVERY_BLOCKED
    assert failure["permanent"] is True


# ---------------------------------------------------------------- Behaviour still wrong


async def test_permanent_refusal_does_not_hold_back_later_messages(console, graph_api, window, sqlite_url,
                                                                   redis_client, key_prefix, sender_id,
                                                                   make_counsellor):
    # Meta rejects message A for good (invalid message). Message B, written
    # later, must still be tried, and the console must show B as delivered or failed.
    service, hub = console
    counsellor_id = make_counsellor("Camille")
    conversation_id = await claimed_conversation(sqlite_url, redis_client, key_prefix, sender_id, counsellor_id)
    await window.record_user_message(sender_id)
    await deliver_claim_notice(service, conversation_id)

    graph_api.fail_next(400, 100, times=2, message="(#100) Invalid parameter")
    await service.send_text(conversation_id, counsellor_id, "message A")
    second, _ = await service.send_text(conversation_id, counsellor_id, "message B")

    tried = [request.text for request in graph_api.recorded() if request.text]
    assert any(text.endswith("message B") for text in tried), tried
    assert second["id"] in hub.ids_of("delivered") + hub.ids_of("delivery_failed")


async def test_pending_counsellor_message_sent_when_user_writes(handoff_webhook, http, console, graph_api, window,
                                                                sqlite_url, redis_client, key_prefix, sender_id,
                                                                psid, make_counsellor):
    # Meta was down for every retry, so the console shows « pas encore parti ».
    # The widget sends pending messages when the user comes back, and
    # Messenger must do the same when the user writes again: the console's
    # service retries on the user_message event (tests/integration checks
    # the event path on a running stack).
    service, hub = console
    counsellor_id = make_counsellor("Camille")
    conversation_id = await claimed_conversation(sqlite_url, redis_client, key_prefix, sender_id, counsellor_id)
    await window.record_user_message(sender_id)
    await deliver_claim_notice(service, conversation_id)
    graph_api.fail_next(500, 2, times=3)
    _, sent = await service.send_text(conversation_id, counsellor_id, "Je t'ai trouvé une adresse.")
    assert not sent

    await post(http, handoff_webhook, text_event(PAGE_LYON, psid, "tu es là ?"))
    await wait_for_transcript(sqlite_url, conversation_id, "user", 1)
    await service.redeliver(conversation_id)
    delivered = await graph_api.wait_for_messages_async(1, psid, timeout=REPLY_SECONDS)
    assert any(request.text.endswith("Je t'ai trouvé une adresse.") for request in delivered if request.text)


async def test_danger_while_queued_notice_delivered(handoff_webhook, http, console, graph_api, sqlite_url,
                                                    redis_client, key_prefix, rasa, sender_id, psid):
    # The paused bot cannot reply. The bridge stores the danger notice, and
    # the handoff service delivers it when the user's message is announced.
    service, _ = console
    session_factory = get_sessionmaker(sqlite_url)
    with session_factory() as session:
        conversation_id = store.escalate(session, channel="messenger", sender_id=sender_id).id
        session.commit()
    await Router(redis_client, session_factory, key_prefix=key_prefix).set("messenger", sender_id, conversation_id)

    await post(http, handoff_webhook, text_event(PAGE_LYON, psid, "jveux mourir"))
    await wait_for_transcript(sqlite_url, conversation_id, "user", 1)
    await service.redeliver(conversation_id)

    delivered = await graph_api.wait_for_messages_async(1, psid, timeout=REPLY_SECONDS)
    assert any(store.NOTICE_DANGER_WHILE_WAITING in (request.text or "") for request in delivered)
    assert rasa.messages == []
    with session_factory() as session:
        assert store.get_conversation(session, conversation_id).urgent


async def test_refusal_survives_restart_until_user_writes(console, pages, graph_client, graph_api, window,
                                                          sqlite_url, redis_client, redis_url, key_prefix, sender_id,
                                                          make_counsellor, monkeypatch):
    # The user blocked the page. After a restart of the handoff service, the
    # counsellor must still read « non remis » with the reason, and the
    # refused message must not be tried again. Once the user writes, it goes out.
    service, _ = console
    counsellor_id = make_counsellor("Camille")
    conversation_id = await claimed_conversation(sqlite_url, redis_client, key_prefix, sender_id, counsellor_id)
    await window.record_user_message(sender_id)
    await deliver_claim_notice(service, conversation_id)
    graph_api.fail_next(400, 551, message="This person isn't available right now.")
    refused, sent = await service.send_text(conversation_id, counsellor_id, "message B")
    assert not sent

    # The restart: a new sender and a new service, with only the database and Redis kept.
    monkeypatch.setattr(senders, "_senders", {"messenger": MessengerSender(pages, graph_client, window)})
    restarted, hub = new_console_service(sqlite_url, redis_url, redis_client, key_prefix)
    later, sent = await restarted.send_text(conversation_id, counsellor_id, "message C")
    assert sent
    tried = [request.text for request in graph_api.recorded() if request.text]
    assert [text for text in tried if text.endswith("message B")] == ["👤 Camille : message B"]
    assert hub.ids_of("delivered") == [later["id"]]
    shown = {message["id"]: message for message in (await restarted.conversation(conversation_id))["messages"]}
    assert shown[refused["id"]]["delivered"] is False
    assert shown[refused["id"]]["delivery_error"] == messages.DELIVERY_BLOCKED

    await window.record_user_message(sender_id)
    await restarted.redeliver(conversation_id)
    assert refused["id"] in hub.ids_of("delivered")
    assert any(request.text.endswith("message B") for request in graph_api.sent_messages() if request.text)
    shown = {message["id"]: message for message in (await restarted.conversation(conversation_id))["messages"]}
    assert shown[refused["id"]]["delivered"] is True
    assert shown[refused["id"]]["delivery_error"] is None


async def test_window_reason_matches_elapsed_time(sender, window, graph_api, sender_id):
    # 30 hours after the user's last message, Meta rejects the tagged reply
    # (for example because the app lacks the Human Agent permission).
    await window.record_user_message(sender_id, timestamp_ms=int((time.time() - 30 * 3600) * 1000))
    graph_api.fail_next(400, 10, subcode=2018278, message="(#10) Message sent outside of allowed window.")
    with pytest.raises(DeliveryError) as raised:
        await sender.send(sender_id, {"text": "Bonjour", "author": "counsellor", "counsellor_name": "Camille",
                                      "message_id": 8})
    assert "7 jours" not in raised.value.reason


async def test_automatic_notice_not_tagged_human_agent(sender, window, graph_api, sender_id):
    # window.py reserves the HUMAN_AGENT tag for messages written by a person, and the hand-back notice is automatic.
    await window.record_user_message(sender_id, timestamp_ms=int((time.time() - 30 * 3600) * 1000))
    notice = {"custom": {"type": "notice", "text": store.NOTICE_HANDED_BACK, "with_counsellor": False},
              "author": "system", "message_id": 9}
    try:
        await sender.send(sender_id, notice)
    except DeliveryError:
        pass
    assert [request.tag for request in graph_api.recorded() if request.message] in ([], [None])


@pytest.mark.parametrize("reason", [
    messages.DELIVERY_TOKEN_INVALID,
    messages.DELIVERY_NOT_ALLOWED,
])
def test_delivery_reason_addresses_counsellor_as_vous(reason):
    # The console speaks to counsellors with « vous » (« Vérifiez votre connexion »), as the Telegram reasons do.
    assert "Préviens" not in reason


async def test_other_sticker_not_shown_as_like(handoff_webhook, http, rasa, graph_api, sqlite_url, redis_client,
                                               key_prefix, sender_id, psid, make_counsellor):
    # A crying or angry sticker must not reach the counsellor as a thumbs-up.
    conversation_id = await claimed_conversation(sqlite_url, redis_client, key_prefix, sender_id,
                                                 make_counsellor("Camille"))
    event = load_fixture("sticker_like", page_id=PAGE_LYON, psid=psid, mid=new_mid())
    message = event["entry"][0]["messaging"][0]["message"]
    message["sticker_id"] = OTHER_STICKER_ID
    message["attachments"][0]["payload"]["sticker_id"] = OTHER_STICKER_ID
    await post(http, handoff_webhook, event)
    [text] = await wait_for_transcript(sqlite_url, conversation_id, "user", 1)
    assert "👍" not in text


async def test_page_without_token_logged_as_such(tmp_path, graph_client, redis_url, key_prefix, rasa, http,
                                                 graph_api, psid, caplog):
    # The page is in the file, but its token variable is unset: the log must not send the operator to the file.
    path = tmp_path / "pages.yml"
    path.write_text(PAGES_YAML + f"""  - id: "{PAGE_WITHOUT_TOKEN}"
    name: Seconde chance Drôme
    access_token_env: MESSENGER_TOKEN_DROME
""", encoding="utf-8")
    channel = make_channel(load_pages(str(path), TOKEN_ENV), graph_client, redis_url, key_prefix)
    caplog.set_level(logging.INFO, logger="connectors.messenger")
    async with serve_messenger(channel, rasa) as url:
        assert (await post(http, url, text_event(PAGE_WITHOUT_TOKEN, psid, "Bonjour")))[0] == 200
    lines = [record.getMessage() for record in caplog.records if PAGE_WITHOUT_TOKEN in record.getMessage()]
    assert lines
    assert not any("not in the pages file" in line for line in lines), lines


async def test_quick_reply_with_redis_down_answered(pages, graph_client, key_prefix, rasa, http, graph_api, psid):
    # dedup.py and window.py go on without Redis, so a button press must not be dropped in silence either.
    channel = make_channel(pages, graph_client, f"redis://127.0.0.1:{free_port()}/0", key_prefix)
    press = load_fixture("quick_reply", page_id=PAGE_NATIONAL, psid=psid, mid=new_mid())
    async with serve_messenger(channel, rasa) as url:
        await post(http, url, press)
        replies = await graph_api.wait_for_messages_async(1, psid, timeout=REPLY_SECONDS)
    assert replies


def test_multi_commune_page_offers_every_commune():
    # A local page may list several communes (pages.py sets no maximum):
    # « près de chez moi » must let the user pick any of them.
    communes = ["69123", "69266", "69259", "69290", "69256", "69029", "69204"]
    tracker = make_tracker("mission locale près de chez moi", "find_place", input_channel="messenger",
                           metadata={"page_id": PAGE_LYON,
                                     "territory": {"communes": communes, "label": "Est lyonnais"}})
    outcome = lookup.territory_outcome(tracker)
    dispatcher = CollectingDispatcher()
    search.answer_unresolved(dispatcher, outcome)
    payloads = [button["payload"] for message in dispatcher.messages for button in message.get("buttons", [])]
    offered = {code for code in communes if any(code in payload for payload in payloads)}
    assert offered == set(communes)
