"""Tests of the e-mail follow-up page, with a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import email
import re
from email import policy

from .conftest import ConsoleClient


def sent_to(smtp, address: str):
    return [envelope for envelope in smtp.recorder.envelopes if address in envelope.rcpt_tos]


async def test_followups_page_lists_pending(console, data):
    login = data.counsellor()
    followup = data.followup(question="Je voudrais passer le <b>CAP</b> cuisine.", email="secret@example.test")
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.get("/followups")
        html = await response.text()
    assert response.status == 200
    assert followup.pseudonym in html
    assert "Je voudrais passer le &lt;b&gt;CAP&lt;/b&gt; cuisine." in html
    assert "secret@example.test" not in html


async def test_followup_answered_by_email(console, data, smtp):
    login = data.counsellor("Alice")
    address = "lea.answer@example.test"
    followup = data.followup(question="Où faire un BTS ?", email=address)
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_form(
            f"/followups/{followup.id}/answer", {"answer": "Tu peux regarder les BTS près de chez toi."}
        )
        page = await client.get("/followups?done=answered")
        html = await page.text()
    assert response.status == 303
    assert response.headers["Location"] == "/followups?done=answered"
    envelopes = sent_to(smtp, address)
    assert len(envelopes) == 1
    message = email.message_from_bytes(envelopes[0].content, policy=policy.default)
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Tu peux regarder les BTS près de chez toi." in body
    assert "Où faire un BTS ?" in body
    stored = data.get_followup(followup.id)
    assert stored.status == "answered"
    assert stored.email is None
    assert stored.answer == "Tu peux regarder les BTS près de chez toi."
    assert "Réponse envoyée par e-mail" in html


async def test_followup_smtp_failure_keeps_pending(console, data, smtp):
    login = data.counsellor()
    address = "refus@example.test"
    followup = data.followup(email=address)
    smtp.recorder.reject = True
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_form(f"/followups/{followup.id}/answer", {"answer": "Voici ma réponse."})
        html = await response.text()
    assert response.status == 502
    assert "L&#39;e-mail n&#39;a pas pu être envoyé" in html
    assert "Voici ma réponse." in html
    stored = data.get_followup(followup.id)
    assert stored.status == "pending"
    assert stored.email == address


async def test_followup_empty_answer_400(console, data, smtp):
    login = data.counsellor()
    followup = data.followup()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_form(f"/followups/{followup.id}/answer", {"answer": "   "})
        html = await response.text()
    assert response.status == 400
    assert "La réponse est vide." in html
    assert data.get_followup(followup.id).status == "pending"


async def test_followup_cancelled(console, data):
    login = data.counsellor()
    followup = data.followup()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_form(f"/followups/{followup.id}/cancel", {})
        again = await client.post_form(f"/followups/{followup.id}/answer", {"answer": "trop tard"})
        again_html = await again.text()
    assert response.status == 303
    stored = data.get_followup(followup.id)
    assert stored.status == "cancelled"
    assert stored.email is None
    assert again.status == 409
    assert "déjà été traitée" in again_html


async def test_followup_answer_without_csrf_403(console, data, smtp):
    login = data.counsellor()
    address = "sans-jeton@example.test"
    followup = data.followup(email=address)
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_form(f"/followups/{followup.id}/answer", {"answer": "réponse"}, csrf=False)
    assert response.status == 403
    assert sent_to(smtp, address) == []
    assert data.get_followup(followup.id).status == "pending"


async def test_followups_page_forms_carry_csrf(console, data):
    login = data.counsellor()
    data.followup()
    async with ConsoleClient(console) as client:
        await client.login(login)
        html = await (await client.get("/followups")).text()
    forms = re.findall(r"<form method=\"post\".*?</form>", html, flags=re.S)
    assert forms
    for form in forms:
        assert f'name="csrf_token" value="{client.csrf_token}"' in form
