"""Tests of handoff.rasa_client against a small real HTTP server on 127.0.0.1 that records requests."""

from __future__ import annotations

import logging
import socket

import pytest
from aiohttp import web

from handoff.rasa_client import RasaClient, RasaClientError

TOKEN = "jeton-secret"


class RecordingServer:
    """An aiohttp server that answers with the queued statuses (then 200) and records each request."""

    def __init__(self) -> None:
        self.requests = []
        self.statuses = []
        self.runner = None
        self.port = None

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            {
                "method": request.method,
                "raw_path": request.raw_path,
                "path": request.path,
                "token": request.query.get("token"),
                "json": await request.json(),
            }
        )
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({"events": []}, status=status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/conversations/{sender_id}/tracker/events", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def rasa_server():
    server = RecordingServer()
    await server.start()
    try:
        yield server
    finally:
        await server.runner.cleanup()


def client(url, **options):
    options.setdefault("backoff_seconds", 0.01)
    return RasaClient(url, TOKEN, **options)


async def test_pause_posts_event(rasa_server):
    async with client(rasa_server.url) as rasa:
        await rasa.pause("abc123")
    assert rasa_server.requests == [
        {
            "method": "POST",
            "raw_path": f"/conversations/abc123/tracker/events?token={TOKEN}",
            "path": "/conversations/abc123/tracker/events",
            "token": TOKEN,
            "json": {"event": "pause"},
        }
    ]


async def test_resume_posts_event(rasa_server):
    async with client(rasa_server.url) as rasa:
        await rasa.resume("abc123")
    assert rasa_server.requests[0]["json"] == {"event": "resume"}


async def test_sender_id_quoted(rasa_server):
    async with client(rasa_server.url) as rasa:
        await rasa.pause("a/b c?é#")
    raw_path = rasa_server.requests[0]["raw_path"]
    assert raw_path.startswith("/conversations/a%2Fb%20c%3F%C3%A9%23/tracker/events?")


async def test_no_token_no_query(rasa_server):
    async with RasaClient(rasa_server.url, None) as rasa:
        await rasa.pause("abc")
    assert rasa_server.requests[0]["token"] is None


async def test_retries_server_errors(rasa_server):
    rasa_server.statuses = [503, 500]
    async with client(rasa_server.url) as rasa:
        await rasa.resume("abc")
    assert len(rasa_server.requests) == 3


async def test_gives_up_after_three_retries(rasa_server):
    rasa_server.statuses = [500] * 10
    async with client(rasa_server.url) as rasa:
        with pytest.raises(RasaClientError) as caught:
            await rasa.resume("abc")
    assert caught.value.status == 500
    assert len(rasa_server.requests) == 4


async def test_client_error_not_retried(rasa_server, caplog):
    rasa_server.statuses = [401]
    with caplog.at_level(logging.DEBUG, logger="handoff.rasa_client"):
        async with client(rasa_server.url) as rasa:
            with pytest.raises(RasaClientError) as caught:
                await rasa.resume("abc")
    assert caught.value.status == 401
    assert len(rasa_server.requests) == 1
    assert TOKEN not in str(caught.value)


async def test_connection_refused_retried(caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with caplog.at_level(logging.WARNING, logger="handoff.rasa_client"):
        async with client(f"http://127.0.0.1:{port}") as rasa:
            with pytest.raises(RasaClientError) as caught:
                await rasa.pause("abc")
    retries = [record for record in caplog.records if "retry" in record.getMessage()]
    assert caught.value.status is None
    assert len(retries) == 3
    assert TOKEN not in caplog.text
    assert TOKEN not in str(caught.value)
