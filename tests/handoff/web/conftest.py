"""Fixtures of the console tests: the real console process, a Rasa stand-in, an SMTP server, HTTP clients.

The console runs as `python -m handoff serve` on a free port of 127.0.0.1,
on a migrated SQLite file and the real Redis. Its Redis keys and its events
channel get a random prefix, so parallel runs and other tests do not see
each other's events or login counters. Rasa's tracker API is played by a
small HTTP server that records each request; e-mails go to a real aiosmtpd
server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import redis
from aiosmtpd.controller import Controller

from handoff import store
from handoff.db import dispose_engine, get_sessionmaker, upgrade_database
from handoff.models import Counsellor, Followup
from handoff.store import TranscriptEntry
from tests.handoff.conftest import TEST_PASSWORD
from tests.integration.stack import free_port

REPO_ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS_DIR = REPO_ROOT / "docs" / "screenshots"
SECRET_KEY = "cle-secrete-des-tests-de-la-console"
RASA_TOKEN = "jeton-rasa-des-tests"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')
_LOGIN_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


# ---------------------------------------------------------------- Rasa stand-in


class RasaStub:
    """An HTTP server standing in for Rasa's tracker API: it records every POST and responds with `status`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                stub.requests.append(
                    {
                        "path": parts.path,
                        "token": parse_qs(parts.query).get("token", [None])[0],
                        "json": json.loads(raw or b"null"),
                    }
                )
                body = b"{}"
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def requests_for(self, sender_id: str) -> list[dict[str, Any]]:
        """Return the recorded requests on the tracker of one sender."""
        return [r for r in self.requests if r["path"] == f"/conversations/{sender_id}/tracker/events"]


@pytest.fixture(scope="session")
def rasa_stub() -> Iterator[RasaStub]:
    stub = RasaStub()
    stub.thread.start()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()


# ---------------------------------------------------------------- SMTP server


class SmtpRecorder:
    """aiosmtpd handler that keeps the messages, or rejects them while `reject` is set."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.reject = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's naming
        if self.reject:
            return "554 Transaction failed"
        self.envelopes.append(envelope)
        return "250 Message accepted"


@dataclass
class SmtpServer:
    recorder: SmtpRecorder
    port: int


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer(recorder, port)
    controller.stop()


@pytest.fixture
def smtp(smtp_server) -> Iterator[SmtpServer]:
    """The SMTP server, accepting messages again after the test."""
    yield smtp_server
    smtp_server.recorder.reject = False


# ---------------------------------------------------------------- Console process


@dataclass
class ConsoleServer:
    """A console process and what a test needs to reach it."""

    url: str
    port: int
    database_url: str
    key_prefix: str
    events_channel: str
    env: dict[str, str]
    log_path: Path
    process: Optional[subprocess.Popen] = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    origin: str = field(init=False)

    def __post_init__(self) -> None:
        self.origin = self.url

    def start(self) -> None:
        """Start the process and wait until /healthz returns 200."""
        log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "handoff", "-v", "--database-url", self.database_url,
             "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        log_file.close()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"console exited with code {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        pytest.fail(f"console did not answer within {START_TIMEOUT_SECONDS} s:\n{self.log()}")

    def stop(self) -> None:
        """Stop the process with SIGTERM (SIGKILL if it hangs)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def session_factory(self):
        return get_sessionmaker(self.database_url)


def make_console(
    directory: Path, redis_url: str, rasa_url: str, smtp_port: int, extra_env: Optional[dict[str, str]] = None
) -> ConsoleServer:
    """Prepare (without starting) a console on a new migrated SQLite file."""
    database_url = f"sqlite:///{directory / 'handoff.sqlite3'}"
    upgrade_database(database_url)
    key_prefix = f"seconde_chance_test_{uuid.uuid4().hex[:12]}:"
    port = free_port()
    env = os.environ.copy()
    env.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "HANDOFF_SECRET_KEY": SECRET_KEY,
            "REDIS_URL": redis_url,
            "RASA_URL": rasa_url,
            "RASA_TOKEN": RASA_TOKEN,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_FROM": "Seconde chance <ne-pas-repondre@seconde-chance.test>",
            "HANDOFF_REDIS_KEY_PREFIX": key_prefix,
            "HANDOFF_EVENTS_CHANNEL": f"{key_prefix}events",
            "HANDOFF_COOKIE_SECURE": "0",
        }
    )
    env.pop("HANDOFF_FORCE_OPEN", None)
    env.update(extra_env or {})
    return ConsoleServer(
        url=f"http://127.0.0.1:{port}",
        port=port,
        database_url=database_url,
        key_prefix=key_prefix,
        events_channel=f"{key_prefix}events",
        env=env,
        log_path=directory / "console.log",
        redis_url=redis_url,
    )


