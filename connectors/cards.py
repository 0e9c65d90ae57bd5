"""Plain French text of the bot's structured messages, for the platforms.

The bot and the console send channel-neutral content: place cards, training
cards and handoff notices (see `bot.actions.lookup.place_card` and
`connectors.handoff_bridge.message_for_user`). The widget draws them itself;
Messenger and Telegram need text, titles and links, which this module builds
once for both, so that a place reads the same on every platform.
"""

import re
from typing import Any, Dict, List, Optional, Text
from urllib.parse import urlsplit

# Bullet between the parts of one line.
SEPARATOR = " · "

# Longest URL a button takes: Messenger documents 2,000 characters and
# Telegram's limit is close, so one bound serves both.
MAX_BUTTON_URL_CHARS = 2000

# A bare domain with an optional path, as the open data often gives web sites
# ("www.mission-locale.fr/contact").
_BARE_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}([/?#]\S*)?$")

# A host name: labels of letters, digits and inner hyphens, ending with a
# letter TLD. IP addresses are refused, as the open data never gives one.
_HOST = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$")


def button_url(value: Any) -> Optional[Text]:
    """Return an absolute http(s) URL that a platform button accepts, or None.

    A bare domain gets ``https://``. Anything else that is not an http or
    https URL with a host gives None: ``javascript:``, ``mailto:``, a
    relative path, a URL with spaces or over the length limit. The card then
    goes without that button, because the platform would reject the card.
    """
    if not isinstance(value, str):
        return None
    url = value.strip()
    if "://" not in url and _BARE_DOMAIN.match(url):
        url = "https://" + url
    if not url or len(url) > MAX_BUTTON_URL_CHARS or not url.isprintable() or " " in url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # Raises ValueError on a port out of range.
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not _HOST.match(parts.hostname or ""):
        return None
    return url


def _clean(value: Any) -> Text:
    return str(value).strip() if value not in (None, "") else ""


def distance_text(card: Dict[Text, Any]) -> Text:
    """Return "à 2,4 km" (French decimal comma), or "" when the card has no distance."""
    distance = card.get("distance_km")
    if not isinstance(distance, (int, float)) or isinstance(distance, bool):
        return ""
    if distance < 10:
        return f"à {distance:.1f} km".replace(".", ",")
    return f"à {distance:.0f} km"


def address_text(card: Dict[Text, Any]) -> Text:
    """Return "12 rue X, 69001 Lyon", or what the card has of it."""
    town = " ".join(part for part in (_clean(card.get("postal_code")), _clean(card.get("commune"))) if part)
    return ", ".join(part for part in (_clean(card.get("address")), town) if part)


def place_title(card: Dict[Text, Any]) -> Text:
    """Return the name of a place, or its type when the data has no name."""
    return _clean(card.get("name")) or _clean(card.get("type_label")) or "Lieu"


def place_subtitle(card: Dict[Text, Any]) -> Text:
    """Return "Mission locale · à 2,4 km · 12 rue X, 69001 Lyon"."""
    parts = [_clean(card.get("type_label")), distance_text(card), address_text(card)]
    return SEPARATOR.join(part for part in parts if part)


def place_text(card: Dict[Text, Any]) -> Text:
    """Return the whole card as lines of text: name, type and distance, address, phone, site, caveats."""
    lines = [place_title(card)]
    kind = SEPARATOR.join(part for part in (_clean(card.get("type_label")), distance_text(card)) if part)
    if kind:
        lines.append(kind)
    address = address_text(card)
    if address:
        lines.append(address)
    if _clean(card.get("phone")):
        lines.append(f"Tél. : {_clean(card.get('phone'))}")
    if _clean(card.get("email")):
        lines.append(f"E-mail : {_clean(card.get('email'))}")
    if _clean(card.get("website")):
        lines.append(f"Site : {_clean(card.get('website'))}")
    if card.get("address_checked") is False or card.get("approximate"):
        lines.append("Adresse à vérifier avant tout déplacement.")
    return "\n".join(lines)


def training_text(card: Dict[Text, Any]) -> Text:
    """Return a training card as lines of text: name, type, level and duration, Onisep link."""
    lines = [_clean(card.get("name")) or "Formation"]
    details = SEPARATOR.join(
        part for part in (_clean(card.get("type_label")), _clean(card.get("level")), _clean(card.get("duration"))) if part
    )
    if details:
        lines.append(details)
    if _clean(card.get("url")):
        lines.append(f"Fiche Onisep : {_clean(card.get('url'))}")
    return "\n".join(lines)


def cards_of(custom: Any) -> List[Dict[Text, Any]]:
    """Return the place or training cards of a custom message, or an empty list."""
    if not isinstance(custom, dict):
        return []
    values = custom.get("places") if custom.get("type") == "place_cards" else custom.get("trainings")
    if custom.get("type") not in ("place_cards", "training_cards") or not isinstance(values, list):
        return []
    return [card for card in values if isinstance(card, dict)]


def custom_text(custom: Any) -> Optional[Text]:
    """Return the text of a custom message as one block, or None when its type is unknown.

    Place and training cards are separated by a blank line; a notice is its text.
    """
    if not isinstance(custom, dict):
        return None
    kind = custom.get("type")
    if kind == "notice":
        return _clean(custom.get("text")) or None
    if kind == "place_cards":
        return "\n\n".join(place_text(card) for card in cards_of(custom)) or None
    if kind == "training_cards":
        return "\n\n".join(training_text(card) for card in cards_of(custom)) or None
    return None


def handoff_text(message: Dict[Text, Any]) -> Text:
    """Return the text a platform shows for a counsellor or system message.

    A counsellor's text is signed with their display name, so the user knows
    a person answers: « 👤 Camille : Bonjour ». The notice sent when a
    counsellor joins says who they are. A notice is shown as it is. Place
    cards sent by a counsellor are written out in full.

    Args:
        message: a message built by `connectors.handoff_bridge.message_for_user`.
    """
    body = _clean(message.get("text")) or custom_text(message.get("custom")) or ""
    if message.get("author") != "counsellor":
        return body
    name = _clean(message.get("counsellor_name")) or "Conseiller"
    return f"👤 {name} : {body}"
