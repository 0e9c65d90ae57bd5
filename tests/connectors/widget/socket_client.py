"""Test helpers of the widget channel: a Rasa stand-in, a socket.io user and a real Sanic server."""

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Dict, List

import socketio
from rasa.core.channels.channel import UserMessage

from connectors.handoff_bridge import HandoffBridge
from connectors.user_input import OfferedPayloads
from connectors.widget.channel import CHANNEL_NAME, WidgetInput
from tests.connectors.servers import serve_blueprint


@dataclass
class HandoffServer:
    """The widget channel with the handoff on, and what the tests need to drive it."""

    url: str
    rasa: "RecordingRasa"
    bridge: HandoffBridge
    database_url: str
    redis_url: str


class RecordingRasa:
    """Stands in for Rasa: records messages and answers by a small script."""

    def __init__(self) -> None:
        self.messages: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        if message.text == "silence":
            return
        if message.text == "panne":
            raise RuntimeError("simulated fault")
        if message.text == "boutons":
            await message.output_channel.send_text_with_buttons(
                message.sender_id, "Choisis :", [{"title": "Lieu", "payload": "/find_place"}]
            )
            return
        await message.output_channel.send_text_message(message.sender_id, f"reçu : {message.text}")


class SocketUser:
    """An asyncio socket.io client that collects bot messages and the handoff events."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.bot_messages: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue()
        self.confirmed: "asyncio.Queue[str]" = asyncio.Queue()
        self.counsellor_typing: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue()
        self.handoff_status: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue()
        self.client.on("bot_uttered", self._on_bot)
        self.client.on("session_confirm", self._on_confirm)
        self.client.on("counsellor_typing", self._queue_into(self.counsellor_typing))
        self.client.on("handoff_status", self._queue_into(self.handoff_status))
        self.session_id = ""

    @staticmethod
    def _queue_into(queue: "asyncio.Queue[Any]") -> Callable[[Any], Any]:
        async def put(data: Any) -> None:
            await queue.put(data)

        return put

    async def _on_bot(self, data: Dict[str, Any]) -> None:
        await self.bot_messages.put(data)

    async def _on_confirm(self, session_id: str) -> None:
        await self.confirmed.put(session_id)

    async def connect(self, url: str, session_id: Any = None) -> "SocketUser":
        await self.client.connect(url, socketio_path="/socket.io", transports=["websocket"])
        await self.client.emit("session_request", {"session_id": session_id})
        self.session_id = await asyncio.wait_for(self.confirmed.get(), 5)
        return self

    async def next_message(self, timeout: float = 5) -> Dict[str, Any]:
        return await asyncio.wait_for(self.bot_messages.get(), timeout)

    async def no_message(self, timeout: float = 0.5) -> bool:
        """Return whether no bot message arrives within `timeout` seconds."""
        try:
            await asyncio.wait_for(self.bot_messages.get(), timeout)
        except asyncio.TimeoutError:
            return True
        return False


async def forget_offered_payloads(redis_client: Any, session_id: str) -> None:
    """Delete the payloads the channel remembered for a test session (they live 7 days otherwise)."""
    await redis_client.delete(OfferedPayloads(redis_client, CHANNEL_NAME)._key(session_id))


@asynccontextmanager
async def serve_widget(channel: WidgetInput, rasa: RecordingRasa) -> AsyncIterator[str]:
    """Serve the widget channel on a free port of 127.0.0.1 and yield its URL."""
    async with serve_blueprint("widget_test", channel.blueprint(rasa), "/webhooks/widget") as base_url:
        # Let the Redis manager start listening before the first emit.
        await asyncio.sleep(0.3)
        yield base_url
