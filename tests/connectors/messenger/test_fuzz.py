"""Fuzz tests of the webhook parser and of the webhook endpoint (Hypothesis).

The inputs are random JSON, webhook-shaped bodies with random values,
fixtures with one value replaced or removed, and truncated fixtures. The
parser returns or raises `WebhookError` only. The endpoint responds with
200, 400 or 403, never a 5xx, and its background handling logs no
unexpected exception, even when the garbage carries a valid signature.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Iterator, List

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from connectors.messenger.channel import MessengerInput
from connectors.messenger.events import ParsedWebhook, WebhookError, parse_webhook
from connectors.messenger.ids import make_sender_id
from connectors.messenger.graph_api import GraphApiClient, RetryPolicy
from connectors.messenger.pages import load_pages
from connectors.user_input import OfferedPayloads
from tests.connectors.messenger.fake_graph_api import FakeGraphApi
from tests.connectors.messenger.helpers import (
    APP_SECRET,
    FIXTURES_DIR,
    PAGE_LYON,
    PAGE_NATIONAL,
    TOKEN_ENV,
    TOKENS,
    VERIFY_TOKEN,
    RecordingRasa,
    ThreadedServer,
    signed_headers,
    write_pages_file,
)

FIXTURES = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(FIXTURES_DIR.glob("*.json"))}
PSIDS = ["2468013579246801", "1357924680135792"]

ids = st.sampled_from([PAGE_NATIONAL, PAGE_LYON, *PSIDS, "abc", "", "12:34", "12_34", "0" * 40])
leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), ids,
                   st.integers(min_value=10**300, max_value=10**320))
json_values = st.recursive(
    leaves,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=20,
)


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(strategy, leaves)


payloads = maybe(st.sampled_from(["/greet", "/ask_counsellor", "/find_place", '/x{"a": 1}', "GET_STARTED"]))
coordinates = st.fixed_dictionaries({}, optional={"lat": maybe(st.floats()), "long": maybe(st.floats())})
attachments = st.fixed_dictionaries({}, optional={
    "type": maybe(st.sampled_from(["image", "audio", "video", "file", "location", "fallback", "template"])),
    "payload": maybe(st.fixed_dictionaries({}, optional={"url": leaves, "coordinates": maybe(coordinates),
                                                          "sticker_id": leaves})),
})
message_objects = st.fixed_dictionaries({}, optional={
    "mid": maybe(st.text(min_size=1, max_size=30)),
    "text": maybe(st.text(max_size=50)),
    "quick_reply": maybe(st.fixed_dictionaries({}, optional={"payload": payloads})),
    "attachments": maybe(st.lists(maybe(attachments), max_size=3)),
    "is_echo": leaves,
    "is_unsupported": leaves,
    "sticker_id": leaves,
})
party = maybe(st.fixed_dictionaries({"id": ids}))
events = st.fixed_dictionaries({}, optional={
    "sender": party,
    "recipient": party,
    "timestamp": leaves,
    "message": maybe(message_objects),
    "postback": maybe(st.fixed_dictionaries({}, optional={"mid": leaves, "title": leaves, "payload": payloads})),
    "reaction": maybe(st.fixed_dictionaries({}, optional={"mid": leaves, "action": leaves, "emoji": leaves})),
    "read": maybe(st.fixed_dictionaries({}, optional={"watermark": leaves})),
    "delivery": maybe(st.fixed_dictionaries({}, optional={"mids": maybe(st.lists(leaves, max_size=3)),
                                                           "watermark": leaves})),
})
entries = st.fixed_dictionaries({}, optional={"id": ids, "time": leaves,
                                              "messaging": maybe(st.lists(maybe(events), max_size=3))})
webhook_bodies = st.fixed_dictionaries({"object": maybe(st.just("page"))},
                                       optional={"entry": maybe(st.lists(maybe(entries), max_size=3))})


def paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Yield the path of every value inside a JSON document."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, prefix + (index,))


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> Any:
    """A fixture with one value replaced by a random one, or removed."""
    document = json.loads(json.dumps(FIXTURES[draw(st.sampled_from(sorted(FIXTURES)))]))
    path = draw(st.sampled_from(list(paths(document))))
    if not path:
        return draw(json_values)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return document


@st.composite
def truncated_fixtures(draw: st.DrawFn) -> bytes:
    """The bytes of a fixture cut at a random length."""
    body = json.dumps(FIXTURES[draw(st.sampled_from(sorted(FIXTURES)))], ensure_ascii=False).encode("utf-8")
    return body[: draw(st.integers(min_value=0, max_value=len(body) - 1))]


def check_parser(document: Any) -> None:
    try:
        parsed = parse_webhook(document)
    except WebhookError:
        return
    assert isinstance(parsed, ParsedWebhook)
    for event in parsed.events:
        assert event.page_id.isdigit()
        assert event.psid.isdigit()
        key = event.dedup_key
        assert key is None or isinstance(key, str)


# ---------------------------------------------------------------- parser


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parser_random_json(document):
    check_parser(document)


@settings(max_examples=500, deadline=None)
@given(webhook_bodies)
def test_parser_webhook_shaped(document):
    check_parser(document)


@settings(max_examples=300, deadline=None)
@given(mutated_fixtures())
def test_parser_mutated_fixtures(document):
    check_parser(document)


# ---------------------------------------------------------------- endpoint


class ErrorRecords(logging.Handler):
    """Keeps the error records of the channel's loggers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def server(tmp_path_factory, redis_url) -> Iterator[ThreadedServer]:
    """The webhook served from a thread, with a fake Graph API; module-scoped for Hypothesis."""
    key_prefix = f"seconde_chance_test_{uuid.uuid4().hex[:12]}:"
    graph_api = FakeGraphApi(dict(TOKENS), app_secret=APP_SECRET).start_in_thread()
    pages = load_pages(str(write_pages_file(tmp_path_factory.mktemp("pages"))), TOKEN_ENV)
    client = GraphApiClient(graph_api.base_url, RetryPolicy(attempts=1, request_timeout_seconds=5),
                            app_secret=APP_SECRET)
    channel = MessengerInput(app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, pages=pages, graph_api=client,
                             redis_url=redis_url, dedup_key_prefix=f"{key_prefix}event:",
                             window_key_prefix=f"{key_prefix}last_user:")
    rasa = RecordingRasa()
    errors = ErrorRecords()
    logging.getLogger("connectors.messenger").addHandler(errors)
    threaded = ThreadedServer(channel, rasa).start()
    threaded.errors = errors
    try:
        yield threaded
    finally:
        threaded.stop()
        graph_api.stop_thread()
        logging.getLogger("connectors.messenger").removeHandler(errors)
        cleanup = Redis.from_url(redis_url)
        registry = OfferedPayloads(None, "messenger")
        keys = list(cleanup.scan_iter(match=f"{key_prefix}*"))
        keys += [registry._key(make_sender_id(page, psid)) for page in (PAGE_NATIONAL, PAGE_LYON) for psid in PSIDS]
        cleanup.delete(*keys)
        cleanup.close()


