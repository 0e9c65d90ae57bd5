"""Tests of handoff.store on SQLite and PostgreSQL, including concurrent claims and escalations."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from handoff import store
from handoff.db import get_sessionmaker
from handoff.models import MAX_DELIVERY_ERROR_LENGTH, Conversation, Counsellor, Message
from handoff.pseudonyms import is_pseudonym
from handoff.store import TranscriptEntry
from tests.handoff.conftest import utc

T0 = utc(2026, 12, 7, 9, 0)


def escalate(session, sender_id="sender-1", channel="widget", **options):
    options.setdefault("reason", "user_request")
    options.setdefault("now", T0)
    conversation = store.escalate(session, channel=channel, sender_id=sender_id, **options)
    session.commit()
    return conversation


def test_escalate_creates_queued(session):
    transcript = [
        TranscriptEntry("user", "Je cherche une formation"),
        TranscriptEntry("bot", "Dans quelle ville ?", payload={"buttons": ["Lyon"]}),
    ]
    conversation = escalate(session, transcript=transcript, topic="Recherche de formation", age=17)
    messages = store.transcript(session, conversation.id)
    assert conversation.status == "queued"
    assert is_pseudonym(conversation.pseudonym)
    assert conversation.queued_at == T0
    assert [(m.author, m.text) for m in messages] == [
        ("user", "Je cherche une formation"),
        ("bot", "Dans quelle ville ?"),
    ]
    assert messages[1].payload_data == {"buttons": ["Lyon"]}
    assert conversation.user_last_message_at == T0


def test_escalate_returns_open_one(session):
    first = escalate(session, transcript=[TranscriptEntry("user", "bonjour")])
    second = escalate(session, transcript=[TranscriptEntry("user", "bonjour")])
    assert second.id == first.id
    assert len(store.transcript(session, first.id)) == 1


def test_escalate_upgrades_to_urgent(session):
    first = escalate(session)
    second = escalate(session, reason="distress", urgent=True, location_label="Villeurbanne (69)")
    assert second.id == first.id
    assert second.urgent is True
    assert second.reason == "distress"
    assert second.location_label == "Villeurbanne (69)"


def test_escalate_other_channel_separate(session):
    widget = escalate(session, channel="widget")
    telegram = escalate(session, channel="telegram")
    assert widget.id != telegram.id


def test_escalate_after_close_new_conversation(session, make_counsellor):
    counsellor_id = make_counsellor()
    first = escalate(session)
    store.close(session, first.id, counsellor_id)
    session.commit()
    second = escalate(session)
    assert second.id != first.id
    assert second.pseudonym != first.pseudonym


def test_escalate_invalid_reason(session):
    with pytest.raises(ValueError):
        store.escalate(session, channel="widget", sender_id="s", reason="boredom")


def test_escalate_invalid_transcript_author(session):
    with pytest.raises(ValueError):
        store.escalate(session, channel="widget", sender_id="s", transcript=[TranscriptEntry("counsellor", "x")])


def test_open_conversation_for_none(session):
    assert store.open_conversation_for(session, "widget", "nobody") is None


def test_queue_position_urgent_first(session):
    first = escalate(session, "a", now=T0)
    second = escalate(session, "b", now=T0 + timedelta(minutes=1))
    urgent = escalate(session, "c", now=T0 + timedelta(minutes=2), reason="distress", urgent=True)
    assert store.queue_position(session, urgent.id) == 1
    assert store.queue_position(session, first.id) == 2
    assert store.queue_position(session, second.id) == 3


def test_queue_position_same_time_stable(session):
    first = escalate(session, "a", now=T0)
    second = escalate(session, "b", now=T0)
    positions = sorted([store.queue_position(session, first.id), store.queue_position(session, second.id)])
    assert positions == [1, 2]


def test_queue_position_active_zero(session, make_counsellor):
    conversation = escalate(session)
    store.claim(session, conversation.id, make_counsellor(), now=T0)
    session.commit()
    assert store.queue_position(session, conversation.id) == 0


def test_queue_position_not_found(session):
    with pytest.raises(store.ConversationNotFound):
        store.queue_position(session, "0" * 32)


def claim_after(session, sender_id, counsellor_id, wait_minutes):
    conversation = escalate(session, sender_id, now=T0)
    store.claim(session, conversation.id, counsellor_id, now=T0 + timedelta(minutes=wait_minutes))
    session.commit()


def test_estimated_wait_unknown_below_three_claims(session, make_counsellor):
    counsellor_id = make_counsellor()
    claim_after(session, "a", counsellor_id, 2)
    claim_after(session, "b", counsellor_id, 4)
    waiting = escalate(session, "w", now=T0 + timedelta(minutes=30))
    assert store.estimated_wait_minutes(session, waiting.id, now=T0 + timedelta(minutes=31)) is None


def test_estimated_wait_median_times_position(session, make_counsellor):
    counsellor_id = make_counsellor()
    claim_after(session, "a", counsellor_id, 2)
    claim_after(session, "b", counsellor_id, 4)
    claim_after(session, "c", counsellor_id, 10)
    escalate(session, "w1", now=T0 + timedelta(minutes=30))
    second = escalate(session, "w2", now=T0 + timedelta(minutes=31))
    now = T0 + timedelta(minutes=32)
    # Median of 2, 4 and 10 minutes is 4; second in the queue: 8.
    assert store.estimated_wait_minutes(session, second.id, now=now) == 8


def test_estimated_wait_ignores_old_claims(session, make_counsellor):
    counsellor_id = make_counsellor()
    for sender in ("a", "b", "c"):
        claim_after(session, sender, counsellor_id, 5)
    waiting = escalate(session, "w", now=T0 + timedelta(days=2))
    assert store.estimated_wait_minutes(session, waiting.id, now=T0 + timedelta(days=2)) is None


def test_add_message_user_updates_last_time(session):
    conversation = escalate(session)
    later = T0 + timedelta(minutes=5)
    message = store.add_message(session, conversation.id, "user", "tu es là ?", now=later)
    session.commit()
    assert message.id is not None
    assert store.get_conversation(session, conversation.id).user_last_message_at == later


def test_add_message_megabyte_whole(session):
    conversation = escalate(session)
    text = ("é" + "x" * 1023) * 1024
    message = store.add_message(session, conversation.id, "user", text)
    session.commit()
    session.expunge_all()
    stored = session.get(Message, message.id)
    assert len(stored.text) == 1024 * 1024
    assert stored.text == text


def test_add_message_invalid_author(session):
    conversation = escalate(session)
    with pytest.raises(ValueError):
        store.add_message(session, conversation.id, "robot", "x")


def test_add_message_counsellor_closed(session, make_counsellor):
    counsellor_id = make_counsellor()
    conversation = escalate(session)
    store.claim(session, conversation.id, counsellor_id)
    store.close(session, conversation.id, counsellor_id)
    session.commit()
    with pytest.raises(store.ConversationClosed):
        store.add_message(session, conversation.id, "counsellor", "encore là ?", counsellor_id=counsellor_id)


def test_add_message_counsellor_not_owner(session, make_counsellor):
    owner = make_counsellor("Alice")
    other = make_counsellor("Bruno")
    conversation = escalate(session)
    store.claim(session, conversation.id, owner)
    session.commit()
    with pytest.raises(store.NotAssigned):
        store.add_message(session, conversation.id, "counsellor", "bonjour", counsellor_id=other)


def test_add_message_user_on_closed_kept(session, make_counsellor):
    counsellor_id = make_counsellor()
    conversation = escalate(session)
    store.hand_back(session, conversation.id, counsellor_id)
    session.commit()
    message = store.add_message(session, conversation.id, "user", "merci")
    assert message.conversation_id == conversation.id


def test_claim_sets_active(session, make_counsellor):
    counsellor_id = make_counsellor("Alice")
    conversation = escalate(session)
    claimed = store.claim(session, conversation.id, counsellor_id, now=T0 + timedelta(minutes=3))
    session.commit()
    assert claimed.status == "active"
    assert claimed.counsellor_id == counsellor_id
    assert claimed.counsellor.display_name == "Alice"
    assert claimed.claimed_at == T0 + timedelta(minutes=3)
    assert store.transcript(session, conversation.id)[-1].text == store.NOTICE_CLAIMED


def test_claim_already_claimed(session, make_counsellor):
    alice = make_counsellor("Alice")
    bruno = make_counsellor("Bruno")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    session.commit()
    with pytest.raises(store.AlreadyClaimed) as caught:
        store.claim(session, conversation.id, bruno)
    assert caught.value.owner_name == "Alice"
    assert caught.value.owner_id == alice


def test_claim_twice_same_counsellor(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    session.commit()
    again = store.claim(session, conversation.id, alice)
    notices = [m for m in store.transcript(session, conversation.id) if m.author == "system"]
    assert again.counsellor_id == alice
    assert len(notices) == 1


def test_claim_closed(session, make_counsellor):
    counsellor_id = make_counsellor()
    conversation = escalate(session)
    store.close(session, conversation.id, counsellor_id)
    session.commit()
    with pytest.raises(store.ConversationClosed):
        store.claim(session, conversation.id, counsellor_id)


def test_claim_not_found(session, make_counsellor):
    counsellor_id = make_counsellor()
    with pytest.raises(store.ConversationNotFound):
        store.claim(session, "f" * 32, counsellor_id)


def test_claim_inactive_counsellor(session, make_counsellor):
    counsellor_id = make_counsellor()
    session.get(Counsellor, counsellor_id).active = False
    session.commit()
    conversation = escalate(session)
    with pytest.raises(store.CounsellorNotFound):
        store.claim(session, conversation.id, counsellor_id)


def test_transfer_changes_counsellor(session, make_counsellor):
    alice = make_counsellor("Alice")
    bruno = make_counsellor("Bruno")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    transferred = store.transfer(session, conversation.id, alice, bruno)
    session.commit()
    assert transferred.counsellor_id == bruno
    assert transferred.status == "active"
    assert store.transcript(session, conversation.id)[-1].text == store.NOTICE_TRANSFERRED


def test_transfer_wrong_owner(session, make_counsellor):
    alice = make_counsellor("Alice")
    bruno = make_counsellor("Bruno")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    session.commit()
    with pytest.raises(store.NotAssigned) as caught:
        store.transfer(session, conversation.id, bruno, alice)
    assert caught.value.owner_name == "Alice"


def test_transfer_queued_rejected(session, make_counsellor):
    alice = make_counsellor("Alice")
    bruno = make_counsellor("Bruno")
    conversation = escalate(session)
    with pytest.raises(store.NotAssigned):
        store.transfer(session, conversation.id, alice, bruno)


def test_release_to_queue(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    released = store.release_to_queue(session, conversation.id, counsellor_id=alice)
    session.commit()
    assert released.status == "queued"
    assert released.counsellor_id is None
    assert released.queued_at == T0
    assert store.transcript(session, conversation.id)[-1].text == store.NOTICE_RELEASED


def test_release_to_queue_other_owner(session, make_counsellor):
    alice = make_counsellor("Alice")
    bruno = make_counsellor("Bruno")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    session.commit()
    with pytest.raises(store.NotAssigned):
        store.release_to_queue(session, conversation.id, counsellor_id=bruno)


def test_release_idle_conversations(session, make_counsellor):
    alice = make_counsellor("Alice")
    idle = escalate(session, "idle")
    seen = escalate(session, "seen")
    store.claim(session, idle.id, alice, now=T0)
    store.claim(session, seen.id, alice, now=T0)
    session.commit()
    store.record_counsellor_seen(session, alice, now=T0 + timedelta(seconds=100))
    # Only `seen` is refreshed afterwards: `idle` was seen at T0 + 100 s too,
    # so age it by moving it back to T0.
    session.execute(
        Conversation.__table__.update().where(Conversation.id == idle.id).values(counsellor_last_seen_at=T0)
    )
    session.commit()
    released = store.release_idle_conversations(session, 120, now=T0 + timedelta(seconds=150))
    session.commit()
    assert [conversation.id for conversation in released] == [idle.id]
    assert store.get_conversation(session, seen.id).status == "active"


def test_hand_back_closes(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    closed = store.hand_back(session, conversation.id, alice, now=T0 + timedelta(minutes=20))
    session.commit()
    assert closed.status == "closed"
    assert closed.handed_back is True
    assert closed.closed_by == alice
    assert closed.closed_at == T0 + timedelta(minutes=20)
    assert store.transcript(session, conversation.id)[-1].text == store.NOTICE_HANDED_BACK
    assert store.open_conversation_for(session, "widget", "sender-1") is None


def test_hand_back_twice(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    store.hand_back(session, conversation.id, alice)
    session.commit()
    with pytest.raises(store.ConversationClosed):
        store.hand_back(session, conversation.id, alice)


def test_hand_back_other_counsellor(session, make_counsellor):
    alice = make_counsellor("Alice")
    bruno = make_counsellor("Bruno")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    session.commit()
    with pytest.raises(store.NotAssigned):
        store.hand_back(session, conversation.id, bruno)


def test_close_with_note(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    closed = store.close(session, conversation.id, alice, "  Orienté vers la Mission locale  ")
    session.commit()
    assert closed.status == "closed"
    assert closed.handed_back is False
    assert closed.close_note == "Orienté vers la Mission locale"
    assert store.transcript(session, conversation.id)[-1].text == store.NOTICE_CLOSED


def test_close_queued_without_claim(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session)
    closed = store.close(session, conversation.id, alice)
    assert closed.status == "closed"
    assert closed.counsellor_id is None


def test_transcript_order(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session, transcript=[TranscriptEntry("user", "un"), TranscriptEntry("bot", "deux")])
    store.claim(session, conversation.id, alice)
    store.add_message(session, conversation.id, "user", "trois")
    store.add_message(session, conversation.id, "counsellor", "quatre", counsellor_id=alice)
    session.commit()
    texts = [message.text for message in store.transcript(session, conversation.id)]
    assert texts == ["un", "deux", store.NOTICE_CLAIMED, "trois", "quatre"]


def test_transcript_not_found(session):
    with pytest.raises(store.ConversationNotFound):
        store.transcript(session, "0" * 32)


def test_undelivered_messages(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session, transcript=[TranscriptEntry("user", "aide")])
    store.claim(session, conversation.id, alice)
    store.add_message(session, conversation.id, "user", "allô")
    answer = store.add_message(session, conversation.id, "counsellor", "Je t'écoute.", counsellor_id=alice)
    session.commit()
    pending = store.undelivered_messages(session, "widget", "sender-1")
    assert [message.author for message in pending] == ["system", "counsellor"]
    assert pending[-1].id == answer.id


def test_mark_delivered(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    answer = store.add_message(session, conversation.id, "counsellor", "Salut", counsellor_id=alice)
    session.commit()
    ids = [message.id for message in store.undelivered_messages(session, "widget", "sender-1")]
    marked = store.mark_delivered(session, ids, channel="widget", sender_id="sender-1")
    session.commit()
    assert marked == sorted(ids)
    assert answer.id in marked
    assert store.undelivered_messages(session, "widget", "sender-1") == []
    assert store.mark_delivered(session, ids) == []


def test_mark_delivered_other_sender_ignored(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session, "victim")
    store.claim(session, conversation.id, alice)
    session.commit()
    ids = [message.id for message in store.undelivered_messages(session, "widget", "victim")]
    assert store.mark_delivered(session, ids, channel="widget", sender_id="attacker") == []
    assert len(store.undelivered_messages(session, "widget", "victim")) == len(ids)


def test_delivery_failure_recorded(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session, transcript=[TranscriptEntry("user", "aide")])
    store.claim(session, conversation.id, alice)
    refused = store.add_message(session, conversation.id, "counsellor", "Tu es là ?", counsellor_id=alice)
    waiting = store.add_message(session, conversation.id, "counsellor", "Je reste là.", counsellor_id=alice)
    session.commit()
    user_message_id = store.transcript(session, conversation.id)[0].id
    long_reason = "La personne a bloqué le bot. " * 30

    assert store.record_delivery_failure(
        session, [refused.id, user_message_id], long_reason, permanent=True, now=T0
    ) == [refused.id]
    assert store.record_delivery_failure(session, [waiting.id], "Telegram ne répond pas.", permanent=False) == [
        waiting.id
    ]
    session.commit()
    session.expire_all()
    by_id = {message.id: message for message in store.transcript(session, conversation.id)}
    assert by_id[refused.id].delivery_error == long_reason[:MAX_DELIVERY_ERROR_LENGTH]
    assert by_id[refused.id].refused_at == T0
    assert by_id[waiting.id].delivery_error == "Telegram ne répond pas."
    assert by_id[waiting.id].refused_at is None
    assert by_id[user_message_id].delivery_error is None
    # Refused for good: skipped by the next deliveries. Failed for now: tried again.
    pending = [message.id for message in store.undelivered_messages(session, "widget", "sender-1")]
    assert refused.id not in pending
    assert waiting.id in pending


def test_clear_refusals_when_user_writes(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session)
    other = escalate(session, "sender-2")
    store.claim(session, conversation.id, alice)
    store.claim(session, other.id, alice)
    refused = store.add_message(session, conversation.id, "counsellor", "Tu es là ?", counsellor_id=alice)
    elsewhere = store.add_message(session, other.id, "counsellor", "Bonjour", counsellor_id=alice)
    store.record_delivery_failure(session, [refused.id, elsewhere.id], "Bloqué.", permanent=True)
    session.commit()

    assert store.clear_refusals(session, "widget", "sender-1") == [refused.id]
    session.commit()
    session.expire_all()
    assert refused.id in [message.id for message in store.undelivered_messages(session, "widget", "sender-1")]
    assert elsewhere.id not in [message.id for message in store.undelivered_messages(session, "widget", "sender-2")]
    # Still not delivered: the console keeps showing the reason until it is.
    assert session.get(Message, refused.id).delivery_error == "Bloqué."
    assert store.clear_refusals(session, "widget", "sender-1") == []


def test_mark_delivered_clears_failure(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice)
    answer = store.add_message(session, conversation.id, "counsellor", "Salut", counsellor_id=alice)
    store.record_delivery_failure(session, [answer.id], "Messenger ne répond pas.", permanent=False)
    session.commit()
    assert store.mark_delivered(session, [answer.id]) == [answer.id]
    session.commit()
    session.expire_all()
    delivered = session.get(Message, answer.id)
    assert delivered.delivered_at is not None
    assert delivered.delivery_error is None
    assert delivered.refused_at is None
    # A delivered message is not marked as failed afterwards.
    assert store.record_delivery_failure(session, [answer.id], "Bloqué.", permanent=True) == []


def test_undelivered_after_close_window(session, make_counsellor):
    alice = make_counsellor("Alice")
    conversation = escalate(session)
    store.claim(session, conversation.id, alice, now=T0)
    store.hand_back(session, conversation.id, alice, now=T0 + timedelta(minutes=10))
    session.commit()
    within = store.undelivered_messages(session, "widget", "sender-1", now=T0 + timedelta(hours=23))
    after = store.undelivered_messages(session, "widget", "sender-1", now=T0 + timedelta(hours=25))
    assert [message.text for message in within] == [store.NOTICE_CLAIMED, store.NOTICE_HANDED_BACK]
    assert after == []


def test_list_queue_order(session, make_counsellor):
    alice = make_counsellor("Alice")
    old = escalate(session, "old", now=T0)
    active = escalate(session, "active", now=T0 + timedelta(minutes=1))
    urgent = escalate(session, "urgent", now=T0 + timedelta(minutes=2), reason="distress", urgent=True)
    closed = escalate(session, "closed", now=T0 + timedelta(minutes=3))
    store.claim(session, active.id, alice)
    store.close(session, closed.id, alice)
    session.commit()
    assert [c.id for c in store.list_queue(session)] == [urgent.id, old.id, active.id]


def test_create_followup(session):
    conversation = escalate(session)
    followup = store.create_followup(
        session,
        channel="widget",
        sender_id="sender-1",
        email="  jeune@example.org ",
        question="Comment reprendre mes études ?",
        conversation_id=conversation.id,
        now=T0,
    )
    session.commit()
    assert followup.status == "pending"
    assert followup.email == "jeune@example.org"
    assert followup.pseudonym == conversation.pseudonym


def test_create_followup_replaces_pending(session):
    first = store.create_followup(session, channel="widget", sender_id="s", email="a@example.org", question="q1")
    second = store.create_followup(session, channel="widget", sender_id="s", email="b@example.org", question="q2")
    session.commit()
    assert second.id == first.id
    assert second.email == "b@example.org"
    assert len(store.list_followups(session)) == 1


@pytest.mark.parametrize(
    "email",
    ["", "pas-une-adresse", "a b@example.org", "a@b", "a,b@example.org", "a@example.org\nBcc: x@y.z", "x" * 250 + "@a.fr"],
)
def test_create_followup_invalid_email(session, email):
    with pytest.raises(store.InvalidEmail):
        store.create_followup(session, channel="widget", sender_id="s", email=email, question="q")


def test_list_followups_oldest_first(session):
    late = store.create_followup(session, channel="widget", sender_id="b", email="b@example.org", question="q", now=T0 + timedelta(hours=1))
    early = store.create_followup(session, channel="widget", sender_id="a", email="a@example.org", question="q", now=T0)
    session.commit()
    assert [f.id for f in store.list_followups(session)] == [early.id, late.id]


def test_answer_followup_erases_email(session, make_counsellor):
    alice = make_counsellor("Alice")
    followup = store.create_followup(session, channel="widget", sender_id="s", email="a@example.org", question="q")
    session.commit()
    answered = store.answer_followup(session, followup.id, alice, "Va voir la Mission locale.", now=T0)
    session.commit()
    assert answered.status == "answered"
    assert answered.email is None
    assert answered.answer == "Va voir la Mission locale."
    assert answered.answered_by == alice
    assert answered.closed_at == T0


def test_answer_followup_twice(session, make_counsellor):
    alice = make_counsellor("Alice")
    followup = store.create_followup(session, channel="widget", sender_id="s", email="a@example.org", question="q")
    store.answer_followup(session, followup.id, alice, "Réponse")
    session.commit()
    with pytest.raises(store.FollowupNotPending) as caught:
        store.answer_followup(session, followup.id, alice, "Autre réponse")
    assert caught.value.status == "answered"


def test_answer_followup_not_found(session, make_counsellor):
    with pytest.raises(store.FollowupNotFound):
        store.answer_followup(session, 999999, make_counsellor(), "Réponse")


def test_cancel_followup(session):
    followup = store.create_followup(session, channel="widget", sender_id="s", email="a@example.org", question="q")
    cancelled = store.cancel_followup(session, followup.id)
    session.commit()
    assert cancelled.status == "cancelled"
    assert cancelled.email is None


def test_cancel_pending_followups_by_sender(session):
    store.create_followup(session, channel="widget", sender_id="s", email="a@example.org", question="q")
    session.commit()
    assert store.cancel_pending_followups(session, "widget", "s") == 1
    session.commit()
    assert store.pending_followup_for(session, "widget", "s") is None
    assert store.cancel_pending_followups(session, "widget", "s") == 0


def run_in_threads(count, target):
    """Run target(index) in `count` threads started together; return results or exceptions by index."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        barrier.wait()
        try:
            results[index] = target(index)
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_claim_concurrent_one_winner(postgres_url, test_password_hash):
    factory = get_sessionmaker(postgres_url)
    with factory() as setup:
        counsellors = [
            Counsellor(login=login, display_name=name, password_hash=test_password_hash, role="counsellor")
            for login, name in (("alice", "Alice"), ("bruno", "Bruno"))
        ]
        setup.add_all(counsellors)
        conversation = store.escalate(setup, channel="widget", sender_id="race", reason="user_request")
        setup.commit()
        counsellor_ids = [counsellor.id for counsellor in counsellors]
        names = {counsellor.id: counsellor.display_name for counsellor in counsellors}
        conversation_id = conversation.id

    def claim(index):
        with factory() as session:
            claimed = store.claim(session, conversation_id, counsellor_ids[index])
            # Hold the row lock a moment so that the other claim has to wait for it.
            time.sleep(0.2)
            session.commit()
            return claimed.counsellor_id

    results = run_in_threads(2, claim)
    winners = [result for result in results if isinstance(result, int)]
    losers = [result for result in results if isinstance(result, store.AlreadyClaimed)]
    assert len(winners) == 1
    assert len(losers) == 1
    assert losers[0].owner_name == names[winners[0]]
    with factory() as check:
        notices = check.execute(
            select(func.count()).select_from(Message).where(Message.conversation_id == conversation_id)
        ).scalar_one()
    assert notices == 1


