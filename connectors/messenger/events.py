"""Parse the body of a Messenger webhook POST into typed events.

Meta posts ``{"object": "page", "entry": [...]}``; each entry names a page
(``id``) and contains a ``messaging`` list. Each messaging event has
``sender.id``, ``recipient.id``, ``timestamp`` (milliseconds) and one of
``message``, ``postback``, ``reaction``, ``read`` or ``delivery``. A message
sent by the page itself comes back as an echo (``message.is_echo``).

Once the top level is valid, the parser raises nothing. An event that it
cannot read, or of a kind this channel does not handle (opt-ins, referrals,
handover events…), is left out. Its reason is returned, without any id or
text, so that the caller can log it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from connectors.messenger.ids import is_numeric_id

# Maximum lengths of a message id and of a payload. Meta's own payload limit is 1000 characters.
MAX_ID_CHARS = 1000
MAX_PAYLOAD_CHARS = 1000

# Sticker id of the thumbs-up (« like ») button of Messenger.
LIKE_STICKER_ID = 369239263222822

# Kinds of messaging events that this channel reads; any other key is reported as unsupported.
_MESSAGE_KEYS = ("message", "postback", "reaction", "read", "delivery")


class WebhookError(ValueError):
    """The body is not a Messenger webhook notification (the request gets a 400)."""


@dataclass(frozen=True)
class MessagingEvent:
    """Fields common to every event: the page, the user's PSID and the time in ms since the epoch."""

    page_id: str
    psid: str
    timestamp: Optional[int]

    @property
    def dedup_key(self) -> Optional[str]:
        """Key that is the same when Meta delivers this event again, or None when the event is not deduplicated."""
        return None


@dataclass(frozen=True)
class _MessageEvent(MessagingEvent):
    mid: str

    @property
    def dedup_key(self) -> Optional[str]:
        return f"message:{self.mid}"


@dataclass(frozen=True)
class TextMessage(_MessageEvent):
    """A typed text; attachments sent with it (link previews) are left out."""

    text: str


@dataclass(frozen=True)
class QuickReply(_MessageEvent):
    """A press on a quick reply: ``text`` is its title, ``payload`` what the bot attached to it."""

    text: str
    payload: str


@dataclass(frozen=True)
class Attachment:
    """One attachment of a message.

    Attributes:
        type: Meta's type: image, audio, video, file, location, fallback,
            template, or "unsupported" for ``message.is_unsupported``.
        url: The media URL, when there is one.
        latitude: Degrees, for a location.
        longitude: Degrees, for a location.
        sticker_id: Set when the image is a sticker.
    """

    type: str
    url: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    sticker_id: Optional[int] = None


@dataclass(frozen=True)
class AttachmentMessage(_MessageEvent):
    """A message without text: stickers, images, audio, video, files, locations."""

    attachments: Tuple[Attachment, ...]
    sticker_id: Optional[int] = None

    @property
    def is_sticker(self) -> bool:
        """Whether the message is a sticker, the « like » thumbs-up included."""
        return self.sticker_id is not None or any(a.sticker_id is not None for a in self.attachments)

    @property
    def location(self) -> Optional[Attachment]:
        """The first location attachment with coordinates, or None."""
        for attachment in self.attachments:
            if attachment.type == "location" and attachment.latitude is not None:
                return attachment
        return None


@dataclass(frozen=True)
class Postback(MessagingEvent):
    """A press on a postback button: Get Started, the persistent menu or a template button."""

    mid: Optional[str]
    title: str
    payload: str

    @property
    def dedup_key(self) -> Optional[str]:
        if self.mid:
            return f"postback:{self.mid}"
        if self.timestamp is None:
            # Without a mid or a timestamp, a redelivery and a second press look the same.
            return None
        digest = hashlib.sha256(self.payload.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return f"postback:{self.page_id}:{self.psid}:{self.timestamp}:{digest}"


@dataclass(frozen=True)
class Reaction(MessagingEvent):
    """A reaction to a message (``action`` is "react" or "unreact")."""

    mid: Optional[str]
    action: Optional[str]
    emoji: Optional[str]


@dataclass(frozen=True)
class Read(MessagingEvent):
    """A read receipt: the user saw every message sent before ``watermark`` (ms)."""

    watermark: Optional[int]


@dataclass(frozen=True)
class Delivery(MessagingEvent):
    """A delivery receipt for messages of the page."""

    mids: Tuple[str, ...]
    watermark: Optional[int]


@dataclass(frozen=True)
class Echo(MessagingEvent):
    """A message sent by the page (this bot or a page admin), echoed back by Meta."""

    mid: Optional[str]


@dataclass
class ParsedWebhook:
    """The events of one webhook body and the reasons of the events left out."""

    events: List[MessagingEvent] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)


def parse_webhook(data: Any) -> ParsedWebhook:
    """Read the decoded JSON body of a webhook POST.

    Raises:
        WebhookError: The body is not an object, its ``object`` is not
            "page", or it has no ``entry`` list.
    """
    if not isinstance(data, dict):
        raise WebhookError("the body is not a JSON object")
    if data.get("object") != "page":
        raise WebhookError("the object is not \"page\"")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise WebhookError("the body has no entry list")

    parsed = ParsedWebhook()
    for entry in entries:
        _parse_entry(entry, parsed)
    return parsed


