"""Pause and resume the bot in Rasa's tracker through its HTTP API.

While a counsellor has the conversation, Rasa must not reply: the bot side
appends a `ConversationPaused` event ({"event": "pause"}) at escalation, and
the console appends `ConversationResumed` ({"event": "resume"}) before it
hands the user back. Both go to

    POST {RASA_URL}/conversations/{sender_id}/tracker/events?token={RASA_TOKEN}

Connection errors, timeouts and 5xx responses are retried 3 times with
exponential back-off. A 4xx response (a wrong token, for instance) is not retried.
The token is never written to logs or error messages.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional
from urllib.parse import quote

import aiohttp
from yarl import URL

from .config import HandoffSettings

__all__ = ["RasaClient", "RasaClientError"]

logger = logging.getLogger(__name__)

DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_SECONDS = 0.5
DEFAULT_TIMEOUT_SECONDS = 10.0


class RasaClientError(Exception):
    """An event could not be appended to Rasa's tracker.

    Attributes:
        status: the HTTP status of the last response, or None after a connection error.
    """

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class RasaClient:
    """Client of Rasa's tracker API.

    Args:
        base_url: Rasa's URL, e.g. "http://127.0.0.1:5005".
        token: Rasa's `--auth-token`, or None when Rasa runs without one.
        retries: further attempts after a connection error, a timeout or a 5xx response.
        backoff_seconds: wait before the first retry; doubled before each next one.
        timeout_seconds: limit of each attempt.

    Use it as an async context manager, or call `close()`:

        async with RasaClient.from_settings(settings) as rasa:
            await rasa.resume(sender_id)
    """

    def __init__(
        self,
        base_url: str,
        token: Optional[str] = None,
        *,
        retries: int = DEFAULT_RETRIES,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: Optional[aiohttp.ClientSession] = None

    @classmethod
    def from_settings(cls, settings: HandoffSettings, **options: Any) -> "RasaClient":
        """Return a client for RASA_URL and RASA_TOKEN; `options` go to the constructor."""
        return cls(settings.rasa_url, settings.rasa_token, **options)

    async def __aenter__(self) -> "RasaClient":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def events_url(self, sender_id: str) -> URL:
        """Return the tracker events URL of a conversation, without the token.

        The sender id is percent-encoded whole, '/' included, so that it
        stays one path segment.

        NOTE: Sanic 21.12, under Rasa 3.6, does not decode path parameters:
        an id with a reserved character (":", "/", "%") reaches Rasa encoded
        and names another, empty tracker. Every channel of this service uses
        ids of letters, digits, "_" and "-" only, which need no encoding.
        """
        return URL(f"{self.base_url}/conversations/{quote(sender_id, safe='')}/tracker/events", encoded=True)

    async def pause(self, sender_id: str) -> None:
        """Append `ConversationPaused`: Rasa stops answering this user."""
        await self.append_event(sender_id, {"event": "pause"})

    async def resume(self, sender_id: str) -> None:
        """Append `ConversationResumed`: Rasa answers this user again."""
        await self.append_event(sender_id, {"event": "resume"})

    async def append_event(self, sender_id: str, event: dict[str, Any]) -> None:
        """POST one event to the conversation's tracker, with retries.

        Raises:
            RasaClientError: Rasa answered 4xx, or still failed after the retries.
        """
        url = self.events_url(sender_id)
        if self._token:
            url = url.with_query(token=self._token)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        event_name = event.get("event")
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                async with self._session.post(url, json=event) as response:
                    if response.status < 300:
                        logger.info("Appended %s to the Rasa tracker (attempt %d)", event_name, attempt)
                        return
                    if response.status < 500:
                        raise RasaClientError(
                            f"Rasa rejected the {event_name} event with HTTP {response.status}", response.status
                        )
                    failure = f"HTTP {response.status}"
                    status: Optional[int] = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                # Only the exception class: aiohttp messages contain the URL, and so the token.
                failure = type(error).__name__
                status = None
            if attempt == attempts:
                raise RasaClientError(
                    f"Could not append the {event_name} event to the Rasa tracker after {attempts} attempts: {failure}",
                    status,
                )
            delay = self.backoff_seconds * 2 ** (attempt - 1)
            logger.warning(
                "Appending %s to the Rasa tracker failed (%s), retry %d of %d in %.1f s",
                event_name,
                failure,
                attempt,
                self.retries,
                delay,
            )
            await asyncio.sleep(delay)