def test_escalate_concurrent_single_open(database_url):
    factory = get_sessionmaker(database_url)

    def escalate_same_user(index):
        with factory() as session:
            conversation = store.escalate(
                session,
                channel="widget",
                sender_id="same-user",
                reason="user_request",
                transcript=[TranscriptEntry("user", f"message {index}")],
            )
            time.sleep(0.1)
            session.commit()
            return conversation.id

    results = run_in_threads(8, escalate_same_user)
    with factory() as check:
        open_count = check.execute(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.sender_id == "same-user", Conversation.status.in_(("queued", "active")))
        ).scalar_one()
    assert [result for result in results if not isinstance(result, str)] == []
    assert len(set(results)) == 1
    assert open_count == 1


# ---------- Expiry of the queue ----------


def test_waiting_since_lists_old_queued(session, make_counsellor):
    old = escalate(session, "old", now=T0)
    escalate(session, "recent", now=T0 + timedelta(minutes=50))
    taken = escalate(session, "taken", now=T0)
    store.claim(session, taken.id, make_counsellor("Alice"), now=T0 + timedelta(minutes=5))
    assert store.conversations_waiting_since(session, T0 + timedelta(minutes=30)) == [old.id]


def test_expire_queued_closes_with_notice(session):
    conversation = escalate(session, now=T0)
    expired = store.expire_queued(session, conversation.id, now=T0 + timedelta(minutes=31))
    assert expired.status == "closed"
    assert expired.closed_by is None
    assert expired.handed_back is True
    assert store.transcript(session, conversation.id)[-1].text == store.NOTICE_EXPIRED
    assert store.open_conversation_for(session, "widget", "sender-1") is None