def _parse_entry(entry: Any, parsed: ParsedWebhook) -> None:
    if not isinstance(entry, dict):
        parsed.ignored.append("entry is not an object")
        return
    page_id = entry.get("id")
    if not is_numeric_id(page_id):
        parsed.ignored.append("entry has no valid page id")
        return
    messaging = entry.get("messaging")
    if messaging is None:
        parsed.ignored.append("entry has no messaging list (standby or changes)")
        return
    if not isinstance(messaging, list):
        parsed.ignored.append("entry messaging is not a list")
        return
    for item in messaging:
        outcome = _parse_event(page_id, item)
        if isinstance(outcome, MessagingEvent):
            parsed.events.append(outcome)
        else:
            parsed.ignored.append(outcome)


def _party_id(item: Dict[str, Any], key: str) -> Optional[str]:
    party = item.get(key)
    if not isinstance(party, dict):
        return None
    value = party.get("id")
    return value if is_numeric_id(value) else None


def _integer(value: Any) -> Optional[int]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _string(value: Any, max_chars: int) -> Optional[str]:
    if isinstance(value, str) and 0 < len(value) <= max_chars:
        return value
    return None


def _parse_event(page_id: str, item: Any) -> "MessagingEvent | str":
    """Return the event, or the reason it is left out."""
    if not isinstance(item, dict):
        return "event is not an object"
    sender = _party_id(item, "sender")
    recipient = _party_id(item, "recipient")
    if sender is None or recipient is None:
        return "event has no valid sender or recipient id"
    timestamp = _integer(item.get("timestamp"))

    message = item.get("message")
    if isinstance(message, dict) and message.get("is_echo") is True:
        # The page is the sender of an echo, and the user its recipient.
        if sender != page_id:
            return "echo was not sent by the entry's page"
        return Echo(page_id, recipient, timestamp, _string(message.get("mid"), MAX_ID_CHARS))

    if recipient != page_id:
        return "event recipient is not the entry's page"

    kind = next((key for key in _MESSAGE_KEYS if key in item), None)
    if kind is None:
        return "unsupported event type"
    value = item[kind]
    if not isinstance(value, dict):
        return f"{kind} is not an object"

    if kind == "message":
        return _parse_message(page_id, sender, timestamp, value)
    if kind == "postback":
        return _parse_postback(page_id, sender, timestamp, value)
    if kind == "reaction":
        return Reaction(
            page_id, sender, timestamp,
            _string(value.get("mid"), MAX_ID_CHARS),
            _string(value.get("action"), 32),
            _string(value.get("emoji"), 32),
        )
    if kind == "read":
        return Read(page_id, sender, timestamp, _integer(value.get("watermark")))
    mids = value.get("mids")
    delivered = tuple(mid for mid in mids if _string(mid, MAX_ID_CHARS)) if isinstance(mids, list) else ()
    return Delivery(page_id, sender, timestamp, delivered, _integer(value.get("watermark")))


def _parse_message(page_id: str, psid: str, timestamp: Optional[int], message: Dict[str, Any]) -> "MessagingEvent | str":
    mid = _string(message.get("mid"), MAX_ID_CHARS)
    if mid is None:
        return "message has no valid mid"
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        return "message text is not a string"

    quick_reply = message.get("quick_reply")
    if quick_reply is not None:
        payload = _string(quick_reply.get("payload"), MAX_PAYLOAD_CHARS) if isinstance(quick_reply, dict) else None
        if payload is None:
            return "quick reply has no valid payload"
        return QuickReply(page_id, psid, timestamp, mid, text or "", payload)

    if text:
        return TextMessage(page_id, psid, timestamp, mid, text)

    attachments = _parse_attachments(message.get("attachments"))
    sticker_id = _integer(message.get("sticker_id"))
    if message.get("is_unsupported") is True:
        attachments = attachments + (Attachment("unsupported"),)
    if attachments or sticker_id is not None:
        return AttachmentMessage(page_id, psid, timestamp, mid, attachments, sticker_id)
    return "message has neither text nor attachments"


def _parse_attachments(values: Any) -> Tuple[Attachment, ...]:
    if not isinstance(values, list):
        return ()
    attachments = []
    for value in values:
        if not isinstance(value, dict) or not _string(value.get("type"), 32):
            continue
        payload = value.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        url = _string(payload.get("url"), 4096)
        latitude = longitude = None
        coordinates = payload.get("coordinates")
        if isinstance(coordinates, dict):
            latitude = _coordinate(coordinates.get("lat"))
            longitude = _coordinate(coordinates.get("long"))
            if latitude is None or longitude is None:
                latitude = longitude = None
        attachments.append(
            Attachment(value["type"], url, latitude, longitude, _integer(payload.get("sticker_id")))
        )
    return tuple(attachments)


def _coordinate(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _parse_postback(page_id: str, psid: str, timestamp: Optional[int], postback: Dict[str, Any]) -> "MessagingEvent | str":
    payload = _string(postback.get("payload"), MAX_PAYLOAD_CHARS)
    if payload is None:
        return "postback has no valid payload"
    title = postback.get("title")
    return Postback(
        page_id, psid, timestamp,
        _string(postback.get("mid"), MAX_ID_CHARS),
        title if isinstance(title, str) else "",
        payload,
    )
