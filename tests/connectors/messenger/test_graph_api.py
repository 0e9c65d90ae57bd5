"""Tests of connectors.messenger.graph_api against the fake Graph API server."""

import asyncio
import hashlib
import hmac

import pytest

from connectors.messenger.graph_api import (
    GraphApiClient,
    GraphApiError,
    RetryPolicy,
    error_from_answer,
    retry_policy_from_environment,
)
from tests.connectors.messenger.conftest import FAST_RETRY
from tests.connectors.messenger.helpers import APP_SECRET
from tests.integration.stack import free_port

TOKEN = "jeton-page-nationale"
PSID = "2468013579246801"


async def test_send_message_wire_format(graph_api, graph_client):
    answer = await graph_client.send_message(TOKEN, PSID, {"text": "Bonjour"})
    assert answer["recipient_id"] == PSID
    assert answer["message_id"].startswith("m_fake_")
    [request] = graph_api.recorded()
    assert request.path == "/v19.0/me/messages"
    assert request.access_token == TOKEN
    assert request.appsecret_proof == hmac.new(APP_SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
    assert request.body == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "Bonjour"}}


async def test_send_message_with_tag(graph_api, graph_client):
    await graph_client.send_message(TOKEN, PSID, {"text": "Bonjour"}, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    [request] = graph_api.recorded()
    assert (request.messaging_type, request.tag) == ("MESSAGE_TAG", "HUMAN_AGENT")


async def test_send_action(graph_api, graph_client):
    await graph_client.send_action(TOKEN, PSID, "typing_on")
    [request] = graph_api.recorded()
    assert request.body == {"recipient": {"id": PSID}, "sender_action": "typing_on"}


async def test_no_proof_without_app_secret(graph_api):
    graph_api.app_secret = None
    client = GraphApiClient(graph_api.base_url, FAST_RETRY)
    try:
        await client.send_message(TOKEN, PSID, {"text": "Bonjour"})
    finally:
        await client.close()
    assert graph_api.recorded()[0].appsecret_proof is None


@pytest.mark.parametrize("status, code, transient_flag", [
    (500, 1, None),
    (503, 2, None),
    (429, 4, None),
    (400, 613, None),
    (400, 1200, None),
    (400, 17, None),
    (400, 32, None),
    (400, 9999, True),
])
async def test_transient_error_retried(graph_api, graph_client, status, code, transient_flag):
    graph_api.fail_next(status, code, times=2, is_transient=transient_flag)
    answer = await graph_client.send_message(TOKEN, PSID, {"text": "Bonjour"})
    assert answer["recipient_id"] == PSID
    assert [request.status for request in graph_api.recorded()] == [status, status, 200]


async def test_retries_run_out(graph_api, graph_client):
    graph_api.fail_next(500, 2, times=5)
    with pytest.raises(GraphApiError) as raised:
        await graph_client.send_message(TOKEN, PSID, {"text": "Bonjour"})
    assert raised.value.transient
    assert raised.value.status == 500
    assert len(graph_api.recorded()) == FAST_RETRY.attempts


@pytest.mark.parametrize("code, subcode", [(551, 1545041), (10, 2018278), (100, None), (200, 2018028)])
async def test_permanent_error_not_retried(graph_api, graph_client, code, subcode):
    graph_api.fail_next(400, code, subcode=subcode)
    with pytest.raises(GraphApiError) as raised:
        await graph_client.send_message(TOKEN, PSID, {"text": "Bonjour"})
    assert (raised.value.code, raised.value.subcode, raised.value.transient) == (code, subcode, False)
    assert raised.value.fbtrace_id == "AbCdEfGhIjK"
    assert len(graph_api.recorded()) == 1


async def test_invalid_token_is_permanent(graph_api, graph_client):
    with pytest.raises(GraphApiError) as raised:
        await graph_client.send_message("jeton-inconnu", PSID, {"text": "Bonjour"})
    assert raised.value.code == 190
    assert not raised.value.transient


async def test_invalid_message_rejected_by_fake(graph_api, graph_client):
    with pytest.raises(GraphApiError) as raised:
        await graph_client.send_message(TOKEN, PSID, {"text": "x" * 2001})
    assert raised.value.code == 100
    assert "2000" in raised.value.detail


async def test_slow_answer_times_out_and_retries(graph_api):
    graph_api.delay_seconds = 0.5
    client = GraphApiClient(graph_api.base_url, RetryPolicy(attempts=2, first_delay_seconds=0.01,
                                                            request_timeout_seconds=0.2), app_secret=APP_SECRET)
    try:
        with pytest.raises(GraphApiError) as raised:
            await client.send_message(TOKEN, PSID, {"text": "Bonjour"})
    finally:
        await client.close()
    assert raised.value.transient
    assert raised.value.status is None
    assert raised.value.detail.startswith("TimeoutError") or "Timeout" in raised.value.detail


async def test_connection_refused_is_transient_and_hides_token():
    client = GraphApiClient(f"http://127.0.0.1:{free_port()}/v19.0", RetryPolicy(attempts=2, first_delay_seconds=0.01))
    try:
        with pytest.raises(GraphApiError) as raised:
            await client.send_message(TOKEN, PSID, {"text": "Bonjour"})
    finally:
        await client.close()
    assert raised.value.transient
    assert TOKEN not in str(raised.value)


async def test_session_follows_event_loop(graph_api):
    client = GraphApiClient(graph_api.base_url, FAST_RETRY, app_secret=APP_SECRET)

    def in_new_loop():
        return asyncio.run(client.send_message(TOKEN, PSID, {"text": "Depuis une autre boucle"}))

    answer = await asyncio.to_thread(in_new_loop)
    assert answer["recipient_id"] == PSID
    await client.send_message(TOKEN, PSID, {"text": "Depuis la boucle du test"})
    await client.close()
    assert [request.text for request in graph_api.recorded()] == ["Depuis une autre boucle", "Depuis la boucle du test"]


@pytest.mark.parametrize("status, body, transient", [
    (502, None, True),
    (429, None, True),
    (400, None, False),
    (200, None, False),
    (400, {"error": {"code": 100, "is_transient": True}}, True),
    (400, {"error": {"code": True}}, False),
    (400, {"error": "texte"}, False),
])
def test_error_classification(status, body, transient):
    assert error_from_answer(status, body).transient is transient


def test_retry_delays_double_up_to_maximum():
    policy = RetryPolicy(first_delay_seconds=0.5, max_delay_seconds=1.5)
    assert [policy.delay(index) for index in range(4)] == [0.5, 1.0, 1.5, 1.5]


def test_retry_policy_from_environment():
    policy = retry_policy_from_environment({"MESSENGER_SEND_ATTEMPTS": "5", "MESSENGER_RETRY_DELAY_SECONDS": "0.2",
                                            "MESSENGER_REQUEST_TIMEOUT_SECONDS": "3"})
    assert (policy.attempts, policy.first_delay_seconds, policy.request_timeout_seconds) == (5, 0.2, 3.0)


def test_invalid_retry_setting_keeps_default(caplog):
    policy = retry_policy_from_environment({"MESSENGER_SEND_ATTEMPTS": "0", "MESSENGER_RETRY_DELAY_SECONDS": "vite"})
    assert policy == RetryPolicy()
    assert "MESSENGER_SEND_ATTEMPTS" in caplog.text
    assert "MESSENGER_RETRY_DELAY_SECONDS" in caplog.text


@pytest.mark.parametrize("url", ["graph.facebook.com/v19.0", "ftp://exemple.fr"])
def test_base_url_must_be_http(url):
    with pytest.raises(ValueError):
        GraphApiClient(url)


def test_default_base_url():
    assert GraphApiClient("").base_url == "https://graph.facebook.com/v19.0"
    assert GraphApiClient("http://127.0.0.1:9/v19.0/").base_url == "http://127.0.0.1:9/v19.0"
