"""Rasa input channel of the Telegram bot, fed by the Bot API webhook.

Telegram posts each update to ``/webhooks/telegram/webhook`` with the secret
token given to setWebhook in the ``X-Telegram-Bot-Api-Secret-Token`` header.
The endpoint responds with:

* 503 when the channel is off (TELEGRAM_BOT_TOKEN or TELEGRAM_SECRET_TOKEN
  empty or invalid), so that nobody mistakes it for a working bot;
* 403 when the header is missing or wrong (compared in constant time);
* 400 when the body is not a JSON object, 413 when it is too large;
* 200 at once otherwise. The update is handled in a background task, so that
  a slow reply never makes Telegram send the update again; copies that come
  anyway are dropped by update_id (`connectors.telegram.dedup`).

Updates of one chat are handled one at a time, in the order they arrived.
The webhook is registered at start-up by a background task
(`connectors.telegram.webhook`). What each update does is in
`connectors.telegram.handler`.
"""

import asyncio
import hmac
import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Optional, Set, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from redis import asyncio as aioredis
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.handoff_bridge import HandoffBridge
from connectors.rate_limit import DEFAULT_MAX_MESSAGES_PER_MINUTE, RateLimit, limit_from_setting
from connectors.telegram.buttons import CallbackButtons
from connectors.telegram.client import RetryPolicy, TelegramClient
from connectors.telegram.config import TOKEN_VARIABLE, TelegramSettings
from connectors.telegram.dedup import UpdateDeduplicator
from connectors.telegram.handler import CHANNEL_NAME, UpdateHandler
from connectors.telegram.output import TelegramOutput
from connectors.telegram.updates import read_update
from connectors.telegram.webhook import REGISTRATION_RETRY, register_in_background
from connectors.user_input import DEFAULT_MAX_MESSAGE_CHARS, OfferedPayloads

__all__ = ["CHANNEL_NAME", "SECRET_HEADER", "TelegramInput", "TelegramOutput"]

logger = logging.getLogger(__name__)

# A Redis server that stops answering must not stall the updates: after this
# many seconds a call fails, and the channel goes on without de-duplication.
REDIS_TIMEOUT_SECONDS = 5.0

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Largest update body read. Telegram's updates are a few kilobytes; a text
# message is at most 4096 characters.
MAX_UPDATE_BYTES = 1024 * 1024

# Seconds between two warnings about rejected requests; the ones between
# are counted in the next warning.
REJECTION_LOG_INTERVAL_SECONDS = 60.0

# Seconds that the shutdown waits for updates being handled.
SHUTDOWN_GRACE_SECONDS = 5.0


