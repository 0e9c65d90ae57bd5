"""Page-level tests of the console in Chromium, with screenshots for the counsellor guide.

The browser is Debian's Chromium (`apt-get install chromium`), driven by
Playwright for Python. The screenshots go to docs/screenshots/console-*.png
(1280×800).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
import redis
from playwright.sync_api import Browser, Page, expect, sync_playwright

from connectors.telegram.sender import REASON_BLOCKED
from handoff import events, store
from handoff.models import CannedReply, utc_now
from handoff.store import TranscriptEntry
from handoff.web.auth import MESSAGE_INVALID_OR_LOCKED

from .conftest import SCREENSHOTS_DIR, ConsoleData, ConsoleServer, cleanup_console, make_console

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
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000
PASSWORD = "mot-de-passe-de-test"
XSS_TEXT = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> & « guillemets »'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def fresh_console(tmp_path, redis_url, rasa_stub, smtp_server) -> Iterator[ConsoleServer]:
    """A console on an empty database, so that a screenshot shows only the data of its test."""
    server = make_console(tmp_path, redis_url, rasa_stub.url, smtp_server.port)
    server.start()
    yield server
    cleanup_console(server)


def open_page(browser: Browser, server: ConsoleServer, login: str) -> tuple[Page, list[str]]:
    """Log in through the form and return the queue page, with the JavaScript errors it raises."""
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A Content-Security-Policy violation shows up as a console error only.
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{server.url}/login")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{server.url}/")
    return page, errors


def publish(server: ConsoleServer, event: dict) -> None:
    client = redis.Redis.from_url(server.redis_url)
    try:
        client.publish(server.events_channel, json.dumps(event))
    finally:
        client.close()


def transcript_item(page: Page, message_id: int):
    return page.locator(f'#transcript li[data-message-id="{message_id}"]')


def test_login_form_error_in_french(browser, console, data):
    context = browser.new_context(locale="fr-FR", viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{console.url}/login")
    page.get_by_label("Identifiant").fill("inconnu")
    page.get_by_label("Mot de passe").fill("mauvais-mot-de-passe")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_have_text(MESSAGE_INVALID_OR_LOCKED)
    context.close()


def test_queue_updates_without_reload(browser, console, data):
    login = data.counsellor("Camille")
    page, errors = open_page(browser, console, login)
    page.evaluate("window.__sameDocument = true")
    conversation = data.escalate(urgent=True, topic="Sujet arrivé en direct")
    publish(console, events.queue_changed(conversation.id))
    row = page.locator(f'tr[data-conversation-id="{conversation.id}"]')
    expect(row).to_contain_text(conversation.pseudonym)
    expect(row).to_contain_text("Urgent")
    expect(row).to_contain_text("en attente depuis moins d'une minute")
    assert page.evaluate("window.__sameDocument") is True
    assert errors == []
    page.context.close()


def test_queue_push_keeps_unchanged_rows(browser, console, data):
    login = data.counsellor("Camille")
    other = data.counsellor("Dominique")
    above = data.escalate(urgent=True, topic="Conversation urgente")
    below = data.escalate(topic="Conversation suivante")
    publish(console, events.queue_changed(below.id))
    page, errors = open_page(browser, console, login)
    row = page.locator(f'tr[data-conversation-id="{below.id}"]')
    expect(row.locator(".claim-form button")).to_be_visible()
    # Wait for the socket's first push, which replaces the rows rendered by the server.
    page.wait_for_function("() => document.querySelector('#queue-body tr[data-state]') !== null")
    # Record whether the row leaves the table, even for a moment: a press on
    # its button across that move would not end in a click.
    row.evaluate("""node => {
        window.__rowMoved = false;
        new MutationObserver((records) => {
            if (records.some((record) => Array.from(record.removedNodes).includes(node))) {
                window.__rowMoved = true;
            }
        }).observe(node.parentNode, {childList: true});
    }""")

    # Another counsellor takes the conversation above: its row is rebuilt.
    data.claim(above.id, other)
    publish(console, events.queue_changed(above.id))
    expect(page.locator(f'tr[data-conversation-id="{above.id}"]')).to_contain_text("Dominique")
    assert page.evaluate("window.__rowMoved") is False
    assert errors == []
    page.context.close()


def test_claim_opens_chat_with_transcript(browser, console, data):
    login = data.counsellor("Camille")
    conversation = data.escalate()
    publish(console, events.queue_changed(conversation.id))
    page, errors = open_page(browser, console, login)
    page.get_by_role("button", name=f"Prendre la conversation de {conversation.pseudonym}").click()
    page.wait_for_url(f"{console.url}/conversations/{conversation.id}")
    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text("Bonjour, je cherche une formation")
    expect(transcript).to_contain_text("Je peux t'aider. Dans quelle ville ?")
    expect(transcript.locator(".message-system")).to_contain_text(store.NOTICE_CLAIMED)
    expect(page.locator("#reply-form")).to_be_visible()
    assert errors == []
    page.context.close()


def test_claim_taken_shows_owner(browser, console, data):
    login = data.counsellor("Camille")
    other = data.counsellor("Dominique")
    conversation = data.escalate()
    page, _ = open_page(browser, console, login)
    page.goto(f"{console.url}/conversations/{conversation.id}")
    # Once the messages are shown the page has read the conversation; the
    # colleague's claim below publishes no event, so the button stays.
    expect(page.locator("#transcript li[data-message-id]").first).to_be_visible()
    data.claim(conversation.id, other)
    page.get_by_role("button", name="Prendre cette conversation").click()
    expect(page.locator("#page-alert")).to_have_text("Cette conversation a déjà été prise par Dominique.")
    page.context.close()


def test_xss_shown_as_text(browser, console, data):
    login = data.counsellor()
    conversation = data.escalate(transcript=[TranscriptEntry("user", XSS_TEXT)], topic=XSS_TEXT, location=XSS_TEXT)
    data.claim(conversation.id, login)
    page, errors = open_page(browser, console, login)
    page.goto(f"{console.url}/conversations/{conversation.id}")
    message_id = data.add_user_message(conversation.id, XSS_TEXT)
    publish(console, events.user_message(conversation.id, message_id))
    expect(transcript_item(page, message_id).locator(".message-text")).to_have_text(XSS_TEXT)
    first = page.locator("#transcript .message-user .message-text").first
    expect(first).to_have_text(XSS_TEXT)
    assert page.locator("#transcript img").count() == 0
    assert page.locator("main script").count() == 0
    assert page.evaluate("window.__xss") is None
    page.goto(f"{console.url}/")
    expect(page.locator(f'tr[data-conversation-id="{conversation.id}"]')).to_contain_text(XSS_TEXT)
    assert page.evaluate("window.__xss") is None
    assert errors == []
    page.context.close()


def test_megabyte_message_displayed(browser, console, data):
    login = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, login)
    huge = ("Un très long message. " * 50_000)[:1_000_000]
    message_id = data.add_user_message(conversation.id, huge)
    page, errors = open_page(browser, console, login)
    page.goto(f"{console.url}/conversations/{conversation.id}")
    item = transcript_item(page, message_id)
    text = item.locator(".message-text")
    expect(text).to_be_visible()
    assert len(text.text_content()) == 2001
    toggle = item.locator("button.message-toggle")
    expect(toggle).to_have_text("Afficher tout (1 000 000 caractères)".replace(" 000", "\u202f000"))
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_have_text("Réduire")
    assert len(text.text_content()) == 1_000_000
    assert errors == []
    page.context.close()


def test_reply_enter_and_shift_enter(browser, console, data):
    login = data.counsellor("Camille")
    conversation = data.escalate()
    data.claim(conversation.id, login)
    page, errors = open_page(browser, console, login)
    page.goto(f"{console.url}/conversations/{conversation.id}")
    box = page.get_by_label(f"Votre message à {conversation.pseudonym}")
    box.type("Première ligne")
    box.press("Shift+Enter")
    box.type("Deuxième ligne")
    box.press("Enter")
    mine = page.locator("#transcript .message-mine").last
    expect(mine.locator(".message-text")).to_have_text("Première ligne\nDeuxième ligne")
    expect(mine.locator(".delivery")).to_have_text("envoyé")
    expect(box).to_have_value("")
    assert data.transcript(conversation.id)[-1].text == "Première ligne\nDeuxième ligne"

    message_id = int(mine.get_attribute("data-message-id"))
    publish(console, events.delivered(conversation.id, [message_id]))
    expect(mine.locator(".delivery")).to_have_text("reçu")
    assert errors == []
    page.context.close()


def test_refused_message_marked_after_reload(browser, console, data):
    login = data.counsellor("Camille")
    conversation = data.escalate(channel="telegram")
    data.claim(conversation.id, login)
    message_id = data.refused_message(conversation.id, login, "Tu es là ?", REASON_BLOCKED)
    page, errors = open_page(browser, console, login)
    page.goto(f"{console.url}/conversations/{conversation.id}")
    status = transcript_item(page, message_id).locator(".delivery")
    expect(status).to_have_text(f"non remis. {REASON_BLOCKED}")
    page.reload()
    expect(status).to_have_text(f"non remis. {REASON_BLOCKED}")
    expect(status).to_have_attribute("data-state", "failed")
    assert errors == []
    page.context.close()


def test_reply_too_long_refused(browser, console, data):
    login = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, login)
    page, _ = open_page(browser, console, login)
    page.goto(f"{console.url}/conversations/{conversation.id}")
    page.locator("#reply-text").fill("a" * 5001)
    expect(page.locator("#reply-error")).to_have_text(
        "Votre message dépasse 5\u202f000 caractères : raccourcissez-le ou envoyez-le en plusieurs fois."
    )
    expect(page.locator("#reply-send")).to_be_disabled()
    page.context.close()


def test_canned_reply_inserted(browser, console, data):
    login = data.counsellor()
    title = f"Horaires {uuid.uuid4().hex[:6]}"
    with data.factory() as session:
        session.add(CannedReply(title=title, text="La Mission locale est ouverte du lundi au vendredi."))
        session.commit()
    conversation = data.escalate()
    data.claim(conversation.id, login)
    page, _ = open_page(browser, console, login)
    page.goto(f"{console.url}/conversations/{conversation.id}")
    page.get_by_role("button", name=title).click()
    expect(page.locator("#reply-text")).to_have_value("La Mission locale est ouverte du lundi au vendredi.")
    expect(page.locator("#reply-text")).to_be_focused()
    page.context.close()


def test_place_search_and_send(browser, console, data):
    login = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, login)
    page, errors = open_page(browser, console, login)
    page.goto(f"{console.url}/conversations/{conversation.id}")
    page.get_by_label("Ville ou code postal").fill("Saint-Denis")
    page.get_by_label("Type de lieu").select_option("cio")
    page.locator("#place-form").get_by_role("button", name="Rechercher").click()
    page.get_by_role("button", name=re.compile(r"Saint-Denis \(Seine-Saint-Denis\)")).click()
    send = page.get_by_role("button", name=re.compile("^Envoyer ce lieu")).first
    send.click()
    card = page.locator("#transcript .message-mine .message-card").last
    expect(card).to_be_visible()
    expect(card.locator(".card-type")).to_have_text("CIO")
    assert data.transcript(conversation.id)[-1].payload is not None
    assert errors == []
    page.context.close()


def test_hand_back_from_chat(browser, console, data, rasa_stub):
    login = data.counsellor()
    sender_id = uuid.uuid4().hex
    conversation = data.escalate(sender_id=sender_id)
    data.claim(conversation.id, login)
    page, _ = open_page(browser, console, login)
    page.goto(f"{console.url}/conversations/{conversation.id}")
    page.get_by_role("button", name="Rendre la main à l'assistant").click()
    page.wait_for_url(f"{console.url}/")
    assert data.conversation(conversation.id).handed_back is True
    assert rasa_stub.requests_for(sender_id)[0]["json"] == {"event": "resume"}
    page.context.close()


def test_released_conversation_locks_reply(browser, console, data):
    login = data.counsellor()
    conversation = data.escalate()
    data.claim(conversation.id, login)
    page, _ = open_page(browser, console, login)
    page.goto(f"{console.url}/conversations/{conversation.id}")
    expect(page.locator("#reply-form")).to_be_visible()
    with data.factory() as session:
        store.release_to_queue(session, conversation.id)
        session.commit()
    publish(console, events.queue_changed(conversation.id))
    expect(page.locator("#reply-form")).to_be_hidden()
    expect(page.locator("#state-text")).to_have_text("Cette conversation attend un conseiller.")
    expect(page.locator("#page-notice")).to_have_text("Cette conversation ne vous est plus attribuée.")
    page.context.close()


# ---------------------------------------------------------------- Screenshots for the guide


def _screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS_DIR / name
    page.screenshot(path=str(path))
    return path


def _age(session, conversation_id: str, minutes: int) -> None:
    conversation = store.get_conversation(session, conversation_id)
    conversation.queued_at = utc_now() - timedelta(minutes=minutes)


def test_screenshot_queue(browser, fresh_console, test_password_hash):
    data = ConsoleData(fresh_console.database_url, test_password_hash)
    login = data.counsellor("Camille", login="camille")
    colleague = data.counsellor("Karim", login="karim")
    data.escalate(topic="Recherche de formation", location="Villeurbanne (69)")
    urgent = data.escalate(urgent=True, topic="Mal-être", location=None)
    older = data.escalate(topic="Reprendre ses études", location="Lille (59)")
    taken = data.escalate(topic="Trouver une Mission locale", location="Marseille (13)")
    data.claim(taken.id, colleague)
    with data.factory() as session:
        _age(session, urgent.id, 2)
        _age(session, older.id, 14)
        _age(session, taken.id, 25)
        store.get_conversation(session, taken.id).claimed_at = utc_now() - timedelta(minutes=6)
        session.commit()
    data.followup()
    data.followup(question="Est-ce qu'on peut faire un CAP en alternance à 17 ans ?")
    page, errors = open_page(browser, fresh_console, login)
    expect(page.locator("#queue-body tr")).to_have_count(4)
    first_row = page.locator("#queue-body tr").first
    expect(first_row).to_contain_text("Urgent")
    expect(page.locator("#followups-link")).to_have_text("2 demandes de réponse par e-mail en attente")
    path = _screenshot(page, "console-queue.png")
    assert path.stat().st_size > 10_000
    assert errors == []
    page.context.close()


def test_screenshot_chat(browser, fresh_console, test_password_hash):
    data = ConsoleData(fresh_console.database_url, test_password_hash)
    login = data.counsellor("Camille", login="camille")
    with data.factory() as session:
        session.add_all(
            [
                CannedReply(title="Se présenter", text="Bonjour, je suis conseillère à Seconde chance. Je t'écoute."),
                CannedReply(title="Mission locale", text="La Mission locale aide les 16-25 ans sans emploi ni formation : "
                            "orientation, formation, logement, santé. C'est gratuit."),
                CannedReply(title="Fin de conversation", text="Merci pour ta confiance. Tu peux revenir quand tu veux."),
            ]
        )
        session.commit()
    conversation = data.escalate(
        topic="Reprendre une formation",
        location="Villeurbanne (69)",
        transcript=[
            TranscriptEntry("user", "salut j'ai arrêté le lycée l'an dernier"),
            TranscriptEntry("bot", "Merci de me l'écrire. Je peux t'aider à trouver une formation ou un lieu "
                            "d'accueil près de chez toi. Tu habites où ?"),
            TranscriptEntry("user", "villeurbanne"),
            TranscriptEntry("bot", "Voici les lieux les plus proches de Villeurbanne (69)."),
            TranscriptEntry("user", "je préfère parler à quelqu'un"),
        ],
    )

    page, errors = open_page(browser, fresh_console, login)
    page.get_by_role("button", name=f"Prendre la conversation de {conversation.pseudonym}").click()
    page.wait_for_url(f"{fresh_console.url}/conversations/{conversation.id}")

    box = page.locator("#reply-text")
    box.fill("Bonjour, je suis Camille, conseillère. Qu'est-ce qui te ferait envie comme métier ?")
    box.press("Enter")
    expect(page.locator("#transcript .message-mine")).to_have_count(1)

    message_id = data.add_user_message(conversation.id, "je sais pas trop… peut-être la cuisine ?")
    publish(fresh_console, events.user_message(conversation.id, message_id))
    expect(transcript_item(page, message_id)).to_be_visible()
    publish(fresh_console, events.user_typing(conversation.id))
    expect(page.locator("#user-typing")).to_be_visible()

    page.get_by_label("Ville ou code postal").fill("Villeurbanne")
    page.get_by_label("Type de lieu").select_option("mission_locale")
    page.locator("#place-form").get_by_role("button", name="Rechercher").click()
    # The first search loads the knowledge index, which takes several seconds
    # on a busy machine.
    expect(page.locator("#place-results .place-item").first).to_be_visible(timeout=30_000)

    box.fill("Il existe des CAP cuisine en apprentissage. La Mission locale peut t'aider à trouver un employeur.")
    page.evaluate("window.scrollTo(0, 0)")
    path = _screenshot(page, "console-chat.png")
    assert path.stat().st_size > 10_000
    assert errors == []
    page.context.close()


def test_screenshot_followups(browser, fresh_console, test_password_hash):
    data = ConsoleData(fresh_console.database_url, test_password_hash)
    login = data.counsellor("Camille", login="camille")
    data.followup(question="bonjour, je voudrais savoir si on peut passer le bac en candidat libre à 19 ans\n"
                           "j'ai arrêté en première")
    data.followup(question="Est-ce qu'on peut faire un CAP en alternance à 17 ans ?")
    page, errors = open_page(browser, fresh_console, login)
    page.get_by_role("link", name=re.compile("Réponses par e-mail")).first.click()
    page.wait_for_url(f"{fresh_console.url}/followups")
    page.locator("textarea").first.fill(
        "Bonjour ! Oui, tu peux passer le bac en candidat libre : l'inscription se fait à l'automne "
        "sur le site de ton académie. Le CIO de ton secteur peut t'aider à préparer ton dossier."
    )
    page.evaluate("window.scrollTo(0, 0)")
    path = _screenshot(page, "console-followups.png")
    assert path.stat().st_size > 10_000
    assert errors == []
    page.context.close()
