"""What the console does to conversations: claim, reply, transfer, hand back, close, release.

Every change follows the same order, so that nothing is lost when a process
or Redis stops half-way:

1. write to SQL and commit (the source of truth);
2. update the routing cache (`Router.set`) when the user's route changed;
3. deliver to the user, through the channel's sender, every counsellor and
   system message of that user that the channel has not acknowledged yet
   (the store adds the notices itself), so an earlier message that could not
   be sent goes with the new one;
4. publish `queue_changed`, which the console's own subscriber turns into a
   queue refresh for every open page.

Hand-back and close first append `ConversationResumed` in Rasa: if Rasa
cannot be reached, the conversation stays with the counsellor.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from connectors.handoff_bridge import message_for_user
from connectors.senders import DeliveryError, get_sender

from .. import events, store
from ..config import HandoffSettings
from ..models import Conversation, Message
from ..rasa_client import RasaClient, RasaClientError
from ..routing import Router
from . import formatting, queries

__all__ = ["ConsoleService", "MAX_MESSAGE_LENGTH"]

logger = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 5000
T = TypeVar("T")


class ConsoleService:
    """The console's operations on conversations, with their SQL, routing, delivery and events.

    Args:
        settings: handoff settings.
        session_factory: returns a new SQLAlchemy Session.
        redis: Redis client for routing and events.
        router: routing cache shared with the channels.
        rasa: client of Rasa's tracker API.
        events_channel: pub/sub channel of the handoff events.
        hub: the WebSocket hub (`ws.Hub`), notified directly of the
            messages that the console itself stored.
    """

    def __init__(
        self,
        settings: HandoffSettings,
        session_factory: Callable[[], Session],
        redis: Redis,
        router: Router,
        rasa: RasaClient,
        events_channel: str,
        hub: Any,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.redis = redis
        self.router = router
        self.rasa = rasa
        self.events_channel = events_channel
        self.hub = hub
        # One delivery at a time per user (channel and sender id), so that a
        # retry and a new send never give the user the same message twice.
        # A user's pending messages are read together, and they may belong to
        # an open conversation and to one closed a moment ago.
        self._delivery_locks: dict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

    async def run(self, function: Callable[..., T], *args: Any, commit: bool = False, **kwargs: Any) -> T:
        """Call `function(session, *args, **kwargs)` in a thread with a new session, committing when asked."""

        def call() -> T:
            with self.session_factory() as session:
                result = function(session, *args, **kwargs)
                if commit:
                    session.commit()
                return result

        return await asyncio.to_thread(call)

    # ----- Reads -----

    async def queue(self) -> list[dict[str, Any]]:
        """Return the queued and active conversations, urgent first, as console JSON."""

        def read(session: Session) -> list[dict[str, Any]]:
            return [formatting.conversation_data(conversation) for conversation in store.list_queue(session)]

        return await self.run(read)

    async def count_pending_followups(self) -> int:
        """Return the number of e-mail follow-ups waiting for an answer."""
        return await self.run(queries.count_pending_followups)

    async def conversation(self, conversation_id: str, after_id: Optional[int] = 0) -> dict[str, Any]:
        """Return a conversation and its messages after `after_id` (none when it is None), as console JSON.

        Raises:
            store.ConversationNotFound: no conversation has this id.
        """

        def read(session: Session) -> dict[str, Any]:
            conversation = store.get_conversation(session, conversation_id)
            messages = [] if after_id is None else queries.messages_after(session, conversation_id, after_id)
            return {
                "conversation": formatting.conversation_data(conversation),
                "messages": [formatting.message_data(message, conversation.pseudonym) for message in messages],
            }

        return await self.run(read)

    async def message(self, conversation_id: str, message_id: int) -> Optional[dict[str, Any]]:
        """Return one message of a conversation as console JSON, or None when it is not in that conversation."""

        def read(session: Session) -> Optional[dict[str, Any]]:
            message = queries.get_message(session, message_id)
            if message is None or message.conversation_id != conversation_id:
                return None
            conversation = store.get_conversation(session, conversation_id)
            return formatting.message_data(message, conversation.pseudonym)

        return await self.run(read)

    async def routing_target(self, conversation_id: str) -> Optional[tuple[str, str, str, Optional[int]]]:
        """Return (channel, sender_id, status, counsellor_id) of a conversation, or None when it does not exist."""

        def read(session: Session) -> Optional[tuple[str, str, str, Optional[int]]]:
            try:
                conversation = store.get_conversation(session, conversation_id)
            except store.ConversationNotFound:
                return None
            return conversation.channel, conversation.sender_id, conversation.status, conversation.counsellor_id

        return await self.run(read)

    # ----- Changes -----

    async def claim(self, conversation_id: str, counsellor_id: int) -> Conversation:
        """Give a queued conversation to a counsellor.

        Raises:
            store.AlreadyClaimed, store.ConversationClosed, store.ConversationNotFound,
            store.CounsellorNotFound: as `store.claim`.
        """
        conversation = await self.run(store.claim, conversation_id, counsellor_id, commit=True)
        await self.router.set(conversation.channel, conversation.sender_id, conversation.id)
        await self.after_change(conversation)
        return conversation

    async def send_text(self, conversation_id: str, counsellor_id: int, text: str) -> tuple[dict[str, Any], bool]:
        """Store a counsellor's text message, then deliver it with every undelivered message of the user.

        Returns:
            The message as console JSON, and whether the channel accepted it.

        Raises:
            ValueError: the text is empty or longer than MAX_MESSAGE_LENGTH.
            store.ConversationClosed, store.NotAssigned, store.ConversationNotFound: as `store.add_message`.
        """
        if not text.strip():
            raise ValueError("empty message")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise ValueError("message too long")
        return await self._send(conversation_id, counsellor_id, text, None)

    async def send_place(
        self, conversation_id: str, counsellor_id: int, card: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Store a place card sent by a counsellor and deliver it (see `send_text`)."""
        summary = ", ".join(
            part
            for part in (
                card.get("name"),
                card.get("address"),
                " ".join(p for p in (card.get("postal_code"), card.get("commune")) if p),
            )
            if part
        )
        return await self._send(conversation_id, counsellor_id, f"Lieu envoyé : {summary}", {
            "type": "place_cards",
            "places": [card],
        })

    async def _send(
        self, conversation_id: str, counsellor_id: int, text: str, payload: Optional[dict[str, Any]]
    ) -> tuple[dict[str, Any], bool]:
        def write(session: Session) -> tuple[dict[str, Any], Conversation]:
            message = store.add_message(session, conversation_id, "counsellor", text, counsellor_id, payload)
            session.commit()
            conversation = store.get_conversation(session, conversation_id)
            return formatting.message_data(message, conversation.pseudonym), conversation

        data, conversation = await self.run(write)
        logger.info("Counsellor %s sent message %s in conversation %s", counsellor_id, data["id"], conversation_id)
        await self.hub.push_to_watchers(conversation_id, {"type": "message", "message": data})
        sent = await self.deliver(conversation)
        return data, sent

    async def transfer(self, conversation_id: str, from_counsellor_id: int, to_counsellor_id: int) -> Conversation:
        """Hand an active conversation over to another counsellor.

        Raises:
            store.CounsellorNotFound, store.ConversationNotFound, store.ConversationClosed,
            store.NotAssigned: as `store.transfer`.
        """
        conversation = await self.run(
            store.transfer, conversation_id, from_counsellor_id, to_counsellor_id, commit=True
        )
        await self.after_change(conversation)
        if to_counsellor_id != from_counsellor_id:
            await self.hub.push_to_counsellor(
                to_counsellor_id,
                {"type": "assigned", "conversation_id": conversation.id, "pseudonym": conversation.pseudonym},
            )
        return conversation

    async def finish(
        self, conversation_id: str, counsellor_id: int, *, hand_back: bool, note: Optional[str] = None
    ) -> Conversation:
        """Hand the user back to the bot, or close the conversation with an optional note.

        Order: ConversationResumed in Rasa, then the SQL status and commit,
        then the route "bot", then the notice to the user.

        Raises:
            store.ConversationNotFound, store.ConversationClosed, store.NotAssigned:
                checked before Rasa is called, and again by the store.
            rasa_client.RasaClientError: Rasa could not be reached; nothing changed.
        """

        def check(session: Session) -> Conversation:
            conversation = store.get_conversation(session, conversation_id)
            if conversation.status == "closed":
                raise store.ConversationClosed(conversation_id)
            if conversation.status == "active" and conversation.counsellor_id != counsellor_id:
                owner = conversation.counsellor.display_name if conversation.counsellor is not None else None
                raise store.NotAssigned(conversation_id, counsellor_id, conversation.counsellor_id, owner)
            return conversation

        current = await self.run(check)
        await self.rasa.resume(current.sender_id)
        if hand_back:
            conversation = await self.run(store.hand_back, conversation_id, counsellor_id, commit=True)
        else:
            conversation = await self.run(store.close, conversation_id, counsellor_id, note, commit=True)
        await self.router.set(conversation.channel, conversation.sender_id, None)
        await self.after_change(conversation)
        return conversation

    async def release_idle(self) -> list[Conversation]:
        """Put back in the queue the conversations of counsellors not seen for the grace period."""
        released = await self.run(
            store.release_idle_conversations, self.settings.grace_seconds, commit=True
        )
        for conversation in released:
            # Still open, so the user's messages keep going to the conversation.
            await self.router.set(conversation.channel, conversation.sender_id, conversation.id)
            await self.after_change(conversation)
        return released

    async def expire_waiting(self, *, now: Optional[datetime] = None) -> list[Conversation]:
        """Give back to the bot the queued conversations that waited longer than the queue timeout.

        Each one is resumed in Rasa first, as for a hand-back; a conversation
        that Rasa could not resume stays in the queue until the next round.
        """
        current = now or datetime.now(timezone.utc)
        cutoff = current - timedelta(minutes=self.settings.queue_timeout_minutes)
        waiting = await self.run(store.conversations_waiting_since, cutoff)
        expired = []
        for conversation_id in waiting:
            conversation = await self.run(store.get_conversation, conversation_id)
            try:
                await self.rasa.resume(conversation.sender_id)
            except RasaClientError as error:
                logger.warning("Could not resume expired conversation %s in Rasa: %s", conversation_id, error)
                continue
            finished = await self.run(store.expire_queued, conversation_id, now=current, commit=True)
            if finished is None:
                continue
            await self.router.set(finished.channel, finished.sender_id, None)
            await self.after_change(finished)
            expired.append(finished)
        return expired

    async def record_seen(self, counsellor_ids: list[int]) -> None:
        """Mark counsellors with an open console as present on their active conversations."""

        def write(session: Session) -> None:
            for counsellor_id in counsellor_ids:
                store.record_counsellor_seen(session, counsellor_id)
            session.commit()

        if counsellor_ids:
            await self.run(write)

    async def after_change(self, conversation: Conversation) -> None:
        """Deliver the pending messages of the conversation's user and announce the change."""
        await self.deliver(conversation)
        await self.publish_queue_changed(conversation.id)

    async def deliver(self, conversation: Conversation) -> bool:
        """Send the user every counsellor and system message their channel has not acknowledged yet.

        The messages stay undelivered in SQL until the channel acknowledges
        them, so the channel sends them again when the user reconnects, and
        a widget that already has one ignores the copy (same `message_id`).
        A platform (Messenger, Telegram) acknowledges by accepting the send.
        A message it refuses for good is reported to the console, recorded
        in SQL (`refused_at`) and skipped from then on, even after a restart,
        until the user writes again (`redeliver`); a transient failure stops
        the delivery, so that the user never reads messages out of order, and
        the next delivery (a new counsellor message, a state change, or a new
        user message) retries. Either way the reason is stored with the
        message, so the console still shows « non remis » after a reload.

        Returns:
            Whether every message was handed to the channel's sender.
        """
        async with self._delivery_locks[(conversation.channel, conversation.sender_id)]:
            return await self._deliver(conversation)

    async def _deliver(self, conversation: Conversation) -> bool:
        def read(session: Session) -> list[dict[str, Any]]:
            messages = store.undelivered_messages(session, conversation.channel, conversation.sender_id)
            # The channels' own builder, so that a message looks the same
            # whichever process delivers it.
            built = (message_for_user(message) for message in messages)
            return [outgoing for outgoing in built if outgoing is not None]

        # Messages refused for good (refused_at) are not read again.
        outgoing = await self.run(read)
        if not outgoing:
            return True
        sender = get_sender(conversation.channel, self.settings.redis_url)
        if sender is None:
            logger.error(
                "No sender for channel %s: %d message(s) of conversation %s wait in the database",
                conversation.channel,
                len(outgoing),
                conversation.id,
            )
            return False

        sent_ids: list[int] = []
        all_sent = True
        try:
            for position, message in enumerate(outgoing):
                try:
                    await sender.send(conversation.sender_id, message)
                except DeliveryError as error:
                    all_sent = False
                    if error.permanent:
                        await self._report_failure(conversation, [message["message_id"]], error)
                        continue
                    # Transient: the rest waits, in order, for the next delivery.
                    waiting = [m["message_id"] for m in outgoing[position:]]
                    await self._report_failure(conversation, waiting, error)
                    return False
                sent_ids.append(message["message_id"])
        except (RedisError, OSError, asyncio.TimeoutError) as error:
            logger.error(
                "Delivery to conversation %s failed; the messages stay pending: %s", conversation.id, error
            )
            return False
        finally:
            if sender.confirms_delivery and sent_ids:
                await self._confirm_delivery(conversation, sent_ids)
        if all_sent:
            logger.info("Delivered %d message(s) of conversation %s to its channel", len(outgoing), conversation.id)
        return all_sent

    async def _report_failure(self, conversation: Conversation, message_ids: list[int], error: DeliveryError) -> None:
        """Log a platform's refusal, store it with the messages and show its reason next to them in the console.

        The database write comes first, so that a page loaded after the event
        shows the reason too. A permanent refusal also sets `refused_at`, which
        makes later deliveries skip the messages.
        """
        logger.error(
            "The %s platform did not take message(s) %s of conversation %s (%s)",
            conversation.channel,
            message_ids,
            conversation.id,
            "permanent" if error.permanent else "retries exhausted",
        )

        def write(session: Session) -> None:
            store.record_delivery_failure(session, message_ids, error.reason, permanent=error.permanent)
            session.commit()

        try:
            await self.run(write)
        except SQLAlchemyError as db_error:
            logger.error(
                "Recording the delivery failure of message(s) %s of conversation %s failed: %s",
                message_ids,
                conversation.id,
                db_error,
            )
        await self.hub.push_to_watchers(
            conversation.id,
            {
                "type": "delivery_failed",
                "conversation_id": conversation.id,
                "message_ids": message_ids,
                "reason": error.reason,
                "permanent": error.permanent,
            },
        )

    async def redeliver(self, conversation_id: str) -> None:
        """Retry the pending messages of a conversation on a platform that confirms delivery.

        Called when the user writes: a message that failed on a transient
        error (or while the user had blocked the bot) gets another chance
        without waiting for the counsellor's next action. The widget needs
        no retry: it asks for its pending messages when it reconnects.
        """
        conversation = await self.run(store.get_conversation, conversation_id)
        sender = get_sender(conversation.channel, self.settings.redis_url)
        if sender is None or not sender.confirms_delivery:
            return
        async with self._delivery_locks[(conversation.channel, conversation.sender_id)]:
            # The user writes again: a bot they had blocked is unblocked.
            await self.run(store.clear_refusals, conversation.channel, conversation.sender_id, commit=True)
            await self._deliver(conversation)

    async def _confirm_delivery(self, conversation: Conversation, message_ids: list[int]) -> None:
        """Mark messages that a platform accepted as delivered, and show it in the console."""

        def write(session: Session) -> list[int]:
            marked = store.mark_delivered(
                session, message_ids, channel=conversation.channel, sender_id=conversation.sender_id
            )
            session.commit()
            return marked

        marked = await self.run(write)
        if marked:
            await self.hub.push_to_watchers(
                conversation.id,
                {"type": "delivered", "conversation_id": conversation.id, "message_ids": marked},
            )

    async def send_typing(self, conversation_id: str, counsellor_id: int, typing: bool) -> bool:
        """Show or hide « un conseiller écrit » to the user of an active conversation of this counsellor.

        Returns:
            Whether the indicator was sent.
        """
        target = await self.routing_target(conversation_id)
        if target is None:
            return False
        channel, sender_id, status, owner_id = target
        if status != "active" or owner_id != counsellor_id:
            return False
        sender = get_sender(channel, self.settings.redis_url)
        if sender is None:
            return False
        try:
            await sender.send_typing(sender_id, typing)
        except (RedisError, OSError, asyncio.TimeoutError) as error:
            logger.warning("Typing indicator of conversation %s not sent: %s", conversation_id, error)
            return False
        return True

    async def publish_queue_changed(self, conversation_id: str) -> None:
        """Publish `queue_changed`; when Redis fails, refresh this process's pages directly."""
        try:
            await events.publish_queue_changed(self.redis, conversation_id, channel=self.events_channel)
        except RedisError as error:
            logger.error("queue_changed of conversation %s not published: %s", conversation_id, error)
            await self.hub.handle_event(events.queue_changed(conversation_id))
