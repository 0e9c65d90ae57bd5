"""SQL reads and writes that the console needs and `handoff.store` does not provide.

Like the store, the functions take a Session and never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..models import CannedReply, Counsellor, Followup, Message, utc_now

__all__ = [
    "CANNED_TEXT_MAX_LENGTH",
    "CANNED_TITLE_MAX_LENGTH",
    "count_pending_followups",
    "create_canned_reply",
    "delete_canned_reply",
    "get_message",
    "list_active_counsellors",
    "list_canned_replies",
    "messages_after",
    "update_canned_reply",
]

CANNED_TITLE_MAX_LENGTH = 120
CANNED_TEXT_MAX_LENGTH = 5000


def get_message(session: Session, message_id: int) -> Optional[Message]:
    """Return a message by id, or None."""
    return session.get(Message, message_id)


def messages_after(session: Session, conversation_id: str, after_id: int) -> list[Message]:
    """Return the messages of a conversation whose id is above `after_id`, oldest first."""
    statement = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after_id)
        .order_by(Message.id)
    )
    return list(session.execute(statement).scalars())


def count_pending_followups(session: Session) -> int:
    """Return the number of e-mail follow-ups waiting for an answer."""
    statement = select(func.count()).select_from(Followup).where(Followup.status == "pending")
    return session.execute(statement).scalar_one()


def list_active_counsellors(session: Session) -> list[Counsellor]:
    """Return the active accounts sorted by display name, then login."""
    statement = (
        select(Counsellor)
        .where(Counsellor.active.is_(True))
        .order_by(Counsellor.display_name, Counsellor.login)
    )
    return list(session.execute(statement).scalars())


def list_canned_replies(session: Session) -> list[CannedReply]:
    """Return the canned replies sorted by title."""
    statement = select(CannedReply).order_by(CannedReply.title, CannedReply.id)
    return list(session.execute(statement).scalars())


def _checked(title: str, text: str) -> tuple[str, str]:
    title = (title or "").strip()
    text = (text or "").strip()
    if not title or not text:
        raise ValueError("the title and the text of a canned reply must not be empty")
    if len(title) > CANNED_TITLE_MAX_LENGTH or len(text) > CANNED_TEXT_MAX_LENGTH:
        raise ValueError("canned reply title or text too long")
    return title, text


def create_canned_reply(
    session: Session, title: str, text: str, counsellor_id: int, *, now: Optional[datetime] = None
) -> CannedReply:
    """Create a canned reply.

    Raises:
        ValueError: the title or the text is empty or too long.
    """
    title, text = _checked(title, text)
    reply = CannedReply(title=title, text=text, updated_by=counsellor_id, updated_at=now or utc_now())
    session.add(reply)
    session.flush()
    return reply


def update_canned_reply(
    session: Session, reply_id: int, title: str, text: str, counsellor_id: int, *, now: Optional[datetime] = None
) -> Optional[CannedReply]:
    """Change a canned reply; return None when it does not exist.

    Raises:
        ValueError: the title or the text is empty or too long.
    """
    title, text = _checked(title, text)
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        return None
    reply.title = title
    reply.text = text
    reply.updated_by = counsellor_id
    reply.updated_at = now or utc_now()
    session.flush()
    return reply


def delete_canned_reply(session: Session, reply_id: int) -> bool:
    """Delete a canned reply; return whether it existed."""
    result = session.execute(
        delete(CannedReply).where(CannedReply.id == reply_id).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
