"""End-to-end tests of the Messenger channel, with every real process running.

One stack (action server, Rasa with the Messenger channel, the handoff
service and its console, a private Redis server) serves the module. The
test plays Meta's side. It posts webhook payloads shaped like Meta's, signed
with the app secret, to Rasa's ``/webhooks/messenger/webhook``. A fake Graph
API on 127.0.0.1 (``tests/connectors/messenger/fake_graph_api.py``) records
the messages that the bot and the handoff service send. The pages
file has a national page and a Lyon page whose territory is the commune of
Lyon. The counsellor side is the console client of ``console_client.py``.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

import pytest

from connectors.messenger import messages
from connectors.messenger.ids import make_sender_id
from handoff import store
from handoff.db import dispose_engine, get_sessionmaker
from tests.connectors.messenger.fake_graph_api import FakeGraphApi, RecordedRequest
from tests.connectors.messenger.helpers import (
    APP_SECRET,
    PAGE_LYON,
    PAGE_NATIONAL,
    TOKEN_ENV,
    TOKENS,
    VERIFY_TOKEN,
    load_fixture,
    new_mid,
    new_psid,
    signed_headers,
    write_pages_file,
)
from tests.integration.console_client import ConsoleClient, run_async
from tests.integration.stack import Stack

PASSWORD = "mot-de-passe-des-tests-messenger"
QUEUED_PATTERN = re.compile(r"Tu es n° \d+ dans la file")
# A reply is complete when no new message arrived for this long.
QUIET_SECONDS = 2.5
# Each message goes through NLU and the action server, which can take seconds on a busy machine.
REPLY_TIMEOUT_SECONDS = 60.0
# How long a message that must get no reply is watched.
NO_REPLY_SECONDS = 4.0


@pytest.fixture(scope="module")
def graph_api() -> Iterator[FakeGraphApi]:
    api = FakeGraphApi(dict(TOKENS), app_secret=APP_SECRET).start_in_thread()
    yield api
    api.stop_thread()


@pytest.fixture(scope="module")
def stack(trained_model: str, tmp_path_factory: pytest.TempPathFactory, graph_api: FakeGraphApi) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("messenger")
    overrides = {
        "MESSENGER_APP_SECRET": APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
        "MESSENGER_PAGES_FILE": str(write_pages_file(workdir)),
        "MESSENGER_GRAPH_API_URL": graph_api.base_url,
        "MESSENGER_SEND_ATTEMPTS": "3",
        "MESSENGER_RETRY_DELAY_SECONDS": "0.2",
        **TOKEN_ENV,
    }
    stack = Stack(workdir=workdir, private_redis=True, handoff_verbose=True)
    try:
        stack.start(trained_model, overrides)
    except Exception as error:
        tail = stack.logs_tail()
        stack.stop()
        pytest.fail(f"the Messenger stack did not start: {error}\n{tail}")
    yield stack
    stack.stop()
    dispose_engine(stack.env["HANDOFF_DATABASE_URL"])


@pytest.fixture(autouse=True)
def normal_graph_api(graph_api: FakeGraphApi) -> Iterator[None]:
    graph_api.delay_seconds = 0.0
    yield
    graph_api.delay_seconds = 0.0


def webhook_url(stack: Stack) -> str:
    return f"{stack.rasa_url}/webhooks/messenger/webhook"


def http(method: str, url: str, body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None) -> "tuple[int, str]":
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


@dataclass
class MessengerUser:
    """A user of one page: posts signed webhook events and reads what the fake Graph API received for them."""

    stack: Stack
    graph_api: FakeGraphApi
    page_id: str
    psid: str = field(default_factory=new_psid)

    @property
    def sender_id(self) -> str:
        return make_sender_id(self.page_id, self.psid)

    def post(self, payload: Dict[str, Any], secret: str = APP_SECRET) -> int:
        body = json.dumps(payload).encode("utf-8")
        status, _ = http("POST", webhook_url(self.stack), body, signed_headers(body, secret))
        return status

    def event(self, fixture: str, **changes: Any) -> Dict[str, Any]:
        return load_fixture(fixture, page_id=self.page_id, psid=self.psid, mid=new_mid(), **changes)

    def received(self) -> List[RecordedRequest]:
        return self.graph_api.sent_messages(self.psid)

    def wait_replies(self, before: int, timeout: float = REPLY_TIMEOUT_SECONDS,
                     quiet: float = QUIET_SECONDS) -> List[RecordedRequest]:
        """Wait for messages after the first ``before``, until none came for ``quiet`` seconds; return the new ones."""
        deadline = time.monotonic() + timeout
        count, changed_at = len(self.received()), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            current = len(self.received())
            if current != count:
                count, changed_at = current, time.monotonic()
            elif count > before and time.monotonic() - changed_at >= quiet:
                break
        return self.received()[before:]

    def send(self, payload: Dict[str, Any]) -> List[RecordedRequest]:
        """Post an event and return the replies it got."""
        before = len(self.received())
        assert self.post(payload) == 200
        return self.wait_replies(before)

    def say(self, text: str) -> List[RecordedRequest]:
        return self.send(self.event("text_message", text=text))

    def no_reply_to(self, payload: Dict[str, Any]) -> bool:
        """Post an event and return whether no message reached the user within NO_REPLY_SECONDS."""
        before = len(self.received())
        assert self.post(payload) == 200
        time.sleep(NO_REPLY_SECONDS)
        return len(self.received()) == before


def texts(replies: List[RecordedRequest]) -> str:
    return "\n".join(reply.text or "" for reply in replies)


def tracker_user_events(stack: Stack, sender_id: str) -> List[Dict[str, Any]]:
    """Return the user events of a conversation, through Rasa's HTTP API."""
    url = (f"{stack.rasa_url}/conversations/{urllib.parse.quote(sender_id, safe='')}/tracker"
           f"?token={stack.env['RASA_TOKEN']}")
    with urllib.request.urlopen(url, timeout=10) as response:
        tracker = json.load(response)
    return [event for event in tracker.get("events", []) if event.get("event") == "user"]