def post_raw(server: ThreadedServer, body: bytes, headers: dict) -> int:
    return requests.post(server.url, data=body, headers=headers, timeout=30).status_code


def assert_no_handler_errors(server: ThreadedServer) -> None:
    server.drain()
    unexpected = [record for record in server.errors.records if record.exc_info]
    assert unexpected == [], [record.getMessage() for record in unexpected]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_endpoint_signed_garbage(server, body):
    assert post_raw(server, body, signed_headers(body)) in (200, 400)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=500), st.one_of(st.none(), st.text(max_size=80)))
def test_endpoint_unsigned_garbage(server, body, signature):
    headers = {} if signature is None else {"X-Hub-Signature-256": signature}
    try:
        status = post_raw(server, body, headers)
    except (requests.exceptions.InvalidHeader, ValueError, UnicodeEncodeError):
        return  # the HTTP client refuses to send this header value
    assert status == 403


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(webhook_bodies, mutated_fixtures(), json_values))
def test_endpoint_signed_json(server, document):
    body = json.dumps(document).encode("utf-8", "surrogatepass")
    assert post_raw(server, body, signed_headers(body)) in (200, 400)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(truncated_fixtures())
def test_endpoint_truncated_fixtures(server, body):
    assert post_raw(server, body, signed_headers(body)) == 400


def test_endpoint_handled_events_without_errors(server):
    # Runs after the fuzz tests of this module, whose events were handled in
    # the background, and sends one valid event so that it also runs alone.
    body = json.dumps(FIXTURES["text_message"]).encode("utf-8")
    assert post_raw(server, body, signed_headers(body)) == 200
    assert_no_handler_errors(server)
    assert server.rasa.messages
