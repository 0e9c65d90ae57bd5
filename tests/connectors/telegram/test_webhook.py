"""Tests of connectors.telegram.webhook: the start-up registration against the fake Bot API."""

from __future__ import annotations

import asyncio
import logging
import time

from connectors.telegram import messages
from connectors.telegram.client import RetryPolicy, TelegramClient
from connectors.telegram.webhook import ALLOWED_UPDATES, register_in_background, register_webhook
from tests.connectors.telegram.fake_bot_api import FakeBotApi, Failure
from tests.connectors.telegram.server import SECRET, bot_settings

FAST_RETRY = RetryPolicy(attempts=6, base_delay=0.1, max_delay=0.4, max_retry_after=5.0)


def client_for(api_url: str, redis_url: str, **changes) -> TelegramClient:
    return TelegramClient(bot_settings(api_url, redis_url, **changes))


async def test_registers_url_secret_and_updates(fake_api, redis_url):
    client = client_for(fake_api.url, redis_url)
    assert await register_webhook(client, FAST_RETRY) is True
    await client.close()
    [call] = fake_api.calls_to("setWebhook")
    assert call.params["url"] == "https://seconde-chance.example.org/webhooks/telegram/webhook"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == list(ALLOWED_UPDATES)


async def test_sets_command_menu(fake_api, redis_url):
    client = client_for(fake_api.url, redis_url)
    await register_webhook(client, FAST_RETRY)
    await client.close()
    [call] = fake_api.calls_to("setMyCommands")
    assert call.params["commands"] == [
        {"command": command, "description": description} for command, description in messages.COMMANDS
    ]


async def test_flood_control_retried_after_wait(fake_api, redis_url):
    fake_api.fail_next("setWebhook", Failure(429, "Too Many Requests: retry after 1", retry_after=1))
    client = client_for(fake_api.url, redis_url)
    started = time.monotonic()
    assert await register_webhook(client, FAST_RETRY) is True
    await client.close()
    first, second = fake_api.calls_to("setWebhook")
    assert second.at - first.at >= 0.95
    assert time.monotonic() - started >= 0.95


async def test_refused_connection_retried(redis_url, caplog):
    caplog.set_level(logging.WARNING, logger="connectors.telegram.client")
    api = FakeBotApi()
    client = client_for(api.url, redis_url)
    registration = asyncio.ensure_future(register_webhook(client, FAST_RETRY))
    # Nothing listens yet: the first attempts get "connection refused".
    await asyncio.sleep(0.35)
    assert not registration.done()
    await api.start()
    try:
        assert await asyncio.wait_for(registration, 10) is True
        assert len(api.calls_to("setWebhook")) == 1
    finally:
        await client.close()
        await api.stop()
    assert "setWebhook failed (attempt 1 of 6)" in caplog.text
    assert "NetworkError" in caplog.text


async def test_server_errors_retried(fake_api, redis_url):
    fake_api.fail_next("setWebhook", Failure(502, "Bad Gateway"), times=2)
    client = client_for(fake_api.url, redis_url)
    assert await register_webhook(client, FAST_RETRY) is True
    await client.close()
    assert len(fake_api.calls_to("setWebhook")) == 3


async def test_refusal_not_retried(fake_api, redis_url, caplog):
    caplog.set_level(logging.ERROR, logger="connectors.telegram.webhook")
    fake_api.fail_next("setWebhook", Failure(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"))
    client = client_for(fake_api.url, redis_url)
    assert await register_webhook(client, FAST_RETRY) is False
    await client.close()
    assert len(fake_api.calls_to("setWebhook")) == 1
    # PTB rewrites the case of Telegram's descriptions.
    assert "an https url must be provided" in caplog.text.lower()


async def test_retries_exhausted_not_raised(fake_api, redis_url, caplog):
    caplog.set_level(logging.ERROR, logger="connectors.telegram.webhook")
    fake_api.fail_next("setWebhook", Failure(500, "Internal Server Error"), times=10)
    client = client_for(fake_api.url, redis_url)
    assert await register_webhook(client, FAST_RETRY) is False
    await client.close()
    assert len(fake_api.calls_to("setWebhook")) == FAST_RETRY.attempts
    assert "Registering the Telegram webhook" in caplog.text


async def test_secrets_never_logged(fake_api, redis_url, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_for(fake_api.url, redis_url, token="987654:wrong-token-value")
    assert await register_webhook(client, FAST_RETRY) is False
    await client.close()
    # The fake server's access log is the test's own; every other record counts.
    logged = [record.getMessage() for record in caplog.records if not record.name.startswith("aiohttp")]
    assert logged
    assert not [line for line in logged if "wrong-token-value" in line]
    assert not [line for line in logged if SECRET in line]


async def test_empty_webhook_url_skipped(fake_api, redis_url, caplog):
    caplog.set_level(logging.WARNING, logger="connectors.telegram.webhook")
    client = client_for(fake_api.url, redis_url, webhook_url="")
    assert await register_webhook(client, FAST_RETRY) is False
    await client.close()
    assert fake_api.calls == []
    assert "TELEGRAM_WEBHOOK_URL is empty" in caplog.text


async def test_invalid_secret_skipped(fake_api, redis_url):
    client = client_for(fake_api.url, redis_url, secret_token="a b")
    assert await register_webhook(client, FAST_RETRY) is False
    await client.close()
    assert fake_api.calls == []


async def test_command_menu_failure_still_registered(fake_api, redis_url):
    fake_api.fail_next("setMyCommands", Failure(400, "Bad Request: invalid command"))
    client = client_for(fake_api.url, redis_url)
    assert await register_webhook(client, FAST_RETRY) is True
    await client.close()


async def test_invalid_answer_not_raised(redis_url):
    # A server that responds 200 with a body that is not JSON.
    from aiohttp import web

    from tests.integration.stack import free_port

    async def garbage(_: web.Request) -> web.Response:
        return web.Response(text="<html>proxy error</html>")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", garbage)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    client = client_for(f"http://127.0.0.1:{port}", redis_url)
    try:
        assert await register_in_background(client, FAST_RETRY) is False
    finally:
        await client.close()
        await runner.cleanup()


async def test_background_registration_cancellable(redis_url):
    api = FakeBotApi()  # never started: every attempt is refused
    client = client_for(api.url, redis_url)
    task = asyncio.ensure_future(register_in_background(client, FAST_RETRY))
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    await client.close()
