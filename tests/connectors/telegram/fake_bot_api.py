"""A fake Telegram Bot API server on 127.0.0.1, for the channel's unit and end-to-end tests.

It speaks the Bot API wire format: ``POST /bot<token>/<method>`` with a JSON,
form-urlencoded or multipart body, responding with ``{"ok": true, "result": ...}``
with objects shaped like the real ones (a sendMessage returns a Message with
the chat, the text and the keyboard). It records every call, and can be told
to fail: the next calls of a method (any HTTP status, with ``retry_after``
for 429), or every call to one chat (a user who blocked the bot).

Use it from async tests with ``async with FakeBotApi() as api``, or from
synchronous tests with ``ThreadedFakeBotApi``, which runs it in its own
thread and event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

from tests.connectors.servers import LoopThread
from tests.integration.stack import free_port

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Seconde chance", "username": "seconde_chance_test_bot"}

# Parameters that PTB sends JSON-encoded inside form bodies, and numbers.
_JSON_PARAMETERS = {
    "reply_markup", "allowed_updates", "commands", "link_preview_options", "reply_parameters", "scope",
    "entities",
}
_NUMBER_PARAMETERS = {"chat_id", "message_id", "max_connections", "cache_time"}
_BOOLEAN_PARAMETERS = {"drop_pending_updates", "show_alert", "disable_notification", "protect_content"}


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: Dict[str, Any]
    token: str
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    """An error response the fake sends instead of the normal result."""

    status: int
    description: str
    retry_after: Optional[int] = None

    def body(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


BLOCKED = Failure(403, "Forbidden: bot was blocked by the user")
CHAT_NOT_FOUND = Failure(400, "Bad Request: chat not found")


class FakeBotApi:
    """The fake server; `url` is the base address to give as TELEGRAM_API_URL.

    Args:
        port: the port to listen on; None picks a free one.
        token: the only bot token accepted; others get 401 Unauthorized.
    """

    def __init__(self, port: Optional[int] = None, token: str = TOKEN) -> None:
        self.port = port or free_port()
        self.token = token
        self.url = f"http://127.0.0.1:{self.port}"
        self.calls: List[Call] = []
        self._lock = threading.Lock()
        self._failures: Dict[str, List[Failure]] = {}
        self._chat_failures: Dict[int, Failure] = {}
        self._message_ids = itertools.count(1000)
        self._runner: Optional[web.AppRunner] = None
        self._changed: Optional[asyncio.Condition] = None

    # ------------------------------------------------------------ life cycle

    async def start(self) -> "FakeBotApi":
        """Start listening on 127.0.0.1."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._changed = asyncio.Condition()
        return self

    async def stop(self) -> None:
        """Stop the server."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeBotApi":
        return await self.start()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()

    # ------------------------------------------------------------ control

    def fail_next(self, method: str, failure: Failure, times: int = 1) -> None:
        """Respond to the next `times` calls of `method` with `failure`."""
        with self._lock:
            self._failures.setdefault(method, []).extend([failure] * times)

    def fail_chat(self, chat_id: int, failure: Failure = BLOCKED) -> None:
        """Answer every call naming this chat with `failure`, until `clear_failures`."""
        with self._lock:
            self._chat_failures[chat_id] = failure

    def clear_failures(self) -> None:
        """Forget every failure set up."""
        with self._lock:
            self._failures.clear()
            self._chat_failures.clear()

    def clear_calls(self) -> None:
        """Forget the recorded calls."""
        with self._lock:
            self.calls.clear()

    def calls_to(self, method: str, chat_id: Optional[int] = None) -> List[Call]:
        """Return the recorded calls of a method, for one chat if `chat_id` is given."""
        with self._lock:
            return [
                call for call in self.calls
                if call.method == method and (chat_id is None or call.params.get("chat_id") == chat_id)
            ]

    def texts_to(self, chat_id: int) -> List[str]:
        """Return the texts of the sendMessage calls to a chat, in order (failed calls included)."""
        return [call.params.get("text", "") for call in self.calls_to("sendMessage", chat_id)]

    async def wait_for(self, predicate: Callable[["FakeBotApi"], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate(self)` is true.

        Raises:
            TimeoutError: it is still false after `timeout` seconds.
        """
        assert self._changed is not None, "the fake is not started"
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s; calls: {self.summary()}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass

    def summary(self) -> List[str]:
        """Return one line per recorded call, for failure messages."""
        with self._lock:
            return [f"{call.method} {json.dumps(call.params, ensure_ascii=False)[:300]}" for call in self.calls]

    # ------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params = await _read_params(request)
        call = Call(method, params, token)
        with self._lock:
            self.calls.append(call)
            failure = self._failure_for(method, params)
        try:
            if token != self.token:
                return web.json_response(Failure(401, "Unauthorized").body(), status=401)
            if failure is not None:
                return web.json_response(failure.body(), status=failure.status)
            result = self._result(method, params)
            if result is None:
                return web.json_response(Failure(404, "Not Found: method not found").body(), status=404)
            return web.json_response({"ok": True, "result": result})
        finally:
            assert self._changed is not None
            async with self._changed:
                self._changed.notify_all()

    def _failure_for(self, method: str, params: Dict[str, Any]) -> Optional[Failure]:
        queued = self._failures.get(method)
        if queued:
            return queued.pop(0)
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id in self._chat_failures:
            return self._chat_failures[chat_id]
        return None

    def _result(self, method: str, params: Dict[str, Any]) -> Any:
        if method in ("setWebhook", "deleteWebhook", "setMyCommands", "sendChatAction", "answerCallbackQuery"):
            return True
        if method == "getMe":
            return BOT_USER
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        if method == "sendMessage":
            message = self._message(params)
            message["text"] = params.get("text", "")
            return message
        if method == "sendPhoto":
            message = self._message(params)
            message["photo"] = [{"file_id": "photo-1", "file_unique_id": "p1", "width": 320, "height": 240}]
            return message
        return None

    def _message(self, params: Dict[str, Any]) -> Dict[str, Any]:
        chat_id = params.get("chat_id")
        message: Dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
            "date": int(time.time()),
        }
        if isinstance(params.get("reply_markup"), dict):
            message["reply_markup"] = params["reply_markup"]
        return message


