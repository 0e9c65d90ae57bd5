"""Tests of connectors.telegram.channel against a real Sanic server, real Redis and the fake Bot API.

Rasa is replaced by a scripted callback so that these tests see exactly what
the channel hands to Rasa; tests/integration/test_telegram_e2e.py uses the
real Rasa server.
"""

import asyncio
import json
import logging

import aiohttp
import pytest

from connectors.rate_limit import RATE_LIMITED_MESSAGE
from connectors.telegram import messages
from connectors.telegram.channel import TelegramInput
from connectors.telegram.dedup import UpdateDeduplicator
from tests.connectors.conftest import away_from_rate_window_edge
from tests.connectors.telegram.conftest import FAST_RETRY, offered_payloads
from tests.connectors.telegram.fake_bot_api import BLOCKED, Failure
from tests.connectors.telegram.server import (
    LONG_PAYLOAD,
    SECRET,
    bot_settings,
    button_update,
    load_update,
    post_update,
    serve_telegram,
    text_update,
)

# ---------------------------------------------------------------- Webhook requests


async def test_valid_secret_accepted(webhook_url, fake_api, rasa, chat_id):
    response = await post_update(webhook_url, text_update(chat_id, "bonjour"))
    assert response.status == 200
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert fake_api.texts_to(chat_id) == ["reçu : bonjour"]
    assert rasa.messages[0].sender_id == str(chat_id)
    assert rasa.messages[0].input_channel == "telegram"


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET[:-1], "sécret-é"])
async def test_wrong_secret_rejected(webhook_url, fake_api, rasa, chat_id, secret, caplog):
    caplog.set_level(logging.WARNING, logger="connectors.telegram.channel")
    response = await post_update(webhook_url, text_update(chat_id, "bonjour"), secret=secret)
    assert response.status == 403
    await asyncio.sleep(0.3)
    assert rasa.messages == []
    assert fake_api.calls == []


async def test_rejection_logged_with_reason(settings, rasa, key_prefix, redis_client, chat_id, caplog):
    caplog.set_level(logging.WARNING, logger="connectors.telegram.channel")
    channel = TelegramInput(settings, key_prefix=key_prefix, register_at_start=False)
    async with serve_telegram(channel, rasa) as url:
        await post_update(url, text_update(chat_id, "bonjour"), secret="wrong")
    assert "secret token is wrong" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b'{"update_id": 1,', b"\xff\xfe\x00", b"[" * 100000])
async def test_bad_json_rejected(webhook_url, rasa, raw):
    response = await post_update(webhook_url, None, raw=raw)
    assert response.status == 400
    assert rasa.messages == []


@pytest.mark.parametrize("body", [[], [1, 2], "texte", 42, None])
async def test_json_not_object_rejected(webhook_url, rasa, body):
    response = await post_update(webhook_url, None, raw=json.dumps(body).encode())
    assert response.status == 400


async def test_too_large_body_rejected(webhook_url, rasa):
    response = await post_update(webhook_url, None, raw=b'{"a": "' + b"x" * (1024 * 1024 + 10) + b'"}')
    assert response.status == 413


async def test_answers_before_reply(webhook_url, fake_api, rasa, chat_id):
    # Rasa takes 0.3 s on "lent": the webhook responds before the reply is sent.
    response = await post_update(webhook_url, text_update(chat_id, "lent"))
    assert response.status == 200
    assert fake_api.texts_to(chat_id) == []
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))


async def test_disabled_without_token(fake_api, redis_url, rasa, chat_id):
    channel = TelegramInput(bot_settings(fake_api.url, redis_url, token=""))
    async with serve_telegram(channel, rasa) as url:
        response = await post_update(url, text_update(chat_id, "bonjour"))
    assert response.status == 503
    assert rasa.messages == []


async def test_disabled_with_invalid_secret_setting(fake_api, redis_url, rasa, chat_id):
    channel = TelegramInput(bot_settings(fake_api.url, redis_url, secret_token="pas de espaces !"))
    async with serve_telegram(channel, rasa) as url:
        response = await post_update(url, text_update(chat_id, "bonjour"), secret="pas de espaces !")
    assert response.status == 503


