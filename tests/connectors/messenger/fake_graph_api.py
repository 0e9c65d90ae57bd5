"""A fake Graph API Send endpoint on 127.0.0.1, for the Messenger tests.

It speaks the wire format of ``POST /{version}/me/messages``: it checks the
access token (and ``appsecret_proof`` when it is given the app secret),
checks the body against Messenger's documented limits, responds as Meta
does, and records every request. Tests can make it fail the next message requests
with a given Graph API error, or respond slowly.

It runs in the test's event loop (``await api.start()``) or in a thread
of its own (``api.start_in_thread()``) for synchronous end-to-end tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

from tests.connectors.servers import LoopThread
from tests.integration.stack import free_port

API_VERSION = "v19.0"
SENDER_ACTIONS = {"typing_on", "typing_off", "mark_seen"}
MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}
MESSAGE_TAGS = {"HUMAN_AGENT", "ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"}


@dataclass
class RecordedRequest:
    """One request received, with the status of the fake's response."""

    path: str
    access_token: Optional[str]
    appsecret_proof: Optional[str]
    body: Any
    status: int

    @property
    def psid(self) -> Optional[str]:
        recipient = self.body.get("recipient") if isinstance(self.body, dict) else None
        return recipient.get("id") if isinstance(recipient, dict) else None

    @property
    def message(self) -> Optional[Dict[str, Any]]:
        return self.body.get("message") if isinstance(self.body, dict) else None

    @property
    def text(self) -> Optional[str]:
        return (self.message or {}).get("text")

    @property
    def sender_action(self) -> Optional[str]:
        return self.body.get("sender_action") if isinstance(self.body, dict) else None

    @property
    def messaging_type(self) -> Optional[str]:
        return self.body.get("messaging_type") if isinstance(self.body, dict) else None

    @property
    def tag(self) -> Optional[str]:
        return self.body.get("tag") if isinstance(self.body, dict) else None

    @property
    def elements(self) -> List[Dict[str, Any]]:
        """The generic-template elements of the message, or an empty list."""
        attachment = (self.message or {}).get("attachment") or {}
        payload = attachment.get("payload") or {}
        if payload.get("template_type") != "generic":
            return []
        return payload.get("elements") or []


@dataclass
class _Failure:
    status: int
    error: Dict[str, Any]


@dataclass
class FakeGraphApi:
    """The fake server and what it received.

    Args:
        tokens: Accepted access tokens, each mapped to its page id.
        app_secret: When set, every request must carry the matching ``appsecret_proof``.
    """

    tokens: Dict[str, str]
    app_secret: Optional[str] = None
    delay_seconds: float = 0.0
    requests: List[RecordedRequest] = field(default_factory=list)
    _failures: List[_Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _runner: Optional[web.AppRunner] = None
    _loop_thread: Optional[LoopThread] = None
    port: int = 0

    @property
    def base_url(self) -> str:
        """The base URL to give the client, with the API version."""
        return f"http://127.0.0.1:{self.port}/{API_VERSION}"

    # ------------------------------------------------------------ control

    def fail_next(self, status: int, code: int, *, times: int = 1, subcode: Optional[int] = None,
                  is_transient: Optional[bool] = None, message: str = "Simulated error") -> None:
        """Fail the next ``times`` message requests with a Graph API error (sender actions are not affected)."""
        error: Dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                                 "fbtrace_id": "AbCdEfGhIjK"}
        if subcode is not None:
            error["error_subcode"] = subcode
        if is_transient is not None:
            error["is_transient"] = is_transient
        with self._lock:
            self._failures.extend(_Failure(status, error) for _ in range(times))

    def reset(self) -> None:
        """Forget the recorded requests, the scripted failures and the delay."""
        with self._lock:
            self.requests.clear()
            self._failures.clear()
        self.delay_seconds = 0.0

    def recorded(self) -> List[RecordedRequest]:
        """Return a copy of every request received so far."""
        with self._lock:
            return list(self.requests)

    def sent_messages(self, psid: Optional[str] = None) -> List[RecordedRequest]:
        """Return the accepted message requests (not sender actions), for one user or all."""
        return [request for request in self.recorded()
                if request.status == 200 and request.message is not None
                and (psid is None or request.psid == psid)]

    def wait_for_messages(self, count: int, psid: Optional[str] = None, timeout: float = 30.0,
                          predicate: Callable[[RecordedRequest], bool] = lambda request: True) -> List[RecordedRequest]:
        """Wait until ``count`` accepted messages match, and return them all (synchronous)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [request for request in self.sent_messages(psid) if predicate(request)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    async def wait_for_messages_async(self, count: int, psid: Optional[str] = None,
                                      timeout: float = 10.0) -> List[RecordedRequest]:
        """Wait until ``count`` accepted messages arrived, and return them all."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.sent_messages(psid)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.02)

    # ------------------------------------------------------------ server

    async def start(self) -> "FakeGraphApi":
        """Serve on a free port of 127.0.0.1 in the running event loop."""
        app = web.Application()
        app.router.add_post("/{version}/me/messages", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> "FakeGraphApi":
        """Serve from a thread with its own event loop, for synchronous tests."""
        self._loop_thread = LoopThread("fake-graph-api").start()
        self._loop_thread.run(self.start(), timeout=10)
        return self

    def stop_thread(self) -> None:
        """Stop a server started with `start_in_thread`."""
        if self._loop_thread is None:
            return
        self._loop_thread.run(self.stop(), timeout=10)
        self._loop_thread.stop()
        self._loop_thread = None

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        token = request.query.get("access_token")
        proof = request.query.get("appsecret_proof")
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)

        status, answer = self._answer(token, proof, body)
        with self._lock:
            self.requests.append(RecordedRequest(request.path, token, proof, body, status))
        return web.json_response(answer, status=status)

    def _answer(self, token: Optional[str], proof: Optional[str], body: Any) -> "tuple[int, Dict[str, Any]]":
        if token not in self.tokens:
            return 400, _error(190, "Invalid OAuth access token - Cannot parse access token")
        if self.app_secret is not None:
            expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if proof != expected:
                return 400, _error(100, "Invalid appsecret_proof provided in the API argument")
        problem = body_problem(body)
        if problem:
            return 400, _error(100, f"(#100) {problem}")
        if "message" in body:
            with self._lock:
                failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                return failure.status, {"error": failure.error}
            return 200, {"recipient_id": body["recipient"]["id"], "message_id": f"m_fake_{next(self._ids)}"}
        return 200, {"recipient_id": body["recipient"]["id"]}