class TelegramInput(InputChannel):
    """Telegram channel: the webhook endpoint, the start-up registration and the update handling.

    Args:
        settings: the bot's settings; an empty token turns the channel off.
        handoff_bridge: the human handoff; None turns it off, and every
            message then goes to Rasa.
        max_message_chars: maximum length of a text handed to Rasa.
        max_messages_per_minute: messages a chat may send in one minute
            (`connectors.rate_limit`); 0 turns the limit off.
        key_prefix: prefix of the channel's Redis keys (update ids, stored
            button payloads); None names the bot.
        retry: retry policy of the replies.
        registration_retry: retry policy of the webhook registration.
        register_at_start: whether the server start registers the webhook.
    """

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Create the channel from its block of credentials.yml.

        The human handoff is on unless the block sets ``handoff: false``; it
        reads its settings (HANDOFF_DATABASE_URL, REDIS_URL) from the
        environment. An empty token gives a channel that is off but lets
        Rasa start.
        """
        credentials = credentials or {}
        settings = TelegramSettings.from_mapping(credentials)
        if not settings.enabled:
            logger.warning(
                "%s is empty: the Telegram channel is off and its webhook responds with 503.", TOKEN_VARIABLE
            )
            return cls(settings)
        problem = settings.secret_token_problem()
        if problem is not None:
            logger.error("The Telegram channel is off, its webhook responds with 503: %s.", problem)

        bridge = None
        if str(credentials.get("handoff", "true")).strip().lower() not in ("false", "0", "no", "off"):
            bridge = HandoffBridge.from_environment()
            bridge.check_database()
        return cls(
            settings,
            handoff_bridge=bridge,
            max_message_chars=int(credentials.get("max_message_chars") or DEFAULT_MAX_MESSAGE_CHARS),
            max_messages_per_minute=limit_from_setting(credentials.get("max_messages_per_minute")),
        )

    def __init__(
        self,
        settings: TelegramSettings,
        handoff_bridge: Optional[HandoffBridge] = None,
        max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
        max_messages_per_minute: int = DEFAULT_MAX_MESSAGES_PER_MINUTE,
        key_prefix: Optional[Text] = None,
        retry: RetryPolicy = RetryPolicy(),
        registration_retry: RetryPolicy = REGISTRATION_RETRY,
        register_at_start: bool = True,
    ) -> None:
        self.settings = settings
        self.handoff_bridge = handoff_bridge
        self.max_message_chars = max_message_chars
        self.max_messages_per_minute = max_messages_per_minute
        self.key_prefix = key_prefix or f"seconde_chance:telegram:{settings.bot_id}:"
        self.registration_retry = registration_retry
        self.register_at_start = register_at_start
        self.client = TelegramClient(settings, retry)
        self.handler: Optional[UpdateHandler] = None
        self.deduplicator: Optional[UpdateDeduplicator] = None
        self.registration: Optional["asyncio.Task[Optional[bool]]"] = None
        self._tasks: Set["asyncio.Task[None]"] = set()
        self._chat_locks = _ChatLocks()
        self._rejections = _RejectionLog()

    @property
    def ready(self) -> bool:
        """Whether the webhook accepts updates: a token and a valid secret token are set."""
        return self.settings.enabled and self.settings.secret_token_problem() is None

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Return an output channel, used by Rasa's API to reach this channel."""
        if self.handler is None:
            return None
        return self.handler.output()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Create the Sanic blueprint of the webhook, with the start-up registration."""
        telegram_webhook = Blueprint("telegram_webhook")

        if self.settings.enabled:
            redis_client = aioredis.Redis.from_url(
                self.settings.redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            buttons = CallbackButtons(redis_client, OfferedPayloads(redis_client, CHANNEL_NAME), self.key_prefix)
            self.deduplicator = UpdateDeduplicator(redis_client, self.key_prefix)
            self.handler = UpdateHandler(
                self.client, buttons, on_new_message, self.handoff_bridge, self.max_message_chars,
                RateLimit(redis_client, CHANNEL_NAME, self.max_messages_per_minute),
            )

        @telegram_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.ready else "off"})

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return self.receive(request)

        @telegram_webhook.listener("after_server_start")
        async def start_registration(app: Any, loop: Any) -> None:
            if self.ready and self.register_at_start:
                self.registration = asyncio.ensure_future(
                    register_in_background(self.client, self.registration_retry)
                )

        @telegram_webhook.listener("before_server_stop")
        async def stop(app: Any, loop: Any) -> None:
            await self.shutdown()

        return telegram_webhook

    def receive(self, request: Request) -> HTTPResponse:
        """Check one webhook request and start handling its update; return the HTTP response."""
        if not self.ready or self.handler is None:
            return response.json(
                {"error": "The Telegram channel is off: its bot token or secret token is not configured."},
                status=503,
            )

        received = request.headers.get(SECRET_HEADER)
        if received is None:
            self._rejections.record("the secret token header is missing")
            return response.json({"error": "Missing secret token header."}, status=403)
        # Bytes, because compare_digest rejects non-ASCII strings.
        if not hmac.compare_digest(
            received.encode("utf-8", "surrogateescape"), self.settings.secret_token.encode("utf-8")
        ):
            self._rejections.record("the secret token is wrong")
            return response.json({"error": "Invalid secret token."}, status=403)

        body = request.body or b""
        if len(body) > MAX_UPDATE_BYTES:
            logger.warning("Rejected a Telegram update of %d bytes, above the limit.", len(body))
            return response.json({"error": "Update too large."}, status=413)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as error:
            logger.warning("Rejected a Telegram update that is not valid JSON: %s", type(error).__name__)
            return response.json({"error": "The body is not valid JSON."}, status=400)
        if not isinstance(data, dict):
            logger.warning("Rejected a Telegram update that is not a JSON object.")
            return response.json({"error": "The body is not a JSON object."}, status=400)

        task = asyncio.ensure_future(self.process(data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return response.json({"status": "ok"})

    async def process(self, data: Dict[Text, Any]) -> None:
        """Read, de-duplicate and handle one update; every error is logged, none raised."""
        try:
            event = read_update(data)
            chat_id = getattr(event, "chat_id", None)
            async with self._chat_locks.hold(chat_id):
                assert self.handler is not None and self.deduplicator is not None
                if event.update_id is not None and not await self.deduplicator.first_delivery(event.update_id):
                    logger.info("Update %s arrived again; the copy is dropped.", event.update_id)
                    return
                await self.handler.handle(event)
        except Exception:
            logger.exception("Handling a Telegram update failed.")

    async def shutdown(self) -> None:
        """Stop the registration, wait a little for updates being handled, and close the Bot API client."""
        if self.registration is not None and not self.registration.done():
            self.registration.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE_SECONDS)
        await self.client.close()


class _ChatLocks:
    """One lock per chat, so that the updates of a chat are handled in their arrival order.

    asyncio locks wake waiters first in, first out, and tasks start in the
    order they were created, which is the order the updates arrived.
    """

    def __init__(self) -> None:
        self._locks: Dict[int, asyncio.Lock] = {}
        self._holders: Dict[int, int] = {}

    @asynccontextmanager
    async def hold(self, chat_id: Optional[int]) -> AsyncIterator[None]:
        if chat_id is None:
            yield
            return
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._holders[chat_id] = self._holders.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._holders[chat_id] -= 1
            if self._holders[chat_id] == 0:
                del self._holders[chat_id]
                del self._locks[chat_id]


class _RejectionLog:
    """Logs rejected webhook requests at most once per interval, with the count of those not logged."""

    def __init__(self, interval: float = REJECTION_LOG_INTERVAL_SECONDS) -> None:
        self._interval = interval
        self._last_logged = float("-inf")
        self._unlogged = 0

    def record(self, reason: Text) -> None:
        now = time.monotonic()
        if now - self._last_logged < self._interval:
            self._unlogged += 1
            return
        suffix = f" ({self._unlogged} more rejected since the last warning)" if self._unlogged else ""
        logger.warning("Rejected a Telegram webhook request with 403: %s%s.", reason, suffix)
        self._last_logged = now
        self._unlogged = 0
