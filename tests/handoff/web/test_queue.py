"""Tests of the queue page, the queue API, claims and live queue updates."""

from __future__ import annotations

import asyncio

from handoff import events
from redis.asyncio import Redis

from .conftest import ConsoleClient, next_ws_message


async def test_queue_api_lists_urgent_first(console, data):
    login = data.counsellor()
    normal = data.escalate()
    urgent = data.escalate(urgent=True)
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.get("/api/queue")
        body = await response.json()
    ids = [conversation["id"] for conversation in body["conversations"]]
    assert ids.index(urgent.id) < ids.index(normal.id)
    first = body["conversations"][0]
    assert first["urgent"] is True


async def test_queue_api_hides_sender_id(console, data):
    login = data.counsellor()
    conversation = data.escalate(sender_id="identifiant-secret-de-la-plateforme")
    async with ConsoleClient(console) as client:
        await client.login(login)
        api = await client.get("/api/queue")
        page = await client.get("/")
        api_text = await api.text()
        page_text = await page.text()
    assert conversation.pseudonym in api_text
    assert conversation.pseudonym in page_text
    assert "identifiant-secret-de-la-plateforme" not in api_text
    assert "identifiant-secret-de-la-plateforme" not in page_text


async def test_queue_page_shows_row_details(console, data):
    login = data.counsellor()
    conversation = data.escalate(urgent=True, topic="Recherche d'apprentissage", location="Lille (59)")
    async with ConsoleClient(console) as client:
        await client.login(login)
        page = await client.get("/")
        html = await page.text()
    row = html.split(f'data-conversation-id="{conversation.id}"')[1].split("</tr>")[0]
    assert conversation.pseudonym in row
    assert "Urgent" in row
    assert "en attente depuis moins d&#39;une minute" in row
    assert "Site web" in row
    assert "Recherche d&#39;apprentissage" in row
    assert "Lille (59)" in row
    assert "En attente" in row
    assert "Prendre" in row


async def test_queue_page_counts_pending_followups(console, data):
    login = data.counsellor()
    data.followup()
    async with ConsoleClient(console) as client:
        await client.login(login)
        snapshot = await (await client.get("/api/queue")).json()
        html = await (await client.get("/")).text()
    count = snapshot["pending_followups"]
    assert count >= 1
    expected = "1 demande de réponse par e-mail en attente" if count == 1 else f"{count} demandes de réponse"
    assert expected in html
    assert 'href="/followups"' in html


async def test_claim_returns_redirect(console, data):
    login = data.counsellor("Alice")
    conversation = data.escalate()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_json(f"/conversations/{conversation.id}/claim")
        body = await response.json()
    assert response.status == 200
    assert body == {"redirect": f"/conversations/{conversation.id}"}
    stored = data.conversation(conversation.id)
    assert stored.status == "active"
    assert stored.counsellor_id == data.counsellor_id(login)


async def test_claim_form_redirects_to_chat(console, data):
    login = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_form(f"/conversations/{conversation.id}/claim", {})
    assert response.status == 303
    assert response.headers["Location"] == f"/conversations/{conversation.id}"


async def test_claim_race_one_winner(console, data):
    alice = data.counsellor("Alice Martin")
    bruno = data.counsellor("Bruno Petit")
    conversation = data.escalate()
    async with ConsoleClient(console) as first, ConsoleClient(console) as second:
        await first.login(alice)
        await second.login(bruno)
        responses = await asyncio.gather(
            first.post_json(f"/conversations/{conversation.id}/claim"),
            second.post_json(f"/conversations/{conversation.id}/claim"),
        )
        bodies = [await response.json() for response in responses]
    statuses = sorted(response.status for response in responses)
    assert statuses == [200, 409]
    winner_login = alice if responses[0].status == 200 else bruno
    winner_name = "Alice Martin" if winner_login == alice else "Bruno Petit"
    loser_body = bodies[1] if responses[0].status == 200 else bodies[0]
    assert loser_body == {"error": f"Cette conversation a déjà été prise par {winner_name}."}
    assert data.conversation(conversation.id).counsellor_id == data.counsellor_id(winner_login)
    notices = [m for m in data.transcript(conversation.id) if m.author == "system"]
    assert len(notices) == 1


async def test_claim_closed_conversation_410(console, data):
    owner = data.counsellor()
    login = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, owner)
    data.close(conversation.id, owner)
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_json(f"/conversations/{conversation.id}/claim")
        body = await response.json()
    assert response.status == 410
    assert body == {"error": "Cette conversation est terminée."}


async def test_claim_unknown_conversation_404(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_json(f"/conversations/{'0' * 32}/claim")
        malformed = await client.post_json("/conversations/pas-un-identifiant/claim")
    assert response.status == 404
    assert malformed.status == 404


async def test_websocket_sends_queue_on_connect(console, data):
    login = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(console) as client:
        await client.login(login)
        ws = await client.websocket()
        snapshot = await next_ws_message(ws, "queue")
        await ws.close()
    assert conversation.id in [c["id"] for c in snapshot["conversations"]]
    assert data.counsellor_id(login) in snapshot["online_ids"]


async def test_websocket_pushes_new_escalation(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        ws = await client.websocket()
        await next_ws_message(ws, "queue")
        conversation = data.escalate()
        redis = Redis.from_url(console.redis_url)
        await events.publish_queue_changed(redis, conversation.id, channel=console.events_channel)
        await redis.close()
        update = await next_ws_message(ws, "queue")
        await ws.close()
    assert conversation.id in [c["id"] for c in update["conversations"]]


async def test_websocket_pushes_claim_by_colleague(console, data):
    watcher = data.counsellor()
    taker = data.counsellor("Chloé")
    conversation = data.escalate()
    async with ConsoleClient(console) as watching, ConsoleClient(console) as taking:
        await watching.login(watcher)
        await taking.login(taker)
        ws = await watching.websocket()
        await next_ws_message(ws, "queue")
        await taking.post_json(f"/conversations/{conversation.id}/claim")
        while True:
            update = await next_ws_message(ws, "queue")
            row = next(c for c in update["conversations"] if c["id"] == conversation.id)
            if row["status"] == "active":
                break
        await ws.close()
    assert row["counsellor_name"] == "Chloé"
