"""Tests of connectors.telegram.buttons with real Redis."""

from __future__ import annotations

import pytest

from connectors.telegram.buttons import CallbackButtons, PressedButton
from connectors.user_input import OfferedPayloads
from tests.connectors.telegram.server import LONG_PAYLOAD


@pytest.fixture
def buttons(redis_client, key_prefix) -> CallbackButtons:
    return CallbackButtons(redis_client, OfferedPayloads(redis_client, "telegram"), key_prefix)


async def offer(buttons: CallbackButtons, chat: str, payload: str, title: str) -> str:
    data = await buttons.callback_data(chat, payload, title)
    await buttons.remember_offered(chat, [payload])
    return data


async def test_short_payload_inline(buttons, chat_id):
    assert await buttons.callback_data(str(chat_id), "/find_place", "Lieu") == "p:/find_place"


async def test_long_payload_stored(buttons, redis_client, key_prefix, chat_id):
    data = await buttons.callback_data(str(chat_id), LONG_PAYLOAD, "Lyon (69)")
    assert data.startswith("k:")
    assert len(data.encode()) <= 64
    ttl = await redis_client.ttl(f"{key_prefix}button:{data[2:]}")
    assert 0 < ttl <= 7 * 24 * 3600


async def test_payload_of_exactly_62_bytes_inline(buttons, chat_id):
    payload = "/" + "a" * 61
    assert await buttons.callback_data(str(chat_id), payload, "A") == "p:" + payload
    assert (await buttons.callback_data(str(chat_id), payload + "a", "A")).startswith("k:")


async def test_multibyte_payload_counted_in_bytes(buttons, chat_id):
    payload = '/inform_location{"location": "' + "é" * 20 + '"}'
    assert len("p:" + payload) <= 64
    assert (await buttons.callback_data(str(chat_id), payload, "É")).startswith("k:")


async def test_offered_press_accepted(buttons, chat_id):
    chat = str(chat_id)
    inline = await offer(buttons, chat, "/find_place", "Lieu")
    stored = await offer(buttons, chat, LONG_PAYLOAD, "Lyon (69)")
    assert await buttons.read_press(chat, inline, "Lieu") == PressedButton("/find_place", "Lieu")
    assert await buttons.read_press(chat, stored, None) == PressedButton(LONG_PAYLOAD, "Lyon (69)")


async def test_not_offered_rejected(buttons, chat_id):
    assert await buttons.read_press(str(chat_id), "p:/restart", "Recommencer") is None


async def test_other_chat_rejected(buttons, redis_client, chat_id):
    stored = await offer(buttons, str(chat_id), LONG_PAYLOAD, "Lyon (69)")
    other_chat = str(chat_id + 1)
    await buttons.remember_offered(other_chat, [LONG_PAYLOAD])
    try:
        assert await buttons.read_press(other_chat, stored, None) is None
    finally:
        await redis_client.delete(buttons.offered_payloads._key(other_chat))


async def test_ask_counsellor_always_accepted(buttons, chat_id):
    assert await buttons.read_press(str(chat_id), "p:/ask_counsellor", None) == PressedButton("/ask_counsellor", None)


async def test_plain_text_payload_accepted(buttons, chat_id):
    # A payload without "/" stands for typed text, which needs no offer.
    assert await buttons.read_press(str(chat_id), "p:oui", "Oui") == PressedButton("oui", "Oui")


@pytest.mark.parametrize("data", ["", "p:", "p:   ", "k:", "k:absent", "k:" + "x" * 100, "z:/find_place", "/find_place"])
async def test_malformed_data_rejected(buttons, chat_id, data):
    assert await buttons.read_press(str(chat_id), data, None) is None


async def test_stored_record_not_json_rejected(buttons, redis_client, key_prefix, chat_id):
    await redis_client.set(f"{key_prefix}button:abc", b"pas du json")
    assert await buttons.read_press(str(chat_id), "k:abc", None) is None
