"""Asynchronous client of the Graph API endpoints that the channel calls (aiohttp).

Only the Send API is used: ``POST {base}/me/messages`` with the page access
token, for messages and for sender actions (``typing_on``…). The base URL is
configurable (``MESSENGER_GRAPH_API_URL``) so that tests point it at a local
fake server.

Transient failures are retried with exponential back-off: network errors,
HTTP 5xx and 429, ``is_transient: true`` and the error codes of temporary
failures and rate limits in `TRANSIENT_ERROR_CODES`. Other errors are raised
at once as `GraphApiError`. The access token travels in
the query string, as Meta's documentation shows, so no URL is ever logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Text

import aiohttp

logger = logging.getLogger(__name__)

DEFAULT_GRAPH_API_URL = "https://graph.facebook.com/v19.0"
# Graph API unknown, service and rate-limit errors, and 1200 (« Temporary
# send message failure »).
# NOTE: 1200 was not checked against Meta's current error-code page.
TRANSIENT_ERROR_CODES = frozenset({1, 2, 4, 17, 32, 613, 1200})
RESPONSE = "RESPONSE"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long the client retries a transient failure.

    Attributes:
        attempts: Calls made at most, the first one included.
        first_delay_seconds: Wait before the first retry; it doubles at each retry.
        max_delay_seconds: Maximum wait between two calls.
        request_timeout_seconds: Time limit of one call.
    """

    attempts: int = 3
    first_delay_seconds: float = 0.5
    max_delay_seconds: float = 4.0
    request_timeout_seconds: float = 10.0

    def delay(self, retry_index: int) -> float:
        """Return the wait before retry number ``retry_index`` (0 for the first retry)."""
        return min(self.first_delay_seconds * (2 ** retry_index), self.max_delay_seconds)


def retry_policy_from_environment(environ: Optional[Mapping[Text, Text]] = None) -> RetryPolicy:
    """Read the retry policy from ``MESSENGER_SEND_ATTEMPTS``, ``MESSENGER_RETRY_DELAY_SECONDS`` and ``MESSENGER_REQUEST_TIMEOUT_SECONDS``.

    An unset or invalid value keeps its default; an invalid one is logged.
    """
    environ = os.environ if environ is None else environ
    defaults = RetryPolicy()
    return RetryPolicy(
        attempts=int(_number(environ, "MESSENGER_SEND_ATTEMPTS", defaults.attempts, minimum=1, integer=True)),
        first_delay_seconds=_number(environ, "MESSENGER_RETRY_DELAY_SECONDS", defaults.first_delay_seconds, minimum=0),
        max_delay_seconds=defaults.max_delay_seconds,
        request_timeout_seconds=_number(
            environ, "MESSENGER_REQUEST_TIMEOUT_SECONDS", defaults.request_timeout_seconds, minimum=0.1
        ),
    )


def _number(environ: Mapping[Text, Text], name: Text, default: float, *, minimum: float, integer: bool = False) -> float:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or not value >= minimum:
        logger.warning("Invalid %s=%r: expected a number of at least %s; using %s.", name, raw, minimum, default)
        return default
    return value


