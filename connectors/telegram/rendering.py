"""Telegram messages built from the bot's and the counsellors' content.

Texts are sent as plain text (no parse mode), so nothing a user, the bot or a
counsellor writes is read as markup. Place and training cards are sent one
message per card in HTML parse mode, every value escaped, with the title in
bold and a URL button to the map or the Onisep page. The French text of a
card comes from `connectors.cards`, shared with Messenger.
"""

import html
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Text

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode

from connectors import cards
from connectors.telegram import messages

logger = logging.getLogger(__name__)

# Maximum length of a sendMessage text, in UTF-16 code units, which is how
# Telegram counts (Bot API, sendMessage: "1-4096 characters after entities parsing").
MAX_MESSAGE_CHARS = 4096


@dataclass(frozen=True)
class OutgoingMessage:
    """One sendMessage call.

    Attributes:
        text: at most `MAX_MESSAGE_CHARS` UTF-16 code units.
        parse_mode: "HTML" for cards, None for plain text.
        reply_markup: the inline keyboard under the message, if any.
        disable_link_preview: True for cards, whose links would otherwise
            add a large preview.
    """

    text: Text
    parse_mode: Optional[Text] = None
    reply_markup: Optional[InlineKeyboardMarkup] = None
    disable_link_preview: bool = False


def utf16_length(text: Text) -> int:
    """Return the length of a text in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: Text, limit: int = MAX_MESSAGE_CHARS) -> List[Text]:
    """Split a text into parts of at most `limit` UTF-16 code units.

    Cuts go at the last paragraph break, else line break, else space of the
    second half of each part, and never inside a surrogate pair. Empty parts
    are dropped.
    """
    parts: List[Text] = []
    rest = text.strip()
    while rest:
        if utf16_length(rest) <= limit:
            parts.append(rest)
            break
        end = _prefix_end(rest, limit)
        cut = end
        for separator in ("\n\n", "\n", " "):
            position = rest.rfind(separator, end // 2, end)
            if position > 0:
                cut = position
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].strip()
    return [part for part in parts if part]


def _prefix_end(text: Text, limit: int) -> int:
    """Return the largest index i such that text[:i] has at most `limit` UTF-16 code units."""
    units = 0
    for index, character in enumerate(text):
        units += 2 if ord(character) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def text_messages(text: Text, reply_markup: Optional[InlineKeyboardMarkup] = None) -> List[OutgoingMessage]:
    """Return a plain text as messages, with the keyboard under the last one."""
    parts = split_text(text)
    if not parts:
        return []
    outgoing = [OutgoingMessage(part) for part in parts[:-1]]
    outgoing.append(OutgoingMessage(parts[-1], reply_markup=reply_markup))
    return outgoing


def url_keyboard(title: Text, url: Any) -> Optional[InlineKeyboardMarkup]:
    """Return a one-button keyboard opening `url`, or None when the URL is not usable."""
    checked = cards.button_url(url)
    if checked is None:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(title, url=checked)]])


def _card_message(text: Text, keyboard: Optional[InlineKeyboardMarkup]) -> OutgoingMessage:
    lines = [html.escape(line, quote=False) for line in text.split("\n")]
    body = "\n".join([f"<b>{lines[0]}</b>", *lines[1:]])
    if utf16_length(body) > MAX_MESSAGE_CHARS:
        # Only a card with absurdly long fields gets here: send it as plain text.
        return OutgoingMessage(split_text(text)[0], reply_markup=keyboard, disable_link_preview=True)
    return OutgoingMessage(body, ParseMode.HTML, keyboard, disable_link_preview=True)


def place_card_message(card: Dict[Text, Any]) -> OutgoingMessage:
    """Return one place card: its text in HTML, with a button to the map."""
    return _card_message(cards.place_text(card), url_keyboard(messages.MAP_BUTTON, card.get("map_url")))


def training_card_message(card: Dict[Text, Any]) -> OutgoingMessage:
    """Return one training card: its text in HTML, with a button to its Onisep page."""
    return _card_message(cards.training_text(card), url_keyboard(messages.TRAINING_BUTTON, card.get("url")))


def custom_messages(custom: Any) -> List[OutgoingMessage]:
    """Return the messages of a custom payload: one per card, or a notice's text; [] for an unknown type."""
    if not isinstance(custom, dict):
        return []
    kind = custom.get("type")
    if kind == "place_cards":
        return [place_card_message(card) for card in cards.cards_of(custom)]
    if kind == "training_cards":
        return [training_card_message(card) for card in cards.cards_of(custom)]
    text = cards.custom_text(custom)
    return text_messages(text) if text else []


def handoff_messages(message: Dict[Text, Any]) -> List[OutgoingMessage]:
    """Return the messages for a counsellor or system message of `connectors.handoff_bridge.message_for_user`.

    Texts and notices are written by `connectors.cards.handoff_text`, which
    signs a counsellor's text with their name. Cards come one message per
    card, after a signed header line when a counsellor sent them.
    """
    custom = message.get("custom")
    if isinstance(custom, dict) and custom.get("type") in ("place_cards", "training_cards"):
        card_messages = custom_messages(custom)
        if card_messages:
            if message.get("author") != "counsellor":
                return card_messages
            header = cards.handoff_text({**message, "custom": None, "text": messages.COUNSELLOR_CARDS_INTRO})
            return [OutgoingMessage(header), *card_messages]
    return text_messages(cards.handoff_text(message))
