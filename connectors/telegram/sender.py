"""Sender of counsellor and system messages to Telegram users, for the handoff service.

`connectors.senders.get_sender("telegram", redis_url)` calls
`sender_from_environment`, which reads the TELEGRAM_* variables that the
Rasa channel reads from credentials.yml. Messages are the widget-protocol
dicts of `connectors.handoff_bridge.message_for_user`, rendered by
`connectors.telegram.rendering.handoff_messages`: a counsellor's text signed
with their name, a notice as its text, place cards one message per card.

Transient failures (flood control, time-outs, network errors, 5xx) are
retried by the client. A refusal for good raises `DeliveryError` with
``permanent=True`` and a French reason that the console shows to the
counsellor (addressed with « vous »).
"""

import logging
from typing import Any, Dict, Optional, Text

from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

from connectors.senders import DeliveryError, SentParts
from connectors.telegram.client import RetryPolicy, TelegramClient
from connectors.telegram.config import TelegramSettings
from connectors.telegram.rendering import handoff_messages

logger = logging.getLogger(__name__)

# Reasons shown to the counsellor when Telegram does not take a message.
REASON_BLOCKED = (
    "La personne a bloqué le bot Telegram ou supprimé son compte : "
    "le message ne peut pas lui être remis."
)
REASON_CHAT_NOT_FOUND = (
    "Telegram ne trouve pas cette conversation : la personne a peut-être supprimé son compte. "
    "Le message ne peut pas lui être remis."
)
REASON_REJECTED = "Telegram a refusé ce message comme invalide : il ne peut pas être remis."
REASON_INVALID_CHAT = "Identifiant de conversation Telegram invalide : le message ne peut pas être remis."
REASON_BAD_TOKEN = (
    "Le bot Telegram est mal configuré (jeton refusé) : le message n'a pas été remis. "
    "Prévenez l'administrateur du service."
)
REASON_UNAVAILABLE = (
    "Telegram ne répond pas pour le moment : le message n'a pas été remis. "
    "Il reste en attente et sera renvoyé au prochain envoi dans cette conversation."
)


def sender_from_environment(redis_url: Text) -> Optional["TelegramSender"]:
    """Create the sender from the TELEGRAM_* variables, or return None when TELEGRAM_BOT_TOKEN is empty."""
    settings = TelegramSettings.from_environment(redis_url)
    if not settings.enabled:
        return None
    return TelegramSender(TelegramClient(settings))


class TelegramSender:
    """Delivers handoff messages to Telegram chats; the sender id is the chat id as a string."""

    # The Bot API reports whether it accepted each message.
    confirms_delivery = True

    def __init__(self, client: TelegramClient) -> None:
        self.client = client
        self.sent_parts = SentParts()

    async def send(self, sender_id: Text, message: Dict[Text, Any]) -> None:
        """Deliver one message, in several Telegram messages when it has cards or is long.

        Raises:
            DeliveryError: Telegram refused the message, or the retries ran out.
        """
        chat_id = _chat_id(sender_id)
        outgoing = handoff_messages(message)
        if not outgoing:
            logger.warning("Handoff message %s has nothing to show on Telegram; skipped.", message.get("message_id"))
            return
        message_id = message.get("message_id")
        start = self.sent_parts.already_sent(message_id)
        for index, part in enumerate(outgoing[start:], start=start):
            try:
                await self.client.send_message(
                    chat_id,
                    part.text,
                    parse_mode=part.parse_mode,
                    reply_markup=part.reply_markup,
                    disable_link_preview=part.disable_link_preview,
                )
            except TelegramError as error:
                self.sent_parts.record(message_id, index)
                raise self._delivery_error(message, error) from error
        self.sent_parts.complete(message_id)
        logger.debug("Handoff message %s sent to Telegram.", message_id)

    async def send_typing(self, sender_id: Text, typing: bool) -> None:
        """Show "typing…" for a few seconds; Telegram has no call to hide it, so False does nothing.

        Failures are logged, not raised: the indicator is a courtesy.
        """
        if not typing:
            return
        try:
            await self.client.send_typing(_chat_id(sender_id), RetryPolicy(attempts=1))
        except (TelegramError, DeliveryError) as error:
            logger.info("Typing indicator not sent to Telegram: %s", self.client.describe(error))

    async def close(self) -> None:
        """Close the Bot API client."""
        await self.client.close()

    def _delivery_error(self, message: Dict[Text, Any], error: TelegramError) -> DeliveryError:
        message_id = message.get("message_id")
        description = self.client.describe(error)
        if isinstance(error, Forbidden):
            logger.warning("Telegram rejected handoff message %s, the bot is blocked: %s", message_id, description)
            return DeliveryError(REASON_BLOCKED, permanent=True)
        if isinstance(error, BadRequest):
            logger.warning("Telegram rejected handoff message %s: %s", message_id, description)
            if "chat not found" in str(error).lower():
                return DeliveryError(REASON_CHAT_NOT_FOUND, permanent=True)
            return DeliveryError(REASON_REJECTED, permanent=True)
        if isinstance(error, InvalidToken):
            logger.error("Telegram rejected the bot token while sending handoff message %s.", message_id)
            return DeliveryError(REASON_BAD_TOKEN, permanent=False)
        level = logging.WARNING if isinstance(error, RetryAfter) else logging.ERROR
        logger.log(level, "Handoff message %s not sent to Telegram after retries: %s", message_id, description)
        return DeliveryError(REASON_UNAVAILABLE, permanent=False)


def _chat_id(sender_id: Text) -> int:
    try:
        return int(sender_id)
    except (TypeError, ValueError):
        raise DeliveryError(REASON_INVALID_CHAT, permanent=True) from None
