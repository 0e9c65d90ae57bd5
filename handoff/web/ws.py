"""The console's WebSocket `/ws`: live queue, messages, typing indicators and delivery receipts.

Server → browser messages (JSON):

- `{"type": "queue", "conversations": [...], "pending_followups": n, "online_ids": [...]}`
  on connection and after every change of the queue;
- `{"type": "conversation_changed", "conversation_id"}` for the page that shows it;
- `{"type": "message", "message": {...}}`: a new message of the shown conversation;
- `{"type": "user_typing", "conversation_id"}`;
- `{"type": "delivered", "conversation_id", "message_ids": [...]}`;
- `{"type": "delivery_failed", "conversation_id", "message_ids": [...], "reason", "permanent"}`:
  Messenger or Telegram did not take these messages (pushed by `service.ConsoleService`;
  the reason is also stored with the messages, as their `delivery_error`);
- `{"type": "assigned", "conversation_id", "pseudonym"}`: a colleague transferred a conversation to you;
- `{"type": "session_expired"}`, then the socket closes with code 4401.

Browser → server: `{"type": "typing", "conversation_id", "typing": true|false}`.

The page shows a conversation when it connected with `?conversation=<id>`.
While a counsellor has an open socket, their active conversations are
marked as seen every HANDOFF_HEARTBEAT_SECONDS, so the disconnect grace
period does not send them back to the queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any, Optional

from sanic.request import Request

from .auth import ConsoleUser

__all__ = ["Connection", "Hub", "register_websocket"]

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 10.0
# A page's typing notices reach the user at most this often.
TYPING_INTERVAL_SECONDS = 1.5
# Coalesces bursts of queue events into one refresh.
QUEUE_REFRESH_DELAY_SECONDS = 0.2
# The queue is pushed at least this often, so pending follow-ups left through
# the bot (which publishes no event) show up on open pages.
QUEUE_PERIODIC_REFRESH_SECONDS = 60.0
CLOSE_SESSION_EXPIRED = 4401
_CONVERSATION_ID = re.compile(r"[0-9a-f]{32}")


def valid_conversation_id(value: Any) -> Optional[str]:
    """Return the value if it has the form of a conversation id, else None."""
    if isinstance(value, str) and _CONVERSATION_ID.fullmatch(value):
        return value
    return None


class Connection:
    """One open console page."""

    def __init__(self, ws: Any, user: ConsoleUser, watching: Optional[str]) -> None:
        self.ws = ws
        self.user = user
        self.watching = watching
        self.typing_sent_at: dict[str, float] = {}
        self.typing_active: set[str] = set()

    async def send(self, data: dict[str, Any]) -> bool:
        """Send one JSON message; return False when the socket is gone or too slow."""
        try:
            await asyncio.wait_for(self.ws.send(json.dumps(data, ensure_ascii=False)), SEND_TIMEOUT_SECONDS)
            return True
        except Exception as error:  # noqa: BLE001 - any failure means this socket is done
            logger.info("Console socket of counsellor %s dropped: %s", self.user.counsellor_id, type(error).__name__)
            return False


class Hub:
    """The open console sockets of this process, and what gets pushed to them."""

    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        self.service: Any = None
        self.sessions: Any = None
        self._refresh_task: Optional[asyncio.Task] = None
        # Background deliveries, kept referenced until they end.
        self._tasks: set[asyncio.Task] = set()

    def add(self, connection: Connection) -> None:
        """Register an open page."""
        self.connections.add(connection)
        logger.info(
            "Console socket opened by counsellor %s (%d open)", connection.user.counsellor_id, len(self.connections)
        )

    def remove(self, connection: Connection) -> None:
        """Forget a closed page."""
        self.connections.discard(connection)
        logger.info(
            "Console socket closed by counsellor %s (%d open)", connection.user.counsellor_id, len(self.connections)
        )

    def online_counsellor_ids(self) -> set[int]:
        """Return the counsellors with at least one open page."""
        return {connection.user.counsellor_id for connection in self.connections}

    async def _send_all(self, connections: list[Connection], data: dict[str, Any]) -> None:
        if connections:
            await asyncio.gather(*(connection.send(data) for connection in connections))

    async def broadcast(self, data: dict[str, Any]) -> None:
        """Send a message to every open page."""
        await self._send_all(list(self.connections), data)

    async def push_to_watchers(self, conversation_id: str, data: dict[str, Any]) -> None:
        """Send a message to the pages that show a conversation."""
        await self._send_all([c for c in self.connections if c.watching == conversation_id], data)

    async def push_to_counsellor(self, counsellor_id: int, data: dict[str, Any]) -> None:
        """Send a message to every page of one counsellor."""
        await self._send_all([c for c in self.connections if c.user.counsellor_id == counsellor_id], data)

    async def queue_snapshot(self) -> dict[str, Any]:
        """Return the `queue` message: the queue, the pending follow-up count and who is online."""
        conversations = await self.service.queue()
        pending = await self.service.count_pending_followups()
        return {
            "type": "queue",
            "conversations": conversations,
            "pending_followups": pending,
            "online_ids": sorted(self.online_counsellor_ids()),
        }

    def _spawn(self, coroutine: Any, description: str) -> None:
        """Run a coroutine in the background and log its failure."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)

        def finished(done: asyncio.Task) -> None:
            self._tasks.discard(done)
            if not done.cancelled() and done.exception() is not None:
                logger.error("Background task failed: %s", description, exc_info=done.exception())

        task.add_done_callback(finished)

    def schedule_queue_refresh(self) -> None:
        """Push the queue to every page soon; events that arrive meanwhile share the same refresh."""
        if self._refresh_task is not None and not self._refresh_task.done():
            return
        self._refresh_task = asyncio.ensure_future(self._refresh_queue())

    async def _refresh_queue(self) -> None:
        await asyncio.sleep(QUEUE_REFRESH_DELAY_SECONDS)
        if not self.connections:
            return
        try:
            snapshot = await self.queue_snapshot()
        except Exception:
            logger.exception("Queue refresh failed")
            return
        await self.broadcast(snapshot)

    async def handle_event(self, event: dict[str, Any]) -> None:
        """Turn a handoff event from Redis into pushes to the open pages."""
        kind = event["type"]
        conversation_id = event["conversation_id"]
        if kind == "queue_changed":
            self.schedule_queue_refresh()
            await self.push_to_watchers(
                conversation_id, {"type": "conversation_changed", "conversation_id": conversation_id}
            )
        elif kind == "user_message":
            # Pending messages on Messenger or Telegram get another chance now.
            self._spawn(self.service.redeliver(conversation_id), f"redeliver {conversation_id}")
            if not any(c.watching == conversation_id for c in self.connections):
                return
            message = await self.service.message(conversation_id, event["message_id"])
            if message is None:
                logger.warning("user_message event names message %s, not found in conversation %s",
                               event["message_id"], conversation_id)
                return
            await self.push_to_watchers(conversation_id, {"type": "message", "message": message})
        elif kind == "user_typing":
            await self.push_to_watchers(conversation_id, {"type": "user_typing", "conversation_id": conversation_id})
        elif kind == "delivered":
            await self.push_to_watchers(
                conversation_id,
                {"type": "delivered", "conversation_id": conversation_id, "message_ids": event["message_ids"]},
            )

    async def end_session(self, session_id: str) -> None:
        """Close the pages of a session that ended (logout, expiry)."""
        for connection in [c for c in self.connections if c.user.session_id == session_id]:
            await connection.send({"type": "session_expired"})
            try:
                await connection.ws.close(CLOSE_SESSION_EXPIRED, "session expired")
            except Exception:  # noqa: BLE001 - the socket may already be gone
                pass

    async def heartbeat(self) -> None:
        """Mark the connected counsellors as present and close the pages whose session ended."""
        if not self.connections:
            return
        await self.service.record_seen(sorted(self.online_counsellor_ids()))
        sessions = {connection.user.session_id for connection in self.connections}
        valid = await self.sessions.still_valid(sessions)
        for session_id in sessions - valid:
            await self.end_session(session_id)

    async def handle_client_message(self, connection: Connection, raw: Any) -> None:
        """Act on one message from a page: only typing notices are accepted."""
        try:
            data = json.loads(raw)
        except (TypeError, ValueError):
            return
        if not isinstance(data, dict) or data.get("type") != "typing":
            return
        conversation_id = valid_conversation_id(data.get("conversation_id"))
        typing = data.get("typing")
        if conversation_id is None or not isinstance(typing, bool):
            return
        now = time.monotonic()
        if typing:
            if now - connection.typing_sent_at.get(conversation_id, 0.0) < TYPING_INTERVAL_SECONDS:
                return
            connection.typing_sent_at[conversation_id] = now
        elif conversation_id not in connection.typing_active:
            return
        if await self.service.send_typing(conversation_id, connection.user.counsellor_id, typing):
            if typing:
                connection.typing_active.add(conversation_id)
            else:
                connection.typing_active.discard(conversation_id)

    async def stop_typing(self, connection: Connection) -> None:
        """Hide the typing indicator that a closing page left shown to the user."""
        for conversation_id in list(connection.typing_active):
            await self.service.send_typing(conversation_id, connection.user.counsellor_id, False)
        connection.typing_active.clear()


def register_websocket(app) -> None:
    """Add the `/ws` route; `auth.require_login` has checked the session, Origin and CSRF token."""

    @app.websocket("/ws")
    async def console_socket(request: Request, ws: Any) -> None:
        hub: Hub = request.app.ctx.hub
        user: ConsoleUser = request.ctx.user
        connection = Connection(ws, user, valid_conversation_id(request.args.get("conversation")))
        hub.add(connection)
        try:
            await hub.service.record_seen([user.counsellor_id])
            await connection.send(await hub.queue_snapshot())
            while True:
                raw = await ws.recv()
                if raw is None:
                    break
                await hub.handle_client_message(connection, raw)
        finally:
            hub.remove(connection)
            try:
                await hub.stop_typing(connection)
            except Exception:  # noqa: BLE001 - best effort while the page goes away
                logger.warning("Typing indicator not cleared after a socket of counsellor %s closed",
                               user.counsellor_id)
