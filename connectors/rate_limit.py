"""Per-user message rate limit, shared by every channel.

A script, a stuck key or a copy-paste loop can send hundreds of messages a
minute. Each one costs a prediction of the NLU model, or a line in a
counsellor's console during a handoff. Each channel calls
:meth:`RateLimit.admit` before it hands a user's message on:

* under the limit, the message is handled as usual;
* the first message over the limit gets one French notice: the next messages
  of the minute will not be read;
* later messages of that minute are left out, and logged without their text.

During a human handoff (the conversation is queued for a counsellor or taken
by one), the limit is `HANDOFF_LIMIT_FACTOR` times higher, and the notice over
it, `HANDOFF_RATE_LIMITED_MESSAGE`, warns the user that the counsellor will
not receive the next messages. The channel passes a check of the handoff to
`admit`, which runs it only for messages over the bot's limit, because it
reads Redis. A failed check counts as outside a handoff.

Each notice is sent at most once per user, minute and kind (bot or handoff),
so a user whose handoff ends in the middle of a busy minute still gets the
bot's notice. The log names the user by a reference the channel gives,
because each channel has its own rule for naming a user without personal data.

NOTE: messages beyond the handoff limit do not reach the counsellor, and the
console does not show that some were left out. With the default limit that
takes more than 120 messages in a minute, two a second, which only a script
or a stuck key sends (an estimate, like the bot's limit).

NOTE: the count is a fixed window per minute of the clock, so a burst that
straddles two windows can get up to twice the limit through. The limit is
far above what a person types on a phone, so this only matters for scripts.
"""

import logging
import time
from typing import Awaitable, Callable, Optional, Text

from redis.exceptions import RedisError

from connectors.handoff_bridge import describe_error

logger = logging.getLogger(__name__)

# A person typing short messages on a phone sends about one every 3 s at
# most (an estimate), so 30 a minute leaves room for bursts of short replies.
DEFAULT_MAX_MESSAGES_PER_MINUTE = 30

# During a handoff a message costs no model prediction and reaches a person,
# and a young person chatting fast with a counsellor must not lose messages.
# The higher limit still stops scripts: 4 times 30 is two messages a second
# for a whole minute.
HANDOFF_LIMIT_FACTOR = 4

WINDOW_SECONDS = 60

RATE_LIMITED_MESSAGE = (
    "Tu m'as envoyé beaucoup de messages en très peu de temps. Pendant une minute au "
    "plus, je ne lirai pas les suivants : attends un peu, puis renvoie-moi ta question."
)

HANDOFF_RATE_LIMITED_MESSAGE = (
    "Tu as envoyé beaucoup de messages en très peu de temps. Pendant une minute au "
    "plus, le conseiller ne recevra pas les suivants : attends un peu, puis renvoie-lui "
    "ce que tu as écrit après ce message."
)

# Kinds of notice, part of the key that records that a notice was sent.
_BOT_NOTICE = "bot"
_HANDOFF_NOTICE = "handoff"


def limit_from_setting(value: object) -> int:
    """Return the messages allowed per minute for a value of credentials.yml.

    An absent or empty value gives the default, and 0 turns the limit off.

    Raises:
        ValueError: the value is not a whole number.
    """
    if value is None or str(value).strip() == "":
        return DEFAULT_MAX_MESSAGES_PER_MINUTE
    return int(str(value).strip())


