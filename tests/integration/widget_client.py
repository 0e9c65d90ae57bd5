"""A test user of the widget channel, speaking its socket.io protocol."""

import queue
import time
from typing import Any, Dict, List, Optional

import socketio


class WidgetUser:
    """One socket connected to the widget channel, collecting bot messages."""

    def __init__(self, rasa_url: str, session_id: Optional[str] = None) -> None:
        self.rasa_url = rasa_url
        self.requested_session_id = session_id
        self.session_id: Optional[str] = None
        self.received: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        self._confirmed: "queue.Queue[str]" = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        self.client.on("bot_uttered", self._on_bot_uttered)
        self.client.on("session_confirm", self._on_session_confirm)

    def _on_bot_uttered(self, data: Dict[str, Any]) -> None:
        self.received.put(data)

    def _on_session_confirm(self, session_id: str) -> None:
        self._confirmed.put(session_id)

    def connect(self, timeout: float = 10) -> "WidgetUser":
        """Connect and obtain a session id."""
        # The synchronous client has no WebSocket support without the
        # websocket-client package; long polling speaks the same protocol.
        self.client.connect(
            self.rasa_url, socketio_path="/socket.io", transports=["polling"], wait_timeout=timeout
        )
        self.client.emit("session_request", {"session_id": self.requested_session_id})
        self.session_id = self._confirmed.get(timeout=timeout)
        return self

    def send(self, data: Dict[str, Any]) -> None:
        """Emit a raw ``user_uttered`` event."""
        self.client.emit("user_uttered", data)

    def say(self, text: str, timeout: float = 60, quiet: float = 2.0) -> List[Dict[str, Any]]:
        """Send a text and return the bot messages that answer it."""
        self.send({"message": text, "session_id": self.session_id})
        return self.collect(timeout=timeout, quiet=quiet)

    def collect(self, timeout: float = 60, quiet: float = 2.0) -> List[Dict[str, Any]]:
        """Wait for the first message, then until none arrives for ``quiet`` seconds."""
        messages = [self.received.get(timeout=timeout)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                messages.append(self.received.get(timeout=quiet))
            except queue.Empty:
                break
        return messages

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()


def texts(messages: List[Dict[str, Any]]) -> str:
    """Join the text of every message, for assertions on content."""
    return "\n".join(m.get("text") or "" for m in messages)


def place_cards(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Return every place card of the messages, in order."""
    cards: List[Dict[str, Any]] = []
    for message in messages:
        custom = message.get("custom") or {}
        if custom.get("type") == "place_cards":
            cards.extend(custom.get("places") or [])
    return cards


def buttons(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Return every button offered in the messages."""
    found: List[Dict[str, Any]] = []
    for message in messages:
        found.extend(message.get("quick_replies") or [])
    return found
