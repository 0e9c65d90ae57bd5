"""What the Telegram channel does with each update, once read and de-duplicated.

Every user message (text, command, button press, position, unsupported
content) is first counted against the per-minute rate limit
(`connectors.rate_limit`), which is higher during a handoff. Over it, the
user gets one notice and the next messages of the minute are left out. Then
the message goes to the human handoff (`connectors.handoff_bridge`). When
the bridge returns True, a counsellor has the conversation or it waits in
the queue: the message is theirs, and neither Rasa nor the channel replies.
Otherwise:

* text goes to Rasa through `clean_typed_text`, so a leading ``/`` never
  becomes an intent; an edited message is handled as a new message;
* /start hands ``/greet`` to Rasa (the bot's greeting, with its buttons),
  /conseiller hands ``/ask_counsellor``, and /aide gets the channel's help
  text with buttons;
* a button press is always answered (answerCallbackQuery), and its payload
  goes to Rasa when it was offered to that chat; an old button gets a
  gentle reply;
* a position becomes a ``share_location`` payload;
* stickers, photos, voice messages… get a short French reply.

The Rasa sender id is the chat id as a string.
"""

import functools
import logging
import sys
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from redis.exceptions import RedisError
from telegram.error import TelegramError

from connectors.handoff_bridge import HandoffBridge
from connectors.rate_limit import RateLimit
from connectors.telegram import messages
from connectors.telegram.buttons import CallbackButtons
from connectors.telegram.client import RetryPolicy, TelegramClient
from connectors.telegram.output import TelegramOutput
from connectors.telegram.updates import (
    ButtonPress,
    Command,
    Event,
    Ignored,
    SharedLocation,
    TextMessage,
    UnsupportedContent,
)
from connectors.user_input import COORDINATE_DECIMALS, clean_typed_text, is_payload, location_payload

logger = logging.getLogger(__name__)

CHANNEL_NAME = "telegram"

# Intent payloads that the channel's commands hand to Rasa.
COMMAND_PAYLOADS = {"start": "/greet", "conseiller": "/ask_counsellor"}

# A typing indicator is a courtesy: one attempt, no retry.
_TYPING_RETRY = RetryPolicy(attempts=1)


