"""Fuzz tests of the update parser and of the webhook endpoint, with Hypothesis.

The parser gets random JSON values and sample updates with random fields
replaced or removed; it must never raise. The endpoint, served for real in
its own thread with real Redis and the fake Bot API, gets the same payloads
and truncated ones: it must never respond with 5xx, and handling the updates in the
background must never log an unexpected exception.
"""

from __future__ import annotations

import asyncio
import copy
import http.client
import json
import logging
import random
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.telegram.channel import SECRET_HEADER, TelegramInput
from connectors.telegram.client import RetryPolicy
from connectors.telegram.updates import Event, read_update
from connectors.user_input import OfferedPayloads
from tests.connectors.servers import LoopThread
from tests.connectors.telegram.fake_bot_api import ThreadedFakeBotApi
from tests.connectors.telegram.server import (
    FIXTURES_DIR,
    SECRET,
    WEBHOOK_PATH,
    ScriptedRasa,
    bot_settings,
    serve_telegram,
)

SAMPLES = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(FIXTURES_DIR.glob("*.json"))}
SAMPLE_TEXTS = [json.dumps(sample, ensure_ascii=False) for sample in SAMPLES.values()]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)


def _paths(value: Any, prefix: Tuple = ()) -> List[Tuple]:
    """Return the path of every value inside a JSON value."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, prefix + (key,)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, prefix + (index,)))
    return found


@st.composite
def mutated_samples(draw: st.DrawFn) -> Dict[str, Any]:
    """A sample update with a few of its values replaced by random ones or removed."""
    update = copy.deepcopy(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(update)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = update
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return update


@st.composite
def truncated_samples(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(SAMPLE_TEXTS)).encode("utf-8")
    return text[: draw(st.integers(min_value=0, max_value=len(text) - 1))]


# ---------------------------------------------------------------- Parser


def check_event(event: Event) -> None:
    update_id = event.update_id
    assert update_id is None or (isinstance(update_id, int) and not isinstance(update_id, bool))
    chat_id = getattr(event, "chat_id", None)
    assert chat_id is None or (isinstance(chat_id, int) and not isinstance(chat_id, bool))
    for name in ("text", "data", "kind", "caption", "callback_query_id", "name"):
        value = getattr(event, name, "")
        assert value is None or isinstance(value, str)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_parser_random_json(value):
    check_event(read_update(value))


@settings(max_examples=600, deadline=None)
@given(mutated_samples())
def test_parser_mutated_samples(update):
    check_event(read_update(update))


# ---------------------------------------------------------------- Endpoint


class _ErrorRecorder(logging.Handler):
    """Keeps the records of unexpected exceptions."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.name == "asyncio":
            self.records.append(record)


class ServedChannel:
    """The channel served by Sanic in its own thread and event loop, with the fake Bot API in another."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.key_prefix = f"seconde_chance_test_fuzz_{random.randrange(16**12):012x}:"
        self.api = ThreadedFakeBotApi()
        self.loop_thread = LoopThread("telegram-fuzz")
        self.channel: TelegramInput
        self.port = 0
        self._serving: Any = None

    def start(self) -> "ServedChannel":
        self.api.start()
        self.loop_thread.start()
        self.channel = TelegramInput(
            bot_settings(self.api.url, self.redis_url),
            key_prefix=self.key_prefix,
            retry=RetryPolicy(attempts=1),
            register_at_start=False,
        )
        self._serving = serve_telegram(self.channel, ScriptedRasa())
        url = self.loop_thread.run(self._serving.__aenter__(), timeout=30)
        self.port = int(url.split(":")[2].split("/")[0])
        return self

    def wait_idle(self, timeout: float = 30) -> None:
        """Wait until every update handled in the background is done."""

        async def idle() -> None:
            while self.channel._tasks:
                await asyncio.wait(set(self.channel._tasks), timeout=timeout)

        self.loop_thread.run(idle(), timeout=timeout + 5)

    def stop(self) -> None:
        self.wait_idle()
        self.loop_thread.run(self._serving.__aexit__(None, None, None), timeout=30)
        self.loop_thread.stop()
        self._clean_redis()
        self.api.stop()

    def _clean_redis(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            keys = list(client.scan_iter(match=f"{self.key_prefix}*"))
            chats = {call.params.get("chat_id") for call in self.api.calls_to("sendMessage")}
            keys += [OfferedPayloads(client, "telegram")._key(str(chat)) for chat in chats]
            if keys:
                client.delete(*keys)
        finally:
            client.close()

    def post(self, body: bytes, secret: str = SECRET) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(
                "POST", WEBHOOK_PATH, body=body, headers={"Content-Type": "application/json", SECRET_HEADER: secret}
            )
            return connection.getresponse().status
        finally:
            connection.close()


@pytest.fixture(scope="module")
def served(redis_url: str) -> Iterator[ServedChannel]:
    served_channel = ServedChannel(redis_url).start()
    yield served_channel
    served_channel.stop()


@pytest.fixture(scope="module")
def errors() -> Iterator[_ErrorRecorder]:
    recorder = _ErrorRecorder()
    logging.getLogger().addHandler(recorder)
    yield recorder
    logging.getLogger().removeHandler(recorder)


def _body(update: Any, update_id: int) -> bytes:
    if isinstance(update, dict):
        update = {**update, "update_id": update_id}
    return json.dumps(update).encode()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(update=mutated_samples(), update_id=st.integers(min_value=1, max_value=2**40))
def test_endpoint_mutated_samples(served, errors, update, update_id):
    assert served.post(_body(update, update_id)) == 200


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_endpoint_random_json(served, errors, value):
    status = served.post(json.dumps(value).encode())
    assert status == (200 if isinstance(value, dict) else 400)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=truncated_samples())
def test_endpoint_truncated_payloads(served, errors, body):
    assert served.post(body) == 400


# Header values that HTTP can carry: Latin-1 without control characters.
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=30
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=300), secret=st.one_of(header_values, st.just(SECRET)))
def test_endpoint_random_bytes_and_secrets(served, errors, body, secret):
    status = served.post(body, secret=secret)
    # HTTP drops the spaces around a header value.
    if secret.strip(" \t") != SECRET:
        assert status == 403
    else:
        assert status in (200, 400)


def test_no_unexpected_exception_logged(served, errors):
    # Runs after the fuzz tests of this module, once their updates are handled.
    served.wait_idle()
    assert [record.getMessage() for record in errors.records] == []
    assert served.api.calls_to("sendMessage"), "the fuzzed updates produced no reply at all"
