"""Hand the conversation over to a human counsellor, or take an e-mail address out of hours.

When the chat with the counsellors is open and the estimated wait is short
enough, the conversation is queued in the handoff database
(`handoff.store.escalate`) with the bot transcript. Then the Redis route of
the user is set, so that the channel sends the next messages to the
counsellor, and Rasa's tracker is paused (`ConversationPaused`). Otherwise the
bot offers an e-mail follow-up: the `followup_form` requests the address, and
`action_save_followup` stores the request.

The escalation is shared by three paths: the user's request
(`action_request_counsellor`), two messages in a row that the bot did not
understand (`action_handle_fallback`) and distress (`answer_distress`, which
escalates with the urgent flag).

The e-mail address is never logged.
"""

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot.actions.base import SafetyFirstAction, answer_safety_first, conversation_ref
from bot.actions.search import user_age
from connectors.handoff_bridge import describe_error
from handoff import events as handoff_events
from handoff import store
from handoff.config import HandoffSettings, load_settings
from handoff.db import get_sessionmaker
from handoff.office_hours import OfficeHoursError, load_office_hours
from handoff.routing import Router

logger = logging.getLogger(__name__)

# Channels on which a counsellor can answer the user live. On the others the
# bot offers the e-mail follow-up.
LIVE_CHANNELS = ("widget", "messenger", "telegram")
# Channel recorded for a follow-up whose tracker names none.
UNKNOWN_CHANNEL = "unknown"

# Value of the last_question slot after the bot offered the e-mail follow-up,
# so that "oui" starts the form.
FOLLOWUP_QUESTION = "followup_offer"
FOLLOWUP_FORM = "followup_form"
# Value of last_question when the bot offered to look for the nearest place,
# which it does when the counsellors cannot be reached.
SHOW_PLACES_QUESTION = "show_places"
FOLLOWUP_EMAIL_SLOT = "followup_email"
# For this long after a request expired in the queue, asking for a counsellor
# again offers the e-mail follow-up instead of another wait.
EXPIRED_OFFER_HOURS = 12

# Shown for the wait when the store has too few recent claims to estimate it.
UNKNOWN_WAIT_TEXT = "quelques minutes"

# Messages of the bot conversation copied into the handoff conversation. A
# session ends after 60 minutes without a message, so this is rarely reached.
MAX_TRANSCRIPT_MESSAGES = 200
# User messages put in a follow-up request, the latest ones.
FOLLOWUP_QUESTION_MESSAGES = 3
# Stored in the follow-up when the user wrote nothing but the address.
EMPTY_FOLLOWUP_QUESTION = "(Pas de question écrite : la personne demande à être recontactée.)"
# Put in place of an e-mail address copied into a follow-up question, because
# the question is kept after the address is erased.
EMAIL_PLACEHOLDER = "[adresse e-mail]"

# Short French labels of the subject, shown to counsellors in the queue, from
# the latest user intent that names one.
TOPIC_LABELS = {
    "find_place": "Recherche d'un lieu d'accueil",
    "find_training": "Recherche de formation",
    "ask_scheme": "Question sur un dispositif",
    "ask_money": "Argent et rémunération",
    "ask_rights": "Droits et obligation de formation",
    "parent_question": "Question d'un parent",
    "teacher_question": "Question d'un enseignant",
    "distress": "Détresse",
    "ask_privacy": "Données personnelles",
}
# Label when no intent names a subject, by reason of the escalation.
REASON_TOPICS = {
    "user_request": "Demande à parler à un conseiller",
    "fallback": "Messages non compris",
    "distress": "Détresse",
}

# Labels shown to the counsellor for payloads that the widget sends by itself.
PAYLOAD_LABELS = {
    "/ask_counsellor": "Parler à un conseiller",
    "/share_location": "📍 Position partagée",
}

# Characters around an address that are not part of it: punctuation, quotes, brackets.
_ADDRESS_EDGES = ".,;:!?()[]<>{}\"'«»“”‘’"
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)
_EMAIL_LIKE = re.compile(r"\S+@\S+")


