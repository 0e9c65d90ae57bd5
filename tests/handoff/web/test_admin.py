"""Tests of the canned replies: administrators manage them, counsellors insert them."""

from __future__ import annotations

from sqlalchemy import select

from handoff.models import CannedReply

from .conftest import ConsoleClient


def replies(data) -> dict[str, str]:
    with data.factory() as session:
        return {reply.title: reply.text for reply in session.execute(select(CannedReply)).scalars()}


async def test_counsellor_denied_canned_admin(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        page = await client.get("/admin/canned-replies")
        html = await page.text()
        create = await client.post_form("/admin/canned-replies", {"title": "Pirate", "text": "non"})
    assert page.status == 403
    assert "Cette page est réservée aux administrateurs." in html
    assert create.status == 403
    assert "Pirate" not in replies(data)


async def test_counsellor_nav_hides_admin_link(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        html = await (await client.get("/")).text()
    assert "/admin/canned-replies" not in html


async def test_admin_creates_updates_deletes(console, data):
    admin = data.counsellor("Admin", role="admin")
    async with ConsoleClient(console) as client:
        await client.login(admin)
        created = await client.post_form(
            "/admin/canned-replies", {"title": "Accueil admin", "text": "Bonjour, je suis conseiller."}
        )
        reply_id = next(r.id for r in _rows(data) if r.title == "Accueil admin")
        updated = await client.post_form(
            f"/admin/canned-replies/{reply_id}", {"title": "Accueil admin", "text": "Bonjour, je t'écoute."}
        )
        after_update = replies(data)["Accueil admin"]
        deleted = await client.post_form(f"/admin/canned-replies/{reply_id}/delete", {})
    assert created.status == 303
    assert updated.status == 303
    assert after_update == "Bonjour, je t'écoute."
    assert deleted.status == 303
    assert "Accueil admin" not in replies(data)


def _rows(data):
    with data.factory() as session:
        return list(session.execute(select(CannedReply)).scalars())


async def test_admin_empty_title_rejected(console, data):
    admin = data.counsellor(role="admin")
    async with ConsoleClient(console) as client:
        await client.login(admin)
        response = await client.post_form("/admin/canned-replies", {"title": " ", "text": "texte"})
        html = await response.text()
    assert response.status == 400
    assert "Indiquez un titre" in html


async def test_canned_reply_offered_in_chat_escaped(console, data):
    admin = data.counsellor(role="admin")
    login = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, login)
    async with ConsoleClient(console) as admin_client:
        await admin_client.login(admin)
        await admin_client.post_form(
            "/admin/canned-replies", {"title": "Piège <img>", "text": "\"><script>alert(1)</script>"}
        )
    async with ConsoleClient(console) as client:
        await client.login(login)
        html = await (await client.get(f"/conversations/{conversation.id}")).text()
    assert "Piège &lt;img&gt;" in html
    assert 'data-text="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert "<script>alert(1)" not in html
