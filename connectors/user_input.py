"""Checks applied to what users send, shared by every channel.

Rasa reads a message that starts with ``/`` as an intent with entities
(``/restart``, ``/ask_counsellor{"x": 1}``). Typed text must never be read
that way, so channels pass typed text through :func:`clean_typed_text`, and
accept a ``/``-payload only from their own buttons, through
:class:`OfferedPayloads`.
"""

import logging
import math
import re
import unicodedata
from typing import Iterable, Optional, Text, Tuple

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

INTENT_PREFIX = "/"

# Maximum length of a text handed to the NLU pipeline. The transformer of DIETClassifier
# grows quadratically with the number of tokens, and no real question needs
# more: the widget caps typing at the same length.
DEFAULT_MAX_MESSAGE_CHARS = 2000

# Precision kept from a shared position: 3 decimals is about 100 m, enough to
# rank the nearest places, and no more precise than the service needs.
COORDINATE_DECIMALS = 3

# Put where the middle of a too long message was cut out.
TRUNCATION_MARK = " […] "

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Half of a UTF-16 pair, which JSON can carry ("\ud800") but UTF-8 cannot
# encode, so the databases and Redis reject the whole message.
_LONE_SURROGATES = re.compile(r"[\ud800-\udfff]")


def replace_lone_surrogates(text: Text) -> Text:
    """Replace each lone UTF-16 surrogate with U+FFFD, the replacement character."""
    return _LONE_SURROGATES.sub("\ufffd", text)


def clean_typed_text(
    text: Text, max_chars: int = DEFAULT_MAX_MESSAGE_CHARS
) -> Tuple[Text, bool]:
    """Turn what a user typed into text that Rasa can only read as text.

    Args:
        text: The raw text of the message.
        max_chars: Maximum length kept.

    Returns:
        The cleaned text (possibly empty) and whether it was truncated.
    """
    cleaned = unicodedata.normalize("NFC", replace_lone_surrogates(text))
    cleaned = _CONTROL_CHARS.sub(" ", cleaned).strip()

    # Rasa strips whitespace before looking for the prefix, so the prefix is
    # removed together with any whitespace around it, as often as it occurs.
    while cleaned.startswith(INTENT_PREFIX):
        cleaned = cleaned[len(INTENT_PREFIX):].strip()

    truncated = len(cleaned) > max_chars
    if truncated:
        # Keep the start and the end: what matters most (a question, a cry
        # for help) often comes last in a long message.
        tail_chars = (max_chars - len(TRUNCATION_MARK)) // 2
        head_chars = max_chars - len(TRUNCATION_MARK) - tail_chars
        cleaned = cleaned[:head_chars] + TRUNCATION_MARK + cleaned[-tail_chars:]
    return cleaned, truncated


def is_payload(text: Text) -> bool:
    """Return whether a message text has the form of a Rasa intent payload."""
    return text.strip().startswith(INTENT_PREFIX)


def location_payload(latitude: object, longitude: object) -> Optional[Text]:
    """Build the ``share_location`` payload for a position sent by a channel.

    Args:
        latitude: Latitude in degrees (WGS84), as received.
        longitude: Longitude in degrees (WGS84), as received.

    Returns:
        The payload, or None when the values are not a valid position.
    """
    try:
        lat = float(latitude)  # type: ignore[arg-type]
        lon = float(longitude)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if isinstance(latitude, bool) or isinstance(longitude, bool):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None

    lat = round(lat, COORDINATE_DECIMALS)
    lon = round(lon, COORDINATE_DECIMALS)
    return f'/share_location{{"latitude": {lat}, "longitude": {lon}}}'


class OfferedPayloads:
    """The button payloads a channel offered to each conversation, in Redis.

    A ``/``-message is accepted as a payload only when the bot offered that
    exact payload to the same conversation before, so a user cannot make up
    intents or entities by typing them. Entries expire after ``ttl_seconds``,
    so buttons of a conversation abandoned for longer stop working and their
    text is read as typed text instead.
    """

    def __init__(
        self, redis_client: object, channel: Text, ttl_seconds: int = 7 * 24 * 3600
    ) -> None:
        """Create the registry.

        Args:
            redis_client: A ``redis.asyncio.Redis`` client.
            channel: Channel name, part of every key.
            ttl_seconds: Lifetime of the offered payloads of a conversation.
        """
        self._redis = redis_client
        self._channel = channel
        self._ttl_seconds = ttl_seconds

    def _key(self, sender_id: Text) -> Text:
        return f"seconde_chance:payloads:{self._channel}:{sender_id}"

    async def remember(self, sender_id: Text, payloads: Iterable[Text]) -> None:
        """Record payloads just offered to a conversation.

        A Redis failure is logged and not raised: the reply still goes out,
        and a press on its buttons is then read as the button's title.
        """
        values = [p.strip() for p in payloads if p and is_payload(p)]
        if not values:
            return
        key = self._key(sender_id)
        pipeline = self._redis.pipeline()
        pipeline.sadd(key, *values)
        pipeline.expire(key, self._ttl_seconds)
        try:
            await pipeline.execute()
        except RedisError as error:
            logger.error("Could not record the payloads offered on %s: %s", self._channel, error)

    async def was_offered(self, sender_id: Text, payload: Text) -> bool:
        """Return whether the payload was offered to this conversation.

        Raises:
            RedisError: Redis failed; the caller decides how to read the press.
        """
        return bool(await self._redis.sismember(self._key(sender_id), payload.strip()))