@dataclass
class Escalation:
    """Outcome of a request for a counsellor.

    Attributes:
        status: "queued" (the user is in the queue or with a counsellor),
            "closed" (outside the opening hours), "busy" (the estimated wait is
            too long), "unsupported" (no live answer on this channel) or
            "unavailable" (the handoff database failed).
        conversation_id: the handoff conversation when queued.
        position: 1-based place in the queue; 0 when a counsellor already has it.
        wait_minutes: estimated wait; None when unknown.
        next_opening: when the chat opens next, for "closed"; None when unknown.
        max_wait_minutes: the HANDOFF_MAX_WAIT_MINUTES limit, for "busy".
        opening_text: `next_opening` in French, e.g. « lundi 7 décembre à 9 h ».
    """

    status: Text
    conversation_id: Optional[Text] = None
    position: int = 0
    wait_minutes: Optional[int] = None
    next_opening: Optional[datetime] = None
    max_wait_minutes: int = 0
    opening_text: Optional[Text] = None

    @property
    def queued(self) -> bool:
        return self.status == "queued"


def handoff_settings() -> HandoffSettings:
    """Return the handoff settings from the environment (read on each call, so tests can change it)."""
    return load_settings(warn_missing_secret=False)


def current_session_events(events: Sequence[Dict[Text, Any]]) -> Sequence[Dict[Text, Any]]:
    """Return the events after the latest session start or restart."""
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") in ("session_started", "restart"):
            return events[index + 1:]
    return events


def _event_time(event: Dict[Text, Any]) -> Optional[datetime]:
    timestamp = event.get("timestamp")
    if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
        return datetime.fromtimestamp(timestamp, timezone.utc)
    return None


def _button_titles(data: Dict[Text, Any]) -> Dict[Text, Text]:
    titles = {}
    for button in (data.get("buttons") or []) + (data.get("quick_replies") or []):
        if isinstance(button, dict) and isinstance(button.get("payload"), str):
            titles[button["payload"].strip()] = str(button.get("title") or button["payload"])
    return titles


def _payload_text(payload: Text, offered: Dict[Text, Text]) -> Text:
    """Return what the user saw for a payload: the button title, or a label."""
    payload = payload.strip()
    if payload in offered:
        return offered[payload]
    intent = payload.split("{", 1)[0]
    return PAYLOAD_LABELS.get(intent, payload)


def _bot_text(event: Dict[Text, Any]) -> Tuple[Optional[Text], Optional[Any]]:
    """Return the text of a bot event for the transcript, and its structured content."""
    data = event.get("data") or {}
    custom = data.get("custom")
    text = event.get("text")
    if isinstance(custom, dict):
        if custom.get("type") == "place_cards":
            names = [str(place.get("name")) for place in custom.get("places") or [] if isinstance(place, dict)]
            text = text or "Fiches de lieux : " + ", ".join(names)
        elif custom.get("type") == "training_cards":
            names = [str(item.get("name")) for item in custom.get("trainings") or [] if isinstance(item, dict)]
            text = text or "Fiches de formations : " + ", ".join(names)
        elif custom.get("type") == "notice":
            text = text or custom.get("text")
        return text, custom
    buttons = data.get("buttons") or data.get("quick_replies")
    return text, ({"buttons": buttons} if buttons else None)


def transcript_entries(events: Sequence[Dict[Text, Any]]) -> List[store.TranscriptEntry]:
    """Build the transcript of the current session from tracker events: user and bot texts, oldest first.

    A button press shows the button's title, as the user saw it.
    """
    entries: List[store.TranscriptEntry] = []
    offered: Dict[Text, Text] = {}
    for event in current_session_events(events):
        kind = event.get("event")
        if kind == "bot":
            offered.update(_button_titles(event.get("data") or {}))
            text, payload = _bot_text(event)
            if text:
                entries.append(store.TranscriptEntry("bot", str(text), payload, _event_time(event)))
        elif kind == "user":
            text = str(event.get("text") or "").strip()
            if text.startswith("/"):
                text = _payload_text(text, offered)
            if text:
                entries.append(store.TranscriptEntry("user", text, None, _event_time(event)))
    return entries[-MAX_TRANSCRIPT_MESSAGES:]


