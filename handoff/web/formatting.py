"""French labels and dates shown in the console, and the JSON shapes sent to console.js.

A conversation is serialized without its `sender_id`: counsellors see the
pseudonym only, so the platform id never reaches a browser.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo

from ..models import CannedReply, Conversation, Followup, Message, utc_now
from ..office_hours import DEFAULT_TIMEZONE, FRENCH_MONTHS

__all__ = [
    "AUTHOR_LABELS",
    "CHANNEL_LABELS",
    "REASON_LABELS",
    "STATUS_LABELS",
    "canned_reply_data",
    "conversation_data",
    "format_datetime",
    "followup_data",
    "format_time",
    "message_card",
    "message_data",
    "since_iso",
    "since_label",
]

LOCAL_TIMEZONE = ZoneInfo(DEFAULT_TIMEZONE)

STATUS_LABELS = {"queued": "En attente", "active": "En cours", "closed": "Terminée"}
REASON_LABELS = {
    "user_request": "Demande du jeune",
    "fallback": "L'assistant n'a pas compris",
    "distress": "Détresse",
}
CHANNEL_LABELS = {"widget": "Site web", "messenger": "Messenger", "telegram": "Telegram"}
AUTHOR_LABELS = {"bot": "Assistant", "system": "Message automatique"}


def format_datetime(moment: Optional[datetime]) -> str:
    """Return « 7 décembre 2025 à 14:05 » in Paris time, or an empty string."""
    if moment is None:
        return ""
    local = moment.astimezone(LOCAL_TIMEZONE)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {FRENCH_MONTHS[local.month - 1]} {local.year} à {local:%H:%M}"


def format_time(moment: Optional[datetime]) -> str:
    """Return « 14:05 » in Paris time, or an empty string."""
    if moment is None:
        return ""
    return f"{moment.astimezone(LOCAL_TIMEZONE):%H:%M}"


def since_label(moment: Optional[datetime], now: Optional[datetime] = None) -> str:
    """Return a duration such as « moins d'une minute », « 4 min » or « 1 h 05 »."""
    if moment is None:
        return ""
    seconds = max(0, int(((now or utc_now()) - moment).total_seconds()))
    minutes = seconds // 60
    if minutes < 1:
        return "moins d'une minute"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d}"


def since_iso(value: Optional[str], now: Optional[datetime] = None) -> str:
    """Return `since_label` of an ISO 8601 timestamp as found in the console JSON."""
    if not value:
        return ""
    return since_label(datetime.fromisoformat(value), now)


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.isoformat() if moment is not None else None


def conversation_data(conversation: Conversation) -> dict[str, Any]:
    """Return the JSON form of a conversation for the console (no sender_id)."""
    counsellor = conversation.counsellor
    return {
        "id": conversation.id,
        "pseudonym": conversation.pseudonym,
        "status": conversation.status,
        "status_label": STATUS_LABELS.get(conversation.status, conversation.status),
        "urgent": bool(conversation.urgent),
        "reason": conversation.reason,
        "reason_label": REASON_LABELS.get(conversation.reason, conversation.reason),
        "channel": conversation.channel,
        "channel_label": CHANNEL_LABELS.get(conversation.channel, conversation.channel),
        "topic": conversation.topic,
        "location_label": conversation.location_label,
        "age": conversation.age,
        "counsellor_id": conversation.counsellor_id,
        "counsellor_name": counsellor.display_name if counsellor is not None else None,
        "queued_at": _iso(conversation.queued_at),
        "claimed_at": _iso(conversation.claimed_at),
        "closed_at": _iso(conversation.closed_at),
        "handed_back": bool(conversation.handed_back),
        "close_note": conversation.close_note,
        "user_last_message_at": _iso(conversation.user_last_message_at),
    }


def message_card(message: Message) -> Optional[dict[str, Any]]:
    """Return the place card of a message sent with « Envoyer un lieu », or None."""
    if message.payload is None:
        return None
    try:
        payload = json.loads(message.payload)
    except ValueError:
        return None
    if isinstance(payload, dict) and payload.get("type") == "place_cards":
        places = payload.get("places")
        if isinstance(places, list) and places and isinstance(places[0], dict):
            return places[0]
    return None


def message_data(message: Message, pseudonym: str) -> dict[str, Any]:
    """Return the JSON form of a message for the console.

    Args:
        message: the stored message.
        pseudonym: the conversation's pseudonym, the author label of user messages.
    """
    if message.author == "user":
        author_label = pseudonym
    elif message.author == "counsellor":
        author_label = message.counsellor.display_name if message.counsellor is not None else "Conseiller"
    else:
        author_label = AUTHOR_LABELS.get(message.author, message.author)
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "author": message.author,
        "author_label": author_label,
        "counsellor_id": message.counsellor_id,
        "text": message.text,
        "card": message_card(message),
        "created_at": _iso(message.created_at),
        "delivered": message.delivered_at is not None,
        # Why Messenger or Telegram did not take it (« non remis. … »), or None.
        "delivery_error": message.delivery_error if message.delivered_at is None else None,
    }


def followup_data(followup: Followup) -> dict[str, Any]:
    """Return what the follow-up page shows of a follow-up (never its e-mail address)."""
    return {
        "id": followup.id,
        "pseudonym": followup.pseudonym,
        "question": followup.question,
        "status": followup.status,
        "created_label": format_datetime(followup.created_at),
        "answered_label": format_datetime(followup.answered_at),
        "answer": followup.answer,
        "answerer_name": followup.answerer.display_name if followup.answerer is not None else None,
    }


def canned_reply_data(reply: CannedReply) -> dict[str, Any]:
    """Return the JSON form of a canned reply."""
    return {"id": reply.id, "title": reply.title, "text": reply.text}
