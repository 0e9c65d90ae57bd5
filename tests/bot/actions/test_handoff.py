"""Tests of bot.actions.handoff and of the escalations in the fallback and safety responses.

They run the actions on real trackers against a migrated SQLite handoff
database and the real Redis. HANDOFF_FORCE_OPEN=open|closed, or an office
hours file, decides whether the chat is open.
"""

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Optional
from zoneinfo import ZoneInfo

import pytest
import yaml
from redis import Redis

from bot.actions.answers import ActionHandleFallback, ActionHandleYesNo
from bot.actions.handoff import (
    EMPTY_FOLLOWUP_QUESTION,
    ActionCancelFollowup,
    ActionRequestCounsellor,
    ActionSaveFollowup,
    ValidateFollowupForm,
    find_email,
    followup_question,
    topic_label,
    transcript_entries,
)
from bot.actions.safety import ActionDistressSupport
from handoff import store
from handoff.db import dispose_engine, get_sessionmaker, upgrade_database
from handoff.events import EVENTS_CHANNEL
from handoff.models import Counsellor, Followup
from handoff.office_hours import WEEKDAYS, format_opening
from handoff.routing import DEFAULT_KEY_PREFIX
from tests.bot.conftest import entity, make_tracker

ADDRESS = "lea.martin@exemple.fr"
FALLBACK_EVENT = {"event": "user", "text": "hjkl qsdf", "parse_data": {"intent": {"name": "nlu_fallback"}},
                  "input_channel": "widget"}


@pytest.fixture
def handoff_url(tmp_path, monkeypatch, redis_url) -> Iterator[str]:
    """A migrated SQLite handoff database named by HANDOFF_DATABASE_URL; the chat is open."""
    url = f"sqlite:///{tmp_path / 'handoff.sqlite3'}"
    upgrade_database(url)
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HANDOFF_FORCE_OPEN", "open")
    monkeypatch.delenv("HANDOFF_MAX_WAIT_MINUTES", raising=False)
    monkeypatch.delenv("HANDOFF_OFFICE_HOURS_FILE", raising=False)
    monkeypatch.delenv("FOLLOWUP_RETENTION_DAYS", raising=False)
    yield url
    dispose_engine(url)


@pytest.fixture
def sync_redis(redis_url) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def sender(unique_id, sync_redis) -> Iterator[str]:
    """A sender id of this test only; its routing key is deleted afterwards."""
    yield unique_id
    sync_redis.delete(f"{DEFAULT_KEY_PREFIX}route:widget:{unique_id}")


@pytest.fixture
def queue_events(sync_redis) -> Iterator[Any]:
    """A subscription to the handoff events, confirmed before the test runs."""
    pubsub = sync_redis.pubsub()
    pubsub.subscribe(EVENTS_CHANNEL)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    yield pubsub
    pubsub.close()


def widget_tracker(text: str, intent: str, sender_id: str, **options: Any):
    return make_tracker(text, intent, sender_id=sender_id, input_channel="widget", **options)


def open_conversation(url: str, sender_id: str) -> Optional[store.Conversation]:
    with get_sessionmaker(url)() as session:
        return store.open_conversation_for(session, "widget", sender_id)


def transcript_texts(url: str, conversation_id: str) -> List[tuple]:
    with get_sessionmaker(url)() as session:
        return [(message.author, message.text) for message in store.transcript(session, conversation_id)]


def event_names(result) -> List[str]:
    return [event.get("event") for event in result.events]


def message_of(result, response: str) -> Dict[str, Any]:
    return [message for message in result.messages if message.get("response") == response][0]


def received_event(pubsub, event_type: str, conversation_id: str) -> Optional[Dict[str, Any]]:
    for _ in range(20):
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if message is None:
            continue
        event = json.loads(message["data"])
        if event.get("type") == event_type and event.get("conversation_id") == conversation_id:
            return event
    return None


