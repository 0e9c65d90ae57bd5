"""End-to-end tests of the human handoff, with every real process running.

Each stack runs the action server, Rasa with the widget channel and its HTTP
API, the handoff service (the counsellor console) and the demo page, with a
private Redis server so that its handoff events stay its own. The user side is
the demo page's widget in Debian's Chromium, or a socket.io client where the
page is not the subject; the counsellor side is the console in another
browser context, or the console client of ``console_client.py``.

Stacks are shared by the tests of a class: one with the chat open, one with
the chat closed and a real SMTP server, and one with a 5-second disconnect
grace period whose Redis server gets restarted.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from handoff import mailer, store
from handoff.db import dispose_engine, get_sessionmaker
from tests.integration.conftest import SmtpServer
from tests.integration.console_client import ConsoleClient, run_async
from tests.integration.stack import Stack
from tests.integration.widget_client import WidgetUser, texts

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS_DIR = REPO_ROOT / "docs" / "screenshots"
WIDGET_SCREENSHOT = SCREENSHOTS_DIR / "handoff-widget.png"
CONSOLE_SCREENSHOT = SCREENSHOTS_DIR / "handoff-console.png"
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
PASSWORD = "mot-de-passe-des-tests-e2e"
# Each user message goes through NLU and the action server, which can take seconds on a busy machine.
TIMEOUT_MS = 30_000
# A console page whose socket dropped reconnects after 1, 2, 4, 8 then 10 s.
RECONNECT_TIMEOUT_MS = 45_000
# How long a message routed to a counsellor is watched for a bot reply that must not come.
NO_REPLY_WAIT_MS = 4_000
GRACE_SECONDS = 5
QUEUED_PATTERN = re.compile(r"Tu es n° \d+ dans la file")
HAND_BACK_NOTICE = store.NOTICE_HANDED_BACK
PLACE_REQUEST = "Je cherche une mission locale à Villeurbanne"
BOT_ONLY_ITEMS = ".sc-item-bot:not(.sc-item-counsellor)"
MARKUPS = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=1</script>"]


# ---------------------------------------------------------------- Stacks and browser


def launch_stack(tmp_path_factory: pytest.TempPathFactory, model: str, name: str,
                 env_overrides: Optional[Dict[str, str]] = None) -> Stack:
    """Start a stack with a private Redis server and the handoff service's info log, or fail with the logs."""
    stack = Stack(workdir=tmp_path_factory.mktemp(name), private_redis=True, handoff_verbose=True)
    try:
        stack.start(model, env_overrides)
    except Exception as error:
        tail = stack.logs_tail()
        stack.stop()
        pytest.fail(f"the {name} stack did not start: {error}\n{tail}")
    return stack


