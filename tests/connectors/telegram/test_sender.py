"""Tests of connectors.telegram.sender against the fake Bot API."""

from __future__ import annotations

import time
from typing import AsyncIterator

import pytest

from connectors import cards, senders
from connectors.handoff_bridge import message_for_user
from connectors.senders import DeliveryError
from connectors.telegram import messages, sender as telegram_sender
from connectors.telegram.client import RetryPolicy, TelegramClient
from connectors.telegram.sender import TelegramSender, sender_from_environment
from handoff.models import Counsellor, Message
from tests.connectors.telegram.fake_bot_api import BLOCKED, CHAT_NOT_FOUND, TOKEN, Failure
from tests.connectors.telegram.server import PLACE_CARDS, bot_settings, new_chat_id

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2, max_retry_after=2.0)


@pytest.fixture
async def sender(fake_api, redis_url) -> AsyncIterator[TelegramSender]:
    telegram = TelegramSender(TelegramClient(bot_settings(fake_api.url, redis_url), FAST_RETRY))
    yield telegram
    await telegram.close()


@pytest.fixture
def chat() -> int:
    return new_chat_id()


def counsellor_text(text: str, name: str = "Camille", message_id: int = 42) -> dict:
    return {"text": text, "author": "counsellor", "counsellor_name": name, "message_id": message_id}


# ---------------------------------------------------------------- Configuration


def test_not_configured_without_token(monkeypatch, redis_url):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    assert sender_from_environment(redis_url) is None


async def test_configured_from_environment(monkeypatch, fake_api, redis_url, chat):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", fake_api.url)
    telegram = sender_from_environment(redis_url)
    assert isinstance(telegram, TelegramSender)
    assert telegram.confirms_delivery is True
    await telegram.send(str(chat), counsellor_text("Bonjour"))
    await telegram.close()
    [call] = fake_api.calls_to("sendMessage", chat)
    assert call.token == TOKEN


async def test_registry_returns_telegram_sender(monkeypatch, fake_api, redis_url):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", fake_api.url)
    monkeypatch.setattr(senders, "_senders", {})
    assert isinstance(senders.get_sender("telegram", redis_url), TelegramSender)


# ---------------------------------------------------------------- Rendering


async def test_counsellor_text_signed(sender, fake_api, chat):
    message = counsellor_text("Bonjour, je suis là pour t'aider.")
    await sender.send(str(chat), message)
    [call] = fake_api.calls_to("sendMessage", chat)
    assert call.params["text"] == cards.handoff_text(message)
    assert "Camille" in call.params["text"]
    assert call.params["text"].endswith("Bonjour, je suis là pour t'aider.")
    assert "parse_mode" not in call.params


async def test_counsellor_markup_sent_as_text(sender, fake_api, chat):
    await sender.send(str(chat), counsellor_text("<b>pas du gras</b> & co"))
    [text] = fake_api.texts_to(chat)
    assert text.endswith(" <b>pas du gras</b> & co")


async def test_message_from_handoff_model(sender, fake_api, chat):
    message = Message(id=7, author="counsellor", text="On se parle demain ?", counsellor=Counsellor(display_name="Samia"))
    outgoing = message_for_user(message)
    await sender.send(str(chat), outgoing)
    assert fake_api.texts_to(chat) == [cards.handoff_text(outgoing)]
    assert "Samia" in fake_api.texts_to(chat)[0]


async def test_notice_sent_as_text(sender, fake_api, chat):
    notice = {"custom": {"type": "notice", "text": "Camille a rejoint la conversation.", "with_counsellor": True},
              "author": "system", "message_id": 43}
    await sender.send(str(chat), notice)
    assert fake_api.texts_to(chat) == [cards.handoff_text(notice)]
    assert "Camille a rejoint la conversation." in fake_api.texts_to(chat)[0]


async def test_place_cards_after_header(sender, fake_api, chat):
    message = {"custom": PLACE_CARDS, "author": "counsellor", "counsellor_name": "Camille", "message_id": 44}
    await sender.send(str(chat), message)
    header, first, second = fake_api.calls_to("sendMessage", chat)
    assert "Camille" in header.params["text"]
    assert header.params["text"].endswith(messages.COUNSELLOR_CARDS_INTRO)
    assert first.params["parse_mode"] == "HTML"
    assert first.params["text"].startswith("<b>Mission locale &lt;Lyon&gt; &amp; Rhône</b>")
    assert "12 rue de la République, 69001 Lyon" in first.params["text"]
    assert first.params["reply_markup"]["inline_keyboard"][0][0]["url"] == PLACE_CARDS["places"][0]["map_url"]
    assert second.params["text"].startswith("<b>CIO de Lyon</b>")