def open_conversation_id(stack: Stack, sender_id: str, timeout: float = 15.0) -> str:
    factory = get_sessionmaker(stack.env["HANDOFF_DATABASE_URL"])
    deadline = time.monotonic() + timeout
    while True:
        with factory() as session:
            conversation = store.open_conversation_for(session, "messenger", sender_id)
            if conversation is not None:
                return conversation.id
        if time.monotonic() > deadline:
            raise AssertionError(f"no open handoff conversation for the Messenger user after {timeout} s")
        time.sleep(0.2)


# ---------------------------------------------------------------- webhook


def test_verification(stack: Stack) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "987654321"}
    assert http("GET", f"{webhook_url(stack)}?{urllib.parse.urlencode(query)}") == (200, "987654321")
    query["hub.verify_token"] = "mauvais"
    status, _ = http("GET", f"{webhook_url(stack)}?{urllib.parse.urlencode(query)}")
    assert status == 403


def test_bad_signature_rejected(stack: Stack, graph_api: FakeGraphApi) -> None:
    user = MessengerUser(stack, graph_api, PAGE_NATIONAL)
    assert user.post(user.event("text_message"), secret="pas-le-bon-secret") == 403
    body = json.dumps(user.event("text_message")).encode()
    assert http("POST", webhook_url(stack), body, {"Content-Type": "application/json"})[0] == 403
    time.sleep(NO_REPLY_SECONDS)
    assert [request for request in graph_api.recorded() if request.psid == user.psid] == []


def test_greeting_gets_french_reply(stack: Stack, graph_api: FakeGraphApi) -> None:
    user = MessengerUser(stack, graph_api, PAGE_NATIONAL)
    replies = user.say("Bonjour")
    assert replies, "no reply to the greeting"
    assert "Seconde chance" in texts(replies)
    assert all(reply.messaging_type == "RESPONSE" for reply in replies)
    assert all(reply.access_token == "jeton-page-nationale" for reply in replies)
    quick_replies = [reply for request in replies for reply in request.message.get("quick_replies", [])]
    assert "/find_place" in [reply["payload"] for reply in quick_replies]
    assert all(len(reply["title"]) <= 20 for reply in quick_replies)
    [event] = tracker_user_events(stack, user.sender_id)
    assert event["input_channel"] == "messenger"
    # Rasa adds its own keys (assistant_id, model_id) to the channel's metadata.
    assert event["metadata"]["page_id"] == PAGE_NATIONAL
    assert "territory" not in event["metadata"]


def test_get_started_button(stack: Stack, graph_api: FakeGraphApi) -> None:
    user = MessengerUser(stack, graph_api, PAGE_NATIONAL)
    replies = user.send(user.event("postback_get_started"))
    assert "Seconde chance" in texts(replies)
    assert tracker_user_events(stack, user.sender_id)[0]["text"] == "/greet"


def test_redelivery_while_processing_answered_once(stack: Stack, graph_api: FakeGraphApi) -> None:
    user = MessengerUser(stack, graph_api, PAGE_NATIONAL)
    event = user.event("text_message", text="Bonjour")
    # Every Graph API call takes 3 s, so the first delivery is still being
    # handled when Meta delivers the event again.
    graph_api.delay_seconds = 3.0
    assert user.post(event) == 200
    time.sleep(1.0)
    assert user.post(event) == 200
    replies = user.wait_replies(0, quiet=2 * graph_api.delay_seconds)
    graph_api.delay_seconds = 0.0

    assert replies, "no reply to the greeting"
    bodies = [json.dumps(reply.message, sort_keys=True) for reply in replies]
    assert len(bodies) == len(set(bodies))
    assert len(tracker_user_events(stack, user.sender_id)) == 1
    typing = [request for request in graph_api.recorded() if request.psid == user.psid and request.sender_action]
    assert len(typing) == 1