def stop_stack(stack: Stack) -> None:
    stack.stop()
    dispose_engine(stack.env["HANDOFF_DATABASE_URL"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class BrowserPage:
    """A page in its own browser context, with the JavaScript errors it raised."""

    page: Page
    context: BrowserContext
    errors: List[str] = field(default_factory=list)

    def close(self) -> None:
        self.context.close()


def watch_errors(page: Page, errors: List[str]) -> None:
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A Content-Security-Policy violation shows up as a console error only.
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)


def open_widget(browser: Browser, stack: Stack, **context_options: Any) -> BrowserPage:
    """Open the demo page, whose widget opens on load."""
    context_options.setdefault("viewport", DESKTOP_VIEWPORT)
    context = browser.new_context(locale="fr-FR", **context_options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    widget = BrowserPage(page, context)
    watch_errors(page, widget.errors)
    page.goto(stack.demo_url)
    expect(page.locator(".sc-panel")).to_be_visible()
    return widget


def open_console(browser: Browser, stack: Stack, login: str) -> BrowserPage:
    """Sign in through the console's login form and return its queue page."""
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", viewport=DESKTOP_VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    console = BrowserPage(page, context)
    watch_errors(page, console.errors)
    # Hand-back and close ask for a confirmation.
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{stack.handoff_url}/login")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{stack.handoff_url}/")
    return console


# ---------------------------------------------------------------- Widget helpers


def send(page: Page, text: str) -> None:
    page.locator(".sc-input").fill(text)
    page.locator(".sc-input").press("Enter")


def wait_for_bot_reply(page: Page, replies_before: int) -> None:
    """Wait until a new assistant message is shown and the typing indicator is gone."""
    expect(page.locator(BOT_ONLY_ITEMS)).not_to_have_count(replies_before, timeout=TIMEOUT_MS)
    expect(page.locator(".sc-typing")).to_be_hidden(timeout=TIMEOUT_MS)
    # The assistant can send several messages in a row: wait until they all arrived.
    page.wait_for_timeout(1500)


def send_and_wait(page: Page, text: str) -> None:
    replies_before = page.locator(BOT_ONLY_ITEMS).count()
    send(page, text)
    wait_for_bot_reply(page, replies_before)


def ask_counsellor(page: Page) -> None:
    """Press the permanent « Parler à un conseiller » button and wait for the assistant's reply."""
    replies_before = page.locator(BOT_ONLY_ITEMS).count()
    page.locator(".sc-ask-counsellor").click()
    wait_for_bot_reply(page, replies_before)


def session_id_of(page: Page) -> str:
    return page.evaluate("() => localStorage.getItem('secondeChance.sessionId')")


def last_bot_text(page: Page) -> str:
    return page.locator(f"{BOT_ONLY_ITEMS} .sc-bubble-bot").last.inner_text()


def widget_notices(page: Page, text: str) -> Locator:
    return page.locator(".sc-item-system .sc-notice").filter(has_text=text)


def counsellor_bubbles(page: Page) -> Locator:
    return page.locator(".sc-item-counsellor .sc-bubble-counsellor")


def exact(text: str) -> re.Pattern:
    return re.compile("^" + re.escape(text) + "$")


# ---------------------------------------------------------------- Console helpers


def queue_row(page: Page, conversation_id: str) -> Locator:
    return page.locator(f'tr[data-conversation-id="{conversation_id}"]')


def claim_from_queue(console: BrowserPage, stack: Stack, conversation: "ConversationInfo") -> None:
    console.page.get_by_role("button", name=f"Prendre la conversation de {conversation.pseudonym}").click()
    console.page.wait_for_url(f"{stack.handoff_url}/conversations/{conversation.id}")


def console_user_messages(page: Page, text: str) -> Locator:
    return page.locator("#transcript .message-user .message-text").filter(has_text=exact(text))


def console_reply(page: Page, pseudonym: str, text: str) -> None:
    box = page.get_by_label(f"Votre message à {pseudonym}")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


# ---------------------------------------------------------------- Data in SQL and in Rasa


@dataclass
class ConversationInfo:
    """What the tests read of a handoff conversation."""

    id: str
    pseudonym: str
    status: str
    counsellor_id: Optional[int]
    handed_back: bool


class HandoffDatabase:
    """Reads the stack's handoff database through the real store."""

    def __init__(self, stack: Stack) -> None:
        self.factory = get_sessionmaker(stack.env["HANDOFF_DATABASE_URL"])

    @staticmethod
    def _info(conversation: Any) -> ConversationInfo:
        return ConversationInfo(conversation.id, conversation.pseudonym, conversation.status,
                                conversation.counsellor_id, bool(conversation.handed_back))

    def open_conversation(self, session_id: str, timeout: float = 15.0) -> ConversationInfo:
        """Return the user's open conversation, waiting for the action server to create it."""
        deadline = time.monotonic() + timeout
        while True:
            with self.factory() as session:
                conversation = store.open_conversation_for(session, "widget", session_id)
                if conversation is not None:
                    return self._info(conversation)
            if time.monotonic() > deadline:
                raise AssertionError(f"no open handoff conversation for the session after {timeout} s")
            time.sleep(0.2)

    def conversation(self, conversation_id: str) -> ConversationInfo:
        with self.factory() as session:
            return self._info(store.get_conversation(session, conversation_id))

    def wait_status(self, conversation_id: str, status: str, timeout: float) -> ConversationInfo:
        deadline = time.monotonic() + timeout
        while True:
            info = self.conversation(conversation_id)
            if info.status == status or time.monotonic() > deadline:
                return info
            time.sleep(0.3)

    def messages(self, conversation_id: str) -> List[tuple]:
        """Return (author, text) of every message of the conversation, oldest first."""
        with self.factory() as session:
            return [(m.author, m.text) for m in store.transcript(session, conversation_id)]

    def counsellor_id(self, login: str) -> int:
        from handoff.models import Counsellor

        with self.factory() as session:
            return session.query(Counsellor).filter_by(login=login).one().id

    def pending_followup(self, session_id: str) -> Any:
        with self.factory() as session:
            return store.pending_followup_for(session, "widget", session_id)

    def followup(self, followup_id: int) -> Any:
        with self.factory() as session:
            return store.get_followup(session, followup_id)


def tracker_user_events(stack: Stack, session_id: str) -> List[Dict[str, Any]]:
    """Return the user events of the session's tracker, through Rasa's HTTP API."""
    url = f"{stack.rasa_url}/conversations/{session_id}/tracker?token={stack.env['RASA_TOKEN']}"
    with urllib.request.urlopen(url, timeout=10) as response:
        tracker = json.load(response)
    return [event for event in tracker.get("events", []) if event.get("event") == "user"]


def service_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def escalate_socket_user(stack: Stack) -> WidgetUser:
    """Connect a socket.io user and ask for a counsellor with the widget's payload."""
    user = WidgetUser(stack.rasa_url).connect()
    replies = user.say("/ask_counsellor", timeout=60)
    assert QUEUED_PATTERN.search(texts(replies)), texts(replies)
    return user


# ================================================================ Chat open


class TestLiveChat:
    """The chat is open: escalation, live conversation, races, markup, restart of the service."""

    @pytest.fixture(scope="class")
    def stack(self, trained_model: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
        stack = launch_stack(tmp_path_factory, trained_model, "handoff-open")
        yield stack
        stop_stack(stack)

    @pytest.fixture(scope="class")
    def database(self, stack: Stack) -> HandoffDatabase:
        return HandoffDatabase(stack)

    def test_chat_with_counsellor(self, browser: Browser, stack: Stack, database: HandoffDatabase) -> None:
        stack.create_counsellor("camille", PASSWORD, display_name="Camille")
        console = open_console(browser, stack, "camille")
        user = open_widget(browser, stack, viewport=MOBILE_VIEWPORT, device_scale_factor=2,
                           is_mobile=True, has_touch=True)
        try:
            self._chat_with_counsellor(stack, database, console, user)
        finally:
            user.close()
            console.close()
        assert user.errors == []
        assert console.errors == []

    def _chat_with_counsellor(self, stack: Stack, database: HandoffDatabase,
                              console: BrowserPage, user: BrowserPage) -> None:
        widget, chat = user.page, console.page
        chat.evaluate("window.__sameDocument = true")

        # The assistant answers first: this is the transcript the counsellor reads.
        send_and_wait(widget, "Bonjour")
        greeting = last_bot_text(widget).split("\n")[0][:60]
        greeting_index = widget.locator(BOT_ONLY_ITEMS).count() - 1
        old_button = widget.locator(BOT_ONLY_ITEMS).nth(greeting_index).locator(
            ".sc-quick-reply", has_text="Reprendre une formation")
        expect(old_button).to_be_enabled()

        ask_counsellor(widget)
        assert QUEUED_PATTERN.search(last_bot_text(widget)), last_bot_text(widget)

        session_id = session_id_of(widget)
        conversation = database.open_conversation(session_id)
        row = queue_row(chat, conversation.id)
        expect(row).to_contain_text(conversation.pseudonym)
        expect(row).to_contain_text("En attente")
        assert chat.evaluate("window.__sameDocument") is True
        assert session_id not in chat.content()
        queue_json = chat.request.get(f"{stack.handoff_url}/api/queue").text()
        assert conversation.pseudonym in queue_json
        assert session_id not in queue_json

        # Claim: the chat view shows the assistant's part before the takeover line.
        claim_from_queue(console, stack, conversation)
        transcript = chat.locator("#transcript")
        expect(transcript.locator(".message-bot .message-text").filter(has_text=greeting)).to_have_count(1)
        expect(transcript.locator(".message-user .message-text").filter(has_text=exact("Bonjour"))).to_have_count(1)
        expect(transcript.locator(".message-system")).to_contain_text(store.NOTICE_CLAIMED)
        kinds = transcript.locator("li").evaluate_all("(items) => items.map((item) => item.className)")
        divider = next(i for i, kind in enumerate(kinds) if "divider" in kind)
        first_bot = next(i for i, kind in enumerate(kinds) if "message-bot" in kind)
        assert first_bot < divider
        assert session_id not in chat.content()
        expect(widget_notices(widget, store.NOTICE_CLAIMED)).to_have_count(1)

        # Counsellor → user, with the typing indicator first.
        reply_box = chat.get_by_label(f"Votre message à {conversation.pseudonym}")
        first_reply = "Bonjour, je suis Camille, conseillère. Comment puis-je t'aider ?"
        reply_box.press_sequentially(first_reply, delay=20)
        expect(widget.locator(".sc-counsellor-typing")).to_be_visible()
        reply_box.press("Enter")
        expect(counsellor_bubbles(widget).last).to_have_text(first_reply)
        expect(widget.locator(".sc-item-counsellor .sc-author").last).to_have_text("Camille")
        expect(widget.locator(".sc-counsellor-typing")).to_be_hidden()
        expect(chat.locator("#transcript .message-mine .delivery").last).to_have_text("reçu")

        # User → counsellor, with the typing indicator first.
        user_text = "Je voudrais reprendre une formation en alternance."
        widget.locator(".sc-input").press_sequentially(user_text, delay=30)
        expect(chat.locator("#user-typing")).to_be_visible()
        expect(chat.locator("#user-typing")).to_have_text(f"{conversation.pseudonym} est en train d'écrire…")
        widget.locator(".sc-input").press("Enter")
        expect(console_user_messages(chat, user_text)).to_have_count(1)
        expect(chat.locator("#user-typing")).to_be_hidden()

        second_reply = "Très bien ! Dans quel domaine aimerais-tu te former ?"
        console_reply(chat, conversation.pseudonym, second_reply)
        expect(counsellor_bubbles(widget).last).to_have_text(second_reply)
        widget.wait_for_timeout(500)
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        widget.screenshot(path=str(WIDGET_SCREENSHOT))
        chat.screenshot(path=str(CONSOLE_SCREENSHOT))

        # While the counsellor has the conversation, the assistant never answers.
        bot_items = widget.locator(BOT_ONLY_ITEMS).count()
        tracked = len(tracker_user_events(stack, session_id))
        send(widget, PLACE_REQUEST)
        expect(console_user_messages(chat, PLACE_REQUEST)).to_have_count(1)
        old_button.click()
        expect(console_user_messages(chat, "Reprendre une formation")).to_have_count(1)
        items_before_reload = widget.locator(".sc-messages > li").count()
        widget.reload()
        expect(widget.locator(".sc-messages > li")).to_have_count(items_before_reload)
        after_reload = "Tu es toujours là ?"
        send(widget, after_reload)
        expect(console_user_messages(chat, after_reload)).to_have_count(1)
        widget.wait_for_timeout(NO_REPLY_WAIT_MS)
        assert widget.locator(BOT_ONLY_ITEMS).count() == bot_items
        assert widget.locator(".sc-card-place").count() == 0
        assert len(tracker_user_events(stack, session_id)) == tracked

        # Hand-back: the next message, sent 100 ms after the notice shows, reaches the assistant.
        widget.evaluate(
            """([noticeText, message]) => {
                const list = document.querySelector(".sc-messages");
                const observer = new MutationObserver(() => {
                    const notices = Array.from(list.querySelectorAll(".sc-notice"));
                    if (!notices.some((node) => node.textContent.includes(noticeText))) {
                        return;
                    }
                    observer.disconnect();
                    window.__noticeShownAt = performance.now();
                    window.setTimeout(() => {
                        document.querySelector(".sc-input").value = message;
                        document.querySelector(".sc-composer").requestSubmit();
                        window.__sentAt = performance.now();
                    }, 100);
                });
                observer.observe(list, {childList: true, subtree: true});
            }""",
            [HAND_BACK_NOTICE, PLACE_REQUEST],
        )
        chat.get_by_role("button", name="Rendre la main à l'assistant").click()
        chat.wait_for_url(f"{stack.handoff_url}/")
        expect(widget_notices(widget, HAND_BACK_NOTICE)).to_have_count(1)
        widget.wait_for_function("() => window.__sentAt !== undefined")
        cards = widget.locator(".sc-card-place").filter(has_text="Villeurbanne")
        expect(cards.first).to_be_visible(timeout=TIMEOUT_MS)
        delay_ms = widget.evaluate("() => window.__sentAt - window.__noticeShownAt")
        assert delay_ms < 1000
        assert database.conversation(conversation.id).status == "closed"
        assert database.conversation(conversation.id).handed_back is True

    def test_simultaneous_claims_in_browsers(self, browser: Browser, stack: Stack,
                                             database: HandoffDatabase) -> None:
        stack.create_counsellor("dominique", PASSWORD, display_name="Dominique")
        stack.create_counsellor("farid", PASSWORD, display_name="Farid")
        names = {"dominique": "Dominique", "farid": "Farid"}
        consoles = {login: open_console(browser, stack, login) for login in names}
        user = escalate_socket_user(stack)
        try:
            conversation = database.open_conversation(user.session_id)
            button_selector = f'tr[data-conversation-id="{conversation.id}"] .claim-form button'
            for console in consoles.values():
                expect(console.page.locator(button_selector)).to_be_visible()
            # Both pages click at the same instant of the shared clock.
            click_at_ms = time.time() * 1000 + 1500
            for console in consoles.values():
                console.page.evaluate(
                    # The button is looked up at click time: a queue push may rebuild its row.
                    """([selector, at]) => {
                        window.setTimeout(() => document.querySelector(selector).click(),
                                          Math.max(0, at - Date.now()));
                    }""",
                    [button_selector, click_at_ms],
                )
            chat_url = f"{stack.handoff_url}/conversations/{conversation.id}"
            pages = [console.page for console in consoles.values()]
            # Playwright updates page.url only while one of its calls runs, hence wait_for_timeout.
            # The navigation once took over 20 s on a 2-core machine that ran a Rasa evaluation
            # beside the test. The loop ends as soon as one page navigates.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(page.url == chat_url for page in pages):
                pages[0].wait_for_timeout(200)
            # Leave time for a second, wrong, navigation to show.
            pages[0].wait_for_timeout(2000)
            winners = [login for login, console in consoles.items() if console.page.url == chat_url]
            assert len(winners) == 1
            loser = next(login for login in names if login not in winners)
            expect(consoles[loser].page.locator("#page-alert")).to_have_text(
                f"Cette conversation a déjà été prise par {names[winners[0]]}.")
            assert database.conversation(conversation.id).counsellor_id == database.counsellor_id(winners[0])
            time.sleep(1)
            notices = [m for m in drain(user) if (m.get("custom") or {}).get("text") == store.NOTICE_CLAIMED]
            assert len(notices) == 1
            for console in consoles.values():
                assert console.errors == []
        finally:
            user.close()
            for console in consoles.values():
                console.close()

    def test_concurrent_claim_requests(self, stack: Stack, database: HandoffDatabase) -> None:
        stack.create_counsellor("gaelle", PASSWORD, display_name="Gaëlle")
        stack.create_counsellor("hugo", PASSWORD, display_name="Hugo")
        users = [escalate_socket_user(stack) for _ in range(3)]
        try:
            conversation_ids = [database.open_conversation(user.session_id).id for user in users]

            async def race() -> List[List[Any]]:
                async with ConsoleClient(stack.handoff_url) as first, ConsoleClient(stack.handoff_url) as second:
                    await first.login("gaelle", PASSWORD)
                    await second.login("hugo", PASSWORD)
                    rounds = []
                    for conversation_id in conversation_ids:
                        rounds.append(await asyncio.gather(first.claim(conversation_id),
                                                           second.claim(conversation_id)))
                    return rounds

            rounds = run_async(race())
        finally:
            for user in users:
                user.close()
        names = {"gaelle": "Gaëlle", "hugo": "Hugo"}
        for conversation_id, responses in zip(conversation_ids, rounds):
            statuses = sorted(response.status for response in responses)
            assert statuses == [200, 409]
            owner = database.conversation(conversation_id).counsellor_id
            winner = "gaelle" if owner == database.counsellor_id("gaelle") else "hugo"
            refused = next(response for response in responses if response.status == 409)
            assert refused.data["error"] == f"Cette conversation a déjà été prise par {names[winner]}."

    def test_markup_shown_literally(self, browser: Browser, stack: Stack, database: HandoffDatabase) -> None:
        stack.create_counsellor("ines", PASSWORD, display_name="Inès")
        console = open_console(browser, stack, "ines")
        user = open_widget(browser, stack)
        widget, chat = user.page, console.page
        try:
            ask_counsellor(widget)
            conversation = database.open_conversation(session_id_of(widget))
            claim_from_queue(console, stack, conversation)
            expect(widget_notices(widget, store.NOTICE_CLAIMED)).to_have_count(1)
            for markup in MARKUPS:
                send(widget, markup)
                expect(console_user_messages(chat, markup)).to_have_count(1)
            for markup in MARKUPS:
                console_reply(chat, conversation.pseudonym, markup)
                expect(counsellor_bubbles(widget).filter(has_text=exact(markup))).to_have_count(1)
            widget.wait_for_timeout(500)

            user_bubbles = widget.locator(".sc-item-user .sc-bubble")
            assert [user_bubbles.nth(i).inner_text() for i in range(user_bubbles.count())][-2:] == MARKUPS
            sent = chat.locator("#transcript .message-mine .message-text")
            assert [sent.nth(i).inner_text() for i in range(sent.count())] == MARKUPS
            for page in (widget, chat):
                assert page.evaluate("() => typeof window.__xss") == "undefined"
            assert widget.locator(".sc-messages img, .sc-messages script").count() == 0
            assert chat.locator("#transcript img, #transcript script").count() == 0
            chat.goto(f"{stack.handoff_url}/")
            chat.goto(f"{stack.handoff_url}/conversations/{conversation.id}")
            expect(console_user_messages(chat, MARKUPS[0])).to_have_count(1)
            assert chat.evaluate("() => typeof window.__xss") == "undefined"
        finally:
            user.close()
            console.close()
        assert user.errors == []
        assert console.errors == []

    def test_handoff_service_restart(self, browser: Browser, stack: Stack, database: HandoffDatabase) -> None:
        stack.create_counsellor("jules", PASSWORD, display_name="Jules")
        console = open_console(browser, stack, "jules")
        user = open_widget(browser, stack)
        widget, chat = user.page, console.page
        try:
            ask_counsellor(widget)
            conversation = database.open_conversation(session_id_of(widget))
            claim_from_queue(console, stack, conversation)
            console_reply(chat, conversation.pseudonym, "Bonjour, je suis Jules.")
            expect(counsellor_bubbles(widget).last).to_have_text("Bonjour, je suis Jules.")
            before = "Message envoyé avant le redémarrage"
            send(widget, before)
            expect(console_user_messages(chat, before)).to_have_count(1)

            old_process = stack.processes["handoff"]
            restart = threading.Thread(target=stack.restart, args=("handoff",))
            restart.start()
            assert wait_until(lambda: old_process.poll() is not None, timeout=40)
            during = ["Premier message pendant le redémarrage", "Second message pendant le redémarrage"]
            for text in during:
                send(widget, text)
            expect(widget.locator(".sc-pending")).to_have_count(0)
            service_was_down = not service_answers(f"{stack.handoff_url}/healthz")
            restart.join(timeout=150)
            assert not restart.is_alive()
            assert service_was_down

            for text in [before, *during]:
                expect(console_user_messages(chat, text)).to_have_count(1, timeout=RECONNECT_TIMEOUT_MS)
            stored = [text for author, text in database.messages(conversation.id) if author == "user"]
            for text in [before, *during]:
                assert stored.count(text) == 1

            console_reply(chat, conversation.pseudonym, "Je suis toujours là.")
            expect(counsellor_bubbles(widget).last).to_have_text("Je suis toujours là.")
            after = "Super, merci !"
            send(widget, after)
            expect(console_user_messages(chat, after)).to_have_count(1)
        finally:
            user.close()
            console.close()
        assert user.errors == []
        assert console.errors == []


def drain(user: WidgetUser) -> List[Dict[str, Any]]:
    """Return the messages the socket.io user received and nobody read yet."""
    messages = []
    while not user.received.empty():
        messages.append(user.received.get_nowait())
    return messages


# ================================================================ Chat closed


class TestOutOfHours:
    """The chat is closed: the user leaves an e-mail address and a counsellor answers by e-mail."""

    @pytest.fixture(scope="class")
    def stack(self, trained_model: str, tmp_path_factory: pytest.TempPathFactory,
              smtp_server: SmtpServer) -> Iterator[Stack]:
        stack = launch_stack(
            tmp_path_factory,
            trained_model,
            "handoff-closed",
            {
                "HANDOFF_FORCE_OPEN": "closed",
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(smtp_server.port),
                "SMTP_FROM": "Seconde chance <ne-pas-repondre@seconde-chance.test>",
            },
        )
        yield stack
        stop_stack(stack)

    def test_followup_answered_by_email(self, browser: Browser, stack: Stack, smtp_server: SmtpServer) -> None:
        database = HandoffDatabase(stack)
        address = "jeune.e2e@example.org"
        question = "Comment trouver une formation en alternance ?"
        answer = "Bonjour ! Tu peux contacter la Mission locale de ta ville : elle t'aidera à trouver un employeur."
        stack.create_counsellor("karima", PASSWORD, display_name="Karima")
        user = open_widget(browser, stack)
        widget = user.page
        try:
            send_and_wait(widget, question)
            ask_counsellor(widget)
            assert "Les conseillers ne sont pas disponibles en ce moment" in last_bot_text(widget)
            replies_before = widget.locator(BOT_ONLY_ITEMS).count()
            widget.locator(BOT_ONLY_ITEMS).last.locator(".sc-quick-reply", has_text="Laisser mon e-mail").click()
            wait_for_bot_reply(widget, replies_before)
            assert "adresse e-mail" in last_bot_text(widget)
            send_and_wait(widget, address)
            assert "C'est noté : un conseiller te répondra par e-mail." in last_bot_text(widget)
            followup = database.pending_followup(session_id_of(widget))
        finally:
            user.close()
        assert followup is not None
        assert user.errors == []

        console = open_console(browser, stack, "karima")
        page = console.page
        try:
            page.get_by_role("link", name=re.compile("Réponses par e-mail")).first.click()
            page.wait_for_url(f"{stack.handoff_url}/followups")
            article = page.locator("article.followup").filter(has=page.locator(f"#followup-{followup.id}-title"))
            expect(article).to_have_count(1)
            expect(article.locator(".pseudonym")).to_have_text(followup.pseudonym)
            expect(article.locator("blockquote.question")).to_contain_text(question)
            assert address not in page.content()
            article.get_by_label("Votre réponse").fill(answer)
            article.get_by_role("button", name="Envoyer la réponse").click()
            page.wait_for_url(re.compile(r"/followups\?done=answered$"))
            expect(page.get_by_role("status").filter(has_text="Réponse envoyée par e-mail")).to_be_visible()
            expect(page.locator(f"#followup-{followup.id}-title")).to_have_count(0)
        finally:
            console.close()
        assert console.errors == []

        envelopes = [e for e in smtp_server.recorder.envelopes if address in e.rcpt_tos]
        assert len(envelopes) == 1
        message = email.message_from_bytes(envelopes[0].original_content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert envelopes[0].rcpt_tos == [address]
        assert message["To"] == address
        assert message["Subject"] == mailer.SUBJECT
        assert "Bonjour," in body
        assert "Voici la réponse d'un conseiller" in body
        assert answer in body
        assert question in body
        answered = database.followup(followup.id)
        assert answered.status == "answered"
        assert answered.email is None
        assert message["Content-Language"] == "fr"

    def test_suicide_question_answered_before_email_form(self, stack: Stack) -> None:
        # The chat is closed, so the bot keeps the conversation. A reply to
        # « tu penses à te suicider ? » that the model reads as give_email
        # gets the numbers, and the form neither requests an address nor
        # rejects the missing one.
        user = WidgetUser(stack.rasa_url).connect()
        try:
            user.say("je pense a me suicider")
            reply = texts(user.say("je te laisse mon mail"))
            assert "3114" in reply
            assert "adresse e-mail" not in reply
            assert "ne semble pas valide" not in reply
            assert "Quelle est ton adresse e-mail" in texts(user.say("je veux laisser mon mail"))
        finally:
            user.close()


# ================================================================ Disconnects and Redis restart


class TestResilience:
    """A counsellor whose console closes, and a Redis server that restarts empty."""

    @pytest.fixture(scope="class")
    def stack(self, trained_model: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
        stack = launch_stack(
            tmp_path_factory,
            trained_model,
            "handoff-resilience",
            {
                "HANDOFF_GRACE_SECONDS": str(GRACE_SECONDS),
                "HANDOFF_HEARTBEAT_SECONDS": "1",
                "HANDOFF_RELEASE_INTERVAL_SECONDS": "1",
                "HANDOFF_RELEASE_STARTUP_DELAY_SECONDS": "0",
            },
        )
        yield stack
        stop_stack(stack)

    @pytest.fixture(scope="class")
    def database(self, stack: Stack) -> HandoffDatabase:
        return HandoffDatabase(stack)

    def test_disconnected_counsellor_releases(self, browser: Browser, stack: Stack,
                                             database: HandoffDatabase) -> None:
        stack.create_counsellor("leo", PASSWORD, display_name="Léo")
        stack.create_counsellor("maya", PASSWORD, display_name="Maya")
        first = open_console(browser, stack, "leo")
        user = open_widget(browser, stack)
        widget = user.page
        second: Optional[BrowserPage] = None
        try:
            send_and_wait(widget, "Bonjour")
            ask_counsellor(widget)
            conversation = database.open_conversation(session_id_of(widget))
            claim_from_queue(first, stack, conversation)
            console_reply(first.page, conversation.pseudonym, "Bonjour, c'est Léo.")
            expect(counsellor_bubbles(widget).last).to_have_text("Bonjour, c'est Léo.")
            send(widget, "Merci Léo")
            expect(console_user_messages(first.page, "Merci Léo")).to_have_count(1)
            assert first.errors == []

            first.close()
            send(widget, "Tu es encore là ?")
            expect(widget_notices(widget, store.NOTICE_RELEASED)).to_have_count(1, timeout=TIMEOUT_MS)
            released = database.conversation(conversation.id)
            assert released.status == "queued"
            assert released.counsellor_id is None

            second = open_console(browser, stack, "maya")
            expect(queue_row(second.page, conversation.id)).to_contain_text("En attente")
            claim_from_queue(second, stack, conversation)
            transcript = second.page.locator("#transcript")
            expect(transcript.locator(".message-bot").first).to_be_visible()
            expect(transcript.locator(".message-counsellor .message-text").filter(
                has_text=exact("Bonjour, c'est Léo."))).to_have_count(1)
            for text in ("Bonjour", "Merci Léo", "Tu es encore là ?"):
                expect(console_user_messages(second.page, text)).to_have_count(1)
            expect(transcript.locator(".message-system").filter(has_text=store.NOTICE_RELEASED)).to_have_count(1)
            console_reply(second.page, conversation.pseudonym, "Bonjour, c'est Maya : je prends le relais.")
            expect(counsellor_bubbles(widget).last).to_have_text("Bonjour, c'est Maya : je prends le relais.")
            expect(widget.locator(".sc-item-counsellor .sc-author").last).to_have_text("Maya")
        finally:
            user.close()
            if second is not None:
                second.close()
        assert user.errors == []
        assert second is not None
        assert second.errors == []

    def test_redis_restart_keeps_routing(self, browser: Browser, stack: Stack, database: HandoffDatabase) -> None:
        stack.create_counsellor("nadia", PASSWORD, display_name="Nadia")
        console = open_console(browser, stack, "nadia")
        user = open_widget(browser, stack)
        widget, chat = user.page, console.page
        try:
            ask_counsellor(widget)
            session_id = session_id_of(widget)
            conversation = database.open_conversation(session_id)
            expect(queue_row(chat, conversation.id)).to_contain_text("En attente")

            stack.restart_redis()
            bot_items = widget.locator(BOT_ONLY_ITEMS).count()
            tracked = len(tracker_user_events(stack, session_id))
            while_queued = "Message écrit après le redémarrage de Redis"
            send(widget, while_queued)
            widget.wait_for_timeout(NO_REPLY_WAIT_MS)
            assert widget.locator(BOT_ONLY_ITEMS).count() == bot_items
            assert len(tracker_user_events(stack, session_id)) == tracked
            assert ("user", while_queued) in database.messages(conversation.id)

            claim_from_queue(console, stack, conversation)
            expect(console_user_messages(chat, while_queued)).to_have_count(1)
            expect(widget_notices(widget, store.NOTICE_CLAIMED)).to_have_count(1)
            live = "Et ce message arrive en direct ?"
            send(widget, live)
            expect(console_user_messages(chat, live)).to_have_count(1)
            console_reply(chat, conversation.pseudonym, "Oui, je te lis.")
            expect(counsellor_bubbles(widget).last).to_have_text("Oui, je te lis.")
        finally:
            user.close()
            console.close()
        assert user.errors == []
        assert console.errors == []
