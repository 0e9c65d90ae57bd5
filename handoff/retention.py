"""Purge of old handoff data: closed conversations, follow-ups and expired console sessions.

Run it daily (`python -m handoff purge`, from cron or a systemd timer). One
run does four things:

1. deletes the conversations closed more than HANDOFF_RETENTION_DAYS ago,
   with their messages;
2. expires the follow-ups still pending after FOLLOWUP_RETENTION_DAYS: their
   e-mail address is erased and their status becomes `expired`;
3. deletes the answered, cancelled and expired follow-ups that ended more
   than HANDOFF_RETENTION_DAYS ago (their question and answer go with them);
4. deletes the console sessions past their expiry time.

Open conversations are never purged, however old.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .models import Conversation, CounsellorSession, Followup, Message, utc_now

__all__ = ["PurgeResult", "purge"]

logger = logging.getLogger(__name__)

# Conversations are deleted in batches so that a large purge does not build
# one huge IN list or hold long locks.
BATCH_SIZE = 500
FINISHED_FOLLOWUP_STATUSES = ("answered", "cancelled", "expired")


@dataclass(frozen=True)
class PurgeResult:
    """Counts of what a purge deleted or changed, or would in a dry run."""

    conversations: int
    messages: int
    followups_expired: int
    followups_deleted: int
    sessions: int


def purge(
    session: Session,
    *,
    retention_days: int,
    followup_retention_days: int,
    now: Optional[datetime] = None,
    dry_run: bool = False,
) -> PurgeResult:
    """Delete or anonymise the handoff data older than the retention periods.

    Args:
        session: database session; the caller commits (nothing to commit in a dry run).
        retention_days: days a closed conversation and a finished follow-up are kept.
        followup_retention_days: days a pending follow-up keeps its e-mail address.
        now: current time; None reads the clock.
        dry_run: count without changing anything.

    Returns:
        The counts. Follow-ups expired by this run are not deleted by it: they
        are deleted `retention_days` later, like the others.

    Raises:
        ValueError: a retention period is smaller than 1 day.
    """
    if retention_days < 1 or followup_retention_days < 1:
        raise ValueError(
            f"retention periods must be at least 1 day, got {retention_days} and {followup_retention_days}"
        )
    now = now or utc_now()
    conversation_cutoff = now - timedelta(days=retention_days)
    followup_cutoff = now - timedelta(days=followup_retention_days)

    conversations, messages = _purge_conversations(session, conversation_cutoff, dry_run)
    followups_deleted = _delete_finished_followups(session, conversation_cutoff, dry_run)
    followups_expired = _expire_pending_followups(session, followup_cutoff, now, dry_run)
    sessions = _delete_expired_sessions(session, now, dry_run)

    result = PurgeResult(conversations, messages, followups_expired, followups_deleted, sessions)
    logger.info(
        "%s: %d conversation(s), %d message(s), %d follow-up(s) expired, %d follow-up(s) deleted, %d session(s)",
        "Purge dry run" if dry_run else "Purged",
        result.conversations,
        result.messages,
        result.followups_expired,
        result.followups_deleted,
        result.sessions,
    )
    return result


def _count(session: Session, statement) -> int:
    return session.execute(select(func.count()).select_from(statement.subquery())).scalar_one()


def _purge_conversations(session: Session, cutoff: datetime, dry_run: bool) -> tuple[int, int]:
    old = select(Conversation.id).where(Conversation.status == "closed", Conversation.closed_at < cutoff)
    if dry_run:
        messages = _count(session, select(Message.id).where(Message.conversation_id.in_(old)))
        return _count(session, old), messages

    conversations = messages = 0
    while True:
        ids = list(session.execute(old.limit(BATCH_SIZE)).scalars())
        if not ids:
            return conversations, messages
        session.execute(
            update(Followup)
            .where(Followup.conversation_id.in_(ids))
            .values(conversation_id=None)
            .execution_options(synchronize_session=False)
        )
        messages += session.execute(
            delete(Message).where(Message.conversation_id.in_(ids)).execution_options(synchronize_session=False)
        ).rowcount
        deleted = session.execute(
            delete(Conversation).where(Conversation.id.in_(ids)).execution_options(synchronize_session=False)
        ).rowcount
        if deleted == 0:
            raise RuntimeError(f"purge could not delete closed conversations {ids[:3]}…; stopping to avoid a loop")
        conversations += deleted


def _delete_finished_followups(session: Session, cutoff: datetime, dry_run: bool) -> int:
    condition = (Followup.status.in_(FINISHED_FOLLOWUP_STATUSES), Followup.closed_at < cutoff)
    if dry_run:
        return _count(session, select(Followup.id).where(*condition))
    return session.execute(delete(Followup).where(*condition).execution_options(synchronize_session=False)).rowcount


def _expire_pending_followups(session: Session, cutoff: datetime, now: datetime, dry_run: bool) -> int:
    condition = (Followup.status == "pending", Followup.created_at < cutoff)
    if dry_run:
        return _count(session, select(Followup.id).where(*condition))
    return session.execute(
        update(Followup)
        .where(*condition)
        .values(status="expired", email=None, closed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def _delete_expired_sessions(session: Session, now: datetime, dry_run: bool) -> int:
    condition = CounsellorSession.expires_at < now
    if dry_run:
        return _count(session, select(CounsellorSession.id).where(condition))
    return session.execute(
        delete(CounsellorSession).where(condition).execution_options(synchronize_session=False)
    ).rowcount