class GraphApiError(Exception):
    """The Graph API did not accept a call.

    Attributes:
        status: HTTP status, or None for a network error or timeout.
        code: Meta's ``error.code``, when the response had one.
        subcode: Meta's ``error.error_subcode``, when the response had one.
        transient: Whether the same call may succeed later.
        detail: Meta's error message or the network error, for logs.
        fbtrace_id: Meta's trace id, to quote to Meta's support.
    """

    def __init__(
        self,
        *,
        status: Optional[int],
        code: Optional[int],
        subcode: Optional[int],
        transient: bool,
        detail: Text,
        fbtrace_id: Optional[Text] = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.subcode = subcode
        self.transient = transient
        self.detail = detail
        self.fbtrace_id = fbtrace_id

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no HTTP answer"
        return f"Graph API error ({status}, code {self.code}, subcode {self.subcode}): {self.detail}"


def error_from_answer(status: int, body: Any) -> GraphApiError:
    """Build the error of a Graph API response that is not a success.

    Args:
        status: The HTTP status.
        body: The decoded JSON body, or None when it was not JSON.
    """
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = _int_or_none(error.get("code"))
    subcode = _int_or_none(error.get("error_subcode"))
    transient = (
        status >= 500
        or status == 429
        or error.get("is_transient") is True
        or code in TRANSIENT_ERROR_CODES
    )
    detail = error.get("message") if isinstance(error.get("message"), str) else f"HTTP {status} without a Graph API error"
    trace = error.get("fbtrace_id") if isinstance(error.get("fbtrace_id"), str) else None
    return GraphApiError(status=status, code=code, subcode=subcode, transient=transient, detail=detail, fbtrace_id=trace)


def _int_or_none(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class GraphApiClient:
    """Calls the Send API for every page, with one HTTP session per event loop.

    Args:
        base_url: Graph API base URL with its version, e.g. ``https://graph.facebook.com/v19.0``.
        retry: The retry policy.
        app_secret: When set, every call carries ``appsecret_proof``, which
            Meta requires when the app enables « Require App Secret ».
    """

    def __init__(
        self,
        base_url: Text = DEFAULT_GRAPH_API_URL,
        retry: Optional[RetryPolicy] = None,
        app_secret: Optional[Text] = None,
    ) -> None:
        base_url = (base_url or DEFAULT_GRAPH_API_URL).strip().rstrip("/")
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"the Graph API URL must start with https:// or http://, not {base_url!r}")
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        self._app_secret = app_secret or None
        self._session: Optional[aiohttp.ClientSession] = None
        self._session_loop: Optional[asyncio.AbstractEventLoop] = None

    def _session_of_running_loop(self) -> aiohttp.ClientSession:
        # An aiohttp session belongs to the event loop that created it.
        # NOTE: a session left behind by another loop is not closed.
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.retry.request_timeout_seconds)
            )
            self._session_loop = loop
        return self._session

    async def close(self) -> None:
        """Close the HTTP session of the running event loop."""
        if self._session is not None and not self._session.closed and self._session_loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = None

    async def send_message(
        self,
        access_token: Text,
        psid: Text,
        message: Dict[Text, Any],
        *,
        messaging_type: Text = RESPONSE,
        tag: Optional[Text] = None,
    ) -> Dict[Text, Any]:
        """Send one message to a user of the page that owns ``access_token``.

        Returns:
            Meta's response: ``{"recipient_id", "message_id"}``.

        Raises:
            GraphApiError: Meta rejected the message, or the retries ran out.
        """
        body: Dict[Text, Any] = {"recipient": {"id": psid}, "messaging_type": messaging_type, "message": message}
        if tag:
            body["tag"] = tag
        return await self.post("me/messages", access_token, body)

    async def send_action(self, access_token: Text, psid: Text, action: Text) -> Dict[Text, Any]:
        """Send a sender action (``typing_on``, ``typing_off`` or ``mark_seen``)."""
        return await self.post("me/messages", access_token, {"recipient": {"id": psid}, "sender_action": action})

    async def post(self, path: Text, access_token: Text, body: Dict[Text, Any]) -> Dict[Text, Any]:
        """POST a JSON body to a Graph API path, retrying transient failures.

        Raises:
            GraphApiError: The call failed for good, or the retries ran out.
        """
        attempts = max(1, self.retry.attempts)
        for attempt in range(1, attempts + 1):
            try:
                return await self._post_once(path, access_token, body)
            except GraphApiError as error:
                if not error.transient or attempt == attempts:
                    raise
                delay = self.retry.delay(attempt - 1)
                logger.warning(
                    "Graph API call to %s failed (attempt %d of %d), retrying in %.1f s: %s",
                    path, attempt, attempts, delay, error,
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _post_once(self, path: Text, access_token: Text, body: Dict[Text, Any]) -> Dict[Text, Any]:
        params = {"access_token": access_token}
        if self._app_secret:
            params["appsecret_proof"] = hmac.new(
                self._app_secret.encode("utf-8"), access_token.encode("utf-8"), hashlib.sha256
            ).hexdigest()
        session = self._session_of_running_loop()
        try:
            async with session.post(f"{self.base_url}/{path}", params=params, json=body) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            detail = f"{type(error).__name__}: {error}".replace(access_token, "***")
            raise GraphApiError(status=None, code=None, subcode=None, transient=True, detail=detail) from None

        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = None
        if status == 200 and isinstance(answer, dict) and "error" not in answer:
            return answer
        raise error_from_answer(status, answer)