def test_from_credentials_empty_token(caplog):
    caplog.set_level(logging.WARNING, logger="connectors.telegram.channel")
    channel = TelegramInput.from_credentials({"token": "", "secret_token": "", "redis_url": ""})
    assert isinstance(channel, TelegramInput)
    assert channel.ready is False
    assert "TELEGRAM_BOT_TOKEN is empty" in caplog.text


# ---------------------------------------------------------------- De-duplication


async def test_redelivered_update_answered_once(webhook_url, fake_api, rasa, chat_id, redis_client, key_prefix):
    update = text_update(chat_id, "bonjour")
    first = await post_update(webhook_url, update)
    second = await post_update(webhook_url, update)
    assert (first.status, second.status) == (200, 200)
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    await asyncio.sleep(0.5)
    assert rasa.texts == ["bonjour"]
    assert fake_api.texts_to(chat_id) == ["reçu : bonjour"]

    key = UpdateDeduplicator(redis_client, key_prefix).key(update["update_id"])
    ttl = await redis_client.ttl(key)
    assert 0 < ttl <= 24 * 3600


async def test_concurrent_copies_answered_once(webhook_url, fake_api, rasa, chat_id):
    update = text_update(chat_id, "bonjour")
    responses = await asyncio.gather(*(post_update(webhook_url, update) for _ in range(5)))
    assert [response.status for response in responses] == [200] * 5
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    await asyncio.sleep(0.5)
    assert rasa.texts == ["bonjour"]


async def test_updates_of_chat_kept_in_order(webhook_url, fake_api, rasa, chat_id):
    texts = ["lent", "un", "deux", "trois", "quatre"]
    for text in texts:
        await post_update(webhook_url, text_update(chat_id, text))
    await fake_api.wait_for(lambda api: len(api.texts_to(chat_id)) == 5)
    assert rasa.texts == texts
    assert fake_api.texts_to(chat_id) == [f"reçu : {text}" for text in texts]


async def test_updates_over_rate_limit_left_out_after_notice(settings, rasa, key_prefix, fake_api, chat_id):
    channel = TelegramInput(settings, key_prefix=key_prefix, retry=FAST_RETRY, register_at_start=False,
                            max_messages_per_minute=2)
    async with serve_telegram(channel, rasa) as url:
        await away_from_rate_window_edge()
        for number in range(4):
            await post_update(url, text_update(chat_id, f"message {number}"))
        press = button_update(chat_id, "p:/find_place", "Lieu")
        await post_update(url, press)
        await fake_api.wait_for(lambda api: len(api.texts_to(chat_id)) == 3)
        await asyncio.sleep(0.5)

    assert fake_api.texts_to(chat_id) == ["reçu : message 0", "reçu : message 1", RATE_LIMITED_MESSAGE]
    assert rasa.texts == ["message 0", "message 1"]
    # The press over the limit is still answered, so that its button stops spinning.
    [answer] = fake_api.calls_to("answerCallbackQuery")
    assert answer.params["callback_query_id"] == press["callback_query"]["id"]


# ---------------------------------------------------------------- Commands and text


async def test_start_hands_greet_to_rasa(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, load_update("start_command", chat_id=chat_id))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == ["/greet"]


@pytest.mark.parametrize("text", ["/start", "/start@seconde_chance_test_bot", "/start campagne-affiche", "/START"])
async def test_start_variants(webhook_url, fake_api, rasa, chat_id, text):
    await post_update(webhook_url, text_update(chat_id, text))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == ["/greet"]


