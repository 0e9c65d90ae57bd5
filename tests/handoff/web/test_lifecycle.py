"""Tests of what outlives a page or a process: the disconnect grace period and a restart of the console."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from handoff import store
from handoff.models import Conversation

from .conftest import ConsoleClient, ConsoleData, cleanup_console, make_console, next_ws_message

GRACE_SECONDS = 2


@pytest.fixture
def fast_console(tmp_path, redis_url, rasa_stub, smtp_server):
    """A console with a 2 s grace period checked every 0.3 s, and a 0.3 s heartbeat."""
    server = make_console(
        tmp_path,
        redis_url,
        rasa_stub.url,
        smtp_server.port,
        {
            "HANDOFF_GRACE_SECONDS": str(GRACE_SECONDS),
            "HANDOFF_RELEASE_INTERVAL_SECONDS": "0.3",
            "HANDOFF_RELEASE_STARTUP_DELAY_SECONDS": "0",
            "HANDOFF_HEARTBEAT_SECONDS": "0.3",
        },
    )
    server.start()
    yield server
    cleanup_console(server)


async def wait_for_status(data: ConsoleData, conversation_id: str, status: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if data.conversation(conversation_id).status == status:
            return True
        await asyncio.sleep(0.2)
    return False


async def test_disconnected_counsellor_released(fast_console, test_password_hash):
    data = ConsoleData(fast_console.database_url, test_password_hash)
    login = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(fast_console) as client:
        await client.login(login)
        await client.post_json(f"/conversations/{conversation.id}/claim")
    assert await wait_for_status(data, conversation.id, "queued", GRACE_SECONDS + 5)
    messages = data.transcript(conversation.id)
    assert messages[-1].text == store.NOTICE_RELEASED
    assert [m.author for m in messages[:3]] == ["user", "bot", "user"]


async def test_connected_counsellor_kept(fast_console, test_password_hash):
    data = ConsoleData(fast_console.database_url, test_password_hash)
    login = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(fast_console) as client:
        await client.login(login)
        await client.post_json(f"/conversations/{conversation.id}/claim")
        ws = await client.websocket(conversation.id)
        await next_ws_message(ws, "queue")
        await asyncio.sleep(GRACE_SECONDS * 2)
        status = data.conversation(conversation.id).status
        await ws.close()
    assert status == "active"


async def test_release_pushed_to_queue_pages(fast_console, test_password_hash):
    data = ConsoleData(fast_console.database_url, test_password_hash)
    gone = data.counsellor()
    watcher = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(fast_console) as leaving, ConsoleClient(fast_console) as watching:
        await leaving.login(gone)
        await watching.login(watcher)
        await leaving.post_json(f"/conversations/{conversation.id}/claim")
        ws = await watching.websocket()
        deadline = time.monotonic() + GRACE_SECONDS + 5
        status = None
        while time.monotonic() < deadline and status != "queued":
            update = await next_ws_message(ws, "queue", timeout=GRACE_SECONDS + 5)
            status = next(c["status"] for c in update["conversations"] if c["id"] == conversation.id)
        await ws.close()
    assert status == "queued"


async def test_restart_keeps_queue_and_session(tmp_path, redis_url, rasa_stub, smtp_server, test_password_hash):
    server = make_console(tmp_path, redis_url, rasa_stub.url, smtp_server.port)
    data = ConsoleData(server.database_url, test_password_hash)
    login = data.counsellor("Alice")
    queued = data.escalate()
    claimed = data.escalate(urgent=True)
    server.start()
    try:
        async with ConsoleClient(server) as client:
            await client.login(login)
            await client.post_json(f"/conversations/{claimed.id}/claim")
            await client.post_json(f"/conversations/{claimed.id}/messages", {"text": "Je suis là."})

            server.stop()
            server.start()
            await client.reconnect()

            snapshot = await (await client.get("/api/queue")).json()
            page = await client.get("/")
            transcript = await (await client.get(f"/api/conversations/{claimed.id}")).json()
            reply = await client.post_json(f"/conversations/{claimed.id}/messages", {"text": "Toujours là."})
    finally:
        cleanup_console(server)
    ids = [c["id"] for c in snapshot["conversations"]]
    assert ids == [claimed.id, queued.id]
    assert page.status == 200
    assert queued.pseudonym in await page.text()
    assert [m["text"] for m in transcript["messages"]][-1] == "Je suis là."
    assert reply.status == 200


async def test_waiting_conversation_expires(fast_console, test_password_hash, rasa_stub):
    data = ConsoleData(fast_console.database_url, test_password_hash)
    waiting = data.escalate()
    urgent = data.escalate(urgent=True)
    recent = data.escalate()
    with data.factory() as session:
        for conversation_id in (waiting.id, urgent.id):
            session.get(Conversation, conversation_id).queued_at = datetime.now(timezone.utc) - timedelta(minutes=31)
        session.commit()

    assert await wait_for_status(data, waiting.id, "closed", 10)
    assert await wait_for_status(data, urgent.id, "closed", 10)
    assert data.conversation(recent.id).status == "queued"
    assert data.transcript(waiting.id)[-1].text == store.NOTICE_EXPIRED
    assert data.transcript(urgent.id)[-1].text == store.NOTICE_EXPIRED_URGENT
    appended = [request["json"] for request in rasa_stub.requests_for(data.conversation(waiting.id).sender_id)]
    assert any(event.get("event") == "resume" for event in appended if isinstance(event, dict))