def test_lyon_page_searches_lyon(stack: Stack, graph_api: FakeGraphApi) -> None:
    user = MessengerUser(stack, graph_api, PAGE_LYON)
    replies = user.say("mission locale près de chez moi")
    elements = [element for reply in replies for element in reply.elements]
    assert elements, f"no place card in the reply: {texts(replies)}"
    assert any("Lyon" in element.get("subtitle", "") for element in elements), elements
    assert all(reply.access_token == "jeton-page-lyon" for reply in replies)
    [event] = tracker_user_events(stack, user.sender_id)
    assert event["metadata"]["page_id"] == PAGE_LYON
    assert event["metadata"]["territory"] == {"communes": ["69123"], "label": "Lyon"}


def test_sticker_gets_french_reply(stack: Stack, graph_api: FakeGraphApi) -> None:
    user = MessengerUser(stack, graph_api, PAGE_NATIONAL)
    replies = user.send(user.event("sticker_like"))
    assert texts(replies) == messages.ATTACHMENT_REPLIES["sticker"]
    assert tracker_user_events(stack, user.sender_id) == []


@pytest.mark.parametrize("fixture", ["reaction", "read", "delivery", "echo"])
def test_receipts_and_echoes_silent(stack: Stack, graph_api: FakeGraphApi, fixture: str) -> None:
    user = MessengerUser(stack, graph_api, PAGE_NATIONAL)
    assert user.no_reply_to(load_fixture(fixture, psid=user.psid))


# ---------------------------------------------------------------- human handoff


def test_full_handoff(stack: Stack, graph_api: FakeGraphApi) -> None:
    stack.create_counsellor("camille", PASSWORD, display_name="Camille")
    user = MessengerUser(stack, graph_api, PAGE_NATIONAL)

    greeting = user.say("Bonjour")
    offered = next(reply for request in greeting for reply in request.message.get("quick_replies", [])
                   if reply["payload"] == "/find_place")

    # The persistent menu's « Parler à un conseiller ».
    queued = user.send(user.event("postback_menu"))
    assert QUEUED_PATTERN.search(texts(queued)), texts(queued)
    conversation_id = open_conversation_id(stack, user.sender_id)

    async def claim_and_reply() -> List[int]:
        async with ConsoleClient(stack.handoff_url) as console:
            await console.login("camille", PASSWORD)
            claimed = await console.claim(conversation_id)
            sent = await console.send(conversation_id, "Bonjour, je suis Camille. Comment puis-je t'aider ?")
            return [claimed.status, sent.status]

    before = len(user.received())
    assert run_async(claim_and_reply()) == [200, 200]
    from_console = user.wait_replies(before)
    assert store.NOTICE_CLAIMED in texts(from_console)
    reply = from_console[-1]
    assert "Camille" in reply.text
    assert reply.text.endswith("Bonjour, je suis Camille. Comment puis-je t'aider ?")
    assert reply.messaging_type == "RESPONSE"

    # While Camille has the conversation, the bot stays silent, also for a button press.
    assert user.no_reply_to(user.event("text_message", text="J'ai arrêté le lycée en première"))
    press = user.event("quick_reply")
    press["entry"][0]["messaging"][0]["message"].update({"text": offered["title"],
                                                         "quick_reply": {"payload": offered["payload"]}})
    assert user.no_reply_to(press)

    async def read_then_hand_back() -> List[Dict[str, Any]]:
        async with ConsoleClient(stack.handoff_url) as console:
            await console.login("camille", PASSWORD)
            transcript = await console.conversation(conversation_id)
            assert (await console.hand_back(conversation_id)).status == 200
            return transcript.data["messages"]

    before = len(user.received())
    transcript = run_async(read_then_hand_back())
    user_texts = [message["text"] for message in transcript if message["author"] == "user"]
    assert "J'ai arrêté le lycée en première" in user_texts
    assert offered["title"] in user_texts
    assert store.NOTICE_HANDED_BACK in texts(user.wait_replies(before))
    events_text = [event["text"] for event in tracker_user_events(stack, user.sender_id)]
    assert "J'ai arrêté le lycée en première" not in events_text
    assert events_text.count("/find_place") == 0

    # After the hand-back the bot replies again.
    after = user.say("Je cherche une mission locale à Villeurbanne")
    elements = [element for reply in after for element in reply.elements]
    assert any("Villeurbanne" in element.get("subtitle", "") for element in elements), texts(after)