def topic_label(events: Sequence[Dict[Text, Any]], reason: Text) -> Text:
    """Return the French label of the subject: the latest user intent that names one, or the reason."""
    if reason == "distress":
        return REASON_TOPICS["distress"]
    for event in reversed(current_session_events(events)):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent in TOPIC_LABELS:
            return TOPIC_LABELS[intent]
    return REASON_TOPICS.get(reason, REASON_TOPICS["user_request"])


def _location_label(tracker: Tracker) -> Optional[Text]:
    label = tracker.get_slot("commune_name")
    return str(label)[:120] if label else None


async def request_counsellor(
    tracker: Tracker,
    reason: Text,
    *,
    urgent: bool = False,
    extra_transcript: Sequence[store.TranscriptEntry] = (),
) -> Escalation:
    """Queue the conversation for a counsellor when the chat is open, and route the user to it.

    A non-urgent request is not queued when the estimated wait exceeds
    HANDOFF_MAX_WAIT_MINUTES (an unknown estimate counts as short enough).
    An urgent one is always queued while the chat is open.

    Args:
        tracker: the conversation.
        reason: "user_request", "fallback" or "distress".
        urgent: put the conversation at the front of the queue.
        extra_transcript: messages to append to the transcript, e.g. the
            numbers the bot has just sent, which are not in the tracker yet.

    Returns:
        What happened. A failure of the settings, the office hours, the
        database or Redis is logged and reported as a status, not raised.
    """
    try:
        settings = handoff_settings()
    except ValueError as error:
        logger.error("Handoff settings are invalid, no escalation: %s", error)
        return Escalation("unavailable")

    channel = tracker.get_latest_input_channel()
    if channel not in LIVE_CHANNELS:
        return Escalation("unsupported")

    now = datetime.now(timezone.utc)
    try:
        hours = load_office_hours(settings)
    except OfficeHoursError as error:
        logger.error("Office hours unavailable, the chat counts as closed: %s", error)
        return Escalation("closed")
    if not hours.is_open(now):
        opening = hours.next_opening(now)
        return Escalation("closed", next_opening=opening, opening_text=hours.format(opening) if opening else None)

    transcript = transcript_entries(tracker.events) + list(extra_transcript)
    try:
        escalation = await asyncio.to_thread(
            _escalate_in_database,
            settings,
            channel,
            tracker.sender_id,
            reason,
            urgent,
            topic_label(tracker.events, reason),
            _location_label(tracker),
            user_age(tracker),
            transcript,
        )
    except (SQLAlchemyError, OSError, store.HandoffError) as error:
        logger.error("Escalation of conversation %s failed: %s", conversation_ref(tracker.sender_id), describe_error(error))
        return Escalation("unavailable")
    if not escalation.queued:
        return escalation

    await _announce(settings, channel, tracker.sender_id, escalation.conversation_id)
    logger.info(
        "Conversation %s queued for a counsellor as handoff conversation %s (reason %s, urgent %s, position %d).",
        conversation_ref(tracker.sender_id),
        escalation.conversation_id,
        reason,
        urgent,
        escalation.position,
    )
    return escalation


