"""Registration of the channel's webhook with the Bot API, at start-up.

`register_webhook` calls setWebhook with the public URL, the secret token and
the update types the channel handles, then setMyCommands for the command
menu of the Telegram apps. Flood control (429, waiting ``retry_after``),
time-outs, network errors and 5xx responses are retried with exponential
back-off; a refusal (bad URL, invalid token) is logged and not retried.
Nothing here raises: a bot whose webhook is not registered yet must not stop
Rasa and the other channels.
"""

import asyncio
import logging
from typing import Optional

from telegram import BotCommand
from telegram.error import TelegramError

from connectors.telegram import messages
from connectors.telegram.client import RetryPolicy, TelegramClient

logger = logging.getLogger(__name__)

# Update types the channel handles; Telegram sends no others.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")

# About 25 minutes of attempts (1 s, 2 s, 4 s… then every 5 minutes) before
# giving up until the next start.
REGISTRATION_RETRY = RetryPolicy(attempts=12, base_delay=1.0, max_delay=300.0, max_retry_after=3600.0)


async def register_webhook(client: TelegramClient, retry: RetryPolicy = REGISTRATION_RETRY) -> bool:
    """Register the webhook and the command menu of the client's bot.

    Returns:
        Whether setWebhook succeeded. False when the webhook URL or the
        secret token is not configured, when Telegram refused, or when the
        retries ran out; the reason is logged.
    """
    settings = client.settings
    if not settings.webhook_url:
        logger.warning(
            "TELEGRAM_WEBHOOK_URL is empty: the Telegram webhook is not registered, "
            "so updates arrive only if it was registered before."
        )
        return False
    problem = settings.secret_token_problem()
    if problem is not None:
        logger.error("Telegram webhook not registered: %s.", problem)
        return False

    try:
        await client.set_webhook(settings.webhook_url, settings.secret_token, ALLOWED_UPDATES, retry)
    except TelegramError as error:
        logger.error(
            "Registering the Telegram webhook at %s failed; no update arrives until it is registered "
            "(restart the service, or check the URL and token): %s",
            settings.webhook_url,
            client.describe(error),
        )
        return False
    logger.info("Telegram webhook registered at %s.", settings.webhook_url)

    commands = [BotCommand(command, description) for command, description in messages.COMMANDS]
    try:
        await client.set_my_commands(commands, retry)
    except TelegramError as error:
        # The commands still work when typed; only the menu is missing.
        logger.warning("Setting the Telegram command menu failed: %s", client.describe(error))
    return True


async def register_in_background(client: TelegramClient, retry: RetryPolicy = REGISTRATION_RETRY) -> Optional[bool]:
    """Run `register_webhook`, logging any unexpected error instead of raising it.

    Returns:
        The result of `register_webhook`, or None when it failed unexpectedly.
    """
    try:
        return await register_webhook(client, retry)
    except asyncio.CancelledError:
        logger.info("Telegram webhook registration cancelled by the shutdown.")
        raise
    except Exception:
        logger.exception("Telegram webhook registration failed unexpectedly.")
        return None
