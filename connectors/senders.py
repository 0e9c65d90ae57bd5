"""Senders that deliver a message to a user on their channel, from any process.

The handoff service (counsellor replies, notices) and the Rasa channels use
the same senders, so a message reaches the user the same way whoever sends
it. A message is a ``bot_uttered`` payload of the widget protocol:
``{"text": ..., "author": "counsellor", "message_id": 42}`` or
``{"custom": {"type": "notice", "text": ...}, "message_id": 43}``.

Limitations:
    Only the widget channel exists so far; Messenger and Telegram senders
    will register here with the same interface.
"""

import logging
from typing import Any, Dict, Optional, Protocol, Text

import socketio

logger = logging.getLogger(__name__)

# Redis pub/sub channel of the widget's socket.io message queue; it must be
# the one the widget channel listens on.
WIDGET_SOCKETIO_CHANNEL = "seconde_chance_widget"


class ChannelSender(Protocol):
    """What every channel sender provides."""

    async def send(self, sender_id: Text, message: Dict[Text, Any]) -> None:
        """Deliver one message to the user."""

    async def send_typing(self, sender_id: Text, typing: bool) -> None:
        """Show or hide the "a counsellor is typing" indicator."""


class WidgetSender:
    """Emits to the widget's sockets through the socket.io Redis queue.

    Every socket of a session joined the room named after the session id, in
    whichever Rasa process holds it, so emitting to that room reaches them
    all. A user with no open socket gets nothing now: the message stays
    undelivered in SQL and the channel sends it again on reconnection.
    """

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


_senders: Dict[Text, ChannelSender] = {}


def get_sender(channel: Text, redis_url: Text) -> Optional[ChannelSender]:
    """Return the sender of a channel, created once per process, or None if unknown."""
    if channel not in _senders:
        if channel == "widget":
            _senders[channel] = WidgetSender(redis_url)
        else:
            logger.warning("No sender for channel %s.", channel)
            return None
    return _senders[channel]
