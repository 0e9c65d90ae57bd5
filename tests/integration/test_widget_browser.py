"""End-to-end tests of the chat widget in Chromium, against the real assistant.

The `live_stack` fixture runs Rasa with the widget channel, the action server
and the demo page. The browser is Debian's Chromium (`apt-get install chromium`),
driven by Playwright for Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_PATH = REPO_ROOT / "docs" / "screenshots" / "widget-places.png"
CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP_VIEWPORT = {"width": 1280, "height": 800}
MOBILE_VIEWPORT = {"width": 390, "height": 844}
# A position in the Lyon area, near Villeurbanne.
POSITION = {"latitude": 45.7670, "longitude": 4.8800}
# Each message goes through NLU and the action server, which can take seconds on a busy machine.
BOT_TIMEOUT_MS = 30_000
DISTANCE_PATTERN = re.compile(r"^à [\d\u202f\u00a0 ]+(,\d)? km$")
MAX_MESSAGE_LENGTH = 2000
# Messages of the tests whose subject is not the search itself.
PLACE_REQUEST = "Je cherche une mission locale à Villeurbanne"
HELP_REQUEST = "Qui peut m'aider près de chez moi ?"


@dataclass
class WidgetPage:
    """A browser page showing the demo, with the JavaScript errors it raised."""

    page: Page
    context: BrowserContext
    errors: List[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_demo(browser: Browser, demo_url: str, **context_options) -> WidgetPage:
    context = browser.new_context(locale="fr-FR", **context_options)
    page = context.new_page()
    widget = WidgetPage(page, context)
    page.on("pageerror", lambda error: widget.errors.append(str(error)))
    page.goto(demo_url)
    expect(page.locator(".sc-panel")).to_be_visible()
    return widget


@pytest.fixture
def demo(browser: Browser, live_stack) -> Iterator[WidgetPage]:
    widget = open_demo(browser, live_stack.demo_url, viewport=DESKTOP_VIEWPORT)
    yield widget
    widget.context.close()


def send(page: Page, text: str) -> None:
    page.locator(".sc-input").fill(text)
    page.locator(".sc-input").press("Enter")


def wait_for_bot_reply(page: Page, replies_before: int) -> None:
    """Wait until a new bot message is shown and the typing indicator is gone."""
    expect(page.locator(".sc-item-bot")).not_to_have_count(replies_before, timeout=BOT_TIMEOUT_MS)
    expect(page.locator(".sc-typing")).to_be_hidden(timeout=BOT_TIMEOUT_MS)
    # The assistant can send several messages in a row: wait until they all arrived.
    page.wait_for_timeout(1500)


def send_and_wait(page: Page, text: str) -> None:
    replies_before = page.locator(".sc-item-bot").count()
    send(page, text)
    wait_for_bot_reply(page, replies_before)


def last_user_bubble(page: Page):
    return page.locator(".sc-item-user .sc-bubble").last


def villeurbanne_cards(page: Page):
    """Return the place cards that name Villeurbanne and give a distance."""
    return (
        page.locator(".sc-card-place")
        .filter(has_text="Villeurbanne")
        .filter(has=page.locator(".sc-card-distance"))
    )


def test_greeting_shows_buttons(demo: WidgetPage) -> None:
    page = demo.page
    send(page, "Bonjour")
    expect(last_user_bubble(page)).to_have_text("Bonjour")
    first_button = page.locator(".sc-quick-reply").first
    expect(first_button).to_be_visible(timeout=BOT_TIMEOUT_MS)
    assert demo.errors == []


def test_button_press_sends_title(demo: WidgetPage) -> None:
    page = demo.page
    send(page, "Bonjour")
    first_button = page.locator(".sc-quick-reply").first
    expect(first_button).to_be_visible(timeout=BOT_TIMEOUT_MS)
    title = first_button.inner_text()
    replies_before = page.locator(".sc-item-bot").count()
    first_button.click()
    expect(last_user_bubble(page)).to_have_text(title)
    expect(first_button).to_be_disabled()
    wait_for_bot_reply(page, replies_before)
    expect(page.locator(".sc-item-bot").last).not_to_contain_text("problème technique")
    assert demo.errors == []


def test_town_search_shows_place_cards(demo: WidgetPage) -> None:
    page = demo.page
    send(page, "mission locale à Villeurbanne")
    card = villeurbanne_cards(page).first
    expect(card).to_be_visible(timeout=BOT_TIMEOUT_MS)
    expect(card.locator(".sc-card-distance")).to_have_text(DISTANCE_PATTERN)
    expect(card.locator(".sc-card-title")).not_to_be_empty()
    assert demo.errors == []


def test_geolocation_shows_place_cards(browser: Browser, live_stack) -> None:
    widget = open_demo(browser, live_stack.demo_url, viewport=DESKTOP_VIEWPORT,
                       geolocation=POSITION, permissions=["geolocation"])
    page = widget.page
    try:
        send_and_wait(page, HELP_REQUEST)
        page.get_by_role("button", name="Me localiser").click()
        expect(last_user_bubble(page)).to_have_text("📍 Ma position")
        expect(page.locator(".sc-card-place").first).to_be_visible(timeout=BOT_TIMEOUT_MS)
        transcript = page.locator(".sc-messages").inner_text()
    finally:
        widget.context.close()
    assert "45.767" not in transcript
    assert "45,767" not in transcript
    assert widget.errors == []


def test_denied_geolocation_explained(demo: WidgetPage) -> None:
    page = demo.page
    page.get_by_role("button", name="Me localiser").click()
    expect(page.locator(".sc-notice").last).to_contain_text("ta ville ou ton code postal")
    expect(page.locator(".sc-item-user")).to_have_count(0)
    assert demo.errors == []


def test_reload_keeps_transcript(demo: WidgetPage) -> None:
    page = demo.page
    send_and_wait(page, "Bonjour")
    send_and_wait(page, PLACE_REQUEST)
    before = page.locator(".sc-messages").inner_text()
    items_before = page.locator(".sc-messages > li").count()
    session_before = page.evaluate("() => localStorage.getItem('secondeChance.sessionId')")

    page.reload()
    expect(page.locator(".sc-messages > li")).to_have_count(items_before)
    after = page.locator(".sc-messages").inner_text()
    session_after = page.evaluate("() => localStorage.getItem('secondeChance.sessionId')")
    assert after == before
    assert session_after == session_before
    assert session_after
    assert demo.errors == []


def test_conversation_continues_after_reload(demo: WidgetPage) -> None:
    page = demo.page
    send_and_wait(page, "Bonjour")
    page.reload()
    expect(page.locator(".sc-item-user")).to_have_count(1)
    send(page, PLACE_REQUEST)
    expect(villeurbanne_cards(page).first).to_be_visible(timeout=BOT_TIMEOUT_MS)
    assert demo.errors == []


@pytest.mark.parametrize("markup", [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=1</script>",
])
def test_markup_shown_literally(demo: WidgetPage, markup: str) -> None:
    page = demo.page
    send_and_wait(page, markup)
    expect(last_user_bubble(page)).to_have_text(markup)
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert page.locator(".sc-messages img, .sc-messages script").count() == 0
    assert demo.errors == []


def test_help_panel_lists_3114(demo: WidgetPage) -> None:
    page = demo.page
    page.get_by_role("button", name="Besoin d'aide tout de suite ?").click()
    link = page.locator('.sc-help a[href="tel:3114"]')
    expect(link).to_be_visible()
    expect(link).to_contain_text("3114")
    assert demo.errors == []


def test_paste_capped_at_2000(demo: WidgetPage) -> None:
    page = demo.page
    demo.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("(text) => navigator.clipboard.writeText(text)", "é" * 2500)
    page.locator(".sc-input").focus()
    page.keyboard.press("Control+V")
    length = page.locator(".sc-input").evaluate("(input) => input.value.length")
    assert length == MAX_MESSAGE_LENGTH
    expect(page.locator(".sc-counter")).to_be_visible()
    expect(page.locator(".sc-counter")).to_contain_text("limite atteinte")
    assert demo.errors == []


def test_blank_message_not_sent(demo: WidgetPage) -> None:
    page = demo.page
    send(page, "   \n  ")
    page.wait_for_timeout(500)
    expect(page.locator(".sc-item-user")).to_have_count(0)
    assert demo.errors == []


def test_shift_enter_adds_line(demo: WidgetPage) -> None:
    page = demo.page
    page.locator(".sc-input").fill("ligne 1")
    page.locator(".sc-input").press("Shift+Enter")
    page.keyboard.type("ligne 2")
    expect(page.locator(".sc-input")).to_have_value("ligne 1\nligne 2")
    expect(page.locator(".sc-item-user")).to_have_count(0)
    assert demo.errors == []


def test_new_conversation_clears_transcript(demo: WidgetPage) -> None:
    page = demo.page
    send_and_wait(page, "Bonjour")
    session_before = page.evaluate("() => localStorage.getItem('secondeChance.sessionId')")
    page.get_by_role("button", name="Nouvelle conversation").click()
    page.get_by_role("button", name="Oui, recommencer").click()
    expect(page.locator(".sc-messages > li")).to_have_count(0)
    expect(page.locator(".sc-welcome")).to_be_visible()
    # Messages wait for the new session, so a reply means that the server confirmed it.
    send(page, PLACE_REQUEST)
    expect(villeurbanne_cards(page).first).to_be_visible(timeout=BOT_TIMEOUT_MS)
    session_after = page.evaluate("() => localStorage.getItem('secondeChance.sessionId')")
    assert session_after
    assert session_after != session_before
    assert demo.errors == []


def test_offline_message_sent_on_reconnect(demo: WidgetPage) -> None:
    page = demo.page
    send_and_wait(page, "Bonjour")
    demo.context.set_offline(True)
    expect(page.locator(".sc-connection")).to_have_text("Connexion perdue, nouvelle tentative…",
                                                        timeout=BOT_TIMEOUT_MS)
    send(page, PLACE_REQUEST)
    expect(page.locator(".sc-pending")).to_have_text("en attente")

    demo.context.set_offline(False)
    expect(page.locator(".sc-connection")).to_be_hidden(timeout=BOT_TIMEOUT_MS)
    expect(page.locator(".sc-pending")).to_have_count(0, timeout=BOT_TIMEOUT_MS)
    expect(villeurbanne_cards(page).first).to_be_visible(timeout=BOT_TIMEOUT_MS)
    assert demo.errors == []


def test_mobile_screenshot_with_places(browser: Browser, live_stack) -> None:
    widget = open_demo(browser, live_stack.demo_url, viewport=MOBILE_VIEWPORT,
                       device_scale_factor=2, is_mobile=True, has_touch=True)
    page = widget.page
    try:
        send(page, PLACE_REQUEST)
        expect(villeurbanne_cards(page).first).to_be_visible(timeout=BOT_TIMEOUT_MS)
        expect(page.locator(".sc-typing")).to_be_hidden(timeout=BOT_TIMEOUT_MS)
        page.wait_for_timeout(1500)
        # Show the question and the first cards, as a user reads them.
        last_user_bubble(page).evaluate("(node) => node.scrollIntoView({block: 'start'})")
        panel_box = page.locator(".sc-panel").bounding_box()
        SCREENSHOT_PATH.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_PATH))
    finally:
        widget.context.close()
    assert panel_box is not None
    assert panel_box["width"] == MOBILE_VIEWPORT["width"]
    assert panel_box["height"] == MOBILE_VIEWPORT["height"]
    assert SCREENSHOT_PATH.stat().st_size > 10_000
    assert widget.errors == []


def test_help_numbers_in_replies_are_links(demo: WidgetPage) -> None:
    page = demo.page
    send_and_wait(page, "je pense à me suicider")
    link = page.locator(".sc-item-bot a.sc-number").filter(has_text="3114").first
    expect(link).to_have_attribute("href", "tel:3114")
    sms_link = page.locator(".sc-helpline-number[href^='sms:']")
    page.get_by_role("button", name="Besoin d'aide tout de suite ?").click()
    expect(sms_link).to_have_attribute("href", "sms:114")
    assert demo.errors == []
