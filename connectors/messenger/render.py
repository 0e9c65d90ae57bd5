"""Build Send API message objects from what the bot and the counsellors send.

Messenger's limits, from the Send API reference:

* a text has at most 2000 characters;
* a message has at most 13 quick replies, with titles of at most 20
  characters and payloads of at most 1000;
* a generic template has at most 10 elements, each with a title and a
  subtitle of at most 80 characters and at most 3 buttons, whose titles
  have at most 20 characters.

Longer texts are split on paragraph boundaries, and titles are cut at a
word boundary with « … ».

The wording of cards comes from `connectors.cards`, shared with Telegram.
"""

import logging
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Text

from connectors import cards
from connectors.messenger import messages

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE_CHARS = 20
MAX_PAYLOAD_CHARS = 1000
MAX_TEMPLATE_ELEMENTS = 10
MAX_ELEMENT_TITLE_CHARS = 80
MAX_ELEMENT_SUBTITLE_CHARS = 80
MAX_ELEMENT_BUTTONS = 3
ELLIPSIS = "…"

# French numbers: the trunk prefix 0 becomes a country code, which differs
# for the overseas départements (first four digits → country code).
_OVERSEAS_PREFIXES = {
    "0590": "+590", "0690": "+590", "0691": "+590",
    "0594": "+594", "0694": "+594",
    "0596": "+596", "0696": "+596", "0697": "+596",
    "0262": "+262", "0263": "+262", "0692": "+262", "0693": "+262",
    "0269": "+262", "0639": "+262",
    "0508": "+508",
}
_PHONE_SEPARATORS = re.compile(r"[\s.\-()/]")