def _escalate_in_database(
    settings: HandoffSettings,
    channel: Text,
    sender_id: Text,
    reason: Text,
    urgent: bool,
    topic: Text,
    location_label: Optional[Text],
    age: Optional[int],
    transcript: List[store.TranscriptEntry],
) -> Escalation:
    with get_sessionmaker(settings.database_url)() as session:
        already_open = store.open_conversation_for(session, channel, sender_id) is not None
        if not urgent and not already_open and store.recently_expired(
            session, channel, sender_id, timedelta(hours=EXPIRED_OFFER_HOURS)
        ):
            # No counsellor took this user's last request: the notice of the
            # expiry promised the e-mail follow-up, not another wait.
            return Escalation("busy", wait_minutes=None, max_wait_minutes=settings.queue_timeout_minutes)
        conversation = store.escalate(
            session,
            channel=channel,
            sender_id=sender_id,
            reason=reason,
            urgent=urgent,
            topic=topic,
            location_label=location_label,
            age=age,
            transcript=transcript,
        )
        position = store.queue_position(session, conversation.id)
        wait = store.estimated_wait_minutes(session, conversation.id)
        too_long = wait is not None and wait > settings.max_wait_minutes
        if too_long and not urgent and not already_open:
            # The wait is known only once the conversation is in the queue:
            # undo the insert rather than leave the user waiting that long.
            session.rollback()
            return Escalation("busy", wait_minutes=wait, max_wait_minutes=settings.max_wait_minutes)
        session.commit()
        return Escalation("queued", conversation_id=conversation.id, position=position, wait_minutes=wait)


async def _announce(settings: HandoffSettings, channel: Text, sender_id: Text, conversation_id: Text) -> None:
    """Route the user to the conversation and tell the console, after the commit."""
    redis = Redis.from_url(settings.redis_url)
    try:
        # Router.set logs its own Redis errors; the route is rebuilt from SQL
        # once the cached one expires.
        await Router(redis, get_sessionmaker(settings.database_url)).set(channel, sender_id, conversation_id)
        await handoff_events.publish_queue_changed(redis, conversation_id)
    except (RedisError, OSError) as error:
        logger.warning("Could not announce handoff conversation %s: %s", conversation_id, describe_error(error))
    finally:
        await redis.close()


def request_counsellor_blocking(
    tracker: Tracker,
    reason: Text,
    *,
    urgent: bool = False,
    extra_transcript: Sequence[store.TranscriptEntry] = (),
) -> Escalation:
    """Run `request_counsellor` from synchronous code, such as the safety response.

    It runs on its own event loop in a worker thread. Any exception is
    logged and reported as "unavailable", so the caller's reply still goes out.

    NOTE: the caller's event loop (the action server's) waits meanwhile,
    for the few SQL and Redis round trips of one escalation.
    """
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(
                asyncio.run,
                request_counsellor(tracker, reason, urgent=urgent, extra_transcript=extra_transcript),
            )
            return future.result()
    except Exception:
        # The caller is the safety response, which must go out whatever fails here.
        logger.exception("Escalation of conversation %s failed.", conversation_ref(tracker.sender_id))
        return Escalation("unavailable")


def paused_events() -> List[EventType]:
    """Return the events that hand the conversation to the counsellor.

    `action_listen` is logged before the pause, as after any turn, so that
    the rules match the user's first message after the counsellor hands the
    conversation back.
    """
    return [ActionExecuted("action_listen"), ConversationPaused()]


def say_queued(dispatcher: CollectingDispatcher, escalation: Escalation) -> None:
    """Tell the user their place in the queue and the estimated wait."""
    if escalation.position == 0:
        dispatcher.utter_message(response="utter_handoff_already_with_counsellor")
        return
    wait = f"{escalation.wait_minutes} min" if escalation.wait_minutes else UNKNOWN_WAIT_TEXT
    dispatcher.utter_message(response="utter_handoff_queued", position=str(escalation.position), wait=wait)


def offer_followup(dispatcher: CollectingDispatcher, escalation: Escalation) -> List[EventType]:
    """Offer the e-mail follow-up when no counsellor can answer now, or report a fault."""
    if escalation.status == "unavailable":
        dispatcher.utter_message(response="utter_handoff_unavailable")
        return [SlotSet("last_question", SHOW_PLACES_QUESTION)]
    if escalation.status == "busy":
        dispatcher.utter_message(response="utter_handoff_busy", max_wait=str(escalation.max_wait_minutes))
    elif escalation.status == "unsupported":
        dispatcher.utter_message(response="utter_handoff_followup_only")
    elif escalation.opening_text:
        dispatcher.utter_message(response="utter_handoff_closed", opening=escalation.opening_text)
    else:
        dispatcher.utter_message(response="utter_handoff_closed_unknown")
    return [SlotSet("last_question", FOLLOWUP_QUESTION)]


