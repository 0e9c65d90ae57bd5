"""Reading of Bot API updates into the few kinds of events the channel handles.

`read_update` parses a decoded webhook body with python-telegram-bot's
`Update.de_json`, then checks the fields the channel uses, because PTB does
not check their types (a string ``chat.id`` passes). The result is one of:

* `TextMessage`: typed text, also from an edited message;
* `Command`: /start, /aide (or /help) and /conseiller, with or without the
  bot's @username;
* `SharedLocation`: a position, or the position of a venue;
* `ButtonPress`: a callback query from an inline keyboard button;
* `UnsupportedContent`: a sticker, photo, voice message, document, poll…,
  which gets a short reply;
* `Ignored`: service messages (member joined, pinned message…), updates from
  groups and channels, live-location updates, update types the channel does
  not ask for, and anything malformed, with the reason for the log.

Only private chats are handled: the assistant talks to one young person at
a time, and in groups it would reveal their questions to others.
"""

import logging
import re
from dataclasses import dataclass
from typing import Any, Optional, Text, Union

from telegram import CallbackQuery, Message, Update

logger = logging.getLogger(__name__)

# Commands the channel handles itself, with their aliases.
COMMANDS = {"start": "start", "aide": "aide", "help": "aide", "conseiller": "conseiller"}

