"""Tests of the human handoff in the Messenger channel, with a real Sanic server, SQLite, Redis and the fake Graph API.

The counsellor side is played by `handoff.store` calls and by
`connectors.messenger.sender.MessengerSender`, as the handoff service does it.
"""

import asyncio
import uuid

import pytest

from connectors.handoff_bridge import message_for_user
from connectors.messenger import messages
from connectors.messenger.channel import MessengerInput
from connectors.messenger.ids import make_sender_id
from connectors.messenger.sender import MessengerSender
from connectors.messenger.window import MessagingWindow
from connectors.rate_limit import HANDOFF_RATE_LIMITED_MESSAGE
from handoff import events, store
from handoff.db import get_sessionmaker
from handoff.models import Counsellor, Message
from tests.connectors.conftest import away_from_rate_window_edge
from tests.connectors.messenger.helpers import (
    APP_SECRET,
    PAGE_LYON,
    VERIFY_TOKEN,
    load_fixture,
    new_mid,
    new_psid,
    post,
    serve_messenger,
)


@pytest.fixture
def psid():
    return new_psid()


@pytest.fixture
def sender_id(psid):
    return make_sender_id(PAGE_LYON, psid)


async def escalate(bridge, database_url, sender_id):
    with get_sessionmaker(database_url)() as session:
        conversation = store.escalate(session, channel="messenger", sender_id=sender_id)
        session.commit()
    await bridge.router.set("messenger", sender_id, conversation.id)
    return conversation.id


def user_messages(database_url, conversation_id):
    with get_sessionmaker(database_url)() as session:
        return [(m.text, m.payload_data) for m in store.transcript(session, conversation_id) if m.author == "user"]


async def wait_for_user_messages(database_url, conversation_id, count, timeout=5.0):
    for _ in range(int(timeout / 0.05)):
        stored = user_messages(database_url, conversation_id)
        if len(stored) >= count:
            return stored
        await asyncio.sleep(0.05)
    return user_messages(database_url, conversation_id)


async def test_message_during_handoff_goes_to_counsellor(handoff_webhook, http, bridge, sqlite_url, redis_client,
                                                         events_channel, rasa, graph_api, sender_id, psid):
    conversation_id = await escalate(bridge, sqlite_url, sender_id)
    async with events.subscribe(redis_client, channel=events_channel) as subscription:
        await post(http, handoff_webhook, load_fixture("text_message", page_id=PAGE_LYON, psid=psid, mid=new_mid(),
                                                       text="j'ai une question sur mon dossier"))
        event = await subscription.get(timeout=5)
    [(text, payload)] = user_messages(sqlite_url, conversation_id)
    assert text == "j'ai une question sur mon dossier"
    assert event["type"] == "user_message"
    await asyncio.sleep(0.3)
    assert rasa.messages == []
    assert graph_api.recorded() == []


async def test_events_over_rate_limit_reach_counsellor(pages, graph_client, redis_url, key_prefix, bridge, sqlite_url,
                                                        rasa, graph_api, http, sender_id, psid):
    # The handoff limit is 4 times this one: 8 messages a minute.
    channel = MessengerInput(app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, pages=pages, graph_api=graph_client,
                             redis_url=redis_url, handoff_bridge=bridge, max_messages_per_minute=2,
                             dedup_key_prefix=f"{key_prefix}event:", window_key_prefix=f"{key_prefix}last_user:")
    conversation_id = await escalate(bridge, sqlite_url, sender_id)
    async with serve_messenger(channel, rasa) as url:
        await away_from_rate_window_edge()
        for number in range(10):
            await post(http, url, load_fixture("text_message", page_id=PAGE_LYON, psid=psid, mid=new_mid(),
                                               text=f"message {number}"))
        replies = await graph_api.wait_for_messages_async(1, psid)
        await asyncio.sleep(0.5)

    assert [text for text, _ in user_messages(sqlite_url, conversation_id)] == [f"message {number}" for number in range(8)]
    assert [reply.text for reply in replies] == [HANDOFF_RATE_LIMITED_MESSAGE]
    assert len(graph_api.sent_messages(psid)) == 1
    assert rasa.messages == []


async def test_quick_reply_during_handoff_stays_silent(handoff_webhook, http, bridge, sqlite_url, rasa, graph_api,
                                                       sender_id, psid):
    # The bot offers buttons first, then the conversation goes to a counsellor.
    await post(http, handoff_webhook, load_fixture("text_message", page_id=PAGE_LYON, psid=psid, mid=new_mid(),
                                                   text="boutons"))
    [offer] = await graph_api.wait_for_messages_async(1, psid)
    conversation_id = await escalate(bridge, sqlite_url, sender_id)
    reply = offer.message["quick_replies"][0]
    press = load_fixture("quick_reply", page_id=PAGE_LYON, psid=psid, mid=new_mid())
    press["entry"][0]["messaging"][0]["message"].update({"text": reply["title"],
                                                         "quick_reply": {"payload": reply["payload"]}})
    await post(http, handoff_webhook, press)
    stored = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert stored == [(reply["title"], {"type": "button", "payload": "/choice_0"})]
    await asyncio.sleep(0.3)
    assert [message.text for message in rasa.messages] == ["boutons"]
    assert len(graph_api.sent_messages(psid)) == 1