def closed_days_hours_file(tmp_path, monkeypatch) -> datetime:
    """Write office hours closed from yesterday to tomorrow, open 9:00-18:00 otherwise.

    Returns:
        The next opening: the day after tomorrow at 9:00, Paris time.
    """
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    hours = {
        "timezone": "Europe/Paris",
        "weekly": {day: ["09:00-18:00"] for day in WEEKDAYS},
        "public_holidays": False,
        "closed_dates": [f"{today - timedelta(days=1)}..{today + timedelta(days=1)}"],
    }
    path = tmp_path / "office_hours.yml"
    path.write_text(yaml.safe_dump(hours), encoding="utf-8")
    monkeypatch.setenv("HANDOFF_OFFICE_HOURS_FILE", str(path))
    monkeypatch.delenv("HANDOFF_FORCE_OPEN")
    return datetime.combine(today + timedelta(days=2), datetime.min.time().replace(hour=9),
                            tzinfo=ZoneInfo("Europe/Paris"))


# ---------- Request for a counsellor ----------


def test_request_open_pauses_bot(run_action, handoff_url, sender):
    result = run_action(ActionRequestCounsellor(), widget_tracker("je veux parler à un conseiller",
                                                                  "ask_counsellor", sender))
    assert event_names(result)[-2:] == ["action", "pause"]
    assert result.events[-2]["name"] == "action_listen"


def test_request_open_says_queue_position(run_action, handoff_url, sender):
    result = run_action(ActionRequestCounsellor(), widget_tracker("un conseiller svp", "ask_counsellor", sender))
    queued = message_of(result, "utter_handoff_queued")
    assert queued["position"] == "1"
    assert queued["wait"] == "quelques minutes"


def test_request_open_stores_conversation(run_action, handoff_url, sender):
    earlier = [
        {"event": "user", "text": "je cherche un cap cuisine", "input_channel": "widget",
         "parse_data": {"intent": {"name": "find_training"}}},
        {"event": "bot", "text": "Dans quelle ville veux-tu chercher ?", "data": {}},
    ]
    tracker = widget_tracker("je veux parler à quelqu'un", "ask_counsellor", sender, events=earlier,
                             slots={"commune_name": "Villeurbanne (69)", "age": "17"})
    run_action(ActionRequestCounsellor(), tracker)
    conversation = open_conversation(handoff_url, sender)
    assert conversation.status == "queued"
    assert conversation.reason == "user_request"
    assert conversation.urgent is False
    assert conversation.topic == "Recherche de formation"
    assert conversation.location_label == "Villeurbanne (69)"
    assert conversation.age == 17
    assert transcript_texts(handoff_url, conversation.id) == [
        ("user", "je cherche un cap cuisine"),
        ("bot", "Dans quelle ville veux-tu chercher ?"),
        ("user", "je veux parler à quelqu'un"),
    ]


def test_request_open_sets_route(run_action, handoff_url, sender, sync_redis):
    run_action(ActionRequestCounsellor(), widget_tracker("un humain svp", "ask_counsellor", sender))
    conversation = open_conversation(handoff_url, sender)
    assert sync_redis.get(f"{DEFAULT_KEY_PREFIX}route:widget:{sender}") == conversation.id.encode()


def test_request_open_publishes_queue_changed(run_action, handoff_url, sender, queue_events):
    run_action(ActionRequestCounsellor(), widget_tracker("un humain svp", "ask_counsellor", sender))
    conversation = open_conversation(handoff_url, sender)
    assert received_event(queue_events, "queue_changed", conversation.id) is not None


def test_request_twice_joins_open_conversation(run_action, handoff_url, sender):
    run_action(ActionRequestCounsellor(), widget_tracker("un conseiller", "ask_counsellor", sender))
    first = open_conversation(handoff_url, sender)
    run_action(ActionRequestCounsellor(), widget_tracker("un conseiller", "ask_counsellor", sender))
    assert open_conversation(handoff_url, sender).id == first.id


