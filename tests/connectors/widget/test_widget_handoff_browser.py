"""Tests of the widget's handoff features in Chromium, against the real widget channel.

The demo server serves the widget; the widget talks to the channel served by
the test (Rasa replaced by a recording callback, SQLite, real Redis). The
counsellor side is played with `handoff.store` and `connectors.senders.WidgetSender`.
The browser is Debian's Chromium (`/usr/bin/chromium`), driven by Playwright's
async API so that it shares the event loop of the channel's server.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Callable, Dict, List

import pytest
from playwright.async_api import Page, async_playwright, expect

from connectors.handoff_bridge import message_for_user
from connectors.senders import WidgetSender
from handoff import events, store
from handoff.db import get_sessionmaker
from tests.connectors.widget.socket_client import HandoffServer
from tests.connectors.widget.test_demo_server import start_server, stop

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync",
                 "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 10_000


@pytest.fixture
def demo_url(handoff_server, tmp_path) -> AsyncIterator[str]:
    demo = start_server(tmp_path, rasa_url_env=handoff_server.url)
    yield demo.url
    stop(demo.process)


@pytest.fixture
async def page(demo_url) -> AsyncIterator[Page]:
    """The demo page, opened, with a confirmed session; JavaScript errors fail the test."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        context = await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
        browser_page = await context.new_page()
        errors: List[str] = []
        browser_page.on("pageerror", lambda error: errors.append(str(error)))
        await browser_page.goto(demo_url)
        await expect(browser_page.locator(".sc-panel")).to_be_visible()
        await browser_page.wait_for_function("() => localStorage.getItem('secondeChance.sessionId')")
        yield browser_page
        await browser.close()
    assert errors == []


async def session_id_of(page: Page) -> str:
    return await page.evaluate("() => localStorage.getItem('secondeChance.sessionId')")


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll a condition every 50 ms; return whether it became true within `timeout` seconds."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


def start_handoff(server: HandoffServer, sender_id: str, counsellor_id: int) -> str:
    with get_sessionmaker(server.database_url)() as session:
        conversation = store.escalate(session, channel="widget", sender_id=sender_id)
        store.claim(session, conversation.id, counsellor_id)
        session.commit()
        return conversation.id


def counsellor_message(server: HandoffServer, conversation_id: str, counsellor_id: int, text: str) -> Dict[str, Any]:
    """Store a counsellor message and return it as the channel sends it."""
    with get_sessionmaker(server.database_url)() as session:
        message = store.add_message(session, conversation_id, "counsellor", text, counsellor_id)
        session.commit()
        return message_for_user(message)


def undelivered(server: HandoffServer, sender_id: str) -> List[Dict[str, Any]]:
    """Return the messages not acknowledged yet, as the channel sends them."""
    with get_sessionmaker(server.database_url)() as session:
        return [message_for_user(message) for message in store.undelivered_messages(session, "widget", sender_id)]


async def test_counsellor_button_sends_payload(handoff_server, page):
    await page.get_by_role("button", name="Parler à un conseiller").click()
    await expect(page.locator(".sc-item-user .sc-bubble").last).to_have_text("Parler à un conseiller")
    assert await wait_for(lambda: any(m.text == "/ask_counsellor" for m in handoff_server.rasa.messages))


async def test_counsellor_message_marked(handoff_server, page, make_counsellor):
    counsellor_id = make_counsellor(display_name="Amina")
    session_id = await session_id_of(page)
    conversation_id = start_handoff(handoff_server, session_id, counsellor_id)
    message = counsellor_message(handoff_server, conversation_id, counsellor_id, "Bonjour, je suis Amina.")
    await WidgetSender(handoff_server.redis_url).send(session_id, message)
    item = page.locator(".sc-item-counsellor")
    await expect(item.locator(".sc-author")).to_have_text("Amina", timeout=TIMEOUT_MS)
    await expect(item.locator(".sc-bubble-counsellor")).to_have_text("Bonjour, je suis Amina.")
    await expect(page.locator(".sc-subtitle")).to_have_text(
        "Ta conversation est transmise à un conseiller : une personne te répond."
    )


async def test_notice_shown_centred(handoff_server, page, make_counsellor):
    session_id = await session_id_of(page)
    start_handoff(handoff_server, session_id, make_counsellor())
    [notice] = undelivered(handoff_server, session_id)
    await WidgetSender(handoff_server.redis_url).send(session_id, notice)
    shown = page.locator(".sc-item-system .sc-notice")
    await expect(shown).to_have_text(store.NOTICE_CLAIMED, timeout=TIMEOUT_MS)
    assert await shown.evaluate("(node) => getComputedStyle(node).textAlign") == "center"


