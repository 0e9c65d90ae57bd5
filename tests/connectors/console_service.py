"""The console's delivery service for the channel tests, without its web pages.

The regression tests of the Messenger and Telegram channels call
`handoff.web.service.ConsoleService` directly, on SQLite and Redis, with a
`HubRecorder` in place of the WebSocket hub that would push events to the
counsellors' pages.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from handoff.config import HandoffSettings
from handoff.db import get_sessionmaker
from handoff.routing import Router
from handoff.web.service import ConsoleService


class HubRecorder:
    """Records what the console would push to its pages, in place of the WebSocket hub."""

    def __init__(self) -> None:
        self.pushed: List[Tuple[str, Dict[str, Any]]] = []

    async def push_to_watchers(self, conversation_id: str, data: Dict[str, Any]) -> None:
        self.pushed.append((conversation_id, data))

    async def push_to_counsellor(self, counsellor_id: int, data: Dict[str, Any]) -> None:
        self.pushed.append((str(counsellor_id), data))

    def ids_of(self, kind: str) -> List[int]:
        """Return the message ids of every event of one type ("delivered" or "delivery_failed"), in order."""
        return [
            message_id
            for _, data in self.pushed
            if data.get("type") == kind
            for message_id in data.get("message_ids", [])
        ]

    def failures(self) -> List[Dict[str, Any]]:
        """Return the delivery_failed events, in order."""
        return [data for _, data in self.pushed if data.get("type") == "delivery_failed"]


def new_console_service(
    sqlite_url: str, redis_url: str, redis_client: Any, key_prefix: str
) -> Tuple[ConsoleService, HubRecorder]:
    """Return a console service on this database and Redis, and the recorder of its pushes.

    A second call on the same database stands for a restart of the handoff
    process: only what SQL and Redis keep survives.
    """
    session_factory = get_sessionmaker(sqlite_url)
    hub = HubRecorder()
    service = ConsoleService(
        HandoffSettings(database_url=sqlite_url, redis_url=redis_url),
        session_factory,
        redis_client,
        Router(redis_client, session_factory, key_prefix=key_prefix),
        None,
        f"{key_prefix}events",
        hub,
    )
    return service, hub