def test_request_closed_offers_followup(run_action, handoff_url, sender, monkeypatch):
    monkeypatch.setenv("HANDOFF_FORCE_OPEN", "closed")
    result = run_action(ActionRequestCounsellor(), widget_tracker("un conseiller", "ask_counsellor", sender))
    assert result.responses == ["utter_handoff_closed_unknown"]
    assert result.slot("last_question") == "followup_offer"
    assert "pause" not in event_names(result)
    assert open_conversation(handoff_url, sender) is None


def test_request_closed_names_next_opening(run_action, handoff_url, sender, tmp_path, monkeypatch):
    opening = closed_days_hours_file(tmp_path, monkeypatch)
    result = run_action(ActionRequestCounsellor(), widget_tracker("un conseiller", "ask_counsellor", sender))
    assert result.responses == ["utter_handoff_closed"]
    assert message_of(result, "utter_handoff_closed")["opening"] == format_opening(opening)


def test_followup_offer_has_buttons(domain):
    for response in ("utter_handoff_closed", "utter_handoff_closed_unknown", "utter_handoff_busy"):
        for variation in domain["responses"][response]:
            payloads = [button["payload"] for button in variation["buttons"]]
            assert payloads == ["/give_email", "/deny"], response


def test_request_busy_offers_followup(run_action, handoff_url, sender, monkeypatch):
    # Three conversations claimed after 30 minutes each: the estimate for the
    # next one is 30 minutes, above the limit of 20.
    now = datetime.now(timezone.utc)
    with get_sessionmaker(handoff_url)() as session:
        counsellor = Counsellor(login=f"c{sender[:10]}", display_name="Conseiller", password_hash="x")
        session.add(counsellor)
        session.flush()
        for index in range(3):
            earlier = store.escalate(session, channel="widget", sender_id=f"{sender}-{index}",
                                     now=now - timedelta(minutes=40))
            store.claim(session, earlier.id, counsellor.id, now=now - timedelta(minutes=10))
        session.commit()
    monkeypatch.setenv("HANDOFF_MAX_WAIT_MINUTES", "20")
    result = run_action(ActionRequestCounsellor(), widget_tracker("un conseiller", "ask_counsellor", sender))
    assert result.responses == ["utter_handoff_busy"]
    assert message_of(result, "utter_handoff_busy")["max_wait"] == "20"
    assert open_conversation(handoff_url, sender) is None


def test_request_after_expiry_offers_followup(run_action, handoff_url, sender, monkeypatch):
    monkeypatch.setenv("HANDOFF_QUEUE_TIMEOUT_MINUTES", "30")
    with get_sessionmaker(handoff_url)() as session:
        earlier = store.escalate(session, channel="widget", sender_id=sender,
                                 now=datetime.now(timezone.utc) - timedelta(minutes=40))
        store.expire_queued(session, earlier.id)
        session.commit()
    result = run_action(ActionRequestCounsellor(), widget_tracker("un conseiller", "ask_counsellor", sender))
    assert result.responses == ["utter_handoff_busy"]
    assert message_of(result, "utter_handoff_busy")["max_wait"] == "30"
    assert open_conversation(handoff_url, sender) is None


def test_request_after_expiry_urgent_queued(run_action, handoff_url, sender):
    with get_sessionmaker(handoff_url)() as session:
        earlier = store.escalate(session, channel="widget", sender_id=sender)
        store.expire_queued(session, earlier.id)
        session.commit()
    result = run_action(ActionDistressSupport(), widget_tracker("je veux me suicider", "distress", sender))
    assert "pause" in event_names(result)
    assert open_conversation(handoff_url, sender) is not None


def test_request_other_channel_offers_followup(run_action, handoff_url, sender):
    tracker = make_tracker("un conseiller", "ask_counsellor", sender_id=sender, input_channel="rest")
    result = run_action(ActionRequestCounsellor(), tracker)
    assert result.responses == ["utter_handoff_followup_only"]
    assert result.slot("last_question") == "followup_offer"


