"""Senders that deliver a message to a user on their channel, from any process.

The handoff service (counsellor replies, notices) and the Rasa channels use
the same senders, so a message reaches the user the same way whoever sends
it. A message is a ``bot_uttered`` payload of the widget protocol, built by
`connectors.handoff_bridge.message_for_user`:
``{"text": ..., "author": "counsellor", "message_id": 42}`` or
``{"custom": {"type": "notice", "text": ...}, "message_id": 43}``.

Two kinds of senders exist:

* the widget's, which only emits to the sockets: the widget acknowledges
  each message once it showed it (``message_ack``);
* the platforms' (Messenger, Telegram), whose API answers whether the
  message was accepted: they set ``confirms_delivery`` and the caller marks
  the message delivered as soon as ``send`` returns.

A platform sender raises `DeliveryError` when the platform refused the
message for good (blocked bot, closed messaging window), so that the caller
can tell the counsellor; it retries transient failures itself.
"""

import importlib
import logging
from typing import Any, Callable, Dict, Optional, Protocol, Text

import socketio

logger = logging.getLogger(__name__)

# Redis pub/sub channel of the widget's socket.io message queue; it must be
# the one the widget channel listens on.
WIDGET_SOCKETIO_CHANNEL = "seconde_chance_widget"


class DeliveryError(Exception):
    """A platform did not take a message.

    Attributes:
        permanent: True when sending again will not help (the user blocked
            the bot, the messaging window is closed); False when the retries
            ran out on a transient failure.
        reason: a short French explanation for the counsellor, without any
            personal data.
    """

    def __init__(self, reason: Text, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class SentParts:
    """How many parts of each handoff message a platform already took, in this process.

    A counsellor's place cards or a long text go out as several platform
    messages. When one part fails, the whole message stays pending and is
    delivered again later; the parts that arrived must not be sent twice.

    NOTE: the count lives in the memory of the process that delivers (the
    handoff service): after a restart, a message that had failed half-way
    is sent again whole.
    """

    # Messages remembered before the oldest are forgotten.
    MAX_MESSAGES = 1000

    def __init__(self) -> None:
        self._counts: Dict[Any, int] = {}

    def already_sent(self, message_id: Any) -> int:
        """Return how many parts of the message were sent before."""
        return self._counts.get(message_id, 0) if message_id is not None else 0

    def record(self, message_id: Any, parts_sent: int) -> None:
        """Remember the parts sent so far of a message that is not complete."""
        if message_id is None:
            return
        if message_id not in self._counts and len(self._counts) >= self.MAX_MESSAGES:
            self._counts.pop(next(iter(self._counts)))
        self._counts[message_id] = parts_sent

    def complete(self, message_id: Any) -> None:
        """Forget a message whose parts were all sent."""
        self._counts.pop(message_id, None)


class ChannelSender(Protocol):
    """What every channel sender provides."""

    # Whether a successful `send` means the user's platform has the message.
    confirms_delivery: bool

    async def send(self, sender_id: Text, message: Dict[Text, Any]) -> None:
        """Deliver one message to the user; raise `DeliveryError` if the platform refuses it."""

    async def send_typing(self, sender_id: Text, typing: bool) -> None:
        """Show or hide the "a counsellor is typing" indicator."""


class WidgetSender:
    """Emits to the widget's sockets through the socket.io Redis queue.

    Every socket of a session joined the room named after the session id, in
    whichever Rasa process holds it, so emitting to that room reaches them
    all. A user with no open socket gets nothing now: the message stays
    undelivered in SQL and the channel sends it again on reconnection.
    """

    confirms_delivery = False

    def __init__(self, redis_url: Text, bot_message_evt: Text = "bot_uttered") -> None:
        self._manager = socketio.AsyncRedisManager(
            redis_url, channel=WIDGET_SOCKETIO_CHANNEL, write_only=True
        )
        self._bot_message_evt = bot_message_evt

    async def send(self, sender_id: Text, message: Dict[Text, Any]) -> None:
        """Emit a ``bot_uttered`` message to the session's room."""
        await self._manager.emit(self._bot_message_evt, message, room=sender_id, namespace="/")

    async def send_typing(self, sender_id: Text, typing: bool) -> None:
        """Emit ``counsellor_typing`` to the session's room."""
        await self._manager.emit(
            "counsellor_typing", {"typing": typing}, room=sender_id, namespace="/"
        )


def _widget_sender(redis_url: Text) -> ChannelSender:
    return WidgetSender(redis_url)


def _platform_sender(module_name: Text) -> Callable[[Text], Optional[ChannelSender]]:
    """Return a factory that builds a platform's sender from the environment.

    The module is imported on first use, so that a process that never
    reaches a platform does not load its client.
    """

    def create(redis_url: Text) -> Optional[ChannelSender]:
        module = importlib.import_module(module_name)
        return module.sender_from_environment(redis_url)

    return create


# Channel name (the `name()` of the Rasa input channel) → sender factory.
_FACTORIES: Dict[Text, Callable[[Text], Optional[ChannelSender]]] = {
    "widget": _widget_sender,
    "messenger": _platform_sender("connectors.messenger.sender"),
    "telegram": _platform_sender("connectors.telegram.sender"),
}

_senders: Dict[Text, ChannelSender] = {}


def get_sender(channel: Text, redis_url: Text) -> Optional[ChannelSender]:
    """Return the sender of a channel, created once per process.

    Returns:
        The sender, or None when the channel is unknown or not configured in
        this process's environment.
    """
    if channel in _senders:
        return _senders[channel]
    factory = _FACTORIES.get(channel)
    if factory is None:
        logger.warning("No sender for channel %s.", channel)
        return None
    sender = factory(redis_url)
    if sender is None:
        logger.warning("Channel %s is not configured in this process: no sender.", channel)
        return None
    _senders[channel] = sender
    return sender