class RateLimit:
    """Per-user message counter in Redis, one count per minute.

    Args:
        redis_client: A ``redis.asyncio.Redis`` client.
        channel: Channel name, part of every key.
        max_per_minute: Messages a user may send in one window outside a
            handoff; 0 or less turns the limit off, during a handoff too.
        clock: Returns the current time in seconds, for tests.
    """

    def __init__(
        self,
        redis_client: object,
        channel: Text,
        max_per_minute: int = DEFAULT_MAX_MESSAGES_PER_MINUTE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis_client
        self._channel = channel
        self.max_per_minute = max_per_minute
        self._clock = clock

    @property
    def handoff_max_per_minute(self) -> int:
        """Messages a user may send in one window during a handoff."""
        return HANDOFF_LIMIT_FACTOR * self.max_per_minute

    def _window(self) -> int:
        return int(self._clock() // WINDOW_SECONDS)

    def _key(self, sender_id: Text, window: int) -> Text:
        return f"seconde_chance:rate:{self._channel}:{sender_id}:{window}"

    async def count(self, sender_id: Text) -> Optional[int]:
        """Count one message of a user and return the user's messages in the current window.

        Returns:
            The count, this message included, or None when the limit is off
            or Redis failed. A Redis failure lets the message through: the
            limit protects the service, and must never silence a user on its
            own fault.
        """
        return await self._count(sender_id, self._window())

    async def _count(self, sender_id: Text, window: int) -> Optional[int]:
        if self.max_per_minute <= 0:
            return None

        key = self._key(sender_id, window)
        pipeline = self._redis.pipeline()
        pipeline.incr(key)
        # Two windows, so that the key outlives its own minute whatever the clock skew.
        pipeline.expire(key, 2 * WINDOW_SECONDS)
        try:
            count, _ = await pipeline.execute()
        except RedisError as error:
            logger.warning("Rate limit of %s skipped: Redis failed: %s", self._channel, error)
            return None
        return count

    async def admit(
        self,
        sender_id: Text,
        notify: Callable[[Text], Awaitable[None]],
        user_ref: Text,
        in_handoff: Optional[Callable[[], Awaitable[bool]]] = None,
    ) -> bool:
        """Count one message, send a notice on the first one over the limit, and return whether to handle it.

        Args:
            sender_id: The conversation's sender id, counted under this channel.
            notify: Sends a text to the user.
            user_ref: How the logs name the user, without personal data.
            in_handoff: Returns whether the conversation is queued for a
                counsellor or taken by one; None means never. It runs only
                for messages over the bot's limit, and a failure counts as
                outside a handoff.
        """
        window = self._window()
        count = await self._count(sender_id, window)
        if count is None or count <= self.max_per_minute:
            return True

        if in_handoff is not None and await self._check_handoff(in_handoff, user_ref):
            if count <= self.handoff_max_per_minute:
                return True
            limit, notice_kind, notice = self.handoff_max_per_minute, _HANDOFF_NOTICE, HANDOFF_RATE_LIMITED_MESSAGE
        else:
            limit, notice_kind, notice = self.max_per_minute, _BOT_NOTICE, RATE_LIMITED_MESSAGE

        if await self._record_first_notice(sender_id, window, notice_kind):
            logger.info(
                "%s on %s went over %d messages a minute (%s limit).", user_ref, self._channel, limit, notice_kind
            )
            await notify(notice)
        else:
            logger.info(
                "Left out a message of %s on %s: over the %s rate limit.", user_ref, self._channel, notice_kind
            )
        return False

    async def _check_handoff(self, in_handoff: Callable[[], Awaitable[bool]], user_ref: Text) -> bool:
        try:
            return bool(await in_handoff())
        except Exception as error:
            # describe_error leaves out the statement's values, such as the user's platform id.
            logger.error(
                "Checking the handoff of %s on %s failed, the bot's rate limit applies: %s",
                user_ref,
                self._channel,
                describe_error(error),
            )
            return False

    async def _record_first_notice(self, sender_id: Text, window: int, kind: Text) -> bool:
        """Record that the user got the notice of this kind in this window; return False when it already had it."""
        key = f"{self._key(sender_id, window)}:notice:{kind}"
        try:
            return bool(await self._redis.set(key, 1, ex=2 * WINDOW_SECONDS, nx=True))
        except RedisError as error:
            # A second notice is better than a user left out without a word.
            logger.warning("Rate limit of %s could not record a notice: Redis failed: %s", self._channel, error)
            return True
