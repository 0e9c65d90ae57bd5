"""Tests of handoff.retention on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from handoff import store
from handoff.models import Conversation, CounsellorSession, Followup, Message
from handoff.retention import purge
from handoff.store import TranscriptEntry
from tests.handoff.conftest import utc

NOW = utc(2026, 12, 7, 3, 0)


def count(session, model):
    return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def old_data(session, make_counsellor):
    """Two old closed conversations, a recent one, an old open one, follow-ups of every kind, two sessions."""
    alice = make_counsellor("Alice")
    ids = {}
    for sender, closed_days_ago in (("old-1", 40), ("old-2", 31), ("recent", 10)):
        start = NOW - timedelta(days=closed_days_ago, hours=1)
        conversation = store.escalate(
            session,
            channel="widget",
            sender_id=sender,
            transcript=[TranscriptEntry("user", "bonjour"), TranscriptEntry("bot", "salut")],
            now=start,
        )
        store.claim(session, conversation.id, alice, now=start)
        store.hand_back(session, conversation.id, alice, now=NOW - timedelta(days=closed_days_ago))
        ids[sender] = conversation.id
    ids["open"] = store.escalate(session, channel="widget", sender_id="open", now=NOW - timedelta(days=90)).id

    old_pending = store.create_followup(
        session, channel="widget", sender_id="f1", email="a@example.org", question="q", now=NOW - timedelta(days=31)
    )
    recent_pending = store.create_followup(
        session, channel="widget", sender_id="f2", email="b@example.org", question="q", now=NOW - timedelta(days=5)
    )
    old_answered = store.create_followup(
        session,
        channel="widget",
        sender_id="f3",
        email="c@example.org",
        question="q",
        conversation_id=ids["old-1"],
        now=NOW - timedelta(days=45),
    )
    store.answer_followup(session, old_answered.id, alice, "réponse", now=NOW - timedelta(days=40))
    recent_cancelled = store.create_followup(
        session, channel="widget", sender_id="f4", email="d@example.org", question="q", now=NOW - timedelta(days=3)
    )
    store.cancel_followup(session, recent_cancelled.id, now=NOW - timedelta(days=2))
    ids.update(
        old_pending=old_pending.id,
        recent_pending=recent_pending.id,
        old_answered=old_answered.id,
        recent_cancelled=recent_cancelled.id,
    )

    session.add_all(
        [
            CounsellorSession(id="e" * 64, counsellor_id=alice, csrf_token="x", expires_at=NOW - timedelta(hours=1)),
            CounsellorSession(id="f" * 64, counsellor_id=alice, csrf_token="x", expires_at=NOW + timedelta(hours=1)),
        ]
    )
    session.commit()
    return ids


def test_purge_dry_run_counts_only(session, old_data):
    result = purge(session, retention_days=30, followup_retention_days=30, now=NOW, dry_run=True)
    session.commit()
    assert result.conversations == 2
    # Each old conversation: 2 transcript messages, the claim and the hand-back notices.
    assert result.messages == 8
    assert result.followups_expired == 1
    assert result.followups_deleted == 1
    assert result.sessions == 1
    assert count(session, Conversation) == 4
    assert store.get_followup(session, old_data["old_pending"]).email == "a@example.org"


def test_purge_deletes_old_closed(session, old_data):
    purge(session, retention_days=30, followup_retention_days=30, now=NOW)
    session.commit()
    remaining = set(session.execute(select(Conversation.id)).scalars())
    assert remaining == {old_data["recent"], old_data["open"]}
    assert count(session, Message) == len(store.transcript(session, old_data["recent"]))


def test_purge_expires_old_pending_followup(session, old_data):
    purge(session, retention_days=30, followup_retention_days=30, now=NOW)
    session.commit()
    expired = store.get_followup(session, old_data["old_pending"])
    assert expired.status == "expired"
    assert expired.email is None
    assert expired.closed_at == NOW


def test_purge_keeps_recent_followups(session, old_data):
    purge(session, retention_days=30, followup_retention_days=30, now=NOW)
    session.commit()
    assert store.get_followup(session, old_data["recent_pending"]).email == "b@example.org"
    assert store.get_followup(session, old_data["recent_cancelled"]).status == "cancelled"


def test_purge_deletes_old_answered_followup(session, old_data):
    purge(session, retention_days=30, followup_retention_days=30, now=NOW)
    session.commit()
    with pytest.raises(store.FollowupNotFound):
        store.get_followup(session, old_data["old_answered"])
    assert count(session, Followup) == 3


def test_purge_expired_sessions(session, old_data):
    result = purge(session, retention_days=30, followup_retention_days=30, now=NOW)
    session.commit()
    assert result.sessions == 1
    assert list(session.execute(select(CounsellorSession.id)).scalars()) == ["f" * 64]


def test_purge_shorter_period_deletes_more(session, old_data):
    result = purge(session, retention_days=7, followup_retention_days=30, now=NOW)
    assert result.conversations == 3


def test_purge_rejects_zero_days(session):
    with pytest.raises(ValueError):
        purge(session, retention_days=0, followup_retention_days=30, now=NOW)