async def test_menu_postback_during_handoff_stays_silent(handoff_webhook, http, bridge, sqlite_url, rasa, graph_api,
                                                         sender_id, psid):
    conversation_id = await escalate(bridge, sqlite_url, sender_id)
    await post(http, handoff_webhook, load_fixture("postback_menu", page_id=PAGE_LYON, psid=psid, mid=new_mid()))
    stored = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert stored == [("Parler à un conseiller", {"type": "button", "payload": "/ask_counsellor"})]
    await asyncio.sleep(0.3)
    assert rasa.messages == []
    assert graph_api.recorded() == []


@pytest.mark.parametrize("fixture, kind", [("sticker_like", "like"), ("image", "image"), ("audio", "audio")])
async def test_attachment_during_handoff_noted_for_counsellor(handoff_webhook, http, bridge, sqlite_url, rasa,
                                                              graph_api, sender_id, psid, fixture, kind):
    conversation_id = await escalate(bridge, sqlite_url, sender_id)
    await post(http, handoff_webhook, load_fixture(fixture, page_id=PAGE_LYON, psid=psid, mid=new_mid()))
    stored = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert stored == [(messages.ATTACHMENT_HANDOFF_TEXTS[kind], {"type": "attachment", "attachment_type": kind})]
    await asyncio.sleep(0.3)
    assert graph_api.recorded() == []


async def test_location_during_handoff_stored_rounded(handoff_webhook, http, bridge, sqlite_url, rasa, sender_id,
                                                      psid):
    conversation_id = await escalate(bridge, sqlite_url, sender_id)
    await post(http, handoff_webhook, load_fixture("location", page_id=PAGE_LYON, psid=psid, mid=new_mid()))
    stored = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert stored == [(messages.LOCATION_HANDOFF_TEXT, {"type": "location", "latitude": 45.764, "longitude": 4.836})]
    assert rasa.messages == []


async def test_whole_long_text_reaches_counsellor(handoff_webhook, http, bridge, sqlite_url, sender_id, psid):
    conversation_id = await escalate(bridge, sqlite_url, sender_id)
    long_text = "mot " * 1000
    await post(http, handoff_webhook, load_fixture("text_message", page_id=PAGE_LYON, psid=psid, mid=new_mid(),
                                                   text=long_text))
    [(text, _)] = await wait_for_user_messages(sqlite_url, conversation_id, 1)
    assert text == long_text.strip()


async def test_bot_answers_after_hand_back(handoff_webhook, http, bridge, sqlite_url, test_password_hash, rasa,
                                           graph_api, sender_id, psid):
    conversation_id = await escalate(bridge, sqlite_url, sender_id)
    with get_sessionmaker(sqlite_url)() as session:
        counsellor = Counsellor(login=f"c{uuid.uuid4().hex[:10]}", display_name="Amina",
                                password_hash=test_password_hash)
        session.add(counsellor)
        session.commit()
        counsellor_id = counsellor.id
        store.claim(session, conversation_id, counsellor_id)
        store.hand_back(session, conversation_id, counsellor_id)
        session.commit()
    await bridge.router.set("messenger", sender_id, None)
    await post(http, handoff_webhook, load_fixture("text_message", page_id=PAGE_LYON, psid=psid, mid=new_mid()))
    [reply] = await graph_api.wait_for_messages_async(1, psid)
    assert reply.text == "reçu : Bonjour"


async def test_counsellor_reply_delivered_with_name(handoff_webhook, http, bridge, sqlite_url, test_password_hash,
                                                    pages, graph_client, redis_client, key_prefix, graph_api,
                                                    sender_id, psid):
    conversation_id = await escalate(bridge, sqlite_url, sender_id)
    await post(http, handoff_webhook, load_fixture("text_message", page_id=PAGE_LYON, psid=psid, mid=new_mid(),
                                                   text="allô ?"))
    await wait_for_user_messages(sqlite_url, conversation_id, 1)
    with get_sessionmaker(sqlite_url)() as session:
        counsellor = Counsellor(login=f"c{uuid.uuid4().hex[:10]}", display_name="Amina",
                                password_hash=test_password_hash)
        session.add(counsellor)
        session.commit()
        store.claim(session, conversation_id, counsellor.id)
        stored = store.add_message(session, conversation_id, "counsellor", "Bonjour, je suis Amina.", counsellor.id)
        session.commit()
        outgoing = message_for_user(session.get(Message, stored.id))

    sender = MessengerSender(pages, graph_client, MessagingWindow(redis_client, key_prefix=f"{key_prefix}last_user:"))
    await sender.send(sender_id, outgoing)
    [request] = graph_api.sent_messages(psid)
    assert "Amina" in request.text
    assert request.text.endswith("Bonjour, je suis Amina.")
    # The user wrote a moment ago: the reply is inside the 24-hour window.
    assert (request.messaging_type, request.tag) == ("RESPONSE", None)
