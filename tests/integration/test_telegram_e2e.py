"""End-to-end tests of the Telegram channel, with every real process running.

One stack runs the action server, Rasa with the Telegram channel, the handoff
service and the demo page, with a private Redis server. The Bot API is the
fake of tests/connectors/telegram/fake_bot_api.py on 127.0.0.1: Rasa registers
its webhook there at start-up and sends every reply there, and the tests post
real-shaped updates to Rasa's webhook as Telegram does. The counsellor side is
the console client of console_client.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from connectors.telegram import messages, sender as telegram_sender
from connectors.telegram.channel import SECRET_HEADER
from handoff import store
from handoff.db import dispose_engine, get_sessionmaker
from tests.connectors.telegram.fake_bot_api import TOKEN, Call, ThreadedFakeBotApi
from tests.connectors.telegram.server import (
    SECRET,
    WEBHOOK_PATH,
    button_update,
    load_update,
    new_chat_id,
    text_update,
)
from tests.integration.console_client import ConsoleClient, run_async, wait_for_ws_message
from tests.integration.stack import Stack

PUBLIC_WEBHOOK_URL = "https://seconde-chance.example.org/webhooks/telegram/webhook"
PASSWORD = "mot-de-passe-des-tests-telegram"
# A message goes through NLU and the action server, which can take seconds on a busy machine.
REPLY_TIMEOUT = 60.0
# How long a message routed to a counsellor is watched for a bot reply that must not come.
NO_REPLY_WAIT = 4.0
QUEUED_PATTERN = re.compile(r"Tu es n° \d+ dans la file")
COUNSELLOR_REPLY = "Bonjour, ici la conseillère. Comment puis-je t'aider ?"
GREETING_BUTTONS = ["Trouver un lieu près de chez moi", "Reprendre une formation", "Parler à un conseiller"]


# ---------------------------------------------------------------- Helpers


def post(stack: Stack, update: Dict[str, Any], secret: Optional[str] = SECRET) -> int:
    """POST an update to Rasa's Telegram webhook as Telegram does; return the HTTP status."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    request = urllib.request.Request(
        stack.rasa_url + WEBHOOK_PATH, data=json.dumps(update).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def sent_to(api: ThreadedFakeBotApi, chat_id: int) -> List[Call]:
    return api.calls_to("sendMessage", chat_id)


def wait_for_replies(api: ThreadedFakeBotApi, chat_id: int, count_before: int, settle: float = 1.5) -> List[Call]:
    """Wait for the bot's next messages to a chat, until none came for `settle` seconds; return the new ones."""
    api.wait_for(lambda fake: len(fake.calls_to("sendMessage", chat_id)) > count_before, REPLY_TIMEOUT)
    count = len(sent_to(api, chat_id))
    while True:
        time.sleep(settle)
        now = len(sent_to(api, chat_id))
        if now == count:
            return sent_to(api, chat_id)[count_before:]
        count = now


def say(api: ThreadedFakeBotApi, stack: Stack, update: Dict[str, Any], chat_id: int) -> List[Call]:
    """Post an update and return the bot's replies to it."""
    before = len(sent_to(api, chat_id))
    assert post(stack, update) == 200
    return wait_for_replies(api, chat_id, before)


def texts(calls: List[Call]) -> str:
    return "\n".join(str(call.params.get("text", "")) for call in calls)


def tracker_user_texts(stack: Stack, chat_id: int) -> List[str]:
    """Return the texts of the user events of the chat's tracker, through Rasa's HTTP API."""
    url = f"{stack.rasa_url}/conversations/{chat_id}/tracker?token={stack.env['RASA_TOKEN']}"
    with urllib.request.urlopen(url, timeout=10) as response:
        tracker = json.load(response)
    return [event.get("text") for event in tracker.get("events", []) if event.get("event") == "user"]


def keyboard_of(call: Call) -> List[Dict[str, Any]]:
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def open_conversation(stack: Stack, chat_id: int, timeout: float = 15.0) -> Any:
    factory = get_sessionmaker(stack.env["HANDOFF_DATABASE_URL"])
    deadline = time.monotonic() + timeout
    while True:
        with factory() as session:
            conversation = store.open_conversation_for(session, "telegram", str(chat_id))
            if conversation is not None:
                return conversation
        if time.monotonic() > deadline:
            raise AssertionError(f"no open handoff conversation for the chat after {timeout} s")
        time.sleep(0.2)


# ================================================================ Tests