async def test_long_text_split(sender, fake_api, chat):
    await sender.send(str(chat), counsellor_text("phrase. " * 700))
    parts = fake_api.texts_to(chat)
    assert len(parts) == 2
    assert all(len(part) <= 4096 for part in parts)


async def test_typing_sends_chat_action(sender, fake_api, chat):
    await sender.send_typing(str(chat), True)
    [call] = fake_api.calls_to("sendChatAction", chat)
    assert call.params["action"] == "typing"


async def test_typing_off_sends_nothing(sender, fake_api, chat):
    await sender.send_typing(str(chat), False)
    assert fake_api.calls == []


async def test_typing_failure_not_raised(sender, fake_api, chat):
    fake_api.fail_chat(chat, BLOCKED)
    await sender.send_typing(str(chat), True)
    await sender.send_typing("pas-un-id", True)


# ---------------------------------------------------------------- Failures


async def test_flood_control_waits_retry_after(sender, fake_api, chat):
    fake_api.fail_next("sendMessage", Failure(429, "Too Many Requests: retry after 1", retry_after=1))
    started = time.monotonic()
    await sender.send(str(chat), counsellor_text("Bonjour"))
    assert time.monotonic() - started >= 1.0
    assert len(fake_api.calls_to("sendMessage", chat)) == 2


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_server_errors_retried(sender, fake_api, chat, status):
    fake_api.fail_next("sendMessage", Failure(status, "Internal Server Error"), times=2)
    await sender.send(str(chat), counsellor_text("Bonjour"))
    assert len(fake_api.calls_to("sendMessage", chat)) == 3


async def test_blocked_bot_permanent(sender, fake_api, chat):
    fake_api.fail_chat(chat, BLOCKED)
    with pytest.raises(DeliveryError) as raised:
        await sender.send(str(chat), counsellor_text("Bonjour"))
    assert raised.value.permanent is True
    assert raised.value.reason == telegram_sender.REASON_BLOCKED
    assert len(fake_api.calls_to("sendMessage", chat)) == 1


async def test_chat_not_found_permanent(sender, fake_api, chat):
    fake_api.fail_chat(chat, CHAT_NOT_FOUND)
    with pytest.raises(DeliveryError) as raised:
        await sender.send(str(chat), counsellor_text("Bonjour"))
    assert raised.value.permanent is True
    assert raised.value.reason == telegram_sender.REASON_CHAT_NOT_FOUND


async def test_other_bad_request_permanent(sender, fake_api, chat):
    fake_api.fail_next("sendMessage", Failure(400, "Bad Request: message text is empty"))
    with pytest.raises(DeliveryError) as raised:
        await sender.send(str(chat), counsellor_text("Bonjour"))
    assert raised.value.permanent is True
    assert raised.value.reason == telegram_sender.REASON_REJECTED


async def test_retries_exhausted_transient(sender, fake_api, chat):
    fake_api.fail_next("sendMessage", Failure(502, "Bad Gateway"), times=5)
    with pytest.raises(DeliveryError) as raised:
        await sender.send(str(chat), counsellor_text("Bonjour"))
    assert raised.value.permanent is False
    assert raised.value.reason == telegram_sender.REASON_UNAVAILABLE
    assert len(fake_api.calls_to("sendMessage", chat)) == FAST_RETRY.attempts


async def test_long_flood_wait_not_made(sender, fake_api, chat):
    fake_api.fail_next("sendMessage", Failure(429, "Too Many Requests: retry after 600", retry_after=600))
    started = time.monotonic()
    with pytest.raises(DeliveryError) as raised:
        await sender.send(str(chat), counsellor_text("Bonjour"))
    assert time.monotonic() - started < 1.0
    assert raised.value.permanent is False


async def test_invalid_token_not_permanent(fake_api, redis_url, chat):
    telegram = TelegramSender(TelegramClient(bot_settings(fake_api.url, redis_url, token="42:wrong"), FAST_RETRY))
    with pytest.raises(DeliveryError) as raised:
        await telegram.send(str(chat), counsellor_text("Bonjour"))
    await telegram.close()
    assert raised.value.permanent is False
    assert raised.value.reason == telegram_sender.REASON_BAD_TOKEN
    assert "42:wrong" not in raised.value.reason


async def test_invalid_sender_id_permanent(sender, fake_api):
    with pytest.raises(DeliveryError) as raised:
        await sender.send("session-du-widget", counsellor_text("Bonjour"))
    assert raised.value.permanent is True
    assert fake_api.calls == []


async def test_unreachable_api_transient(redis_url, chat):
    from tests.integration.stack import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    telegram = TelegramSender(TelegramClient(bot_settings(closed, redis_url), FAST_RETRY))
    with pytest.raises(DeliveryError) as raised:
        await telegram.send(str(chat), counsellor_text("Bonjour"))
    await telegram.close()
    assert raised.value.permanent is False