def _error(code: int, message: str) -> Dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "FaKeTrAcE01"}}


def body_problem(body: Any) -> Optional[str]:
    """Return what makes a Send API body invalid, or None."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    recipient = body.get("recipient")
    if not isinstance(recipient, dict) or not str(recipient.get("id") or "").isdigit():
        return "recipient.id is missing"
    if ("message" in body) == ("sender_action" in body):
        return "exactly one of message and sender_action is required"
    if "sender_action" in body:
        return None if body["sender_action"] in SENDER_ACTIONS else "invalid sender_action"
    if body.get("messaging_type") not in MESSAGING_TYPES:
        return "messaging_type is missing or invalid"
    if body["messaging_type"] == "MESSAGE_TAG" and body.get("tag") not in MESSAGE_TAGS:
        return "a MESSAGE_TAG message needs a valid tag"
    return message_problem(body["message"])


def message_problem(message: Any) -> Optional[str]:
    """Return what makes a message object invalid against Messenger's limits, or None."""
    if not isinstance(message, dict):
        return "message is not an object"
    if ("text" in message) == ("attachment" in message):
        return "exactly one of text and attachment is required"
    if "text" in message:
        text = message["text"]
        if not isinstance(text, str) or not text or len(text) > 2000:
            return "text must have 1 to 2000 characters"
    replies = message.get("quick_replies")
    if replies is not None:
        if not isinstance(replies, list) or not 1 <= len(replies) <= 13:
            return "quick_replies must have 1 to 13 items"
        for reply in replies:
            if reply.get("content_type") != "text":
                return "quick reply content_type must be text"
            if not 1 <= len(reply.get("title") or "") <= 20:
                return "quick reply title must have 1 to 20 characters"
            if not 1 <= len(reply.get("payload") or "") <= 1000:
                return "quick reply payload must have 1 to 1000 characters"
    if "attachment" in message:
        return attachment_problem(message["attachment"])
    return None


def attachment_problem(attachment: Any) -> Optional[str]:
    """Return what makes an image or generic-template attachment invalid, or None."""
    if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
        return "attachment needs a type and a payload"
    payload = attachment["payload"]
    if attachment.get("type") == "image":
        return None if str(payload.get("url") or "").startswith(("http://", "https://")) else "image url is invalid"
    if attachment.get("type") != "template" or payload.get("template_type") != "generic":
        return "only image and generic template attachments are expected"
    elements = payload.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
        return "a generic template has 1 to 10 elements"
    for element in elements:
        if not 1 <= len(element.get("title") or "") <= 80:
            return "element title must have 1 to 80 characters"
        if len(element.get("subtitle") or "") > 80:
            return "element subtitle must have at most 80 characters"
        buttons = element.get("buttons") or []
        if len(buttons) > 3:
            return "an element has at most 3 buttons"
        for button in buttons:
            if not 1 <= len(button.get("title") or "") <= 20:
                return "button title must have 1 to 20 characters"
            if button.get("type") == "web_url" and not str(button.get("url") or "").startswith(("http://", "https://")):
                return "web_url button needs an http(s) url"
            if button.get("type") == "phone_number" and not str(button.get("payload") or "").startswith("+"):
                return "phone_number button needs a +country number"
            if button.get("type") not in ("web_url", "phone_number", "postback"):
                return "unknown button type"
    return None