@pytest.mark.parametrize("text", ["/aide", "/help", "/aide@seconde_chance_test_bot"])
async def test_help_answered_by_channel(webhook_url, fake_api, rasa, redis_client, chat_id, text):
    await post_update(webhook_url, text_update(chat_id, text))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    [call] = fake_api.calls_to("sendMessage", chat_id)
    assert call.params["text"] == messages.HELP
    keyboard = call.params["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == [button["title"] for button in messages.HELP_BUTTONS]
    assert rasa.messages == []
    assert await offered_payloads(redis_client, chat_id) == {"/find_place", "/find_training", "/ask_counsellor"}


async def test_counsellor_command(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, text_update(chat_id, "/conseiller"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == ["/ask_counsellor"]


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("je tape /bot au milieu", "je tape /bot au milieu"),
        ("voir https://example.org/a/b?c=1&d=2", "voir https://example.org/a/b?c=1&d=2"),
        ('/intent{"x": 1}', 'intent{"x": 1}'),
        ('mon texte /intent{"x": 1}', 'mon texte /intent{"x": 1}'),
        ("/bot", "bot"),
        ("/restart", "restart"),
        ("  / /ask_counsellor", "ask_counsellor"),
    ],
)
async def test_typed_text_cleaned_only(webhook_url, fake_api, rasa, chat_id, typed, expected):
    await post_update(webhook_url, text_update(chat_id, typed))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == [expected]


async def test_sample_text_with_command_and_url(webhook_url, fake_api, rasa, chat_id):
    update = load_update("command_in_text", chat_id=chat_id)
    await post_update(webhook_url, update)
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == [update["message"]["text"]]


async def test_empty_text_answered(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, text_update(chat_id, " / "))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert fake_api.texts_to(chat_id) == [messages.EMPTY_MESSAGE]
    assert rasa.messages == []


async def test_long_text_truncated_with_notice(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, text_update(chat_id, "a" * 3000 + " fin"))
    await fake_api.wait_for(lambda api: len(api.texts_to(chat_id)) == 2)
    assert fake_api.texts_to(chat_id)[0] == messages.TRUNCATED_MESSAGE
    assert len(rasa.texts[0]) == 2000
    assert rasa.texts[0].endswith(" fin")


async def test_edited_message_read_as_new(webhook_url, fake_api, rasa, chat_id):
    update = load_update("edited_message", chat_id=chat_id)
    await post_update(webhook_url, update)
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == [update["edited_message"]["text"]]


async def test_typing_shown_before_reply(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, text_update(chat_id, "bonjour"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    [typing] = fake_api.calls_to("sendChatAction", chat_id)
    assert typing.params["action"] == "typing"
    assert typing.at <= fake_api.calls_to("sendMessage", chat_id)[0].at


# ---------------------------------------------------------------- Positions


async def test_location_becomes_payload(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, load_update("location_message", chat_id=chat_id))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == ['/share_location{"latitude": 45.764, "longitude": 4.836}']


async def test_venue_becomes_payload(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, load_update("venue_message", chat_id=chat_id))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == ['/share_location{"latitude": 45.758, "longitude": 4.832}']


async def test_invalid_location_answered(webhook_url, fake_api, rasa, chat_id):
    update = load_update("location_message", chat_id=chat_id)
    update["message"]["location"] = {"latitude": 200.0, "longitude": 4.8}
    await post_update(webhook_url, update)
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert fake_api.texts_to(chat_id) == [messages.INVALID_POSITION]
    assert rasa.messages == []


async def test_live_location_updates_ignored(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, load_update("edited_live_location", chat_id=chat_id))
    await asyncio.sleep(0.5)
    assert fake_api.calls == []
    assert rasa.messages == []


# ---------------------------------------------------------------- Buttons


async def test_bot_buttons_become_inline_keyboard(webhook_url, fake_api, rasa, redis_client, chat_id):
    await post_update(webhook_url, text_update(chat_id, "boutons"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    [call] = fake_api.calls_to("sendMessage", chat_id)
    rows = call.params["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in rows] == ["Lieu", "Lyon (69)"]
    assert rows[0][0]["callback_data"] == "p:/find_place"
    assert rows[1][0]["callback_data"].startswith("k:")
    assert all(len(row[0]["callback_data"].encode()) <= 64 for row in rows)
    assert await offered_payloads(redis_client, chat_id) == {"/find_place", LONG_PAYLOAD}


async def test_offered_button_press_reaches_rasa(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, text_update(chat_id, "boutons"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    rows = fake_api.calls_to("sendMessage", chat_id)[0].params["reply_markup"]["inline_keyboard"]

    for row in rows:
        update = button_update(chat_id, row[0]["callback_data"], row[0]["text"])
        await post_update(webhook_url, update)
    await fake_api.wait_for(lambda api: len(api.texts_to(chat_id)) == 3)
    assert rasa.texts == ["boutons", "/find_place", LONG_PAYLOAD]
    assert len(fake_api.calls_to("answerCallbackQuery")) == 2


async def test_press_answered_before_rasa(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, text_update(chat_id, "boutons"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    update = button_update(chat_id, "p:/find_place", "Lieu")
    await post_update(webhook_url, update)
    await fake_api.wait_for(lambda api: len(api.texts_to(chat_id)) == 2)
    [answer] = fake_api.calls_to("answerCallbackQuery")
    assert answer.params["callback_query_id"] == update["callback_query"]["id"]
    assert answer.at <= fake_api.calls_to("sendMessage", chat_id)[1].at


@pytest.mark.parametrize("data", ["p:/restart", 'p:/inform_location{"commune_insee": "75056"}', "p:", "x:/find_place", "k:", "k:inconnu"])
async def test_unoffered_button_gets_gentle_reply(webhook_url, fake_api, rasa, chat_id, data):
    await post_update(webhook_url, button_update(chat_id, data))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert fake_api.texts_to(chat_id) == [messages.OLD_BUTTON]
    assert len(fake_api.calls_to("answerCallbackQuery")) == 1
    assert rasa.messages == []


async def test_ask_counsellor_always_accepted(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, button_update(chat_id, "p:/ask_counsellor", "Parler à un conseiller"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == ["/ask_counsellor"]


async def test_stored_button_of_other_chat_rejected(webhook_url, fake_api, rasa, chat_id, redis_client):
    await post_update(webhook_url, text_update(chat_id, "boutons"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    stored = fake_api.calls_to("sendMessage", chat_id)[0].params["reply_markup"]["inline_keyboard"][1][0]

    other_chat = chat_id + 1
    await post_update(webhook_url, button_update(other_chat, stored["callback_data"]))
    await fake_api.wait_for(lambda api: api.texts_to(other_chat))
    assert fake_api.texts_to(other_chat) == [messages.OLD_BUTTON]
    assert rasa.texts == ["boutons"]


async def test_old_message_button_gets_gentle_reply(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, load_update("callback_query_old_message", chat_id=chat_id))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert fake_api.texts_to(chat_id) == [messages.OLD_BUTTON]
    assert len(fake_api.calls_to("answerCallbackQuery")) == 1


async def test_callback_answer_failure_still_handled(webhook_url, fake_api, rasa, chat_id):
    fake_api.fail_next("answerCallbackQuery", Failure(400, "Bad Request: query is too old and response timeout expired or query ID is invalid"))
    await post_update(webhook_url, button_update(chat_id, "p:/ask_counsellor", "Parler à un conseiller"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert rasa.texts == ["/ask_counsellor"]


async def test_callback_without_message_answered(webhook_url, fake_api, rasa, chat_id):
    update = button_update(chat_id, "p:/find_place")
    del update["callback_query"]["message"]
    update["callback_query"]["inline_message_id"] = "AAAAAFakeInline"
    await post_update(webhook_url, update)
    await fake_api.wait_for(lambda api: api.calls_to("answerCallbackQuery"))
    await asyncio.sleep(0.3)
    assert fake_api.calls_to("sendMessage") == []
    assert rasa.messages == []


# ---------------------------------------------------------------- Other content


@pytest.mark.parametrize(
    "fixture, reply",
    [
        ("sticker_message", messages.UNSUPPORTED["sticker"]),
        ("photo_message", messages.UNSUPPORTED["photo"]),
        ("voice_message", messages.UNSUPPORTED["voice"]),
        ("document_message", messages.UNSUPPORTED["document"]),
        ("poll_message", messages.UNSUPPORTED_DEFAULT),
    ],
)
async def test_unsupported_content_answered(webhook_url, fake_api, rasa, chat_id, fixture, reply):
    await post_update(webhook_url, load_update(fixture, chat_id=chat_id))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert fake_api.texts_to(chat_id) == [reply]
    assert rasa.messages == []


@pytest.mark.parametrize("fixture", ["group_message", "new_chat_members", "pinned_message_service", "channel_post", "my_chat_member"])
async def test_service_updates_silent(webhook_url, fake_api, rasa, fixture):
    response = await post_update(webhook_url, load_update(fixture))
    assert response.status == 200
    await asyncio.sleep(0.5)
    assert fake_api.calls == []
    assert rasa.messages == []


# ---------------------------------------------------------------- Bot replies


async def test_place_cards_one_message_each(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, text_update(chat_id, "cartes"))
    await fake_api.wait_for(lambda api: len(api.texts_to(chat_id)) == 2)
    first, second = fake_api.calls_to("sendMessage", chat_id)
    assert first.params["parse_mode"] == "HTML"
    assert first.params["text"].startswith("<b>Mission locale &lt;Lyon&gt; &amp; Rhône</b>\n")
    assert "à 1,2 km" in first.params["text"]
    [[button]] = first.params["reply_markup"]["inline_keyboard"]
    assert button["text"] == messages.MAP_BUTTON
    assert button["url"].startswith("https://www.openstreetmap.org/")
    assert first.params["link_preview_options"] == {"is_disabled": True}
    # A javascript: URL gets no button.
    assert "reply_markup" not in second.params
    assert second.params["text"].startswith("<b>CIO de Lyon</b>")


async def test_long_reply_split(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, text_update(chat_id, "long"))
    await fake_api.wait_for(lambda api: len(api.texts_to(chat_id)) == 2)
    parts = fake_api.texts_to(chat_id)
    assert all(len(part) <= 4096 for part in parts)
    assert " ".join(parts) == ("mot " * 1500).strip()


async def test_rasa_fault_answered(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, text_update(chat_id, "panne"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert fake_api.texts_to(chat_id) == [messages.TECHNICAL_PROBLEM]


async def test_no_reply_answered(webhook_url, fake_api, rasa, chat_id):
    await post_update(webhook_url, text_update(chat_id, "silence"))
    await fake_api.wait_for(lambda api: api.texts_to(chat_id))
    assert fake_api.texts_to(chat_id) == [messages.TECHNICAL_PROBLEM]


async def test_blocked_user_does_not_crash(webhook_url, fake_api, rasa, chat_id, caplog):
    caplog.set_level(logging.ERROR, logger="connectors.telegram")
    fake_api.fail_chat(chat_id, BLOCKED)
    await post_update(webhook_url, text_update(chat_id, "bonjour"))
    await fake_api.wait_for(lambda api: api.calls_to("sendMessage", chat_id))
    await asyncio.sleep(0.3)
    # One refused reply, and no "technical problem" message sent after it.
    assert fake_api.texts_to(chat_id) == ["reçu : bonjour"]
    assert "Forbidden" in caplog.text
    assert "Handling a Telegram update failed" not in caplog.text


async def test_flood_control_retried(webhook_url, fake_api, rasa, chat_id):
    fake_api.fail_next("sendMessage", Failure(429, "Too Many Requests: retry after 1", retry_after=1))
    await post_update(webhook_url, text_update(chat_id, "bonjour"))
    await fake_api.wait_for(lambda api: len(api.texts_to(chat_id)) == 2, timeout=10)
    first, second = fake_api.calls_to("sendMessage", chat_id)
    assert second.at - first.at >= 0.9


# ---------------------------------------------------------------- Start-up


async def test_server_start_registers_webhook(settings, rasa, key_prefix, redis_client, fake_api):
    channel = TelegramInput(settings, key_prefix=key_prefix, registration_retry=FAST_RETRY)
    async with serve_telegram(channel, rasa, start_listeners=True):
        await fake_api.wait_for(lambda api: api.calls_to("setMyCommands"))
    [call] = fake_api.calls_to("setWebhook")
    assert call.params["url"] == settings.webhook_url
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "edited_message", "callback_query"]


async def test_health_route(webhook_url):
    async with aiohttp.ClientSession() as session:
        async with session.get(webhook_url.rsplit("/", 1)[0] + "/") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}
