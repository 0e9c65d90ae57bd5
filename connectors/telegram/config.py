"""Settings of the Telegram channel, read from credentials.yml or from the environment.

The Rasa channel reads its block of credentials.yml, whose values Rasa fills
from the environment variables below. The handoff service's sender reads the
same variables directly, so both processes use the same bot.
"""

import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Text

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "TELEGRAM_BOT_TOKEN"
WEBHOOK_URL_VARIABLE = "TELEGRAM_WEBHOOK_URL"
SECRET_TOKEN_VARIABLE = "TELEGRAM_SECRET_TOKEN"
API_URL_VARIABLE = "TELEGRAM_API_URL"
REDIS_URL_VARIABLE = "REDIS_URL"

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

# The Bot API accepts 1 to 256 characters A-Z, a-z, 0-9, "_" and "-" as the
# secret token of setWebhook (Bot API documentation of setWebhook).
_SECRET_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class TelegramSettings:
    """Settings of one bot.

    Attributes:
        token: the bot token given by @BotFather; empty turns the channel off.
        webhook_url: public HTTPS address of the channel's webhook, registered
            with setWebhook at start-up; empty skips the registration.
        secret_token: the value Telegram sends in the
            ``X-Telegram-Bot-Api-Secret-Token`` header of every update.
        api_url: base address of the Bot API, without ``/bot<token>``; tests
            point it to a local fake.
        redis_url: Redis used for de-duplication and button payloads.
    """

    token: Text = ""
    webhook_url: Text = ""
    secret_token: Text = ""
    api_url: Text = DEFAULT_API_URL
    redis_url: Text = DEFAULT_REDIS_URL

    @classmethod
    def from_mapping(cls, values: Optional[Mapping[Text, Any]]) -> "TelegramSettings":
        """Read the settings from a credentials.yml block (keys token, webhook_url, secret_token, api_url, redis_url)."""
        values = values or {}
        return cls(
            token=_text(values.get("token")),
            webhook_url=_text(values.get("webhook_url")),
            secret_token=_text(values.get("secret_token")),
            api_url=_text(values.get("api_url")).rstrip("/") or DEFAULT_API_URL,
            redis_url=_text(values.get("redis_url")) or DEFAULT_REDIS_URL,
        )

    @classmethod
    def from_environment(cls, redis_url: Optional[Text] = None) -> "TelegramSettings":
        """Read the settings from the TELEGRAM_* variables; `redis_url` overrides REDIS_URL."""
        return cls.from_mapping(
            {
                "token": os.environ.get(TOKEN_VARIABLE),
                "webhook_url": os.environ.get(WEBHOOK_URL_VARIABLE),
                "secret_token": os.environ.get(SECRET_TOKEN_VARIABLE),
                "api_url": os.environ.get(API_URL_VARIABLE),
                "redis_url": redis_url or os.environ.get(REDIS_URL_VARIABLE),
            }
        )

    @property
    def enabled(self) -> bool:
        """Whether a bot token is set."""
        return bool(self.token)

    @property
    def bot_id(self) -> Text:
        """The bot's numeric id, the part of the token before ":" (not secret), or "bot" if the token has none."""
        head = self.token.split(":", 1)[0]
        return head if head.isdigit() else "bot"

    def secret_token_problem(self) -> Optional[Text]:
        """Return why the secret token cannot protect the webhook, or None when it is valid."""
        if not self.secret_token:
            return f"{SECRET_TOKEN_VARIABLE} is empty"
        if not _SECRET_TOKEN_PATTERN.match(self.secret_token):
            return (
                f"{SECRET_TOKEN_VARIABLE} must be 1 to 256 characters among A-Z, a-z, 0-9, '_' and '-'"
            )
        return None

    def redact(self, text: Text) -> Text:
        """Replace the bot token in a text (an error message, a URL) with "<token>"."""
        return text.replace(self.token, "<token>") if self.token else text


def _text(value: Any) -> Text:
    return str(value).strip() if value is not None else ""