def cleanup_console(console: ConsoleServer) -> None:
    """Stop the process, delete its Redis keys and close its database engine."""
    console.stop()
    client = redis.Redis.from_url(console.redis_url)
    keys = list(client.scan_iter(match=f"{console.key_prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
    dispose_engine(console.database_url)


@pytest.fixture(scope="session")
def console(tmp_path_factory, redis_url, rasa_stub, smtp_server) -> Iterator[ConsoleServer]:
    """The console shared by the tests that do not restart it."""
    server = make_console(tmp_path_factory.mktemp("console"), redis_url, rasa_stub.url, smtp_server.port)
    server.start()
    yield server
    cleanup_console(server)


@pytest.fixture(autouse=True)
def reset_login_counters(request) -> Iterator[None]:
    """Forget the failed logins of 127.0.0.1 between tests: every test logs in from that address."""
    yield
    if "console" in request.fixturenames:
        server: ConsoleServer = request.getfixturevalue("console")
        client = redis.Redis.from_url(server.redis_url)
        keys = list(client.scan_iter(match=f"{server.key_prefix}console:login_failures:*"))
        if keys:
            client.delete(*keys)
        client.close()


# ---------------------------------------------------------------- Data


class ConsoleData:
    """Writes test data to the console's database through the real store."""

    def __init__(self, database_url: str, password_hash: str) -> None:
        self.factory = get_sessionmaker(database_url)
        self.password_hash = password_hash

    def counsellor(self, display_name: str = "Conseiller", role: str = "counsellor", active: bool = True,
                   login: Optional[str] = None) -> str:
        """Create an account with TEST_PASSWORD and return its login (random unless given)."""
        login = login or f"c{uuid.uuid4().hex[:10]}"
        with self.factory() as session:
            session.add(
                Counsellor(
                    login=login,
                    display_name=display_name,
                    password_hash=self.password_hash,
                    role=role,
                    active=active,
                    failed_logins=0,
                )
            )
            session.commit()
        return login

    def counsellor_id(self, login: str) -> int:
        with self.factory() as session:
            return session.query(Counsellor).filter_by(login=login).one().id

    def escalate(self, *, urgent: bool = False, transcript: Optional[list[TranscriptEntry]] = None,
                 topic: str = "Recherche de formation", location: str = "Villeurbanne (69)",
                 sender_id: Optional[str] = None, channel: str = "widget") -> Any:
        """Queue a conversation with a short bot transcript and return it."""
        if transcript is None:
            transcript = [
                TranscriptEntry("user", "Bonjour, je cherche une formation"),
                TranscriptEntry("bot", "Je peux t'aider. Dans quelle ville ?"),
                TranscriptEntry("user", "je veux parler à quelqu'un"),
            ]
        with self.factory() as session:
            conversation = store.escalate(
                session,
                channel=channel,
                sender_id=sender_id or uuid.uuid4().hex,
                reason="distress" if urgent else "user_request",
                urgent=urgent,
                topic=topic,
                location_label=location,
                transcript=transcript,
            )
            session.commit()
            return conversation

    def claim(self, conversation_id: str, login: str) -> None:
        with self.factory() as session:
            store.claim(session, conversation_id, self.counsellor_id(login))
            session.commit()

    def close(self, conversation_id: str, login: str) -> None:
        with self.factory() as session:
            store.close(session, conversation_id, self.counsellor_id(login), "fin")
            session.commit()

    def add_user_message(self, conversation_id: str, text: str) -> int:
        with self.factory() as session:
            message = store.add_message(session, conversation_id, "user", text)
            session.commit()
            return message.id

    def refused_message(self, conversation_id: str, login: str, text: str, reason: str) -> int:
        """Store a counsellor message that the platform refused for good, as the console records it, and return its id."""
        with self.factory() as session:
            message = store.add_message(session, conversation_id, "counsellor", text, self.counsellor_id(login))
            store.record_delivery_failure(session, [message.id], reason, permanent=True)
            session.commit()
            return message.id

    def conversation(self, conversation_id: str) -> Any:
        with self.factory() as session:
            return store.get_conversation(session, conversation_id)

    def transcript(self, conversation_id: str) -> list[Any]:
        with self.factory() as session:
            return store.transcript(session, conversation_id)

    def followup(self, question: str = "Comment trouver une formation en alternance ?",
                 email: str = "jeune@example.test") -> Followup:
        with self.factory() as session:
            followup = store.create_followup(
                session, channel="widget", sender_id=uuid.uuid4().hex, email=email, question=question
            )
            session.commit()
            return followup

    def get_followup(self, followup_id: int) -> Followup:
        with self.factory() as session:
            return store.get_followup(session, followup_id)


@pytest.fixture
def data(console, test_password_hash) -> ConsoleData:
    return ConsoleData(console.database_url, test_password_hash)


# ---------------------------------------------------------------- HTTP client


class ConsoleClient:
    """An aiohttp client that behaves like the console's browser page: cookies, Origin, CSRF token."""

    def __init__(self, server: ConsoleServer) -> None:
        self.server = server
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf_token: Optional[str] = None

    async def __aenter__(self) -> "ConsoleClient":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.session.close()

    async def reconnect(self) -> None:
        """Drop the pooled connections and keep the cookies, as a browser does after a server restart."""
        jar = self.session.cookie_jar
        await self.session.close()
        self.session = aiohttp.ClientSession(cookie_jar=jar)

    def url(self, path: str) -> str:
        return f"{self.server.url}{path}"

    async def login(self, login: str, password: str = TEST_PASSWORD) -> aiohttp.ClientResponse:
        """Submit the login form like a browser; on success, read the CSRF token of the queue page."""
        async with self.session.get(self.url("/login")) as page:
            field_value = _LOGIN_FIELD.search(await page.text()).group(1)
        response = await self.session.post(
            self.url("/login"),
            data={"login": login, "password": password, "csrf_token": field_value},
            headers={"Origin": self.server.origin},
            allow_redirects=False,
        )
        await response.read()
        if response.status == 303:
            async with self.session.get(self.url("/")) as queue_page:
                self.csrf_token = _CSRF_META.search(await queue_page.text()).group(1)
        return response

    async def get(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        response = await self.session.get(self.url(path), allow_redirects=False, **kwargs)
        await response.read()
        return response

    async def post_json(self, path: str, data: Optional[dict] = None, *, csrf: bool = True,
                        origin: Optional[str] = "same") -> aiohttp.ClientResponse:
        headers = {"Accept": "application/json"}
        if csrf and self.csrf_token:
            headers["X-CSRF-Token"] = self.csrf_token
        if origin == "same":
            headers["Origin"] = self.server.origin
        elif origin is not None:
            headers["Origin"] = origin
        response = await self.session.post(self.url(path), json=data or {}, headers=headers, allow_redirects=False)
        await response.read()
        return response

    async def post_form(self, path: str, fields: dict[str, str], *, csrf: bool = True) -> aiohttp.ClientResponse:
        form = dict(fields)
        if csrf and self.csrf_token:
            form["csrf_token"] = self.csrf_token
        response = await self.session.post(
            self.url(path), data=form, headers={"Origin": self.server.origin}, allow_redirects=False
        )
        await response.read()
        return response

    async def websocket(self, conversation_id: Optional[str] = None, *, origin: Optional[str] = "same",
                        csrf: bool = True) -> aiohttp.ClientWebSocketResponse:
        params = {}
        if csrf and self.csrf_token:
            params["csrf_token"] = self.csrf_token
        if conversation_id:
            params["conversation"] = conversation_id
        return await self.session.ws_connect(
            self.url("/ws").replace("http://", "ws://"),
            params=params,
            origin=self.server.origin if origin == "same" else origin,
        )


async def next_ws_message(ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 5.0,
                          **fields: Any) -> dict[str, Any]:
    """Return the next WebSocket message of a type whose fields match, skipping the others."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {kind} message within {timeout} s")
        message = await ws.receive(timeout=remaining)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"socket closed or failed while waiting for {kind}: {message}")
        data = json.loads(message.data)
        if data.get("type") == kind and all(data.get(name) == value for name, value in fields.items()):
            return data