def shorten(text: Text, limit: int) -> Text:
    """Cut a one-line text to ``limit`` characters, at a word boundary, ending with « … »."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:·-–") + ELLIPSIS


def split_text(text: Text, limit: int = MAX_TEXT_CHARS) -> List[Text]:
    """Split a text into messages of at most ``limit`` characters, keeping paragraphs whole when they fit."""
    chunks: List[Text] = []
    current = ""
    for paragraph in (part.strip() for part in str(text).strip().split("\n\n")):
        if not paragraph:
            continue
        for piece in _split_paragraph(paragraph, limit):
            if not current:
                current = piece
            elif len(current) + 2 + len(piece) <= limit:
                current = f"{current}\n\n{piece}"
            else:
                chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def _split_paragraph(paragraph: Text, limit: int) -> List[Text]:
    """Split one paragraph longer than ``limit`` at a line break, a sentence end or a space."""
    pieces = []
    rest = paragraph
    while len(rest) > limit:
        window = rest[:limit]
        cut = limit
        for separator, keep in (("\n", 0), (". ", 1), ("! ", 1), ("? ", 1), (" ", 0)):
            index = window.rfind(separator)
            if index > limit // 2:
                cut = index + keep
                break
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def text_messages(text: Optional[Text]) -> List[Dict[Text, Any]]:
    """Return the text messages of a text, empty for an empty text."""
    return [{"text": chunk} for chunk in split_text(text or "")]


def quick_reply_title(title: Text) -> Text:
    """Return the title of a quick reply: the short form of a known long title, else the title cut to 20 characters."""
    title = " ".join(title.split())
    return shorten(messages.SHORT_BUTTON_TITLES.get(title, title), MAX_QUICK_REPLY_TITLE_CHARS)


def _long_titles_listed(text: Optional[Text], buttons: Iterable[Any]) -> Optional[Text]:
    """Return the text followed by the numbered full titles, when some title would be cut.

    Titles built at run time, such as communes with their département
    (« Saint-Denis (La Réunion) »), have no short form: the text lists
    them whole, and each quick reply starts with its number.
    """
    titles = [b.get("title") for b in buttons if isinstance(b, dict) and isinstance(b.get("title"), str)]
    cut = [t for t in titles if quick_reply_title(t) != " ".join(t.split()) and t not in messages.SHORT_BUTTON_TITLES]
    if not cut:
        return None
    listed = "\n".join(f"{number}. {' '.join(title.split())}" for number, title in enumerate(titles, start=1))
    return f"{text}\n\n{listed}" if text else listed


def quick_replies(buttons: Iterable[Any], numbered: bool = False) -> List[Dict[Text, Any]]:
    """Turn Rasa buttons into Messenger quick replies; buttons without a usable title or payload are left out.

    Args:
        buttons: Rasa buttons (``title`` and ``payload``).
        numbered: whether each title starts with its rank, to match a list in the text.
    """
    replies = []
    for number, button in enumerate(buttons or [], start=1):
        if not isinstance(button, dict):
            continue
        title = button.get("title")
        payload = button.get("payload")
        if not isinstance(title, str) or not title.strip():
            logger.warning("A button without a title was left out of the quick replies.")
            continue
        if not isinstance(payload, str) or not payload.strip() or len(payload.strip()) > MAX_PAYLOAD_CHARS:
            logger.warning("A button whose payload is missing or longer than %d characters was left out.", MAX_PAYLOAD_CHARS)
            continue
        if numbered:
            reply_title = shorten(f"{number}. {' '.join(title.split())}", MAX_QUICK_REPLY_TITLE_CHARS)
        else:
            reply_title = quick_reply_title(title)
        replies.append({"content_type": "text", "title": reply_title, "payload": payload.strip()})
    if len(replies) > MAX_QUICK_REPLIES:
        logger.warning("%d buttons were sent; Messenger shows the first %d only.", len(replies), MAX_QUICK_REPLIES)
        replies = replies[:MAX_QUICK_REPLIES]
    return replies


def text_with_quick_replies(text: Optional[Text], buttons: Iterable[Any]) -> List[Dict[Text, Any]]:
    """Return the messages of a text with buttons: the quick replies go with its last part."""
    buttons = list(buttons or [])
    listed = _long_titles_listed(text, buttons)
    replies = quick_replies(buttons, numbered=listed is not None)
    result = text_messages(listed if listed is not None else text)
    if not replies:
        return result
    if not result:
        result = text_messages(messages.CHOOSE_PROMPT)
    result[-1]["quick_replies"] = replies
    return result


def phone_e164(phone: Any) -> Optional[Text]:
    """Return a French phone number in E.164 form (``+33478…``), as the call button needs, or None."""
    if not isinstance(phone, str):
        return None
    digits = _PHONE_SEPARATORS.sub("", phone)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"\+[1-9][0-9]{7,14}", digits):
        return digits
    if re.fullmatch(r"0[1-9][0-9]{8}", digits):
        return _OVERSEAS_PREFIXES.get(digits[:4], "+33") + digits[1:]
    return None


def _fit(parts: Sequence[Text], limit: int) -> Text:
    """Join parts with « · » while they fit in ``limit``; the part that does not fit is cut, and the rest left out."""
    result = ""
    for part in parts:
        if not part:
            continue
        joined = f"{result}{cards.SEPARATOR}{part}" if result else part
        if len(joined) <= limit:
            result = joined
            continue
        room = limit - (len(result) + len(cards.SEPARATOR) if result else 0)
        if room >= 12:
            shortened = shorten(part, room)
            result = f"{result}{cards.SEPARATOR}{shortened}" if result else shortened
        break
    return result


def place_element(card: Dict[Text, Any]) -> Dict[Text, Any]:
    """Return the generic-template element of a place card: map, call and website buttons when known."""
    phone = phone_e164(card.get("phone"))
    needs_check = card.get("address_checked") is False or bool(card.get("approximate"))
    kind = cards.SEPARATOR.join(
        part for part in (str(card.get("type_label") or "").strip(), cards.distance_text(card)) if part
    )
    raw_phone = str(card.get("phone") or "").strip()
    subtitle = _fit(
        [
            kind,
            messages.CHECK_ADDRESS if needs_check else "",
            cards.address_text(card),
            # Without a call button the number stays readable in the subtitle.
            messages.PHONE_PREFIX + raw_phone if raw_phone and phone is None else "",
            str(card.get("email") or "").strip(),
        ],
        MAX_ELEMENT_SUBTITLE_CHARS,
    )
    buttons = []
    map_url = cards.button_url(card.get("map_url"))
    if map_url:
        buttons.append({"type": "web_url", "url": map_url, "title": messages.MAP_BUTTON})
    if phone:
        buttons.append({"type": "phone_number", "title": messages.CALL_BUTTON, "payload": phone})
    website = cards.button_url(card.get("website"))
    if website:
        buttons.append({"type": "web_url", "url": website, "title": messages.WEBSITE_BUTTON})

    element: Dict[Text, Any] = {
        "title": shorten(cards.place_title(card), MAX_ELEMENT_TITLE_CHARS),
        "subtitle": subtitle or messages.PLACE_SUBTITLE_FALLBACK,
    }
    if buttons:
        element["buttons"] = buttons[:MAX_ELEMENT_BUTTONS]
    return element


def training_element(card: Dict[Text, Any]) -> Dict[Text, Any]:
    """Return the generic-template element of a training card, with its Onisep page as a button."""
    details = [str(card.get(key) or "").strip() for key in ("type_label", "level", "duration")]
    element: Dict[Text, Any] = {
        "title": shorten(str(card.get("name") or "").strip() or messages.TRAINING_SUBTITLE_FALLBACK, MAX_ELEMENT_TITLE_CHARS),
        "subtitle": _fit(details, MAX_ELEMENT_SUBTITLE_CHARS) or messages.TRAINING_SUBTITLE_FALLBACK,
    }
    url = cards.button_url(card.get("url"))
    if url:
        element["buttons"] = [{"type": "web_url", "url": url, "title": messages.ONISEP_BUTTON}]
    return element


def generic_templates(elements: Sequence[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    """Return generic-template messages of at most 10 elements each."""
    return [
        {
            "attachment": {
                "type": "template",
                "payload": {"template_type": "generic", "elements": list(elements[start:start + MAX_TEMPLATE_ELEMENTS])},
            }
        }
        for start in range(0, len(elements), MAX_TEMPLATE_ELEMENTS)
    ]


def custom_messages(custom: Any) -> List[Dict[Text, Any]]:
    """Return the messages of a custom message of the bot: place or training cards, or a notice.

    A custom message of an unknown type gives no message, and a warning.
    """
    if isinstance(custom, dict) and custom.get("type") == "place_cards":
        return generic_templates([place_element(card) for card in cards.cards_of(custom)])
    if isinstance(custom, dict) and custom.get("type") == "training_cards":
        return generic_templates([training_element(card) for card in cards.cards_of(custom)])
    text = cards.custom_text(custom)
    if text is None:
        kind = custom.get("type") if isinstance(custom, dict) else type(custom).__name__
        logger.warning("A custom message of type %r cannot be shown on Messenger; it was left out.", kind)
        return []
    return text_messages(text)


def image_message(url: Any) -> Optional[Dict[Text, Any]]:
    """Return an image attachment message, or None when the URL is not http(s)."""
    checked = cards.button_url(url)
    if checked is None:
        return None
    return {"attachment": {"type": "image", "payload": {"url": checked, "is_reusable": True}}}


def handoff_messages(message: Dict[Text, Any]) -> List[Dict[Text, Any]]:
    """Return the messages of a counsellor or system message built by `connectors.handoff_bridge.message_for_user`.

    A counsellor's text is signed with their name (`connectors.cards.handoff_text`);
    place cards that a counsellor shares come after a signed line, as a generic template.
    """
    custom = message.get("custom")
    if message.get("author") == "counsellor" and cards.cards_of(custom):
        intro = dict(message, text=messages.counsellor_places_intro(len(cards.cards_of(custom))))
        intro.pop("custom")
        return text_messages(cards.handoff_text(intro)) + custom_messages(custom)
    return text_messages(cards.handoff_text(message))
