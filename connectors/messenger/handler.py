"""Handle the events of the Messenger webhook, after the HTTP response.

The webhook responds with 200 at once and hands every event to `EventHandler`,
which handles it in a background task, so that a slow action never makes
Meta deliver the event again. For each user message it:

1. leaves out events of unknown pages, and reactions, read and delivery
   receipts and echoes, without any reply;
2. drops redeliveries (`connectors.messenger.dedup`);
3. records the time of the user's message (`connectors.messenger.window`),
   and counts it against the per-minute rate limit
   (`connectors.rate_limit`), which is higher during a handoff: over it,
   the user gets one notice and the next events of the minute are left out;
4. reads the message. Typed text goes through `clean_typed_text`, so that
   a typed ``/intent`` is only text. A button payload counts only when it
   was offered to this user or is always allowed. A shared location becomes
   a ``/share_location`` payload, and other attachments get a short French
   reply;
5. gives it to the human handoff first: while a counsellor has the
   conversation, or while it waits in the queue, Rasa never sees it and
   the bot stays silent;
6. otherwise hands it to Rasa with the page's metadata, and apologises in
   French when Rasa fails or sends nothing.

Within one process, the events of one user are handled one after the
other, in the order they arrived, so that a reply never overtakes the reply
to an earlier message.
"""

import asyncio
import functools
import logging
import sys
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Text

from rasa.core.channels.channel import UserMessage

from redis.exceptions import RedisError

from connectors.handoff_bridge import HandoffBridge
from connectors.messenger import messages
from connectors.messenger.dedup import EventDeduplicator
from connectors.messenger.events import (
    LIKE_STICKER_ID,
    AttachmentMessage,
    Delivery,
    Echo,
    MessagingEvent,
    Postback,
    QuickReply,
    Reaction,
    Read,
    TextMessage,
)
from connectors.messenger.ids import make_sender_id, user_ref
from connectors.messenger.pages import Page
from connectors.messenger.window import MessagingWindow
from connectors.rate_limit import RateLimit
from connectors.user_input import (
    COORDINATE_DECIMALS,
    DEFAULT_MAX_MESSAGE_CHARS,
    OfferedPayloads,
    clean_typed_text,
    is_payload,
    location_payload,
    replace_lone_surrogates,
)

logger = logging.getLogger(__name__)

CHANNEL_NAME = "messenger"

# Payloads accepted without having been offered: the persistent menu's
# « Parler à un conseiller » and the Get Started button (see README.md).
ALWAYS_ALLOWED_PAYLOADS = frozenset({"/ask_counsellor", "/greet"})

# Maximum length of a button title stored as the text of a button press.
MAX_BUTTON_TITLE_CHARS = 200

# Events that get no reply and reach neither Rasa nor the counsellor.
SILENT_EVENTS = (Reaction, Read, Delivery, Echo)

# Attachment types that have their own reply. Any other type gets the reply of "other".
_ATTACHMENT_KINDS = ("image", "audio", "video", "file")


@dataclass
class Incoming:
    """One user message, read and checked.

    Attributes:
        rasa_text: What Rasa receives, or None when the channel replies itself.
        handoff_text: What a counsellor reads: the whole typed text, a
            button title, or a note for a location or an attachment.
        handoff_payload: Structured content stored with ``handoff_text``.
        truncated: Whether ``rasa_text`` was cut to the length limit.
        reply: The channel's own French reply when Rasa gets nothing.
    """

    rasa_text: Optional[Text]
    handoff_text: Text
    handoff_payload: Optional[Dict[Text, Any]] = None
    truncated: bool = False
    reply: Optional[Text] = None