def test_expire_queued_urgent_gives_numbers(session):
    conversation = escalate(session, urgent=True, reason="distress", now=T0)
    store.expire_queued(session, conversation.id, now=T0 + timedelta(minutes=31))
    notice = store.transcript(session, conversation.id)[-1].text
    assert notice == store.NOTICE_EXPIRED_URGENT
    assert "112" in notice
    assert "3114" in notice


def test_expire_queued_skips_claimed(session, make_counsellor):
    conversation = escalate(session, now=T0)
    store.claim(session, conversation.id, make_counsellor("Alice"), now=T0 + timedelta(minutes=1))
    assert store.expire_queued(session, conversation.id, now=T0 + timedelta(minutes=31)) is None
    assert store.get_conversation(session, conversation.id).status == "active"


def test_recently_expired_window(session):
    conversation = escalate(session, now=T0)
    store.expire_queued(session, conversation.id, now=T0 + timedelta(minutes=31))
    later = T0 + timedelta(hours=2)
    assert store.recently_expired(session, "widget", "sender-1", timedelta(hours=12), now=later) is True
    assert store.recently_expired(session, "widget", "sender-1", timedelta(hours=1), now=later) is False
    assert store.recently_expired(session, "widget", "other", timedelta(hours=12), now=later) is False


def test_recently_expired_not_after_hand_back(session, make_counsellor):
    conversation = escalate(session, now=T0)
    alice = make_counsellor("Alice")
    store.claim(session, conversation.id, alice, now=T0 + timedelta(minutes=1))
    store.hand_back(session, conversation.id, alice, now=T0 + timedelta(minutes=5))
    assert store.recently_expired(session, "widget", "sender-1", timedelta(hours=12),
                                  now=T0 + timedelta(minutes=10)) is False