async def test_notices_set_subtitle(handoff_server, page, make_counsellor):
    counsellor_id = make_counsellor()
    session_id = await session_id_of(page)
    conversation_id = start_handoff(handoff_server, session_id, counsellor_id)
    sender = WidgetSender(handoff_server.redis_url)
    subtitle = page.locator(".sc-subtitle")
    assistant_subtitle = await subtitle.inner_text()

    [claimed] = undelivered(handoff_server, session_id)
    await sender.send(session_id, claimed)
    await expect(subtitle).not_to_have_text(assistant_subtitle, timeout=TIMEOUT_MS)

    with get_sessionmaker(handoff_server.database_url)() as session:
        store.hand_back(session, conversation_id, counsellor_id)
        session.commit()
    handed_back = undelivered(handoff_server, session_id)[-1]
    await sender.send(session_id, handed_back)
    await expect(page.locator(".sc-item-system .sc-notice").last).to_have_text(store.NOTICE_HANDED_BACK)
    await expect(subtitle).to_have_text(assistant_subtitle)


async def test_shown_messages_acknowledged(handoff_server, page, make_counsellor):
    counsellor_id = make_counsellor()
    session_id = await session_id_of(page)
    conversation_id = start_handoff(handoff_server, session_id, counsellor_id)
    counsellor_message(handoff_server, conversation_id, counsellor_id, "Coucou")
    # Reloading reconnects: the channel delivers both pending messages, and
    # the widget acknowledges them once shown.
    await page.reload()
    await expect(page.locator(".sc-bubble-counsellor")).to_have_text("Coucou", timeout=TIMEOUT_MS)
    assert await wait_for(lambda: undelivered(handoff_server, session_id) == [])


async def test_duplicate_message_shown_once(handoff_server, page, make_counsellor):
    counsellor_id = make_counsellor()
    session_id = await session_id_of(page)
    conversation_id = start_handoff(handoff_server, session_id, counsellor_id)
    message = counsellor_message(handoff_server, conversation_id, counsellor_id, "Une fois")
    sender = WidgetSender(handoff_server.redis_url)
    await sender.send(session_id, message)
    await sender.send(session_id, message)
    await expect(page.locator(".sc-bubble-counsellor")).to_have_count(1, timeout=TIMEOUT_MS)
    await page.wait_for_timeout(500)
    await expect(page.locator(".sc-bubble-counsellor")).to_have_count(1)

    await page.reload()
    await expect(page.locator(".sc-bubble-counsellor")).to_have_count(1, timeout=TIMEOUT_MS)
    await page.wait_for_function("() => localStorage.getItem('secondeChance.sessionId')")
    await page.wait_for_timeout(500)
    await sender.send(session_id, message)
    await page.wait_for_timeout(500)
    await expect(page.locator(".sc-bubble-counsellor")).to_have_count(1)


async def test_counsellor_typing_indicator(handoff_server, page):
    session_id = await session_id_of(page)
    sender = WidgetSender(handoff_server.redis_url)
    indicator = page.locator(".sc-counsellor-typing")
    await sender.send_typing(session_id, True)
    await expect(indicator).to_be_visible(timeout=TIMEOUT_MS)
    await expect(indicator).to_have_text("Le conseiller écrit…")
    await sender.send_typing(session_id, False)
    await expect(indicator).to_be_hidden(timeout=TIMEOUT_MS)


async def test_user_typing_sent(handoff_server, page, redis_client, events_channel, make_counsellor):
    session_id = await session_id_of(page)
    conversation_id = start_handoff(handoff_server, session_id, make_counsellor())
    await handoff_server.bridge.router.set("widget", session_id, conversation_id)
    async with events.subscribe(redis_client, channel=events_channel) as subscription:
        await page.locator(".sc-input").press_sequentially("bonjour", delay=20)
        event = await subscription.get(timeout=5)
        # Seven keys in 0.2 s: the widget sends one event every 2 s at most.
        second = await subscription.get(timeout=0.5)
    assert event == {"type": "user_typing", "conversation_id": conversation_id}
    assert second is None


async def test_routed_message_without_assistant_typing(handoff_server, page, make_counsellor):
    session_id = await session_id_of(page)
    conversation_id = start_handoff(handoff_server, session_id, make_counsellor())
    await handoff_server.bridge.router.set("widget", session_id, conversation_id)
    await page.locator(".sc-input").fill("vous êtes là ?")
    await page.locator(".sc-input").press("Enter")
    await expect(page.locator(".sc-typing")).to_be_hidden(timeout=TIMEOUT_MS)
    await page.wait_for_timeout(500)
    await expect(page.locator(".sc-item-bot")).to_have_count(0)
    assert handoff_server.rasa.messages == []