class TestTelegramChannel:
    """Rasa with the Telegram channel, against the fake Bot API."""

    @pytest.fixture(scope="class")
    def api(self) -> Iterator[ThreadedFakeBotApi]:
        with ThreadedFakeBotApi() as fake:
            yield fake

    @pytest.fixture(scope="class")
    def stack(self, trained_model: str, tmp_path_factory: pytest.TempPathFactory,
              api: ThreadedFakeBotApi) -> Iterator[Stack]:
        stack = Stack(workdir=tmp_path_factory.mktemp("telegram"), private_redis=True, handoff_verbose=True)
        overrides = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_URL": PUBLIC_WEBHOOK_URL,
            "TELEGRAM_SECRET_TOKEN": SECRET,
            "TELEGRAM_API_URL": api.url,
        }
        try:
            stack.start(trained_model, overrides)
        except Exception as error:
            tail = stack.logs_tail()
            stack.stop()
            pytest.fail(f"the Telegram stack did not start: {error}\n{tail}")
        yield stack
        stack.stop()
        dispose_engine(stack.env["HANDOFF_DATABASE_URL"])

    def test_webhook_registered_at_start(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        api.wait_for(lambda fake: fake.calls_to("setMyCommands"), 30)
        [call] = api.calls_to("setWebhook")
        assert call.token == TOKEN
        assert call.params["url"] == PUBLIC_WEBHOOK_URL
        assert call.params["secret_token"] == SECRET
        assert call.params["allowed_updates"] == ["message", "edited_message", "callback_query"]

    def test_wrong_secret_rejected(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        assert post(stack, text_update(chat_id, "bonjour"), secret="pas-le-bon-secret") == 403
        assert post(stack, text_update(chat_id, "bonjour"), secret=None) == 403
        time.sleep(NO_REPLY_WAIT)
        assert api.calls_to("sendMessage", chat_id) == []
        assert api.calls_to("sendChatAction", chat_id) == []

    def test_bad_json_rejected(self, stack: Stack) -> None:
        request = urllib.request.Request(
            stack.rasa_url + WEBHOOK_PATH, data=b'{"update_id": 1,', method="POST",
            headers={"Content-Type": "application/json", SECRET_HEADER: SECRET},
        )
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        assert raised.value.code == 400

    def test_start_gets_welcome(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        replies = say(api, stack, load_update("start_command", chat_id=chat_id), chat_id)
        assert "assistant automatique" in texts(replies)
        assert "112" in texts(replies)
        assert [button["text"] for button in keyboard_of(replies[-1])] == GREETING_BUTTONS
        assert tracker_user_texts(stack, chat_id) == ["/greet"]

    def test_help_command(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        replies = say(api, stack, load_update("help_command", chat_id=chat_id), chat_id)
        assert texts(replies) == messages.HELP
        assert [button["text"] for button in keyboard_of(replies[-1])] == GREETING_BUTTONS

    def test_greeting_text_answered_in_french(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        replies = say(api, stack, text_update(chat_id, "Bonjour"), chat_id)
        assert "assistant automatique" in texts(replies)
        assert all(call.params.get("parse_mode") is None for call in replies)
        assert api.calls_to("sendChatAction", chat_id)

    def test_greeting_button_press(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        greeting = say(api, stack, text_update(chat_id, "Salut"), chat_id)
        [place_button] = [button for button in keyboard_of(greeting[-1]) if button["text"] == GREETING_BUTTONS[0]]
        update = button_update(chat_id, place_button["callback_data"], place_button["text"])
        replies = say(api, stack, update, chat_id)
        assert api.calls_to("answerCallbackQuery")
        assert [call.params["callback_query_id"] for call in api.calls_to("answerCallbackQuery")].count(
            update["callback_query"]["id"]) == 1
        assert "ville" in texts(replies).lower() or "code postal" in texts(replies).lower()
        assert tracker_user_texts(stack, chat_id)[-1] == "/find_place"

    def test_location_in_lyon(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        location_request = say(api, stack, text_update(chat_id, "je cherche une mission locale"), chat_id)
        assert "ville" in texts(location_request)
        update = load_update("location_message", chat_id=chat_id)
        update["message"]["location"] = {"latitude": 45.764, "longitude": 4.836}
        replies = say(api, stack, update, chat_id)
        assert "Lyon" in texts(replies)
        cards = [call for call in replies if call.params.get("parse_mode") == "HTML"]
        assert cards, texts(replies)
        assert all(call.params["text"].startswith("<b>") for call in cards)
        assert "Mission locale" in texts(cards)
        buttons = [button for call in cards for button in keyboard_of(call)]
        assert buttons and all(button["url"].startswith("https://www.openstreetmap.org/") for button in buttons)
        assert tracker_user_texts(stack, chat_id)[-1] == '/share_location{"latitude": 45.764, "longitude": 4.836}'

    def test_location_without_search(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        replies = say(api, stack, load_update("location_message", chat_id=chat_id), chat_id)
        assert "Lyon" in texts(replies)
        assert tracker_user_texts(stack, chat_id) == ['/share_location{"latitude": 45.764, "longitude": 4.836}']

    def test_edited_message_answered(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        say(api, stack, text_update(chat_id, "Bonjour"), chat_id)
        update = load_update("edited_message", chat_id=chat_id)
        update["edited_message"]["text"] = "je cherche une mission locale à Villeurbanne"
        replies = say(api, stack, update, chat_id)
        assert "Villeurbanne" in texts(replies)
        assert tracker_user_texts(stack, chat_id)[-1] == "je cherche une mission locale à Villeurbanne"

    def test_sticker_answered(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        replies = say(api, stack, load_update("sticker_message", chat_id=chat_id), chat_id)
        assert texts(replies) == messages.UNSUPPORTED["sticker"]

    def test_text_reaches_bot_unchanged(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        typed = 'je tape /bot et /intent{"x": 1} ici, voir https://example.org/page?a=1&b=2'
        say(api, stack, text_update(chat_id, typed), chat_id)
        assert tracker_user_texts(stack, chat_id) == [typed]

    def test_leading_slash_read_as_text(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        say(api, stack, text_update(chat_id, "/restart"), chat_id)
        assert tracker_user_texts(stack, chat_id) == ["restart"]

    def test_old_button_answered(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        update = load_update("callback_query_old_message", chat_id=chat_id)
        replies = say(api, stack, update, chat_id)
        assert texts(replies) == messages.OLD_BUTTON
        answered = [call.params["callback_query_id"] for call in api.calls_to("answerCallbackQuery")]
        assert update["callback_query"]["id"] in answered
        assert tracker_user_texts(stack, chat_id) == []

    def test_redelivered_update_answered_once(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        chat_id = new_chat_id()
        update = text_update(chat_id, "Bonjour")
        replies = say(api, stack, update, chat_id)
        assert post(stack, update) == 200
        time.sleep(NO_REPLY_WAIT)
        assert len(sent_to(api, chat_id)) == len(replies)
        assert tracker_user_texts(stack, chat_id) == ["Bonjour"]

    def test_handoff_with_counsellor(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        stack.create_counsellor("camille", PASSWORD, display_name="Camille")
        chat_id = new_chat_id()
        greeting = say(api, stack, text_update(chat_id, "Bonjour"), chat_id)
        old_buttons = keyboard_of(greeting[-1])

        # The user asks for a counsellor: queued.
        queued = say(api, stack, text_update(chat_id, "/conseiller"), chat_id)
        assert QUEUED_PATTERN.search(texts(queued)), texts(queued)
        conversation = open_conversation(stack, chat_id)
        run_async(self._claim_and_reply(stack, conversation.id))

        # The claim notice and the counsellor's reply, signed, reach Telegram.
        api.wait_for(lambda fake: any(COUNSELLOR_REPLY in text for text in fake.texts_to(chat_id)), 30)
        sent = api.texts_to(chat_id)
        assert any(store.NOTICE_CLAIMED in text for text in sent), sent
        [reply] = [text for text in sent if COUNSELLOR_REPLY in text]
        # Signed with the counsellor's display name, before the text.
        assert "Camille" in reply.replace(COUNSELLOR_REPLY, "")

        # During the takeover, user texts and button presses go to the console, and the bot is silent.
        before = len(sent_to(api, chat_id))
        assert post(stack, text_update(chat_id, "je voudrais reprendre une formation")) == 200
        press = button_update(chat_id, old_buttons[1]["callback_data"], old_buttons[1]["text"])
        assert post(stack, press) == 200
        api.wait_for(lambda fake: press["callback_query"]["id"] in [
            call.params["callback_query_id"] for call in fake.calls_to("answerCallbackQuery")], 30)
        user_texts = run_async(self._user_texts_in_console(stack, conversation.id, 2))
        assert "je voudrais reprendre une formation" in user_texts
        assert old_buttons[1]["text"] in user_texts
        time.sleep(NO_REPLY_WAIT)
        assert len(sent_to(api, chat_id)) == before
        assert "je voudrais reprendre une formation" not in tracker_user_texts(stack, chat_id)

        # Hand-back: the notice arrives, and the bot replies to the next message.
        run_async(self._hand_back(stack, conversation.id))
        api.wait_for(lambda fake: any(store.NOTICE_HANDED_BACK in text for text in fake.texts_to(chat_id)), 30)
        replies = say(api, stack, text_update(chat_id, "Bonjour"), chat_id)
        assert "assistant automatique" in texts(replies)
        assert tracker_user_texts(stack, chat_id)[-1] == "Bonjour"

    @staticmethod
    async def _claim_and_reply(stack: Stack, conversation_id: str) -> None:
        async with ConsoleClient(stack.handoff_url) as console:
            await console.login("camille", PASSWORD)
            claimed = await console.claim(conversation_id)
            assert claimed.status == 200, claimed.data
            sent = await console.send(conversation_id, COUNSELLOR_REPLY)
            assert sent.status == 200, sent.data
            assert sent.data["sent"] is True

    @staticmethod
    async def _user_texts_in_console(stack: Stack, conversation_id: str, count: int, timeout: float = 30.0) -> List[str]:
        async with ConsoleClient(stack.handoff_url) as console:
            await console.login("camille", PASSWORD)
            deadline = time.monotonic() + timeout
            while True:
                answer = await console.conversation(conversation_id)
                user_texts = [message["text"] for message in answer.data.get("messages", [])
                              if message["author"] == "user"]
                if len(user_texts) >= count or time.monotonic() > deadline:
                    return user_texts
                await asyncio.sleep(0.3)

    @staticmethod
    async def _hand_back(stack: Stack, conversation_id: str) -> None:
        async with ConsoleClient(stack.handoff_url) as console:
            await console.login("camille", PASSWORD)
            answer = await console.hand_back(conversation_id)
            assert answer.status == 200, answer.data

    def test_blocked_user_reported_to_console(self, stack: Stack, api: ThreadedFakeBotApi) -> None:
        stack.create_counsellor("samia", PASSWORD, display_name="Samia")
        chat_id = new_chat_id()
        queued = say(api, stack, text_update(chat_id, "/conseiller"), chat_id)
        assert QUEUED_PATTERN.search(texts(queued)), texts(queued)
        conversation = open_conversation(stack, chat_id)
        api.fail_chat(chat_id)
        try:
            sent, failure = run_async(self._claim_and_send(stack, conversation.id))
        finally:
            api.clear_failures()
        assert sent is False
        assert failure["permanent"] is True
        assert failure["reason"] == telegram_sender.REASON_BLOCKED

        # The user unblocks the bot and writes: the pending messages follow
        # at once, without waiting for the counsellor's next message.
        assert post(stack, text_update(chat_id, "je t'avais bloqué, pardon")) == 200
        api.wait_for(lambda fake: any(text.endswith("Bonjour") for text in fake.texts_to(chat_id)), timeout=30)
        signed = [text for text in api.texts_to(chat_id) if text.endswith("Bonjour")]
        assert signed == ["👤 Samia : Bonjour"]

    @staticmethod
    async def _claim_and_send(stack: Stack, conversation_id: str) -> Tuple[bool, Dict[str, Any]]:
        """Claim the conversation and send a text; return whether it was sent and the console's failure event."""
        async with ConsoleClient(stack.handoff_url) as console:
            await console.login("samia", PASSWORD)
            ws = await console.websocket(conversation_id)
            try:
                assert (await console.claim(conversation_id)).status == 200
                answer = await console.send(conversation_id, "Bonjour")
                assert answer.status == 200, answer.data
                failure = await wait_for_ws_message(ws, lambda data: data.get("type") == "delivery_failed", 30)
            finally:
                await ws.close()
            return answer.data["sent"], failure


def test_channel_off_without_token(live_stack: Stack) -> None:
    # The session's default stack has empty TELEGRAM_* variables: Rasa runs, the webhook is off.
    chat_id = new_chat_id()
    assert live_stack.env["TELEGRAM_BOT_TOKEN"] == ""
    assert post(live_stack, text_update(chat_id, "bonjour")) == 503
    log = (live_stack.workdir / "rasa.log").read_text(errors="replace")
    assert "TELEGRAM_BOT_TOKEN is empty: the Telegram channel is off" in log
