"""Calls to the Telegram Bot API through python-telegram-bot, with retries of transient failures.

Flood control (HTTP 429 with ``retry_after``), time-outs and network errors,
5xx responses included, are retried with exponential back-off. A
flood-control wait lasts the ``retry_after`` seconds that Telegram requests. Other refusals (400 Bad Request,
403 Forbidden, 401/404 invalid token) are raised at once, because sending
again gives the same answer.

The token is part of every Bot API URL, so it never reaches a log: httpx's
request log is lowered to WARNING, python-telegram-bot's (whose DEBUG records
contain the URLs and the webhook's secret token) to INFO, and error texts
pass through `TelegramSettings.redact`.
"""

import asyncio
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Awaitable, Callable, Optional, Sequence, Text, TypeVar, Union

from telegram import Bot, BotCommand, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ChatAction
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from connectors.telegram.config import TelegramSettings

logger = logging.getLogger(__name__)

# httpx logs every request URL at INFO, and Bot API URLs contain the token;
# PTB logs the URLs and every call's parameters at DEBUG.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("telegram").setLevel(logging.INFO)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a Bot API call is retried.

    Attributes:
        attempts: calls made in total before giving up.
        base_delay: seconds before the first retry; each next wait doubles.
        max_delay: maximum seconds of one back-off wait.
        max_retry_after: maximum flood-control wait, in seconds. When
            Telegram requests a longer one, the error is raised instead.
    """

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Return the wait in seconds after failed attempt number `attempt` (1-based)."""
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)


def retry_after_seconds(error: RetryAfter) -> float:
    """Return the wait that a flood-control error requests, in seconds."""
    with warnings.catch_warnings():
        # PTB 22 warns that the attribute becomes a timedelta in a later major version.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Union[int, float, timedelta] = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def is_transient(error: TelegramError) -> bool:
    """Return whether sending again may succeed: flood control, time-outs and network errors, 5xx included."""
    if isinstance(error, BadRequest):
        # BadRequest subclasses NetworkError in PTB, but a 400 stays a 400.
        return False
    return isinstance(error, (RetryAfter, NetworkError))


class TelegramClient:
    """One bot's Bot API client, created lazily in the running event loop.

    Args:
        settings: the bot's settings; `api_url` sets the Bot API base address.
        retry: the retry policy of every call.
        timeout: seconds allowed to connect, write and read each request.
    """

    def __init__(
        self, settings: TelegramSettings, retry: RetryPolicy = RetryPolicy(), timeout: float = 10.0
    ) -> None:
        self.settings = settings
        self.retry = retry
        self.timeout = timeout
        self._bot: Optional[Bot] = None

    @property
    def bot(self) -> Bot:
        """The python-telegram-bot `Bot`, created on first use."""
        if self._bot is None:
            request = HTTPXRequest(
                connection_pool_size=16,
                connect_timeout=self.timeout,
                read_timeout=self.timeout,
                write_timeout=self.timeout,
                pool_timeout=self.timeout,
            )
            self._bot = Bot(
                self.settings.token,
                base_url=f"{self.settings.api_url}/bot",
                base_file_url=f"{self.settings.api_url}/file/bot",
                request=request,
            )
        return self._bot

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._bot is not None:
            await self._bot.shutdown()
            self._bot = None

    def describe(self, error: BaseException) -> Text:
        """Describe an error for a log, without the token."""
        name = type(error).__name__
        text = str(error)
        # PTB's messages often start with the class name already ("Forbidden: bot was blocked…").
        return self.settings.redact(text if text.startswith(name) else f"{name}: {text}")

    async def call(
        self,
        method: Text,
        operation: Callable[[Bot], Awaitable[T]],
        retry: Optional[RetryPolicy] = None,
    ) -> T:
        """Run one Bot API call, retrying transient failures.

        Args:
            method: the Bot API method name, for logs.
            operation: coroutine function making the call with the bot.
            retry: a policy other than the client's.

        Raises:
            TelegramError: the last error, when it is not transient or the
                retries ran out.
        """
        policy = retry or self.retry
        attempt = 1
        while True:
            try:
                return await operation(self.bot)
            except TelegramError as error:
                if not is_transient(error) or attempt >= policy.attempts:
                    raise
                if isinstance(error, RetryAfter):
                    delay = retry_after_seconds(error)
                    if delay > policy.max_retry_after:
                        raise
                else:
                    delay = policy.backoff(attempt)
                logger.warning(
                    "Bot API call %s failed (attempt %d of %d), retrying in %.1f s: %s",
                    method,
                    attempt,
                    policy.attempts,
                    delay,
                    self.describe(error),
                )
            await asyncio.sleep(delay)
            attempt += 1

    async def send_message(
        self,
        chat_id: Union[int, Text],
        text: Text,
        *,
        parse_mode: Optional[Text] = None,
        reply_markup: Optional[InlineKeyboardMarkup] = None,
        disable_link_preview: bool = False,
    ) -> Message:
        """Send one text message (at most 4096 characters); see `call` for the retries."""
        preview = LinkPreviewOptions(is_disabled=True) if disable_link_preview else None
        # NOTE: a time-out after Telegram accepted the message makes the retry
        # send it a second time; the Bot API has no idempotency key.
        return await self.call(
            "sendMessage",
            lambda bot: bot.send_message(
                chat_id,
                text,
                parse_mode=parse_mode,
                reply_markup=reply_markup,
                link_preview_options=preview,
            ),
        )

    async def send_photo(self, chat_id: Union[int, Text], photo_url: Text) -> Message:
        """Send a photo by URL."""
        return await self.call("sendPhoto", lambda bot: bot.send_photo(chat_id, photo_url))

    async def send_typing(self, chat_id: Union[int, Text], retry: Optional[RetryPolicy] = None) -> bool:
        """Show "typing…" in the chat, for 5 seconds or until the next message."""
        return await self.call(
            "sendChatAction", lambda bot: bot.send_chat_action(chat_id, ChatAction.TYPING), retry
        )

    async def answer_callback_query(self, callback_query_id: Text, text: Optional[Text] = None) -> bool:
        """Call answerCallbackQuery for a button press, which stops the button's progress indicator."""
        return await self.call(
            "answerCallbackQuery",
            lambda bot: bot.answer_callback_query(callback_query_id, text=text),
        )

    async def set_webhook(
        self, url: Text, secret_token: Text, allowed_updates: Sequence[Text], retry: RetryPolicy
    ) -> bool:
        """Register the webhook URL and its secret token."""
        return await self.call(
            "setWebhook",
            lambda bot: bot.set_webhook(
                url, secret_token=secret_token, allowed_updates=list(allowed_updates)
            ),
            retry,
        )

    async def set_my_commands(self, commands: Sequence[BotCommand], retry: RetryPolicy) -> bool:
        """Set the command menu that Telegram apps show."""
        return await self.call("setMyCommands", lambda bot: bot.set_my_commands(list(commands)), retry)
