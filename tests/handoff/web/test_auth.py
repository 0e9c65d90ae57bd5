"""Tests of the console's login, sessions, CSRF and Origin checks, against the real console process."""

from __future__ import annotations

import hashlib

import aiohttp
import pytest
from sqlalchemy import select

from handoff.models import CounsellorSession

from .conftest import ConsoleClient, next_ws_message

INVALID_LOGIN = "Identifiant ou mot de passe incorrect."
LOCKED_OR_INVALID = "le compte est verrouillé 15 minutes, même avec le bon mot de passe."


async def test_login_ok_sets_session_cookie(console, data):
    login = data.counsellor("Alice")
    async with ConsoleClient(console) as client:
        response = await client.login(login)
        assert response.status == 303
        assert response.headers["Location"] == "/"
        cookie = response.cookies["sc_session"]
        assert cookie["httponly"]
        assert cookie["samesite"] == "Strict"
        assert cookie["path"] == "/"
        assert client.csrf_token


async def test_login_stores_only_token_hash(console, data):
    login = data.counsellor("Alice")
    async with ConsoleClient(console) as client:
        response = await client.login(login)
        token = response.cookies["sc_session"].value
    with data.factory() as session:
        ids = set(session.execute(select(CounsellorSession.id)).scalars())
    assert hashlib.sha256(token.encode()).hexdigest() in ids
    assert token not in ids