def test_request_database_down_offers_places(run_action, handoff_url, sender, tmp_path, monkeypatch):
    monkeypatch.setenv("HANDOFF_DATABASE_URL", f"sqlite:///{tmp_path / 'not-migrated.sqlite3'}")
    result = run_action(ActionRequestCounsellor(), widget_tracker("un conseiller", "ask_counsellor", sender))
    assert result.responses == ["utter_handoff_unavailable"]
    assert result.slot("last_question") == "show_places"
    dispose_engine(f"sqlite:///{tmp_path / 'not-migrated.sqlite3'}")


def test_request_with_distress_gets_safety_first(run_action, handoff_url, sender):
    tracker = widget_tracker("je veux parler a quelqu'un je pense a me suicider", "ask_counsellor", sender)
    result = run_action(ActionRequestCounsellor(), tracker)
    assert result.responses[0] == "utter_distress_suicide"
    assert open_conversation(handoff_url, sender).urgent is True


# ---------- Fallback ----------


def test_fallback_twice_escalates(run_action, handoff_url, sender):
    tracker = widget_tracker("ghhhh bbbbv", "nlu_fallback", sender, events=[FALLBACK_EVENT])
    result = run_action(ActionHandleFallback(), tracker)
    assert result.responses == ["utter_handoff_failures_intro", "utter_handoff_queued"]
    assert "pause" in event_names(result)
    conversation = open_conversation(handoff_url, sender)
    assert conversation.reason == "fallback"
    assert conversation.topic == "Messages non compris"


def test_fallback_twice_closed_offers_followup(run_action, handoff_url, sender, monkeypatch):
    monkeypatch.setenv("HANDOFF_FORCE_OPEN", "closed")
    tracker = widget_tracker("ghhhh bbbbv", "nlu_fallback", sender, events=[FALLBACK_EVENT])
    result = run_action(ActionHandleFallback(), tracker)
    assert result.responses == ["utter_handoff_failures_intro", "utter_handoff_closed_unknown"]
    assert open_conversation(handoff_url, sender) is None


def test_fallback_twice_database_down(run_action, handoff_url, sender, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'not-migrated.sqlite3'}"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    tracker = widget_tracker("ghhhh bbbbv", "nlu_fallback", sender, events=[FALLBACK_EVENT])
    result = run_action(ActionHandleFallback(), tracker)
    assert result.responses == ["utter_counsellor_after_failures"]
    dispose_engine(url)


def test_fallback_once_does_not_escalate(run_action, handoff_url, sender):
    result = run_action(ActionHandleFallback(), widget_tracker("ghhhh bbbbv", "nlu_fallback", sender))
    assert result.responses == ["utter_ask_rephrase"]
    assert open_conversation(handoff_url, sender) is None


# ---------- Distress ----------


def test_distress_numbers_then_escalation(run_action, handoff_url, sender):
    result = run_action(ActionDistressSupport(), widget_tracker("je pense a me suicider", "distress", sender))
    assert result.messages[0]["response"] == "utter_distress_suicide"
    assert "3114" in result.messages[1]["text"]
    assert result.responses[-1] == "utter_handoff_distress_queued"
    assert len(result.messages) == 3


def test_distress_escalates_urgent(run_action, handoff_url, sender):
    run_action(ActionDistressSupport(), widget_tracker("je pense a me suicider", "distress", sender))
    conversation = open_conversation(handoff_url, sender)
    assert conversation.urgent is True
    assert conversation.reason == "distress"
    assert conversation.topic == "Détresse"


def test_distress_goes_to_front_of_queue(run_action, handoff_url, sender):
    with get_sessionmaker(handoff_url)() as session:
        store.escalate(session, channel="widget", sender_id=f"{sender}-other")
        session.commit()
    run_action(ActionDistressSupport(), widget_tracker("je pense a me suicider", "distress", sender))
    with get_sessionmaker(handoff_url)() as session:
        conversation = store.open_conversation_for(session, "widget", sender)
        assert store.queue_position(session, conversation.id) == 1


