"""Rasa output channel that sends the bot's replies to a Telegram chat.

Texts go as plain text, split at 4096 characters. Buttons become an inline
keyboard under the text, one button per row. Their payloads are remembered
as offered to the chat, so that a press is accepted. Place and training
cards go one message per card, with a URL button (see
`connectors.telegram.rendering`).

A message Telegram refuses (the user blocked the bot, flood control that
outlasts the retries) is logged and counted in `failed_count`, never raised,
so that the rest of the reply is still tried.
"""

import logging
from typing import Any, Dict, Iterable, List, Optional, Text

from rasa.core.channels.channel import OutputChannel
from redis.exceptions import RedisError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError

from connectors import cards
from connectors.telegram import rendering
from connectors.telegram.buttons import CallbackButtons
from connectors.telegram.client import TelegramClient
from connectors.telegram.rendering import OutgoingMessage

logger = logging.getLogger(__name__)

CHANNEL_NAME = "telegram"

# Maximum length of a button title; a phone shows about 30 characters of it anyway.
MAX_BUTTON_TITLE_CHARS = 100


class TelegramOutput(OutputChannel):
    """Sends bot messages to one Telegram chat; the recipient id is the chat id as a string.

    Attributes:
        sent_count: messages Telegram accepted.
        failed_count: messages Telegram refused or that could not be sent.
    """

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    def __init__(self, client: TelegramClient, buttons: Optional[CallbackButtons] = None) -> None:
        self.client = client
        self.buttons = buttons
        self.sent_count = 0
        self.failed_count = 0

    async def send_all(self, recipient_id: Text, outgoing: Iterable[OutgoingMessage]) -> None:
        """Send messages in order, logging and counting each one Telegram refuses."""
        try:
            chat_id = int(recipient_id)
        except (TypeError, ValueError):
            logger.error("Recipient id %r is not a Telegram chat id; message dropped.", recipient_id)
            self.failed_count += 1
            return
        for message in outgoing:
            try:
                await self.client.send_message(
                    chat_id,
                    message.text,
                    parse_mode=message.parse_mode,
                    reply_markup=message.reply_markup,
                    disable_link_preview=message.disable_link_preview,
                )
            except TelegramError as error:
                self.failed_count += 1
                logger.error("Telegram rejected a bot message: %s", self.client.describe(error))
            else:
                self.sent_count += 1

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Send a text, in several messages when it is longer than 4096 characters."""
        await self.send_all(recipient_id, rendering.text_messages(text))

    async def send_text_with_buttons(
        self,
        recipient_id: Text,
        text: Text,
        buttons: List[Dict[Text, Any]],
        **kwargs: Any,
    ) -> None:
        """Send a text with an inline keyboard under its last part."""
        keyboard = await self.keyboard(recipient_id, buttons)
        await self.send_all(recipient_id, rendering.text_messages(text, keyboard))

    async def send_quick_replies(
        self,
        recipient_id: Text,
        text: Text,
        quick_replies: List[Dict[Text, Any]],
        **kwargs: Any,
    ) -> None:
        """Send quick replies as an inline keyboard."""
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """Send place cards, training cards or a notice; other custom content is dropped with a log."""
        outgoing = rendering.custom_messages(json_message)
        if not outgoing:
            kind = json_message.get("type") if isinstance(json_message, dict) else None
            logger.warning("Custom message of type %r has no Telegram form; not sent.", kind)
            return
        await self.send_all(recipient_id, outgoing)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        """Send an image by URL."""
        try:
            await self.client.send_photo(int(recipient_id), image)
        except (TelegramError, ValueError) as error:
            self.failed_count += 1
            logger.error("Telegram rejected an image: %s", self.client.describe(error))
        else:
            self.sent_count += 1

    async def send_attachment(  # type: ignore[override]
        self, recipient_id: Text, attachment: Any, **kwargs: Any
    ) -> None:
        """Drop an attachment with a log: the bot sends none, and Telegram needs a typed upload."""
        logger.warning("Attachments have no Telegram form; not sent.")

    async def send_elements(self, recipient_id: Text, elements: Iterable[Dict[Text, Any]], **kwargs: Any) -> None:
        """Send generic-template elements, one message per element with its buttons."""
        for element in elements:
            if not isinstance(element, dict):
                continue
            text = "\n".join(
                str(element.get(key)).strip() for key in ("title", "subtitle") if element.get(key)
            )
            if text:
                await self.send_text_with_buttons(recipient_id, text, element.get("buttons") or [])

    async def keyboard(self, recipient_id: Text, buttons: Iterable[Any]) -> Optional[InlineKeyboardMarkup]:
        """Build the inline keyboard of Rasa buttons, one per row, and remember their payloads as offered.

        A button that cannot be built (no title and no payload, an unusable
        URL, Redis unavailable for a long payload) is left out with a log.
        """
        rows: List[List[InlineKeyboardButton]] = []
        payloads: List[Text] = []
        for button in buttons:
            if not isinstance(button, dict):
                continue
            built = await self._button(recipient_id, button)
            if built is None:
                continue
            rows.append([built])
            if built.callback_data is not None:
                payloads.append(str(button.get("payload")))

        if payloads and self.buttons is not None:
            try:
                await self.buttons.remember_offered(recipient_id, payloads)
            except RedisError as error:
                # Presses of these buttons will get the "old button" reply.
                logger.error("Remembering offered payloads failed: %s", error)
        return InlineKeyboardMarkup(rows) if rows else None

    async def _button(self, recipient_id: Text, button: Dict[Text, Any]) -> Optional[InlineKeyboardButton]:
        payload = button.get("payload")
        title = str(button.get("title") or payload or "").strip()[:MAX_BUTTON_TITLE_CHARS]
        if not title:
            return None
        if button.get("url") or button.get("type") == "web_url":
            url = cards.button_url(button.get("url"))
            if url is None:
                logger.warning("Button with an unusable URL left out.")
                return None
            return InlineKeyboardButton(title, url=url)
        if not isinstance(payload, str) or not payload.strip() or self.buttons is None:
            return None
        try:
            data = await self.buttons.callback_data(recipient_id, payload.strip(), title)
        except RedisError as error:
            logger.error("Storing a long button payload failed; button left out: %s", error)
            return None
        return InlineKeyboardButton(title, callback_data=data)