async def test_login_wrong_password_rejected(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        response = await client.login(login, "mauvais-mot-de-passe")
        body = await response.text()
    assert response.status == 401
    assert INVALID_LOGIN in body
    assert "sc_session" not in response.cookies


async def test_login_unknown_account_same_message(console):
    async with ConsoleClient(console) as client:
        response = await client.login("personne-inconnue", "mauvais-mot-de-passe")
        body = await response.text()
    assert response.status == 401
    assert INVALID_LOGIN in body


async def test_login_lockout_after_five_failures(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        for _ in range(4):
            assert (await client.login(login, "mauvais-mot-de-passe")).status == 401
        fifth = await client.login(login, "mauvais-mot-de-passe")
        locked_body = await fifth.text()
        with_right_password = await client.login(login)
        right_body = await with_right_password.text()
    # A locked account answers like a wrong password, so that the form does
    # not reveal which logins exist; the right password does not open it.
    assert fifth.status == 401
    assert with_right_password.status == 401
    assert LOCKED_OR_INVALID in locked_body
    assert LOCKED_OR_INVALID in right_body
    assert "/logout" not in right_body


async def test_login_unknown_account_answers_like_a_locked_one(console):
    async with ConsoleClient(console) as client:
        response = await client.login("personne-inconnue-2", "mauvais-mot-de-passe")
        body = await response.text()
    assert response.status == 401
    assert LOCKED_OR_INVALID in body


async def test_login_ip_limit_after_twenty_failures(console):
    async with ConsoleClient(console) as client:
        for attempt in range(20):
            response = await client.login(f"inconnu-{attempt}", "mauvais-mot-de-passe")
            assert response.status == 401
        blocked = await client.login("inconnu-21", "mauvais-mot-de-passe")
        body = await blocked.text()
    assert blocked.status == 429
    assert "Trop de tentatives de connexion depuis votre adresse" in body


async def test_login_without_csrf_field_rejected(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.get("/login")
        response = await client.session.post(
            client.url("/login"),
            data={"login": login, "password": "mot-de-passe-de-test"},
            headers={"Origin": console.origin},
            allow_redirects=False,
        )
        body = await response.text()
    assert response.status == 403
    assert "Le formulaire de connexion a expiré" in body
    assert "sc_session" not in response.cookies


async def test_login_from_other_origin_rejected(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        async with client.session.get(client.url("/login")) as page:
            html = await page.text()
        field_value = html.split('name="csrf_token" value="')[1].split('"')[0]
        response = await client.session.post(
            client.url("/login"),
            data={"login": login, "password": "mot-de-passe-de-test", "csrf_token": field_value},
            headers={"Origin": "http://evil.example"},
            allow_redirects=False,
        )
    assert response.status == 403
    assert "sc_session" not in response.cookies


async def test_missing_cookie_redirects_page(console):
    async with ConsoleClient(console) as client:
        response = await client.get("/")
    assert response.status == 303
    assert response.headers["Location"] == "/login"


async def test_missing_cookie_api_401_json(console):
    async with ConsoleClient(console) as client:
        response = await client.get("/api/queue")
        body = await response.json()
    assert response.status == 401
    assert body == {"error": "Votre session a expiré : reconnectez-vous."}


@pytest.mark.parametrize("forged", ["A" * 43, "pas-un-jeton", "x" * 5000])
async def test_forged_cookie_rejected(console, forged):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{console.url}/", cookies={"sc_session": forged}, allow_redirects=False) as page:
            assert page.status == 303
            assert page.headers["Location"] == "/login"
        async with session.get(f"{console.url}/api/queue", cookies={"sc_session": forged}) as api:
            assert api.status == 401


async def test_expired_session_rejected(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        with data.factory() as session:
            for row in session.execute(select(CounsellorSession)).scalars():
                if row.counsellor.login == login:
                    row.expires_at = row.created_at
            session.commit()
        response = await client.get("/api/queue")
    assert response.status == 401


async def test_logout_ends_session(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        ws = await client.websocket()
        await next_ws_message(ws, "queue")
        response = await client.post_form("/logout", {})
        expired = await next_ws_message(ws, "session_expired")
        closed = await ws.receive(timeout=5)
        assert expired == {"type": "session_expired"}
        assert closed.type == aiohttp.WSMsgType.CLOSE
        assert closed.data == 4401
        assert response.status == 303
        assert response.headers["Location"] == "/login"
        after = await client.get("/api/queue")
    assert after.status == 401


async def test_post_without_csrf_token_403(console, data):
    login = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_json(f"/conversations/{conversation.id}/claim", csrf=False)
        body = await response.json()
    assert response.status == 403
    assert "error" in body
    assert data.conversation(conversation.id).status == "queued"


async def test_post_wrong_csrf_token_403(console, data):
    login = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(console) as client:
        await client.login(login)
        client.csrf_token = "0" * 64
        response = await client.post_json(f"/conversations/{conversation.id}/claim")
    assert response.status == 403
    assert data.conversation(conversation.id).status == "queued"


async def test_form_post_without_csrf_403_page(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_form("/logout", {}, csrf=False)
        body = await response.text()
        still_logged_in = await client.get("/api/queue")
    assert response.status == 403
    assert "<html lang=\"fr\">" in body
    assert "Action refusée" in body
    assert still_logged_in.status == 200


@pytest.mark.parametrize("origin", ["http://evil.example", None, "null"])
async def test_post_wrong_origin_403(console, data, origin):
    login = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.post_json(f"/conversations/{conversation.id}/claim", origin=origin)
    assert response.status == 403
    assert data.conversation(conversation.id).status == "queued"


async def test_null_origin_same_site_fetch_accepted(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.session.post(
            client.url("/logout"),
            headers={"Origin": "null", "Sec-Fetch-Site": "same-origin", "X-CSRF-Token": client.csrf_token},
            allow_redirects=False,
        )
    assert response.status == 303


async def test_null_origin_cross_site_rejected(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        response = await client.session.post(
            client.url("/logout"),
            headers={"Origin": "null", "Sec-Fetch-Site": "cross-site", "X-CSRF-Token": client.csrf_token},
            allow_redirects=False,
        )
    assert response.status == 403


async def test_rejection_logged_without_token(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        wrong = "f" * 64
        await client.session.post(
            client.url("/logout"),
            headers={"Origin": console.origin, "X-CSRF-Token": wrong},
        )
        token = client.csrf_token
    log = console.log()
    assert "Rejected POST /logout: CSRF token missing or wrong" in log
    assert wrong not in log
    assert token not in log


async def test_websocket_wrong_origin_refused(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.websocket(origin="http://evil.example")
    assert refused.value.status == 403


async def test_websocket_without_csrf_refused(console, data):
    login = data.counsellor()
    async with ConsoleClient(console) as client:
        await client.login(login)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.websocket(csrf=False)
    assert refused.value.status == 403


async def test_websocket_without_session_refused(console):
    async with ConsoleClient(console) as client:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.websocket()
    assert refused.value.status == 401


async def test_security_headers_on_pages(console):
    async with ConsoleClient(console) as client:
        response = await client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert f"connect-src 'self' ws://127.0.0.1:{console.port} wss://127.0.0.1:{console.port}" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


async def test_security_headers_on_errors_and_static(console):
    async with ConsoleClient(console) as client:
        missing = await client.get("/static/absent.js")
        script = await client.get("/static/console.js")
    assert missing.status == 404
    assert missing.headers["X-Frame-Options"] == "DENY"
    assert script.status == 200
    assert "default-src 'self'" in script.headers["Content-Security-Policy"]
    assert script.headers["X-Content-Type-Options"] == "nosniff"


async def test_pages_have_no_inline_script_or_style(console, data):
    login = data.counsellor()
    conversation = data.escalate()
    async with ConsoleClient(console) as anonymous:
        pages = [await (await anonymous.get("/login")).text()]
    async with ConsoleClient(console) as client:
        await client.login(login)
        for path in ("/", f"/conversations/{conversation.id}", "/followups"):
            pages.append(await (await client.get(path)).text())
    for html in pages:
        assert "<html lang=\"fr\">" in html
        assert "<script>" not in html
        assert "style=" not in html
        assert "<style" not in html
        assert "onclick" not in html