def test_distress_transcript_has_whole_answer(run_action, handoff_url, sender):
    run_action(ActionDistressSupport(), widget_tracker("je pense a me suicider", "distress", sender))
    conversation = open_conversation(handoff_url, sender)
    entries = transcript_texts(handoff_url, conversation.id)
    last_user = max(index for index, (author, _) in enumerate(entries) if author == "user")
    answer = [text for author, text in entries[last_user + 1:] if author == "bot"]

    # The question the bot asked, then the numbers. The closing message
    # follows the escalation, so the transcript cannot contain it.
    assert len(answer) == 2
    assert "penses à te suicider" in answer[0]
    assert "3114" in answer[1]
    assert all("{" not in text for text in answer)


def test_distress_escalated_pauses_and_clears_question(run_action, handoff_url, sender):
    result = run_action(ActionDistressSupport(), widget_tracker("je pense a me suicider", "distress", sender))
    assert event_names(result)[-2:] == ["action", "pause"]
    assert result.slot("last_question") is None


def test_distress_closed_says_reopening(run_action, handoff_url, sender, tmp_path, monkeypatch):
    opening = closed_days_hours_file(tmp_path, monkeypatch)
    result = run_action(ActionDistressSupport(), widget_tracker("je pense a me suicider", "distress", sender))
    assert result.responses[-1] == "utter_handoff_distress_closed"
    closed = message_of(result, "utter_handoff_distress_closed")
    assert closed["opening"] == format_opening(opening)


def test_distress_closed_keeps_bot(run_action, handoff_url, sender, monkeypatch):
    monkeypatch.setenv("HANDOFF_FORCE_OPEN", "closed")
    result = run_action(ActionDistressSupport(), widget_tracker("je pense a me suicider", "distress", sender))
    assert result.responses[-1] == "utter_handoff_distress_closed_unknown"
    assert "pause" not in event_names(result)
    assert result.slot("last_question") == "suicide_check"
    assert open_conversation(handoff_url, sender) is None


def test_distress_closed_text_promises_no_counsellor(domain):
    for response in ("utter_handoff_distress_closed", "utter_handoff_distress_closed_unknown",
                     "utter_handoff_distress_no_counsellor"):
        for variation in domain["responses"][response]:
            assert "répondra" not in variation["text"]
            assert "numéros ci-dessus" in variation["text"]


def test_distress_hyperbole_not_escalated(run_action, handoff_url, sender):
    tracker = widget_tracker("mdr je vais mourir si je rate ce cap", "distress", sender)
    result = run_action(ActionDistressSupport(), tracker)
    assert result.responses == ["utter_distress_checkin"]
    assert open_conversation(handoff_url, sender) is None


def test_distress_database_down_keeps_numbers(run_action, handoff_url, sender, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'not-migrated.sqlite3'}"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    result = run_action(ActionDistressSupport(), widget_tracker("je pense a me suicider", "distress", sender))
    assert result.responses == ["utter_distress_suicide", "utter_handoff_distress_no_counsellor"]
    assert "3114" in result.texts
    assert result.slot("last_question") == "suicide_check"
    dispose_engine(url)


# ---------- E-mail follow-up ----------


def form_tracker(text: str, slot_value: Any, sender_id: str):
    """A tracker in which the form has just extracted `slot_value` from `text`."""
    tracker = widget_tracker(text, "give_email", sender_id, slots={"followup_email": slot_value,
                                                                   "requested_slot": "followup_email"})
    tracker.events.append({"event": "slot", "name": "followup_email", "value": slot_value})
    tracker.active_loop = {"name": "followup_form"}
    return tracker


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"mon mail c'est {ADDRESS} merci", ADDRESS),
        (f"{ADDRESS}.", ADDRESS),
        (f"<{ADDRESS}>", ADDRESS),
        (f"mailto:{ADDRESS}", ADDRESS),
        ("lea.martin@exemple", None),
        ("lea martin@exemple.fr", "martin@exemple.fr"),
        ("pas d'adresse", None),
        ("a@b.fr ou c@d.fr", None),
        (f"{ADDRESS} {ADDRESS.upper()}", ADDRESS),
        ("x" * 250 + "@exemple.fr", None),
        ("lea,martin@exemple.fr", None),
    ],
    ids=["sentence", "final-dot", "brackets", "mailto", "no-dot", "spaces", "none", "two", "same-twice",
         "too-long", "comma"],
)
def test_find_email(text, expected):
    assert find_email(text) == expected