class _SenderLock:
    """A lock and the number of tasks holding or waiting for it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class EventHandler:
    """Handles webhook events in background tasks, one user at a time.

    Args:
        pages: The configured pages by id.
        on_new_message: Rasa's message handler.
        output_factory: Returns a new `connectors.messenger.channel.MessengerOutput`.
        offered_payloads: The payloads offered to each user.
        deduplicator: Drops redelivered events.
        window: Records when each user wrote.
        rate_limit: Counts each user's messages per minute; None turns the limit off.
        bridge: The human handoff, or None to send everything to Rasa.
        max_message_chars: Maximum length of a text handed to Rasa.
    """

    def __init__(
        self,
        *,
        pages: Dict[Text, Page],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        output_factory: Callable[[], Any],
        offered_payloads: OfferedPayloads,
        deduplicator: EventDeduplicator,
        window: MessagingWindow,
        rate_limit: Optional[RateLimit] = None,
        bridge: Optional[HandoffBridge] = None,
        max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
    ) -> None:
        self.pages = pages
        self.on_new_message = on_new_message
        self.output_factory = output_factory
        self.offered_payloads = offered_payloads
        self.deduplicator = deduplicator
        self.window = window
        self.rate_limit = rate_limit
        self.bridge = bridge
        self.max_message_chars = max_message_chars
        self._locks: Dict[Text, _SenderLock] = {}
        self._tasks: Set["asyncio.Task[None]"] = set()

    def schedule(self, event: MessagingEvent) -> None:
        """Start handling an event in a background task of the running event loop."""
        task = asyncio.get_running_loop().create_task(self._run(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every scheduled event, including those scheduled meanwhile, is handled."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, event: MessagingEvent) -> None:
        # The lock is taken before the first await, so the events of a user
        # are handled in the order the tasks were created.
        key = make_sender_id(event.page_id, event.psid)
        holder = self._locks.setdefault(key, _SenderLock())
        holder.users += 1
        try:
            async with holder.lock:
                await self.handle(event)
        except Exception:
            logger.exception("Handling a %s event of Messenger page %s failed.", type(event).__name__, event.page_id)
        finally:
            holder.users -= 1
            if holder.users == 0:
                self._locks.pop(key, None)

    async def handle(self, event: MessagingEvent) -> None:
        """Handle one event: see the module documentation for the steps."""
        page = self.pages.get(event.page_id)
        if page is None:
            # Pages whose token variable is unset are left out of `pages` at start-up, with an error then.
            logger.warning(
                "Ignored a Messenger event for page %s: the page is not configured "
                "(missing from the pages file, or its token variable is unset).",
                event.page_id,
            )
            return
        if isinstance(event, SILENT_EVENTS):
            logger.debug("Messenger page %s: %s event, no reply.", page.page_id, type(event).__name__)
            return

        sender_id = make_sender_id(page.page_id, event.psid)
        if not await self.deduplicator.first_delivery(event.dedup_key):
            logger.info("Messenger page %s: dropped a redelivered event of user %s.", page.page_id, user_ref(sender_id))
            return
        await self.window.record_user_message(sender_id, event.timestamp)
        if not await self._within_rate_limit(page, sender_id):
            return

        incoming = await self._read(sender_id, event)
        if incoming is None:
            logger.info("Messenger page %s: left out a %s event of user %s.", page.page_id, type(event).__name__, user_ref(sender_id))
            return
        if await self._route_to_counsellor(sender_id, incoming):
            return

        output = self.output_factory()
        if incoming.reply is not None or incoming.rasa_text is None:
            await output.send_text_message(sender_id, incoming.reply or messages.EMPTY_MESSAGE)
            return
        if incoming.truncated:
            logger.info("Messenger user %s sent a message longer than the limit.", user_ref(sender_id))
            await output.send_text_message(sender_id, messages.TRUNCATED_MESSAGE)
        await output.send_typing_on(sender_id)
        await self._ask_rasa(page, sender_id, incoming.rasa_text, getattr(event, "mid", None))

    async def _within_rate_limit(self, page: Page, sender_id: Text) -> bool:
        """Count the event against the user's rate limit; return False when it must be left out."""
        if self.rate_limit is None:
            return True

        async def notify(text: Text) -> None:
            await self.output_factory().send_text_message(sender_id, text)

        in_handoff: Optional[Callable[[], Awaitable[bool]]] = None
        if self.bridge is not None:
            in_handoff = functools.partial(self._in_handoff, sender_id)
        return await self.rate_limit.admit(
            sender_id, notify, f"User {user_ref(sender_id)} of page {page.page_id}", in_handoff
        )

    async def _in_handoff(self, sender_id: Text) -> bool:
        """Return whether the user's conversation is queued for a counsellor or taken by one."""
        assert self.bridge is not None
        return await self.bridge.router.route(CHANNEL_NAME, sender_id) is not None

    async def _ask_rasa(self, page: Page, sender_id: Text, text: Text, mid: Optional[Text]) -> None:
        output = self.output_factory()
        message = UserMessage(
            text,
            output,
            sender_id,
            input_channel=CHANNEL_NAME,
            metadata=page.metadata(),
            message_id=mid,
        )
        try:
            await self.on_new_message(message)
        except Exception:
            logger.exception("Handling a message of Messenger user %s failed.", user_ref(sender_id))
            await output.send_text_message(sender_id, messages.technical_problem())
            return
        if output.reply_count == 0:
            # Rasa logs faults of the action server and goes on, so the
            # channel sends the apology itself.
            logger.warning("A message of Messenger user %s produced no reply.", user_ref(sender_id))
            await output.send_text_message(sender_id, messages.technical_problem())

    async def _route_to_counsellor(self, sender_id: Text, incoming: Incoming) -> bool:
        """Give the message to the human handoff; return True when a counsellor gets it instead of Rasa."""
        if self.bridge is None or not incoming.handoff_text:
            return False
        try:
            return await self.bridge.handle_user_message(
                CHANNEL_NAME, sender_id, incoming.handoff_text, incoming.handoff_payload
            )
        except Exception:
            # A fault in the handoff must never silence the bot.
            logger.exception("The handoff failed on a message of Messenger user %s; Rasa handles it.", user_ref(sender_id))
            return False

    async def _read(self, sender_id: Text, event: MessagingEvent) -> Optional[Incoming]:
        if isinstance(event, TextMessage):
            return self._typed(event.text)
        if isinstance(event, QuickReply):
            return await self._button(sender_id, event.payload, event.text)
        if isinstance(event, Postback):
            return await self._button(sender_id, event.payload, event.title)
        if isinstance(event, AttachmentMessage):
            return self._attachment(event)
        return None

    def _typed(self, raw: Text) -> Incoming:
        text, truncated = clean_typed_text(raw, self.max_message_chars)
        # A counsellor reads the whole message: the limit protects the NLU pipeline only.
        whole = clean_typed_text(raw, sys.maxsize)[0] if truncated else text
        if not text:
            return Incoming(None, replace_lone_surrogates(raw).strip(), reply=messages.EMPTY_MESSAGE)
        return Incoming(text, whole, truncated=truncated)

    async def _button(self, sender_id: Text, payload: Text, title: Text) -> Incoming:
        payload = payload.strip()
        if is_payload(payload) and await self._payload_allowed(sender_id, payload):
            title_text = clean_typed_text(title or "", MAX_BUTTON_TITLE_CHARS)[0]
            return Incoming(payload, title_text or payload, {"type": "button", "payload": payload})
        logger.info("Messenger user %s pressed a button whose payload was not offered; its title is read as text.", user_ref(sender_id))
        return self._typed(title or "")

    async def _payload_allowed(self, sender_id: Text, payload: Text) -> bool:
        if payload in ALWAYS_ALLOWED_PAYLOADS:
            return True
        try:
            return await self.offered_payloads.was_offered(sender_id, payload)
        except RedisError as error:
            # The press is then read as its title, which the bot understands too.
            logger.error("Could not check a button payload of Messenger user %s: %s", user_ref(sender_id), error)
            return False

    @staticmethod
    def _attachment(event: AttachmentMessage) -> Incoming:
        location = event.location
        if location is not None:
            payload = location_payload(location.latitude, location.longitude)
            if payload is None:
                return Incoming(None, messages.LOCATION_HANDOFF_TEXT, reply=messages.INVALID_POSITION)
            coordinates = {
                "type": "location",
                "latitude": round(float(location.latitude), COORDINATE_DECIMALS),
                "longitude": round(float(location.longitude), COORDINATE_DECIMALS),
            }
            return Incoming(payload, messages.LOCATION_HANDOFF_TEXT, coordinates)

        if event.is_sticker:
            sticker_ids = {event.sticker_id, *(attachment.sticker_id for attachment in event.attachments)}
            kind = "like" if LIKE_STICKER_ID in sticker_ids else "sticker"
        else:
            kind = next((a.type for a in event.attachments if a.type in _ATTACHMENT_KINDS), "other")
        return Incoming(
            None,
            messages.ATTACHMENT_HANDOFF_TEXTS[kind],
            {"type": "attachment", "attachment_type": kind},
            reply=messages.ATTACHMENT_REPLIES[kind],
        )
