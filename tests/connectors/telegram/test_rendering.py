"""Tests of connectors.telegram.rendering: text splitting, cards and handoff messages."""

from __future__ import annotations

import pytest

from connectors import cards
from connectors.telegram import messages
from connectors.telegram.rendering import (
    MAX_MESSAGE_CHARS,
    custom_messages,
    handoff_messages,
    place_card_message,
    split_text,
    training_card_message,
    utf16_length,
)
from tests.connectors.telegram.server import PLACE_CARDS


def test_short_text_one_part():
    assert split_text("  Bonjour  ") == ["Bonjour"]


def test_empty_text_no_part():
    assert split_text(" \n ") == []


def test_split_prefers_paragraphs():
    first = "a" * 3000
    second = "b" * 3000
    assert split_text(f"{first}\n\n{second}") == [first, second]


def test_split_prefers_lines_then_spaces():
    text = ("mot " * 2000).strip()
    parts = split_text(text)
    assert all(utf16_length(part) <= MAX_MESSAGE_CHARS for part in parts)
    assert " ".join(parts) == text
    assert all(not part.startswith(" ") and not part.endswith(" ") for part in parts)


def test_split_without_spaces_cuts_hard():
    parts = split_text("x" * 10000)
    assert [len(part) for part in parts] == [4096, 4096, 1808]


def test_split_counts_utf16_units():
    # Each emoji is 2 UTF-16 code units: 2100 of them need 2 messages.
    parts = split_text("😀" * 2100)
    assert all(utf16_length(part) <= MAX_MESSAGE_CHARS for part in parts)
    assert "".join(parts) == "😀" * 2100
    assert len(parts) == 2


def test_place_card_escaped_html():
    message = place_card_message(PLACE_CARDS["places"][0])
    assert message.parse_mode == "HTML"
    assert message.text.split("\n")[0] == "<b>Mission locale &lt;Lyon&gt; &amp; Rhône</b>"
    assert "<Lyon>" not in message.text
    assert message.disable_link_preview is True
    [[button]] = message.reply_markup.inline_keyboard
    assert button.url == PLACE_CARDS["places"][0]["map_url"]


def test_place_card_same_text_as_shared_cards():
    card = PLACE_CARDS["places"][0]
    message = place_card_message(card)
    plain = message.text.replace("<b>", "").replace("</b>", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert plain == cards.place_text(card)


def test_training_card_button():
    card = {"name": "CAP Cuisine", "type_label": "CAP", "level": "niveau 3", "url": "https://www.onisep.fr/x"}
    message = training_card_message(card)
    assert message.text.startswith("<b>CAP Cuisine</b>")
    assert message.reply_markup.inline_keyboard[0][0].text == messages.TRAINING_BUTTON


def test_custom_notice_and_unknown():
    assert [m.text for m in custom_messages({"type": "notice", "text": "Un conseiller arrive."})] == ["Un conseiller arrive."]
    assert custom_messages({"type": "carousel"}) == []
    assert custom_messages("texte") == []


def test_handoff_text_signed():
    message = {"text": "Bonjour", "author": "counsellor", "counsellor_name": "Camille", "message_id": 1}
    [outgoing] = handoff_messages(message)
    assert outgoing.text == cards.handoff_text(message)
    assert outgoing.parse_mode is None


def test_handoff_cards_with_header():
    message = {"custom": PLACE_CARDS, "author": "counsellor", "counsellor_name": "Camille", "message_id": 2}
    header, *card_messages = handoff_messages(message)
    assert "Camille" in header.text
    assert header.text.endswith(messages.COUNSELLOR_CARDS_INTRO)
    assert len(card_messages) == 2


def test_handoff_empty_message_nothing():
    assert handoff_messages({"author": "system", "custom": {"type": "notice", "text": ""}, "message_id": 3}) == []
