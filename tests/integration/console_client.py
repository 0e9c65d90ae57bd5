"""A client of the counsellor console for end-to-end tests and benchmarks.

It behaves like the console's own pages: it keeps the session cookie, sends
an ``Origin`` header naming the console and the session's CSRF token
(``X-CSRF-Token`` on POSTs, ``csrf_token`` in the WebSocket URL). It speaks
aiohttp, so it runs in an event loop; ``run_async`` runs a coroutine from
synchronous code, including tests that drive Playwright's synchronous API.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Coroutine, Dict, Optional, TypeVar

import aiohttp

__all__ = ["ConsoleClient", "ConsoleError", "ConsoleResponse", "run_async", "wait_for_ws_message"]

T = TypeVar("T")

_LOGIN_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')
REQUEST_TIMEOUT_SECONDS = 30.0


class ConsoleError(RuntimeError):
    """The console rejected a login or returned an unexpected page."""


@dataclass
class ConsoleResponse:
    """Status and JSON body of a console endpoint (an empty dict when the body is not JSON)."""

    status: int
    data: Dict[str, Any]


class ConsoleClient:
    """One signed-in counsellor, as seen by the console.

    Args:
        base_url: the console's address, e.g. ``http://127.0.0.1:5006``.

    Example:
        async with ConsoleClient(stack.handoff_url) as console:
            await console.login("camille", "mot de passe")
            response = await console.claim(conversation_id)
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        # unsafe=True: the console runs on an IP address, whose cookies aiohttp drops otherwise.
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS),
        )
        self.csrf_token: Optional[str] = None

    async def __aenter__(self) -> "ConsoleClient":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session and its connections."""
        await self.session.close()

    def url(self, path: str) -> str:
        """Return the absolute URL of a console path."""
        return f"{self.base_url}{path}"

    async def login(self, login: str, password: str) -> None:
        """Submit the login form as a browser does, then read the session's CSRF token.

        Raises:
            ConsoleError: the console did not accept the login.
        """
        async with self.session.get(self.url("/login")) as page:
            match = _LOGIN_FIELD.search(await page.text())
        if match is None:
            raise ConsoleError("the login page has no csrf_token field")
        async with self.session.post(
            self.url("/login"),
            data={"login": login, "password": password, "csrf_token": match.group(1)},
            headers={"Origin": self.base_url},
            allow_redirects=False,
        ) as response:
            await response.read()
            if response.status != 303:
                raise ConsoleError(f"login of {login!r} rejected with HTTP {response.status}")
        async with self.session.get(self.url("/")) as queue_page:
            meta = _CSRF_META.search(await queue_page.text())
        if meta is None:
            raise ConsoleError("the queue page has no csrf-token meta element")
        self.csrf_token = meta.group(1)

    async def post_json(self, path: str, data: Optional[Dict[str, Any]] = None) -> ConsoleResponse:
        """POST a JSON body with the CSRF token and return the status and JSON answer."""
        headers = {"Accept": "application/json", "Origin": self.base_url}
        if self.csrf_token:
            headers["X-CSRF-Token"] = self.csrf_token
        async with self.session.post(
            self.url(path), json=data or {}, headers=headers, allow_redirects=False
        ) as response:
            return ConsoleResponse(response.status, await _json_or_empty(response))

    async def get_json(self, path: str) -> ConsoleResponse:
        """GET a JSON endpoint and return the status and JSON answer."""
        async with self.session.get(
            self.url(path), headers={"Accept": "application/json"}, allow_redirects=False
        ) as response:
            return ConsoleResponse(response.status, await _json_or_empty(response))

    async def claim(self, conversation_id: str) -> ConsoleResponse:
        """Take a conversation: 200, 409 when a colleague has it, 410 when it is closed."""
        return await self.post_json(f"/conversations/{conversation_id}/claim")

    async def send(self, conversation_id: str, text: str) -> ConsoleResponse:
        """Send a text to the user; the answer carries the stored message and whether it was sent."""
        return await self.post_json(f"/conversations/{conversation_id}/messages", {"text": text})

    async def hand_back(self, conversation_id: str) -> ConsoleResponse:
        """Give the user back to the assistant."""
        return await self.post_json(f"/conversations/{conversation_id}/hand-back")

    async def close_conversation(self, conversation_id: str, note: Optional[str] = None) -> ConsoleResponse:
        """Close a conversation, with an optional note for the counsellors."""
        return await self.post_json(f"/conversations/{conversation_id}/close", {"note": note or ""})

    async def queue(self) -> ConsoleResponse:
        """Return the queue snapshot, as the WebSocket pushes it."""
        return await self.get_json("/api/queue")

    async def conversation(self, conversation_id: str, after: int = 0) -> ConsoleResponse:
        """Return a conversation and its messages with an id above ``after``."""
        return await self.get_json(f"/api/conversations/{conversation_id}?after={after}")

    async def websocket(self, conversation_id: Optional[str] = None) -> aiohttp.ClientWebSocketResponse:
        """Open the console's WebSocket, for the queue page or for one conversation's page."""
        params = {"csrf_token": self.csrf_token or ""}
        if conversation_id:
            params["conversation"] = conversation_id
        return await self.session.ws_connect(
            self.url("/ws").replace("http://", "ws://", 1),
            params=params,
            origin=self.base_url,
            heartbeat=None,
        )


async def _json_or_empty(response: aiohttp.ClientResponse) -> Dict[str, Any]:
    body = await response.read()
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def wait_for_ws_message(
    ws: aiohttp.ClientWebSocketResponse,
    predicate: Callable[[Dict[str, Any]], bool],
    timeout: float = 10.0,
) -> Dict[str, Any]:
    """Return the next JSON message of the WebSocket that matches ``predicate``, skipping the others.

    Raises:
        TimeoutError: no matching message within ``timeout`` seconds.
        ConnectionError: the socket closed first.
    """
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no matching console WebSocket message within {timeout} s")
        try:
            message = await ws.receive(timeout=remaining)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no matching console WebSocket message within {timeout} s") from None
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"console WebSocket closed while waiting: {message.type.name}")
        data = json.loads(message.data)
        if predicate(data):
            return data


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion in a new thread with its own event loop, and return its result.

    Playwright's synchronous API keeps an event loop of its own in the
    calling thread, so ``asyncio.run`` cannot be called there.
    """
    outcome: Dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = asyncio.run(coroutine)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, name="console-client")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