_COMMAND_PATTERN = re.compile(r"^/([A-Za-z_]+)(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.DOTALL)

# Message fields of content that is not text, most specific first (a venue
# also sets `location`, an animation also sets `document`).
_CONTENT_FIELDS = (
    "venue", "location", "sticker", "voice", "audio", "photo", "video", "video_note",
    "animation", "document", "contact", "poll", "dice", "game", "story",
)

# Attachments that carry a position: a venue message also sets `location`.
_LOCATION_ATTACHMENTS = ("location", "venue")


@dataclass(frozen=True)
class TextMessage:
    """Text typed by the user; `edited` is True when it comes from an edited message."""

    update_id: int
    chat_id: int
    text: Text
    edited: bool = False


@dataclass(frozen=True)
class Command:
    """One of `COMMANDS`, by its canonical name ("start", "aide", "conseiller"), and the whole text."""

    update_id: int
    chat_id: int
    name: Text
    text: Text


@dataclass(frozen=True)
class SharedLocation:
    """A position shared by the user, in degrees (WGS84), as received."""

    update_id: int
    chat_id: int
    latitude: Any
    longitude: Any


@dataclass(frozen=True)
class ButtonPress:
    """A press on an inline keyboard button.

    Attributes:
        callback_query_id: id to pass to answerCallbackQuery.
        chat_id: the chat of the message that carries the button.
        data: the button's callback data.
        title: the button's text, found in the message's keyboard, or None
            when Telegram did not send the message (too old).
    """

    update_id: int
    callback_query_id: Text
    chat_id: int
    data: Text
    title: Optional[Text] = None


@dataclass(frozen=True)
class UnsupportedContent:
    """Content the assistant cannot read; `kind` is the Bot API field name ("sticker", "voice"…)."""

    update_id: int
    chat_id: int
    kind: Text
    caption: Text = ""


@dataclass(frozen=True)
class Ignored:
    """An update that gets no reply; `update_id` is None when the update has no valid id."""

    update_id: Optional[int]
    reason: Text
    # Set for a callback query that is not handled otherwise, so that the
    # channel still calls answerCallbackQuery and the button stops spinning.
    callback_query_id: Optional[Text] = None


Event = Union[TextMessage, Command, SharedLocation, ButtonPress, UnsupportedContent, Ignored]


def read_update(data: Any) -> Event:
    """Read a decoded webhook body.

    Never raises: a body that is not a valid update gives `Ignored` with the reason.
    """
    if not isinstance(data, dict):
        return Ignored(None, "the update is not a JSON object")
    update_id = data.get("update_id")
    if not _is_int(update_id):
        return Ignored(None, "the update has no integer update_id")

    try:
        update = Update.de_json(data, None)
    except Exception as error:  # noqa: BLE001 - PTB raises many kinds on malformed input
        # PTB follows one Bot API version and rejects objects that miss a
        # field it requires; the user still gets an answer.
        return _read_unparsed(update_id, data, f"python-telegram-bot could not read the update ({type(error).__name__})")

    try:
        if update.message is not None:
            return _read_message(update_id, update.message, edited=False)
        if update.edited_message is not None:
            return _read_message(update_id, update.edited_message, edited=True)
        if update.callback_query is not None:
            return _read_callback_query(update_id, update.callback_query)
    except Exception as error:  # noqa: BLE001 - fields of unexpected types fail in many ways
        return Ignored(update_id, f"the update has fields of the wrong type ({type(error).__name__})")
    return Ignored(update_id, "an update type the channel does not handle")


def _read_unparsed(update_id: int, data: dict, reason: Text) -> Event:
    """Read the few fields the channel needs from an update that PTB could not parse.

    Text and commands are read as usual. Any other message in a private chat
    is content the channel cannot read, and a callback query is only
    answered.
    """
    for key, edited in (("message", False), ("edited_message", True)):
        message = data.get(key)
        if not isinstance(message, dict):
            continue
        chat = message.get("chat")
        if not isinstance(chat, dict) or chat.get("type") != "private" or not _is_int(chat.get("id")):
            return Ignored(update_id, reason)
        chat_id = chat["id"]
        text = message.get("text")
        if isinstance(text, str):
            command = _command(text)
            if command is not None:
                return Command(update_id, chat_id, command, text)
            return TextMessage(update_id, chat_id, text, edited)
        if edited:
            return Ignored(update_id, reason)
        kind = next((name for name in _CONTENT_FIELDS if name in message), "unknown")
        return UnsupportedContent(update_id, chat_id, kind)
    query = data.get("callback_query")
    if isinstance(query, dict) and isinstance(query.get("id"), str) and query["id"]:
        return Ignored(update_id, reason, callback_query_id=query["id"])
    return Ignored(update_id, reason)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _private_chat_id(message: Any) -> Optional[int]:
    chat = getattr(message, "chat", None)
    chat_id = getattr(chat, "id", None)
    if chat is None or not _is_int(chat_id) or getattr(chat, "type", None) != "private":
        return None
    return chat_id


def _read_message(update_id: int, message: Message, edited: bool) -> Event:
    chat_id = _private_chat_id(message)
    if chat_id is None:
        return Ignored(update_id, "a message outside a private chat, or without a valid chat")

    text = message.text
    if text is not None:
        if not isinstance(text, str):
            return Ignored(update_id, "the message text is not a string")
        command = _command(text)
        if command is not None:
            return Command(update_id, chat_id, command, text)
        return TextMessage(update_id, chat_id, text, edited)

    kind = _attachment_kind(message)
    if kind in _LOCATION_ATTACHMENTS:
        if edited:
            # Live locations send an edited message at every move.
            return Ignored(update_id, "a live-location update")
        location = message.location
        if location is None and message.venue is not None:
            location = message.venue.location
        if location is None:
            return Ignored(update_id, "a venue without a location")
        return SharedLocation(update_id, chat_id, location.latitude, location.longitude)
    if kind is not None:
        if edited:
            return Ignored(update_id, f"an edited {kind}")
        caption = message.caption if isinstance(message.caption, str) else ""
        return UnsupportedContent(update_id, chat_id, kind, caption)
    return Ignored(update_id, "a service message")


def _attachment_kind(message: Message) -> Optional[Text]:
    """Return the Bot API name of the message's attachment, or None for a service message."""
    attachment = message.effective_attachment
    if attachment is None:
        return None
    for name in _CONTENT_FIELDS:
        if getattr(message, name, None):
            return name
    return type(attachment).__name__.lower()


def _command(text: Text) -> Optional[Text]:
    match = _COMMAND_PATTERN.match(text.strip())
    if match is None:
        return None
    return COMMANDS.get(match.group(1).lower())


def _read_callback_query(update_id: int, query: CallbackQuery) -> Event:
    query_id = query.id
    if not isinstance(query_id, str) or not query_id:
        return Ignored(update_id, "a callback query without an id")
    data = query.data
    if not isinstance(data, str) or not data:
        return Ignored(update_id, "a callback query without data", callback_query_id=query_id)
    chat_id = _private_chat_id(query.message)
    if chat_id is None:
        # Buttons of inline-mode messages come without a message; the
        # channel sends no such buttons.
        return Ignored(update_id, "a callback query outside a private chat", callback_query_id=query_id)
    return ButtonPress(update_id, query_id, chat_id, data, _button_title(query.message, data))


def _button_title(message: Any, data: Text) -> Optional[Text]:
    """Return the text of the button with this callback data in the message's keyboard, if it is there."""
    markup = getattr(message, "reply_markup", None)
    rows = getattr(markup, "inline_keyboard", None) or ()
    for row in rows:
        for button in row if isinstance(row, (list, tuple)) else ():
            if getattr(button, "callback_data", None) == data and isinstance(getattr(button, "text", None), str):
                return button.text
    return None