def answer_escalation(dispatcher: CollectingDispatcher, escalation: Escalation) -> List[EventType]:
    """Reply to a request for a counsellor: the place in the queue, or the follow-up offer."""
    if escalation.queued:
        say_queued(dispatcher, escalation)
        return [SlotSet("last_question", None)] + paused_events()
    return offer_followup(dispatcher, escalation)


class ActionRequestCounsellor(SafetyFirstAction):
    """Put the user in the queue of the counsellors, or offer an e-mail follow-up."""

    def name(self) -> Text:
        return "action_request_counsellor"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Queue the conversation and tell the place in the queue, or offer the follow-up."""
        escalation = await request_counsellor(tracker, "user_request")
        return answer_escalation(dispatcher, escalation)


def find_email(text: Text) -> Optional[Text]:
    """Return the one valid e-mail address written in a text, or None.

    The address may sit inside a sentence ("c'est toto@exemple.fr merci").
    None when there is no valid address, or more than one.
    """
    found = []
    for token in (text or "").split():
        if "@" not in token:
            continue
        candidate = _MAILTO.sub("", token.strip(_ADDRESS_EDGES)).strip(_ADDRESS_EDGES)
        try:
            found.append(store.validate_email(candidate))
        except store.InvalidEmail:
            continue
    distinct = list(dict.fromkeys(address.lower() for address in found))
    if len(distinct) != 1:
        return None
    return next(address for address in found if address.lower() == distinct[0])


def redact_emails(text: Text) -> Text:
    """Replace every e-mail-like word of a text with a placeholder."""
    return _EMAIL_LIKE.sub(EMAIL_PLACEHOLDER, text)


def followup_question(events: Sequence[Dict[Text, Any]]) -> Text:
    """Return the user's latest typed messages of the session, addresses removed, oldest first.

    Messages typed while the follow-up form asked for the address, and those
    understood as giving an address, are left out: they are about the
    address, not the question.
    """
    texts: List[Text] = []
    in_form = False
    for event in current_session_events(events):
        kind = event.get("event")
        if kind == "active_loop":
            in_form = event.get("name") == FOLLOWUP_FORM
            continue
        if kind != "user" or in_form:
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        text = str(event.get("text") or "").strip()
        if not text or text.startswith("/") or intent in ("give_email", "cancel_followup"):
            continue
        redacted = redact_emails(text)
        if redacted.replace(EMAIL_PLACEHOLDER, "").strip(" .,;:!?-"):
            texts.append(redacted)
    if not texts:
        return EMPTY_FOLLOWUP_QUESTION
    return "\n".join(texts[-FOLLOWUP_QUESTION_MESSAGES:])


def _channel_of(tracker: Tracker) -> Text:
    return tracker.get_latest_input_channel() or UNKNOWN_CHANNEL


class ValidateFollowupForm(FormValidationAction):
    """Check the e-mail address of the follow-up form.

    The safety check comes first, as in the other actions: a reply to « tu
    penses à te suicider ? » or a message at risk that the model reads as
    give_email gets the safety response, and the form stops without an
    address. A message that the model reads as distress never reaches the
    form (rule « distress while the address is asked »).
    """

    def name(self) -> Text:
        return "validate_followup_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Send the safety response and stop the form, or validate the address."""
        safety_events = answer_safety_first(dispatcher, tracker, self.name())
        if safety_events is None:
            return await super().run(dispatcher, tracker, domain)
        logger.info("The follow-up form of conversation %s stopped for the safety response.", conversation_ref(tracker.sender_id))
        return list(safety_events) + [
            SlotSet(FOLLOWUP_EMAIL_SLOT, None),
            SlotSet(REQUESTED_SLOT, None),
            ActiveLoop(None),
        ]

    def validate_followup_email(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> Dict[Text, Any]:
        """Keep the address found in the value or in the message, or ask again."""
        address = find_email(str(slot_value or ""))
        if address is None:
            # An entity may hold a piece of the address only: read the whole message.
            address = find_email(tracker.latest_message.get("text") or "")
        if address is None:
            logger.info("Invalid e-mail address in conversation %s.", conversation_ref(tracker.sender_id))
            dispatcher.utter_message(response="utter_followup_email_invalid")
            return {FOLLOWUP_EMAIL_SLOT: None}
        return {FOLLOWUP_EMAIL_SLOT: address}


def _answered_this_turn(tracker: Tracker) -> bool:
    """Return whether the bot already replied to the latest user message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot":
            return True
    return False


class ActionSaveFollowup(Action):
    """Store the follow-up request once the form has a valid address."""

    def name(self) -> Text:
        return "action_save_followup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Store the request and confirm it, with the button that cancels it."""
        events: List[EventType] = [SlotSet(FOLLOWUP_EMAIL_SLOT, None), SlotSet("last_question", None)]
        address = find_email(str(tracker.get_slot(FOLLOWUP_EMAIL_SLOT) or ""))
        if address is None and _answered_this_turn(tracker):
            # The form stopped for the safety response, which is the reply.
            return events
        if address is None:
            dispatcher.utter_message(response="utter_followup_email_invalid")
            return events
        try:
            settings = handoff_settings()
            followup_id = await asyncio.to_thread(
                _save_followup, settings, _channel_of(tracker), tracker.sender_id, address,
                followup_question(tracker.events),
            )
        except (ValueError, SQLAlchemyError, OSError, store.HandoffError) as error:
            logger.error("Saving the follow-up of conversation %s failed: %s", conversation_ref(tracker.sender_id), describe_error(error))
            dispatcher.utter_message(response="utter_followup_failed")
            return events
        logger.info("Follow-up %s saved for conversation %s.", followup_id, conversation_ref(tracker.sender_id))
        dispatcher.utter_message(response="utter_followup_saved", days=str(settings.followup_retention_days))
        return events


def _save_followup(
    settings: HandoffSettings, channel: Text, sender_id: Text, address: Text, question: Text
) -> int:
    with get_sessionmaker(settings.database_url)() as session:
        followup = store.create_followup(
            session, channel=channel, sender_id=sender_id, email=address, question=question
        )
        session.commit()
        return followup.id


class ActionCancelFollowup(SafetyFirstAction):
    """Cancel the user's pending follow-up and erase the address (« Annuler ma demande »).

    It checks the message for distress first: « non laisse tomber » after
    « tu penses à te suicider ? » may be read as cancel_followup.
    """

    def name(self) -> Text:
        return "action_cancel_followup"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Cancel and confirm, or report that there was nothing to cancel."""
        events: List[EventType] = [SlotSet(FOLLOWUP_EMAIL_SLOT, None), SlotSet("last_question", None)]
        try:
            settings = handoff_settings()
            count = await asyncio.to_thread(_cancel_followups, settings, _channel_of(tracker), tracker.sender_id)
        except (ValueError, SQLAlchemyError, OSError) as error:
            logger.error("Cancelling the follow-up of conversation %s failed: %s", conversation_ref(tracker.sender_id), describe_error(error))
            dispatcher.utter_message(response="utter_followup_cancel_failed")
            return events
        if count:
            logger.info("Cancelled %d follow-up(s) of conversation %s.", count, conversation_ref(tracker.sender_id))
            dispatcher.utter_message(response="utter_followup_cancelled")
        else:
            dispatcher.utter_message(response="utter_followup_nothing_to_cancel")
        return events


def _cancel_followups(settings: HandoffSettings, channel: Text, sender_id: Text) -> int:
    with get_sessionmaker(settings.database_url)() as session:
        count = store.cancel_pending_followups(session, channel, sender_id)
        session.commit()
        return count