def test_validate_keeps_address_in_sentence(run_action, handoff_url, sender):
    text = f"oui mon mail c'est {ADDRESS} merci"
    result = run_action(ValidateFollowupForm(), form_tracker(text, text, sender))
    assert result.slot("followup_email") == ADDRESS
    assert result.responses == []


def test_validate_reads_message_when_entity_partial(run_action, handoff_url, sender):
    result = run_action(ValidateFollowupForm(), form_tracker(f"c'est {ADDRESS}", "lea.martin", sender))
    assert result.slot("followup_email") == ADDRESS


@pytest.mark.parametrize("text", ["lea.martin@exemple", "je sais pas", "a" * 250 + "@exemple.fr"],
                         ids=["no-dot", "no-address", "too-long"])
def test_validate_rejects_invalid_address(run_action, handoff_url, sender, text):
    result = run_action(ValidateFollowupForm(), form_tracker(text, text, sender))
    assert result.slot("followup_email") is None
    assert result.responses == ["utter_followup_email_invalid"]


def activation_tracker(text: str, sender_id: str, last_question: Any = None):
    """A tracker in which give_email has just started the form, before any address."""
    tracker = widget_tracker(text, "give_email", sender_id,
                             slots={"followup_email": None, "last_question": last_question})
    tracker.active_loop = {"name": "followup_form"}
    return tracker


def ends_loop(result) -> bool:
    return any(event.get("event") == "active_loop" and event.get("name") is None for event in result.events)


def stops_form(result) -> bool:
    return ends_loop(result) and result.slot("requested_slot") is None and result.slot("followup_email") is None


def test_validate_answers_suicide_question_first(run_action, handoff_url, sender):
    # « oui par mail » after « tu penses à te suicider ? », read as give_email.
    result = run_action(ValidateFollowupForm(), activation_tracker("oui par mail", sender, "suicide_check"))
    assert result.responses[0] == "utter_distress_suicide_confirmed"
    assert "3114" in result.texts
    assert stops_form(result)
    assert result.slot("last_question") is None


def test_validate_answers_message_at_risk_first(run_action, handoff_url, sender):
    result = run_action(ValidateFollowupForm(),
                        activation_tracker("je te laisse mon mail, de toute facon je veux plus vivre", sender))
    assert result.responses[0] == "utter_distress_suicide"
    assert stops_form(result)


def test_validate_without_risk_asks_nothing_more(run_action, handoff_url, sender):
    result = run_action(ValidateFollowupForm(), activation_tracker("je veux bien laisser mon mail", sender))
    assert result.responses == []
    assert not ends_loop(result)


def test_save_followup_silent_after_safety_stop(run_action, handoff_url, sender):
    tracker = widget_tracker("oui par mail", "give_email", sender, slots={"followup_email": None})
    tracker.events.append({"event": "bot", "text": "Appelle le 3114."})
    result = run_action(ActionSaveFollowup(), tracker)
    assert result.responses == []
    assert result.texts == ""
    assert pending_followups(handoff_url, sender) == []


def test_save_followup_without_address_says_so(run_action, handoff_url, sender):
    tracker = widget_tracker("ok", "give_email", sender, slots={"followup_email": None})
    result = run_action(ActionSaveFollowup(), tracker)
    assert result.responses == ["utter_followup_email_invalid"]


