"""Bridge between the channels of the Rasa process and the human handoff.

Every channel hands each user message to the bridge first. While the user's
conversation is queued for a counsellor or taken by one, the message is stored
in the handoff database and announced on the handoff events channel, and Rasa
never receives it. Otherwise the bridge returns False and the channel hands
the message to Rasa as usual.

The bridge also delivers to the user the counsellor and system messages that
the user's channel has not acknowledged yet (after a reconnection), records
the acknowledgements, and forwards the user's typing to the console.

SQL runs in worker threads (`asyncio.to_thread`), so a slow database never
blocks the event loop of Rasa. When the handoff database or Redis is
unavailable, the error is logged and the bot answers: a message is never
dropped.

Logs name conversation and message ids only, never the user's platform id
or a message text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Tuple

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot.actions.distress import assess, is_plan_with_time
from handoff import events, store
from handoff.config import HandoffSettings, load_settings
from handoff.db import DatabaseNotReadyError, get_sessionmaker, require_current_schema
from handoff.models import Message
from handoff.routing import DEFAULT_KEY_PREFIX, Router

__all__ = [
    "DEFAULT_COUNSELLOR_NAME",
    "HandoffBridge",
    "MAX_ACKNOWLEDGED_IDS",
    "SendMessage",
    "describe_error",
    "message_for_user",
    "speaks_of_danger",
    "valid_message_ids",
]

logger = logging.getLogger(__name__)

# Name shown to the user when a counsellor message has no author any more
# (the account was deleted): the default display name of the accounts.
DEFAULT_COUNSELLOR_NAME = "Conseiller"

# Whether the conversation is with the counsellors after each notice, so that
# the widget can say who answers.
_NOTICES_WITH_COUNSELLOR = {
    store.NOTICE_CLAIMED: True,
    store.NOTICE_TRANSFERRED: True,
    store.NOTICE_RELEASED: True,
    store.NOTICE_HANDED_BACK: False,
    store.NOTICE_CLOSED: False,
    store.NOTICE_EXPIRED: False,
    store.NOTICE_EXPIRED_URGENT: False,
}

# Message ids read from one acknowledgement; a client sending more is
# buggy or hostile, and the rest is delivered again on its next connection.
MAX_ACKNOWLEDGED_IDS = 200

# The widget sends `user_typing` at most every 2 s. The bridge forwards at
# most one per second and per user, so that a client ignoring the widget's
# limit cannot flood the console.
TYPING_MIN_INTERVAL_SECONDS = 1.0
# Users remembered by the typing throttle before old entries are dropped.
TYPING_THROTTLE_MAX_ENTRIES = 10_000

# Errors that mean "the handoff database or Redis is unavailable".
_BACKEND_ERRORS = (SQLAlchemyError, RedisError, OSError)

SendMessage = Callable[[Dict[str, Any]], Awaitable[None]]


def describe_error(error: BaseException) -> str:
    """Describe a database or Redis error for a log, without the values of its statement.

    SQLAlchemy puts the statement's parameters (message texts, platform ids,
    e-mail addresses) in the text of its errors. So only the driver's own
    message is kept, and only for errors about the connection or the schema,
    whose driver messages quote no value.
    """
    if isinstance(error, DBAPIError):
        original = error.orig
        if isinstance(error, (OperationalError, ProgrammingError, InterfaceError)) and original is not None:
            first_line = str(original).strip().splitlines()[0] if str(original).strip() else ""
            return f"{type(error).__name__}: {first_line}"
        return f"{type(error).__name__} ({type(original).__name__})"
    if isinstance(error, SQLAlchemyError):
        return type(error).__name__
    return f"{type(error).__name__}: {error}"


def message_for_user(message: Message) -> Optional[Dict[str, Any]]:
    """Build the message a channel sends to the user for a counsellor or system message.

    The result is a ``bot_uttered`` payload of the widget protocol:

    - counsellor text: ``{"text", "author": "counsellor", "counsellor_name", "message_id"}``;
    - counsellor place card (a payload holding one or more cards):
      ``{"custom": {"type": "place_cards", "places": [...]}, "author": "counsellor",
      "counsellor_name", "message_id"}``;
    - system notice: ``{"custom": {"type": "notice", "text", "with_counsellor"}, "author": "system",
      "message_id"}``, where ``with_counsellor`` tells whether a counsellor has the conversation
      after the notice (absent for a notice that changes nothing).

    Returns:
        The message, or None for user and bot messages, which are never sent back.
    """
    if message.author == "system":
        notice: Dict[str, Any] = {"type": "notice", "text": message.text}
        if message.text in _NOTICES_WITH_COUNSELLOR:
            notice["with_counsellor"] = _NOTICES_WITH_COUNSELLOR[message.text]
        return {"custom": notice, "author": "system", "message_id": message.id}
    if message.author != "counsellor":
        return None

    counsellor_name = DEFAULT_COUNSELLOR_NAME
    if message.counsellor is not None and message.counsellor.display_name:
        counsellor_name = message.counsellor.display_name
    outgoing: Dict[str, Any] = {
        "author": "counsellor",
        "counsellor_name": counsellor_name,
        "message_id": message.id,
    }
    cards = _place_cards(message.payload_data) if message.payload else None
    if cards is not None:
        outgoing["custom"] = cards
    else:
        outgoing["text"] = message.text
    return outgoing


def _place_cards(payload: Any) -> Optional[Dict[str, Any]]:
    """Return the ``place_cards`` content of a stored payload, or None when it contains no card.

    The console may store the whole custom message, a list of cards or one card.
    """
    if isinstance(payload, dict) and isinstance(payload.get("custom"), dict):
        payload = payload["custom"]
    if isinstance(payload, dict) and isinstance(payload.get("places"), list):
        places = payload["places"]
    elif isinstance(payload, dict) and payload.get("name"):
        places = [payload]
    elif isinstance(payload, list):
        places = payload
    else:
        return None
    places = [place for place in places if isinstance(place, dict)]
    if not places:
        return None
    return {"type": "place_cards", "places": places}


def speaks_of_danger(text: str) -> bool:
    """Return whether the distress rules find a user message at risk, or a plan with a time (« oui ce soir »).

    NOTE: the rules read the message alone. « oui ce soir » is a plan only
    after the bot's question about suicide, but while the bot is paused a
    false alarm costs one notice, and a miss costs much more.
    """
    return assess(text).is_distress or is_plan_with_time(text)


def valid_message_ids(values: Any) -> List[int]:
    """Return the integer ids of an acknowledgement, without duplicates, at most MAX_ACKNOWLEDGED_IDS.

    Anything that is not a list of integers (booleans excluded) is ignored.
    """
    if not isinstance(values, list):
        return []
    ids = [value for value in values if isinstance(value, int) and not isinstance(value, bool) and value > 0]
    return list(dict.fromkeys(ids))[:MAX_ACKNOWLEDGED_IDS]


class HandoffBridge:
    """Routes user messages to the counsellors and delivers their replies, for the channels of Rasa.

    Args:
        settings: handoff settings (database URL, Redis URL).
        redis: a `redis.asyncio.Redis` client; None creates one from `settings.redis_url`.
        session_factory: callable returning a SQLAlchemy session; None uses the
            session factory of `settings.database_url`.
        key_prefix: prefix of the routing keys in Redis; tests use their own.
        events_channel: Redis pub/sub channel of the handoff events; tests use their own.

    Example:
        bridge = HandoffBridge(load_settings(warn_missing_secret=False))
        if not await bridge.handle_user_message("widget", sender_id, text):
            ...  # Rasa handles the message
    """

    def __init__(
        self,
        settings: HandoffSettings,
        *,
        redis: Optional[Redis] = None,
        session_factory: Optional[Callable[[], Session]] = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        events_channel: str = events.EVENTS_CHANNEL,
    ) -> None:
        self.settings = settings
        self.redis = redis if redis is not None else Redis.from_url(settings.redis_url)
        self.session_factory = session_factory or get_sessionmaker(settings.database_url)
        self.router = Router(self.redis, self.session_factory, key_prefix=key_prefix)
        self.events_channel = events_channel
        self._typing_forwarded_at: Dict[Tuple[str, str], float] = {}

    @classmethod
    def from_environment(cls) -> "HandoffBridge":
        """Create a bridge from the environment variables of `handoff.config.load_settings`."""
        return cls(load_settings(warn_missing_secret=False))

    def check_database(self) -> bool:
        """Log whether the handoff database is ready, and return it.

        A database that is not ready is not fatal: the bot keeps replying, and
        the handoff works once `python -m handoff db upgrade` has run.
        """
        try:
            require_current_schema(self.settings.database_url)
        except DatabaseNotReadyError as error:
            logger.error("Human handoff unavailable until the database is ready: %s", error)
            return False
        except SQLAlchemyError as error:
            logger.error("Human handoff unavailable, the database cannot be read: %s", describe_error(error))
            return False
        return True

    async def close(self) -> None:
        """Close the Redis connections of the bridge."""
        await self.redis.close()

    async def handle_user_message(
        self,
        channel: str,
        sender_id: str,
        text: str,
        payload: Optional[Any] = None,
        send: Optional[SendMessage] = None,
    ) -> bool:
        """Store a user message in the user's open conversation, if there is one.

        The message is stored as author "user" and committed, then announced
        with a `user_message` event. The status is read again after the
        insert: a conversation closed in the meantime (a hand-back racing
        with the message) returns False, so that Rasa handles the message too.

        A message that the distress rules find at risk (`bot.actions.distress`)
        makes the conversation urgent. While it waits in the queue, the user
        also gets, once, the notice NOTICE_DANGER_WHILE_WAITING with 15, 112
        and 3114, because the paused bot cannot reply: through ``send`` at
        once, or through the handoff service, which delivers the pending
        messages of Messenger and Telegram when the user writes.

        Args:
            channel: channel name, e.g. "widget".
            sender_id: the platform's id of the user.
            text: the text to show to the counsellor, stored whole.
            payload: structured content (a shared position, a button), stored as JSON.
            send: sends a message to the user; the widget passes it.

        Returns:
            True when a counsellor has the conversation or it is queued: the
            channel must not hand the message to Rasa. False when Rasa must
            answer, including when the handoff database is unavailable.
        """
        try:
            conversation_id = await self.router.route(channel, sender_id)
        except _BACKEND_ERRORS as error:
            logger.error("Routing a message on %s failed, Rasa handles it: %s", channel, describe_error(error))
            return False
        if conversation_id is None:
            return False

        try:
            message_id, still_open, danger_notice = await asyncio.to_thread(
                self._store_user_message, conversation_id, text, payload
            )
        except store.ConversationNotFound:
            # The cached route names a purged conversation.
            logger.warning("Route named conversation %s, which was not found: Rasa handles the message", conversation_id)
            await self._forget_route(channel, sender_id)
            return False
        except _BACKEND_ERRORS as error:
            logger.error(
                "Storing a message of conversation %s failed, Rasa handles it: %s",
                conversation_id,
                describe_error(error),
            )
            return False

        try:
            await events.publish_user_message(self.redis, conversation_id, message_id, channel=self.events_channel)
        except _BACKEND_ERRORS as error:
            # The message is in SQL: the console shows it on its next refresh.
            logger.warning(
                "Could not announce message %s of conversation %s: %s", message_id, conversation_id, describe_error(error)
            )

        if not still_open:
            logger.info(
                "Conversation %s was closed while message %s was stored: Rasa handles it too",
                conversation_id,
                message_id,
            )
            await self._forget_route(channel, sender_id)
            return False
        logger.debug("Message %s routed to conversation %s", message_id, conversation_id)
        if danger_notice:
            await self._announce_danger(channel, sender_id, conversation_id, send)
        return True

    def _store_user_message(
        self, conversation_id: str, text: str, payload: Optional[Any]
    ) -> Tuple[int, bool, bool]:
        """Store the message; return its id, whether the conversation is still open, and whether a danger notice was added."""
        with self.session_factory() as session:
            message = store.add_message(session, conversation_id, "user", text, payload=payload)
            danger_notice = speaks_of_danger(text) and store.mark_danger(session, conversation_id)
            session.commit()
            message_id = message.id
            # A new transaction, which reads a close committed after the insert.
            conversation = store.get_conversation(session, conversation_id)
            return message_id, conversation.is_open, danger_notice

    async def _announce_danger(
        self, channel: str, sender_id: str, conversation_id: str, send: Optional[SendMessage]
    ) -> None:
        """Move the urgent conversation up the console's queue, and send the danger notice when the channel can."""
        try:
            await events.publish_queue_changed(self.redis, conversation_id, channel=self.events_channel)
        except _BACKEND_ERRORS as error:
            # The queue shows the urgency on its next refresh.
            logger.warning("Could not announce urgent conversation %s: %s", conversation_id, describe_error(error))
        if send is None:
            return
        try:
            await self.deliver_pending(channel, sender_id, send)
        except Exception as error:  # noqa: BLE001 - the notice stays pending for the next connection
            logger.error("Sending the danger notice of conversation %s failed: %s", conversation_id, describe_error(error))

    async def _forget_route(self, channel: str, sender_id: str) -> None:
        try:
            await self.router.forget(channel, sender_id)
        except RedisError as error:
            logger.warning("Could not clear a stale route on %s: %s", channel, error)

    async def user_typing(self, channel: str, sender_id: str) -> bool:
        """Tell the console that the user is typing, when a counsellor has the conversation.

        Returns:
            True when a `user_typing` event was published; False when the user
            is with the bot, when the call came too soon after the previous
            one, or when Redis or the database failed.
        """
        key = (channel, sender_id)
        now = time.monotonic()
        last = self._typing_forwarded_at.get(key)
        if last is not None and now - last < TYPING_MIN_INTERVAL_SECONDS:
            return False
        self._remember_typing(key, now)

        try:
            conversation_id = await self.router.route(channel, sender_id)
            if conversation_id is None:
                return False
            await events.publish_user_typing(self.redis, conversation_id, channel=self.events_channel)
        except _BACKEND_ERRORS as error:
            logger.warning("Could not forward typing on %s: %s", channel, describe_error(error))
            return False
        return True

    def _remember_typing(self, key: Tuple[str, str], now: float) -> None:
        if len(self._typing_forwarded_at) >= TYPING_THROTTLE_MAX_ENTRIES:
            cutoff = now - TYPING_MIN_INTERVAL_SECONDS
            self._typing_forwarded_at = {
                other: moment for other, moment in self._typing_forwarded_at.items() if moment >= cutoff
            }
        self._typing_forwarded_at[key] = now

    async def deliver_pending(self, channel: str, sender_id: str, send: SendMessage) -> int:
        """Send the user the counsellor and system messages that were not acknowledged yet.

        They come from the open conversation and from conversations closed
        less than 24 hours ago, oldest first, each with its `message_id`, so
        that the channel can acknowledge them and drop duplicates.

        Args:
            channel: channel name.
            sender_id: the platform's id of the user.
            send: coroutine function that sends one message to the user.

        Returns:
            The number of messages sent; 0 when the database is unavailable.
        """
        try:
            pending = await asyncio.to_thread(self._pending_messages, channel, sender_id)
        except _BACKEND_ERRORS as error:
            logger.error("Could not read the undelivered handoff messages on %s: %s", channel, describe_error(error))
            return 0
        for message in pending:
            await send(message)
        if pending:
            logger.info(
                "Sent %d undelivered handoff message(s) again, ids %s",
                len(pending),
                [message["message_id"] for message in pending],
            )
        return len(pending)

    def _pending_messages(self, channel: str, sender_id: str) -> List[Dict[str, Any]]:
        with self.session_factory() as session:
            messages = store.undelivered_messages(session, channel, sender_id)
            outgoing = [message_for_user(message) for message in messages]
        return [message for message in outgoing if message is not None]

    async def acknowledge(self, channel: str, sender_id: str, message_ids: Iterable[int]) -> List[int]:
        """Record that the user's channel showed messages, and announce it with `delivered` events.

        Only counsellor and system messages of this user that were not
        delivered yet are marked, so a client cannot acknowledge another
        user's messages.

        Returns:
            The ids marked now, sorted; an empty list when the database is unavailable.
        """
        ids = valid_message_ids(list(message_ids))
        if not ids:
            return []
        try:
            marked = await asyncio.to_thread(self._mark_delivered, channel, sender_id, ids)
        except _BACKEND_ERRORS as error:
            logger.error("Could not record the delivery of messages %s: %s", ids, describe_error(error))
            return []

        for conversation_id, conversation_ids in marked.items():
            try:
                await events.publish_delivered(
                    self.redis, conversation_id, conversation_ids, channel=self.events_channel
                )
            except _BACKEND_ERRORS as error:
                logger.warning(
                    "Could not announce the delivery in conversation %s: %s", conversation_id, describe_error(error)
                )
        return sorted(message_id for conversation_ids in marked.values() for message_id in conversation_ids)

    def _mark_delivered(self, channel: str, sender_id: str, ids: List[int]) -> Dict[str, List[int]]:
        with self.session_factory() as session:
            marked = store.mark_delivered(session, ids, channel=channel, sender_id=sender_id)
            by_conversation: Dict[str, List[int]] = defaultdict(list)
            if marked:
                rows = session.execute(
                    select(Message.id, Message.conversation_id).where(Message.id.in_(marked)).order_by(Message.id)
                ).all()
                for message_id, conversation_id in rows:
                    by_conversation[conversation_id].append(message_id)
            session.commit()
        return dict(by_conversation)