async def _read_params(request: web.Request) -> Dict[str, Any]:
    """Read the parameters of a Bot API call, whatever the body's encoding."""
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    raw: Dict[str, Any] = dict(request.query)
    if request.can_read_body:
        form = await request.post()
        raw.update({key: value for key, value in form.items() if isinstance(value, str)})
    return {key: _decode(key, value) for key, value in raw.items()}


def _decode(name: str, value: str) -> Any:
    if name in _JSON_PARAMETERS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if name in _NUMBER_PARAMETERS:
        try:
            return int(value)
        except ValueError:
            return value
    if name in _BOOLEAN_PARAMETERS:
        return value.lower() == "true"
    return value


class ThreadedFakeBotApi:
    """The fake server in its own thread and event loop, for synchronous tests.

    Example:
        with ThreadedFakeBotApi() as api:
            ...
            api.wait_for(lambda fake: fake.texts_to(42))
    """

    def __init__(self, port: Optional[int] = None, token: str = TOKEN) -> None:
        self.api = FakeBotApi(port, token)
        self._loop_thread = LoopThread("fake-bot-api")

    @property
    def url(self) -> str:
        return self.api.url

    def start(self) -> "ThreadedFakeBotApi":
        """Start the thread and the server."""
        self._loop_thread.start()
        self._loop_thread.run(self.api.start(), timeout=10)
        return self

    def stop(self) -> None:
        """Stop the server and the thread."""
        self._loop_thread.run(self.api.stop(), timeout=10)
        self._loop_thread.stop()

    def __enter__(self) -> "ThreadedFakeBotApi":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def wait_for(self, predicate: Callable[[FakeBotApi], bool], timeout: float = 30.0) -> None:
        """Wait until `predicate(api)` is true; raise TimeoutError after `timeout` seconds."""
        self._loop_thread.run(self.api.wait_for(predicate, timeout), timeout=timeout + 5)

    def __getattr__(self, name: str) -> Any:
        # calls_to, texts_to, fail_next, fail_chat… are thread-safe: pass them through.
        return getattr(self.api, name)