def test_invalid_address_message_in_french(domain):
    variations = domain["responses"]["utter_followup_email_invalid"]
    assert variations[-1]["text"].startswith("Cette adresse e-mail ne semble pas valide")


def followup_tracker(sender_id: str):
    typed = ["bonjour", "je cherche un cap cuisine", "mon patron veut pas me garder", "je sais pas quoi faire"]
    earlier = [{"event": "user", "text": text, "input_channel": "widget"} for text in typed]
    earlier.append({"event": "user", "text": "/give_email", "input_channel": "widget"})
    return widget_tracker(ADDRESS, "give_email", sender_id, events=earlier,
                          slots={"followup_email": ADDRESS})


def pending_followups(url: str, sender_id: str) -> List[Followup]:
    with get_sessionmaker(url)() as session:
        return list(session.query(Followup).filter(Followup.sender_id == sender_id))


def test_save_followup_stores_request(run_action, handoff_url, sender):
    run_action(ActionSaveFollowup(), followup_tracker(sender))
    [followup] = pending_followups(handoff_url, sender)
    assert followup.status == "pending"
    assert followup.email == ADDRESS
    assert followup.channel == "widget"
    assert followup.question == (
        "je cherche un cap cuisine\nmon patron veut pas me garder\nje sais pas quoi faire"
    )


def test_save_followup_confirms_with_cancel_button(run_action, handoff_url, sender, domain, monkeypatch):
    monkeypatch.setenv("FOLLOWUP_RETENTION_DAYS", "12")
    result = run_action(ActionSaveFollowup(), followup_tracker(sender))
    assert result.responses == ["utter_followup_saved"]
    assert message_of(result, "utter_followup_saved")["days"] == "12"
    assert result.slot("followup_email") is None
    variation = domain["responses"]["utter_followup_saved"][-1]
    assert variation["text"].startswith("C'est noté : un conseiller te répondra par e-mail.")
    assert variation["buttons"] == [{"title": "Annuler ma demande", "payload": "/cancel_followup"}]


def test_save_followup_never_logs_address(run_action, handoff_url, sender, caplog):
    caplog.set_level(logging.DEBUG)
    text = f"mon mail {ADDRESS}"
    run_action(ValidateFollowupForm(), form_tracker(text, text, sender))
    run_action(ActionSaveFollowup(), followup_tracker(sender))
    assert ADDRESS not in caplog.text
    assert "lea.martin" not in caplog.text


def test_save_followup_database_down(run_action, handoff_url, sender, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'not-migrated.sqlite3'}"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    result = run_action(ActionSaveFollowup(), followup_tracker(sender))
    assert result.responses == ["utter_followup_failed"]
    dispose_engine(url)


def test_cancel_followup_erases_address(run_action, handoff_url, sender):
    run_action(ActionSaveFollowup(), followup_tracker(sender))
    result = run_action(ActionCancelFollowup(), widget_tracker("annule ma demande", "cancel_followup", sender))
    assert result.responses == ["utter_followup_cancelled"]
    [followup] = pending_followups(handoff_url, sender)
    assert followup.status == "cancelled"
    assert followup.email is None


def test_cancel_without_request(run_action, handoff_url, sender):
    result = run_action(ActionCancelFollowup(), widget_tracker("annule ma demande", "cancel_followup", sender))
    assert result.responses == ["utter_followup_nothing_to_cancel"]


def test_cancel_read_after_suicide_question_gets_safety_response(run_action, handoff_url, sender):
    # « non laisse tomber » is the reply to « tu penses à te suicider ? », whatever intent the model predicted.
    run_action(ActionSaveFollowup(), followup_tracker(sender))
    tracker = widget_tracker("non laisse tomber", "cancel_followup", sender, slots={"last_question": "suicide_check"})
    result = run_action(ActionCancelFollowup(), tracker)
    assert result.responses[0].startswith("utter_distress_suicide_")
    assert "utter_followup_cancelled" not in result.responses
    [followup] = pending_followups(handoff_url, sender)
    assert followup.status == "pending"


