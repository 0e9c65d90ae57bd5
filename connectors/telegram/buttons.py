"""Callback data of inline keyboard buttons, and the check of a pressed button.

Telegram limits a button's callback data to 64 bytes, and Rasa payloads with
entities are longer (``/inform_location{"commune_insee": "69123"}``). A
payload that fits is sent as ``p:<payload>``; a longer one is stored in
Redis under a random key and sent as ``k:<key>``. Both expire with the
offered payloads of the chat, after which the button is "old".

A press is accepted only when the payload was offered to that chat
(`connectors.user_input.OfferedPayloads`) or is ``/ask_counsellor``,
because modified Telegram clients can send any callback data.
"""

import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Optional, Text

from connectors.user_input import OfferedPayloads, is_payload

logger = logging.getLogger(__name__)

# Telegram's maximum length of callback data, in bytes (Bot API, InlineKeyboardButton).
MAX_CALLBACK_DATA_BYTES = 64

INLINE_PREFIX = "p:"
STORED_PREFIX = "k:"

# Payloads accepted without having been offered: the /conseiller command
# and the help text offer this one in every chat.
ALWAYS_ALLOWED_PAYLOADS = frozenset({"/ask_counsellor"})

# Lifetime of a stored payload: the default lifetime of OfferedPayloads.
DEFAULT_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class PressedButton:
    """A checked button press: the payload to hand to Rasa and the title the user saw."""

    payload: Text
    title: Optional[Text]


class CallbackButtons:
    """Encodes payloads into callback data and checks the data of pressed buttons.

    Args:
        redis_client: a ``redis.asyncio.Redis`` client.
        offered_payloads: the registry of payloads offered on this channel.
        key_prefix: prefix of the Redis keys of stored payloads.
        ttl_seconds: lifetime of a stored payload.
    """

    def __init__(
        self,
        redis_client: Any,
        offered_payloads: OfferedPayloads,
        key_prefix: Text = "seconde_chance:telegram:",
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._redis = redis_client
        self.offered_payloads = offered_payloads
        self._key_prefix = key_prefix
        self._ttl_seconds = ttl_seconds

    def _key(self, token: Text) -> Text:
        return f"{self._key_prefix}button:{token}"

    async def callback_data(self, chat_id: Text, payload: Text, title: Text) -> Text:
        """Return the callback data of a button, storing the payload in Redis when it does not fit.

        Raises:
            RedisError: a long payload could not be stored.
        """
        inline = INLINE_PREFIX + payload
        if len(inline.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            return inline
        token = secrets.token_urlsafe(12)
        record = json.dumps({"chat_id": chat_id, "payload": payload, "title": title})
        await self._redis.set(self._key(token), record, ex=self._ttl_seconds)
        return STORED_PREFIX + token

    async def remember_offered(self, chat_id: Text, payloads: Any) -> None:
        """Record the payloads just offered to a chat."""
        await self.offered_payloads.remember(chat_id, payloads)

    async def read_press(self, chat_id: Text, data: Text, title: Optional[Text]) -> Optional[PressedButton]:
        """Return the checked payload of a pressed button, or None when the button is old, unknown or not offered.

        Raises:
            RedisError: Redis could not be read.
        """
        stored_title: Optional[Text] = None
        if data.startswith(INLINE_PREFIX):
            payload = data[len(INLINE_PREFIX):]
        elif data.startswith(STORED_PREFIX):
            record = await self._stored(data[len(STORED_PREFIX):])
            if record is None or record.get("chat_id") != chat_id:
                return None
            payload = record.get("payload")
            stored_title = record.get("title") if isinstance(record.get("title"), str) else None
            if not isinstance(payload, str):
                return None
        else:
            return None

        if not payload.strip():
            return None
        if is_payload(payload) and payload.strip() not in ALWAYS_ALLOWED_PAYLOADS:
            if not await self.offered_payloads.was_offered(chat_id, payload):
                return None
        return PressedButton(payload.strip(), title or stored_title)

    async def _stored(self, token: Text) -> Optional[dict]:
        if not token or len(token) > MAX_CALLBACK_DATA_BYTES:
            return None
        raw = await self._redis.get(self._key(token))
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            logger.warning("Stored button %s is not JSON; read as an old button.", token)
            return None
        return record if isinstance(record, dict) else None