class UpdateHandler:
    """Routes each event to the counsellors, to Rasa, or to a reply of the channel.

    Args:
        client: the bot's Bot API client.
        buttons: callback data and offered payloads.
        on_new_message: Rasa's handler of user messages.
        handoff_bridge: the human handoff; None turns it off.
        max_message_chars: maximum length of a text handed to Rasa.
        rate_limit: counts each chat's messages per minute; None turns the limit off.
    """

    def __init__(
        self,
        client: TelegramClient,
        buttons: CallbackButtons,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        handoff_bridge: Optional[HandoffBridge],
        max_message_chars: int,
        rate_limit: Optional[RateLimit] = None,
    ) -> None:
        self.client = client
        self.buttons = buttons
        self.on_new_message = on_new_message
        self.bridge = handoff_bridge
        self.max_message_chars = max_message_chars
        self.rate_limit = rate_limit

    def output(self) -> TelegramOutput:
        """Return a new output channel for one reply."""
        return TelegramOutput(self.client, self.buttons)

    async def handle(self, event: Event) -> None:
        """Handle one event; errors of Telegram, Redis and Rasa are logged, not raised."""
        if not isinstance(event, Ignored) and not await self._within_rate_limit(event):
            return

        if isinstance(event, TextMessage):
            await self._text(event)
        elif isinstance(event, Command):
            await self._command(event)
        elif isinstance(event, SharedLocation):
            await self._location(event)
        elif isinstance(event, ButtonPress):
            await self._button(event)
        elif isinstance(event, UnsupportedContent):
            await self._unsupported(event)
        elif isinstance(event, Ignored):
            logger.debug("Update %s ignored: %s.", event.update_id, event.reason)
            if event.callback_query_id is not None:
                await self._answer_callback(event.update_id, event.callback_query_id)

    async def _within_rate_limit(self, event: Event) -> bool:
        """Count a user's event against the chat's rate limit; return False when it must be left out."""
        if self.rate_limit is None:
            return True

        async def notify(text: Text) -> None:
            await self.reply(event.chat_id, text)

        # The log names the update, because the chat id is the user's Telegram id.
        admitted = await self.rate_limit.admit(
            str(event.chat_id),
            notify,
            f"The chat of update {event.update_id}",
            functools.partial(self._in_handoff, event.chat_id),
        )
        if not admitted and isinstance(event, ButtonPress):
            # Unanswered, the pressed button would keep its spinner in the app.
            await self._answer_callback(event.update_id, event.callback_query_id)
        return admitted

    async def _text(self, event: TextMessage) -> None:
        text, truncated = clean_typed_text(event.text, self.max_message_chars)
        if not text:
            # Nothing to pass on; during a handoff the bot keeps quiet all the same.
            if not await self._in_handoff(event.chat_id):
                await self.reply(event.chat_id, messages.EMPTY_MESSAGE)
            return
        # A counsellor reads the whole message: the limit protects the NLU pipeline only.
        whole_text = clean_typed_text(event.text, sys.maxsize)[0] if truncated else text
        if event.edited:
            whole_text = messages.EDITED_FOR_COUNSELLOR + whole_text
        if await self.to_counsellor(event.chat_id, whole_text):
            return
        if truncated:
            logger.info("Chat of update %s sent a message longer than the limit.", event.update_id)
            await self.reply(event.chat_id, messages.TRUNCATED_MESSAGE)
        await self.to_rasa(event.update_id, event.chat_id, text)

    async def _command(self, event: Command) -> None:
        if await self.to_counsellor(event.chat_id, event.text.strip()):
            return
        if event.name == "aide":
            output = self.output()
            await output.send_text_with_buttons(str(event.chat_id), messages.HELP, messages.HELP_BUTTONS)
            return

        words = event.text.strip().split(maxsplit=1)
        argument = words[1] if len(words) > 1 else ""
        if event.name == "conseiller" and argument:
            # « /conseiller je suis à la rue ce soir »: the words are read
            # first, so that a cry for help gets the safety answer and an
            # urgent place in the queue; then the request itself, unless the
            # words already put the conversation in the queue.
            await self._text(TextMessage(update_id=event.update_id, chat_id=event.chat_id, text=argument))
            if await self._in_handoff(event.chat_id):
                return
        await self.to_rasa(event.update_id, event.chat_id, COMMAND_PAYLOADS[event.name])

    async def _in_handoff(self, chat_id: int) -> bool:
        """Return whether the chat's conversation is queued for a counsellor or taken by one."""
        if self.bridge is None:
            return False
        try:
            return await self.bridge.router.route(CHANNEL_NAME, str(chat_id)) is not None
        except Exception:
            logger.exception("Reading the handoff route of a Telegram chat failed.")
            return False

    async def _location(self, event: SharedLocation) -> None:
        payload = location_payload(event.latitude, event.longitude)
        if payload is None:
            logger.info("Update %s carries an invalid position.", event.update_id)
            if not await self.to_counsellor(event.chat_id, messages.INVALID_LOCATION_FOR_COUNSELLOR):
                await self.reply(event.chat_id, messages.INVALID_POSITION)
            return
        # location_payload accepted the values, so they convert to floats.
        coordinates = {
            "type": "location",
            "latitude": round(float(event.latitude), COORDINATE_DECIMALS),
            "longitude": round(float(event.longitude), COORDINATE_DECIMALS),
        }
        if await self.to_counsellor(event.chat_id, messages.LOCATION_FOR_COUNSELLOR, coordinates):
            return
        await self.to_rasa(event.update_id, event.chat_id, payload)

    async def _button(self, event: ButtonPress) -> None:
        await self._answer_callback(event.update_id, event.callback_query_id)
        chat = str(event.chat_id)
        try:
            pressed = await self.buttons.read_press(chat, event.data, event.title)
        except RedisError as error:
            # The button may well be valid: calling it old would mislead the user.
            logger.error("Reading the button of update %s failed: %s", event.update_id, error)
            if not await self.to_counsellor(event.chat_id, event.title or messages.BUTTON_FOR_COUNSELLOR):
                await self.reply(event.chat_id, messages.TECHNICAL_PROBLEM)
            return

        if pressed is None:
            title = event.title or messages.BUTTON_FOR_COUNSELLOR
            if await self.to_counsellor(event.chat_id, title, {"type": "button", "expired": True}):
                return
            logger.info("Update %s presses an old or unknown button.", event.update_id)
            await self.reply(event.chat_id, messages.OLD_BUTTON)
            return

        handoff_payload = {"type": "button", "payload": pressed.payload}
        if await self.to_counsellor(event.chat_id, pressed.title or pressed.payload, handoff_payload):
            return
        if is_payload(pressed.payload):
            await self.to_rasa(event.update_id, event.chat_id, pressed.payload)
            return
        # A button whose payload is plain text stands for typing that text.
        text, _ = clean_typed_text(pressed.payload, self.max_message_chars)
        await self.to_rasa(event.update_id, event.chat_id, text)

    async def _unsupported(self, event: UnsupportedContent) -> None:
        note = messages.UNSUPPORTED_FOR_COUNSELLOR.get(event.kind, messages.UNSUPPORTED_FOR_COUNSELLOR_DEFAULT)
        caption = clean_typed_text(event.caption, sys.maxsize)[0] if event.caption else ""
        text = f"{note}\n{caption}" if caption else note
        if await self.to_counsellor(event.chat_id, text, {"type": "unsupported", "content": event.kind}):
            return
        await self.reply(event.chat_id, messages.UNSUPPORTED.get(event.kind, messages.UNSUPPORTED_DEFAULT))

    async def _answer_callback(self, update_id: int, callback_query_id: Text) -> None:
        try:
            await self.client.answer_callback_query(callback_query_id)
        except TelegramError as error:
            # Telegram rejects answerCallbackQuery for an old query; the press is still handled.
            logger.warning("answerCallbackQuery for update %s failed: %s", update_id, self.client.describe(error))

    async def to_counsellor(self, chat_id: int, text: Text, payload: Optional[Dict[Text, Any]] = None) -> bool:
        """Give a user message to the human handoff; return True when a counsellor gets it instead of Rasa."""
        if self.bridge is None:
            return False
        try:
            return await self.bridge.handle_user_message(CHANNEL_NAME, str(chat_id), text, payload)
        except Exception:
            # A fault in the handoff must never silence the bot.
            logger.exception("The handoff failed on a Telegram message, Rasa handles it.")
            return False

    async def to_rasa(self, update_id: int, chat_id: int, text: Text) -> None:
        """Hand a text or payload to Rasa, and tell the user when no reply came because of a fault.

        Logs name the update id: the chat id is the user's Telegram id.
        """
        await self._typing(chat_id)
        output = self.output()
        message = UserMessage(text, output, str(chat_id), input_channel=CHANNEL_NAME)
        try:
            await self.on_new_message(message)
        except Exception:
            logger.exception("Rasa failed on the message of update %s.", update_id)
            await self.reply(chat_id, messages.TECHNICAL_PROBLEM)
            return
        if output.sent_count == 0 and output.failed_count == 0:
            # Rasa logs faults of the action server and goes on, so the channel
            # sends the user a message saying that no reply came.
            logger.warning("The message of update %s produced no reply.", update_id)
            await self.reply(chat_id, messages.TECHNICAL_PROBLEM)

    async def reply(self, chat_id: int, text: Text) -> None:
        """Send one of the channel's own texts."""
        await self.output().send_text_message(str(chat_id), text)

    async def _typing(self, chat_id: int) -> None:
        try:
            await self.client.send_typing(chat_id, _TYPING_RETRY)
        except TelegramError as error:
            logger.debug("Typing indicator not sent: %s", self.client.describe(error))