def test_yes_to_followup_offer_starts_form(run_action):
    tracker = make_tracker("oui", "affirm", slots={"last_question": "followup_offer"})
    result = run_action(ActionHandleYesNo(), tracker)
    assert {"event": "followup", "name": "followup_form"} in [
        {key: event.get(key) for key in ("event", "name")} for event in result.events
    ]
    assert result.slot("last_question") is None


def test_no_to_followup_offer_declines(run_action):
    tracker = make_tracker("non merci", "deny", slots={"last_question": "followup_offer"})
    result = run_action(ActionHandleYesNo(), tracker)
    assert result.responses == ["utter_followup_declined"]


# ---------- Transcript, topic and question ----------


def test_transcript_shows_button_titles():
    events = [
        {"event": "bot", "text": "Que veux-tu faire ?",
         "data": {"buttons": [{"title": "Trouver un lieu près de chez moi", "payload": "/find_place"}]}},
        {"event": "user", "text": "/find_place"},
        {"event": "user", "text": '/share_location{"latitude": 45.767, "longitude": 4.88}'},
        {"event": "user", "text": "/ask_counsellor"},
    ]
    texts = [entry.text for entry in transcript_entries(events)]
    assert texts == ["Que veux-tu faire ?", "Trouver un lieu près de chez moi", "📍 Position partagée",
                     "Parler à un conseiller"]


def test_transcript_starts_at_session_start():
    events = [
        {"event": "user", "text": "ancienne session"},
        {"event": "session_started"},
        {"event": "user", "text": "bonjour", "timestamp": 1_700_000_000.0},
    ]
    [entry] = transcript_entries(events)
    assert entry.text == "bonjour"
    assert entry.created_at == datetime.fromtimestamp(1_700_000_000.0, timezone.utc)


def test_transcript_summarises_place_cards():
    events = [{"event": "bot", "text": None,
               "data": {"custom": {"type": "place_cards", "places": [{"name": "Mission locale de Lyon"}]}}}]
    [entry] = transcript_entries(events)
    assert entry.text == "Fiches de lieux : Mission locale de Lyon"
    assert entry.payload["type"] == "place_cards"


def test_topic_from_latest_subject():
    events = [
        {"event": "user", "text": "cap", "parse_data": {"intent": {"name": "find_training"}}},
        {"event": "user", "text": "c'est quoi l'e2c", "parse_data": {"intent": {"name": "ask_scheme"}}},
        {"event": "user", "text": "un conseiller", "parse_data": {"intent": {"name": "ask_counsellor"}}},
    ]
    assert topic_label(events, "user_request") == "Question sur un dispositif"


def test_topic_without_subject_names_reason():
    assert topic_label([], "user_request") == "Demande à parler à un conseiller"


def test_question_without_typed_text():
    events = [{"event": "user", "text": "/give_email"}, {"event": "user", "text": ADDRESS}]
    assert followup_question(events) == EMPTY_FOLLOWUP_QUESTION


def test_question_removes_addresses():
    events = [{"event": "user", "text": f"répondez à {ADDRESS} pour mon dossier e2c"}]
    assert followup_question(events) == "répondez à [adresse e-mail] pour mon dossier e2c"


def test_question_skips_form_messages():
    events = [
        {"event": "user", "text": "je veux faire un cap"},
        {"event": "user", "text": "mon mail c'est lea@exemple", "parse_data": {"intent": {"name": "give_email"}}},
        {"event": "active_loop", "name": "followup_form"},
        {"event": "user", "text": "euh je sais plus"},
        {"event": "active_loop", "name": None},
    ]
    assert followup_question(events) == "je veux faire un cap"


def test_request_keeps_age_entity(run_action, handoff_url, sender):
    tracker = widget_tracker("j'ai 19 ans je veux un conseiller", "ask_counsellor", sender,
                             entities=[entity("age", "19")])
    run_action(ActionRequestCounsellor(), tracker)
    assert open_conversation(handoff_url, sender).age == 19
