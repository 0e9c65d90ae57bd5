"""Tables of the handoff service (SQLAlchemy declarative models).

The schema is created and changed by the Alembic revisions in
`handoff/migrations/versions/`, never by `create_all`, so that a production
database follows the same steps as a test one. A change here needs a new
revision: `tests/handoff/test_db.py` fails while the two differ.

Every timestamp is stored in UTC and read back as an aware UTC datetime on
both SQLite and PostgreSQL (see `UTCDateTime`).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AUTHORS",
    "Base",
    "CannedReply",
    "Conversation",
    "Counsellor",
    "CounsellorSession",
    "FOLLOWUP_STATUSES",
    "Followup",
    "MAX_DELIVERY_ERROR_LENGTH",
    "Message",
    "OPEN_STATUSES",
    "REASONS",
    "ROLES",
    "STATUSES",
    "UTCDateTime",
    "utc_now",
]

# Values of Conversation.status. A sender with no open conversation is with the bot.
STATUSES = ("queued", "active", "closed")
OPEN_STATUSES = ("queued", "active")
# Values of Conversation.reason.
REASONS = ("user_request", "fallback", "distress")
# Values of Message.author.
AUTHORS = ("user", "bot", "counsellor", "system")
# Values of Counsellor.role.
ROLES = ("counsellor", "admin")
# Values of Followup.status.
FOLLOWUP_STATUSES = ("pending", "answered", "cancelled", "expired")
# Maximum length of Message.delivery_error. store.record_delivery_failure cuts a longer reason.
MAX_DELIVERY_ERROR_LENGTH = 500

# Names of constraints and indexes, so that Alembic revisions can refer to them
# on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def new_conversation_id() -> str:
    """Return a new conversation id: 32 hexadecimal digits of a random UUID."""
    return uuid.uuid4().hex


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and returned as an aware UTC datetime.

    SQLite has no time zone type and SQLAlchemy drops the offset there, while
    PostgreSQL returns datetimes in the session time zone. This type converts
    every value to UTC on the way in and out, so comparisons agree on both.
    Naive datetimes are rejected because their time zone is unknown.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            # Stored as text without offset; every stored value is UTC.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Counsellor(Base):
    """A console account: a counsellor or an administrator."""

    __tablename__ = "counsellors"
    __table_args__ = (CheckConstraint(_in_list("role", ROLES), name="role"),)

    id = Column(Integer, primary_key=True)
    # Always lower case; accounts.normalize_login gives the stored form.
    login = Column(String(64), nullable=False, unique=True)
    # Shown to colleagues and to users, « Conseiller » unless the counsellor chose a name.
    display_name = Column(String(80), nullable=False, default="Conseiller")
    # argon2id hash in PHC string format.
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False, default="counsellor")
    active = Column(Boolean, nullable=False, default=True)
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False, default=utc_now)
    last_login_at = Column(UTCDateTime)

    @property
    def is_admin(self) -> bool:
        """Whether the account may manage canned replies and other accounts."""
        return self.role == "admin"


class Conversation(Base):
    """A conversation escalated to the counsellors, from its queueing to its end.

    `sender_id` is the platform's id of the user: it must never be shown in the
    console or written to logs at info level. Counsellors see `pseudonym`.
    """

    __tablename__ = "handoff_conversations"
    __table_args__ = (
        CheckConstraint(_in_list("status", STATUSES), name="status"),
        CheckConstraint(_in_list("reason", REASONS), name="reason"),
        Index("ix_handoff_conversations_channel_sender_status", "channel", "sender_id", "status"),
        Index("ix_handoff_conversations_status_queued_at", "status", "queued_at"),
        # At most one open conversation per user and channel, even when two
        # processes escalate at the same time: store.escalate relies on it.
        Index(
            "uq_handoff_conversations_open_sender",
            "channel",
            "sender_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'active')"),
            postgresql_where=text("status IN ('queued', 'active')"),
        ),
    )

    id = Column(String(32), primary_key=True, default=new_conversation_id)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(255), nullable=False)
    pseudonym = Column(String(32), nullable=False, unique=True)
    status = Column(String(16), nullable=False, default="queued")
    urgent = Column(Boolean, nullable=False, default=False)
    reason = Column(String(16), nullable=False, default="user_request")
    # Short French label of what the user was asking about, e.g. « Recherche de formation ».
    topic = Column(String(120))
    location_label = Column(String(120))
    age = Column(Integer)
    counsellor_id = Column(Integer, ForeignKey("counsellors.id"))
    queued_at = Column(UTCDateTime, nullable=False, default=utc_now)
    claimed_at = Column(UTCDateTime)
    closed_at = Column(UTCDateTime)
    # Internal note of the counsellor who closed the conversation; never shown to the user.
    close_note = Column(Text)
    closed_by = Column(Integer, ForeignKey("counsellors.id"))
    # True when the conversation ended by a hand-back to the bot, False when closed with a note.
    handed_back = Column(Boolean, nullable=False, default=False)
    counsellor_last_seen_at = Column(UTCDateTime)
    user_last_message_at = Column(UTCDateTime)

    # Loaded with the conversation so that the console can show the name after
    # the session is closed.
    counsellor = relationship(Counsellor, foreign_keys=[counsellor_id], lazy="joined")

    @property
    def is_open(self) -> bool:
        """Whether the conversation is queued or with a counsellor."""
        return self.status in OPEN_STATUSES


class Message(Base):
    """One message of a conversation, including the bot transcript copied at escalation.

    `delivered_at` applies to counsellor and system messages: it is set when
    the user's channel acknowledged them (see `store.mark_delivered`).
    `delivery_error` is the French reason why a platform (Messenger,
    Telegram) did not take the message, shown to counsellors as « non
    remis : … ». `refused_at` is when the platform refused it for good, so
    later deliveries skip the message until the user writes again (see
    `store.record_delivery_failure` and `store.clear_refusals`). A delivery
    clears both.
    """

    __tablename__ = "handoff_messages"
    __table_args__ = (
        CheckConstraint(_in_list("author", AUTHORS), name="author"),
        Index("ix_handoff_messages_conversation_id_id", "conversation_id", "id"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(
        String(32), ForeignKey("handoff_conversations.id", ondelete="CASCADE"), nullable=False
    )
    author = Column(String(16), nullable=False)
    counsellor_id = Column(Integer, ForeignKey("counsellors.id", ondelete="SET NULL"))
    # Unbounded: a user message of 1 MB is stored whole.
    text = Column(Text, nullable=False)
    # JSON text of structured content (a place card, buttons), or NULL.
    payload = Column(Text)
    created_at = Column(UTCDateTime, nullable=False, default=utc_now)
    delivered_at = Column(UTCDateTime)
    delivery_error = Column(String(MAX_DELIVERY_ERROR_LENGTH))
    refused_at = Column(UTCDateTime)

    counsellor = relationship(Counsellor, foreign_keys=[counsellor_id], lazy="joined")

    @property
    def payload_data(self) -> Optional[Any]:
        """The decoded `payload`, or None."""
        if self.payload is None:
            return None
        return json.loads(self.payload)


class CounsellorSession(Base):
    """A console login session.

    The primary key is the SHA-256 hex digest of the random cookie token, so a
    copy of the database does not give valid cookies.
    """

    __tablename__ = "counsellor_sessions"
    __table_args__ = (Index("ix_counsellor_sessions_expires_at", "expires_at"),)

    id = Column(String(64), primary_key=True)
    counsellor_id = Column(Integer, ForeignKey("counsellors.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utc_now)
    expires_at = Column(UTCDateTime, nullable=False)
    last_seen_at = Column(UTCDateTime, nullable=False, default=utc_now)

    counsellor = relationship(Counsellor, lazy="joined")


class CannedReply(Base):
    """A ready-made answer that counsellors insert in the reply box."""

    __tablename__ = "canned_replies"

    id = Column(Integer, primary_key=True)
    title = Column(String(120), nullable=False)
    text = Column(Text, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False, default=utc_now)
    updated_by = Column(Integer, ForeignKey("counsellors.id", ondelete="SET NULL"))


class Followup(Base):
    """A question left out of hours, answered later by e-mail.

    `email` is set to NULL as soon as the follow-up is answered, cancelled or
    expired. `closed_at` is when that happened, and the retention purge deletes
    the row a retention period later.
    """

    __tablename__ = "followups"
    __table_args__ = (
        CheckConstraint(_in_list("status", FOLLOWUP_STATUSES), name="status"),
        Index("ix_followups_status_created_at", "status", "created_at"),
        Index("ix_followups_channel_sender_id", "channel", "sender_id"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(32), ForeignKey("handoff_conversations.id", ondelete="SET NULL"))
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(255), nullable=False)
    pseudonym = Column(String(32), nullable=False)
    # An address is at most 254 characters (RFC 5321 path limit).
    email = Column(String(254))
    # The user's last messages before the request.
    question = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default="pending")
    created_at = Column(UTCDateTime, nullable=False, default=utc_now)
    answered_at = Column(UTCDateTime)
    answered_by = Column(Integer, ForeignKey("counsellors.id", ondelete="SET NULL"))
    answer = Column(Text)
    closed_at = Column(UTCDateTime)

    answerer = relationship(Counsellor, foreign_keys=[answered_by], lazy="joined")
