"""Every data operation of the handoff service, in plain synchronous SQL.

The functions take a SQLAlchemy `Session` and never commit: the caller
commits (`db.session_scope()` does it), then updates the routing cache and
publishes the events. They are safe to call from several processes at once:

- `escalate` inserts with `ON CONFLICT DO NOTHING` against a partial unique
  index, so a user never has two open conversations on one channel;
- status changes (`claim`, `transfer`, `release_to_queue`, `hand_back`,
  `close`, `answer_followup`, `cancel_followup`) are conditional UPDATEs whose
  row count shows whether this caller won. On PostgreSQL a concurrent UPDATE
  of the same row waits for the first transaction to end, then evaluates
  its WHERE clause again on the committed row.

Status changes that the user must hear about add a system message (the
`NOTICE_*` texts) in the same transaction. The caller delivers it, with any
other pending counsellor message, through `undelivered_messages`.

Times are aware UTC datetimes. Every function that reads the clock takes
`now` so that tests can pass a fake clock.
"""

from __future__ import annotations

import json
import logging
import math
import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional, Sequence

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import (
    AUTHORS,
    MAX_DELIVERY_ERROR_LENGTH,
    OPEN_STATUSES,
    REASONS,
    Conversation,
    Counsellor,
    Followup,
    Message,
    new_conversation_id,
    utc_now,
)
from .pseudonyms import new_pseudonym

__all__ = [
    "AlreadyClaimed",
    "ConversationClosed",
    "ConversationNotFound",
    "CounsellorNotFound",
    "FollowupNotFound",
    "FollowupNotPending",
    "HandoffError",
    "InvalidEmail",
    "NOTICE_CLAIMED",
    "NOTICE_CLOSED",
    "NOTICE_DANGER_WHILE_WAITING",
    "NOTICE_EXPIRED",
    "NOTICE_EXPIRED_URGENT",
    "NOTICE_HANDED_BACK",
    "NOTICE_RELEASED",
    "NOTICE_TRANSFERRED",
    "NotAssigned",
    "TranscriptEntry",
    "add_message",
    "answer_followup",
    "cancel_followup",
    "cancel_pending_followups",
    "claim",
    "clear_refusals",
    "close",
    "create_followup",
    "escalate",
    "estimated_wait_minutes",
    "get_conversation",
    "get_followup",
    "hand_back",
    "list_followups",
    "list_queue",
    "mark_danger",
    "mark_delivered",
    "open_conversation_for",
    "pending_followup_for",
    "queue_position",
    "record_counsellor_seen",
    "record_delivery_failure",
    "release_idle_conversations",
    "release_to_queue",
    "transcript",
    "transfer",
    "undelivered_messages",
    "validate_email",
]

logger = logging.getLogger(__name__)

# System messages sent to the user (who is addressed with « tu ») on status changes.
NOTICE_CLAIMED = "Un conseiller a rejoint la conversation."
NOTICE_TRANSFERRED = "Un autre conseiller prend le relais."
NOTICE_RELEASED = (
    "Le conseiller a dû s'absenter. Un autre conseiller va te répondre dès que possible : "
    "tu peux continuer à écrire."
)
NOTICE_HANDED_BACK = "Le conseiller a quitté la conversation. Je reprends la discussion."
NOTICE_EXPIRED = (
    "Aucun conseiller n'a pu prendre ta demande, désolé. Je reprends la discussion. "
    "Appuie sur « Parler à un conseiller » pour laisser ton adresse e-mail : "
    "un conseiller te répondra plus tard."
)
NOTICE_EXPIRED_URGENT = NOTICE_EXPIRED + (
    " Si tu es en danger, appelle le 112. Si tu penses au suicide, le 3114 répond jour et nuit."
)
NOTICE_CLOSED = "Le conseiller a terminé la conversation. Si tu m'écris encore, c'est moi, l'assistant, qui te répondrai."
# Sent once to a user who writes of a danger while waiting in the queue: the
# bot is paused, so nothing else replies until a counsellor takes the conversation.
NOTICE_DANGER_WHILE_WAITING = (
    "Ton message est transmis : un conseiller va le lire en priorité. Si tu es en danger maintenant, "
    "appelle le 15 ou le 112. Si tu penses au suicide, le 3114 répond gratuitement, jour et nuit."
)

# Counsellor and system messages of a closed conversation are still delivered
# when the user comes back within this period.
UNDELIVERED_WINDOW = timedelta(hours=24)
# Claims whose durations feed the wait estimate, and the minimum count of them.
WAIT_ESTIMATE_WINDOW = timedelta(hours=24)
WAIT_ESTIMATE_MIN_CLAIMS = 3
WAIT_ESTIMATE_MAX_CLAIMS = 500
# Draws of a new pseudonym when the random one is already taken.
PSEUDONYM_ATTEMPTS = 5
# Shown in AlreadyClaimed when the owner is unknown (released in between).
UNKNOWN_OWNER_NAME = "un autre conseiller"

MAX_EMAIL_LENGTH = 254
# A deliberately simple check: one @, a dot in the domain, no spaces, and none
# of the characters that separate or quote addresses in a header (so one value
# can never name two recipients).
_EMAIL_PATTERN = re.compile(r"[^@\s,;:<>()\[\]\"\\]+@[^@\s,;:<>()\[\]\"\\]+\.[^@\s,;:<>()\[\]\"\\.]+")


class HandoffError(Exception):
    """Base class of the errors raised by the store."""


class ConversationNotFound(HandoffError, LookupError):
    """No conversation has this id (it may have been purged)."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id} not found")
        self.conversation_id = conversation_id


class ConversationClosed(HandoffError):
    """The conversation is closed, so the requested change is no longer possible."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id} is closed")
        self.conversation_id = conversation_id


class AlreadyClaimed(HandoffError):
    """Another counsellor claimed the conversation first.

    Attributes:
        owner_id: id of that counsellor, or None if unknown.
        owner_name: display name to show, e.g. in « Cette conversation a déjà
            été prise par {owner_name} ».
    """

    def __init__(self, conversation_id: str, owner_id: Optional[int], owner_name: str) -> None:
        super().__init__(f"conversation {conversation_id} already claimed by counsellor {owner_id}")
        self.conversation_id = conversation_id
        self.owner_id = owner_id
        self.owner_name = owner_name


class NotAssigned(HandoffError):
    """The conversation is not with the counsellor who asked for the change.

    Attributes:
        owner_id: counsellor the conversation is with, or None when it is queued.
        owner_name: that counsellor's display name, or None.
    """

    def __init__(
        self, conversation_id: str, counsellor_id: Optional[int], owner_id: Optional[int], owner_name: Optional[str]
    ) -> None:
        super().__init__(
            f"conversation {conversation_id} is not with counsellor {counsellor_id} (owner: {owner_id})"
        )
        self.conversation_id = conversation_id
        self.counsellor_id = counsellor_id
        self.owner_id = owner_id
        self.owner_name = owner_name


class CounsellorNotFound(HandoffError, LookupError):
    """No active counsellor account has this id."""

    def __init__(self, counsellor_id: int) -> None:
        super().__init__(f"no active counsellor with id {counsellor_id}")
        self.counsellor_id = counsellor_id


class FollowupNotFound(HandoffError, LookupError):
    """No follow-up has this id (it may have been purged)."""

    def __init__(self, followup_id: int) -> None:
        super().__init__(f"follow-up {followup_id} not found")
        self.followup_id = followup_id


class FollowupNotPending(HandoffError):
    """The follow-up was already answered, cancelled or expired.

    Attributes:
        status: its current status.
    """

    def __init__(self, followup_id: int, status: str) -> None:
        super().__init__(f"follow-up {followup_id} is {status}, not pending")
        self.followup_id = followup_id
        self.status = status


class InvalidEmail(HandoffError, ValueError):
    """An e-mail address failed the syntax check of `validate_email`."""


@dataclass(frozen=True)
class TranscriptEntry:
    """One message of the bot conversation, copied into the handoff conversation at escalation.

    Attributes:
        author: "user" or "bot".
        text: the message text.
        payload: structured content (buttons, cards) stored as JSON, or None.
        created_at: when the message was sent (aware), or None for the escalation time.
    """

    author: str
    text: str
    payload: Optional[Any] = None
    created_at: Optional[datetime] = None


def _now(now: Optional[datetime]) -> datetime:
    if now is None:
        return utc_now()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now!r}: pass an aware datetime")
    return now


def _encode_payload(payload: Optional[Any]) -> Optional[str]:
    if payload is None:
        return None
    return json.dumps(payload, ensure_ascii=False)


def _load_conversation(session: Session, conversation_id: str) -> Conversation:
    # populate_existing: a conditional UPDATE bypasses the identity map, so a
    # copy loaded earlier in this session may be stale.
    statement = (
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .execution_options(populate_existing=True)
    )
    conversation = session.execute(statement).scalars().first()
    if conversation is None:
        raise ConversationNotFound(conversation_id)
    return conversation


def _require_active_counsellor(session: Session, counsellor_id: int) -> Counsellor:
    counsellor = session.get(Counsellor, counsellor_id)
    if counsellor is None or not counsellor.active:
        raise CounsellorNotFound(counsellor_id)
    return counsellor


def _owner_name(conversation: Conversation) -> Optional[str]:
    return conversation.counsellor.display_name if conversation.counsellor is not None else None


def _add_notice(session: Session, conversation_id: str, text: str, now: datetime) -> Message:
    message = Message(conversation_id=conversation_id, author="system", text=text, created_at=now)
    session.add(message)
    session.flush()
    return message


def mark_danger(session: Session, conversation_id: str, *, now: Optional[datetime] = None) -> bool:
    """Mark an open conversation urgent after a user message that speaks of a danger.

    While the conversation waits in the queue, the notice
    NOTICE_DANGER_WHILE_WAITING is added once, for the caller to deliver.

    Args:
        session: database session; the caller commits.
        conversation_id: the conversation.
        now: current time; None reads the clock.

    Returns:
        Whether the notice was added.
    """
    conversation = _load_conversation(session, conversation_id)
    if not conversation.urgent:
        logger.info("Conversation %s marked urgent: a user message speaks of a danger", conversation_id)
        conversation.urgent = True
    if conversation.status != "queued":
        return False
    already_sent = session.execute(
        select(Message.id)
        .where(Message.conversation_id == conversation_id)
        .where(Message.author == "system")
        .where(Message.text == NOTICE_DANGER_WHILE_WAITING)
        .limit(1)
    ).first()
    if already_sent is not None:
        return False
    _add_notice(session, conversation_id, NOTICE_DANGER_WHILE_WAITING, _now(now))
    return True


def get_conversation(session: Session, conversation_id: str) -> Conversation:
    """Return a conversation, read again from the database.

    Raises:
        ConversationNotFound: no conversation has this id.
    """
    return _load_conversation(session, conversation_id)


def open_conversation_for(session: Session, channel: str, sender_id: str) -> Optional[Conversation]:
    """Return the queued or active conversation of a user on a channel, or None when the bot has them."""
    statement = (
        select(Conversation)
        .where(
            Conversation.channel == channel,
            Conversation.sender_id == sender_id,
            Conversation.status.in_(OPEN_STATUSES),
        )
        .execution_options(populate_existing=True)
    )
    return session.execute(statement).scalars().first()


def escalate(
    session: Session,
    *,
    channel: str,
    sender_id: str,
    reason: str = "user_request",
    urgent: bool = False,
    topic: Optional[str] = None,
    location_label: Optional[str] = None,
    age: Optional[int] = None,
    transcript: Sequence[TranscriptEntry] = (),
    now: Optional[datetime] = None,
) -> Conversation:
    """Queue a conversation for the counsellors, or return the user's open one.

    A new conversation gets a random pseudonym and the bot transcript as
    `user`/`bot` messages. When the user already has a queued or active
    conversation on this channel, that one is returned and the transcript is
    not copied again. An urgent request makes it urgent with the new reason,
    and a missing topic, location or age is filled in.

    Two processes escalating the same user at once get the same conversation:
    the insert skips the row when the partial unique index on open
    (channel, sender_id) already has one, then reads it.

    Args:
        session: database session; the caller commits.
        channel: channel name, e.g. "widget".
        sender_id: the platform's id of the user.
        reason: one of `models.REASONS`.
        urgent: put the conversation at the front of the queue (distress).
        topic: short French label of the subject, e.g. « Recherche de formation ».
        location_label: e.g. « Villeurbanne (69) ».
        age: the user's age, when known.
        transcript: the bot conversation so far, oldest first.
        now: current time; None reads the clock.

    Raises:
        ValueError: `reason` or a transcript author is invalid, or `channel` or
            `sender_id` is empty.
    """
    if reason not in REASONS:
        raise ValueError(f"invalid reason {reason!r}; expected one of {', '.join(REASONS)}")
    if not channel or not sender_id:
        raise ValueError("channel and sender_id must not be empty")
    for entry in transcript:
        if entry.author not in ("user", "bot"):
            raise ValueError(f"invalid transcript author {entry.author!r}; expected 'user' or 'bot'")
    now = _now(now)

    existing = open_conversation_for(session, channel, sender_id)
    if existing is not None:
        _update_open_conversation(existing, reason, urgent, topic, location_label, age)
        session.flush()
        logger.info("Escalation of sender on %s joins open conversation %s", channel, existing.id)
        return existing

    conversation_id = None
    for _attempt in range(PSEUDONYM_ATTEMPTS):
        candidate_id = new_conversation_id()
        inserted = _insert_conversation_unless_open(
            session,
            {
                "id": candidate_id,
                "channel": channel,
                "sender_id": sender_id,
                "pseudonym": new_pseudonym(),
                "status": "queued",
                "urgent": bool(urgent),
                "reason": reason,
                "topic": topic,
                "location_label": location_label,
                "age": age,
                "queued_at": now,
                "handed_back": False,
            },
        )
        if inserted:
            conversation_id = candidate_id
            break
        existing = open_conversation_for(session, channel, sender_id)
        if existing is not None:
            # Another process escalated the same user in between.
            _update_open_conversation(existing, reason, urgent, topic, location_label, age)
            session.flush()
            logger.info("Concurrent escalation on %s joins open conversation %s", channel, existing.id)
            return existing
        # Nothing open for this user, so the random pseudonym was taken: draw again.
    if conversation_id is None:
        raise RuntimeError(f"no free pseudonym after {PSEUDONYM_ATTEMPTS} attempts")

    last_user_message_at = None
    for entry in transcript:
        created_at = _now(entry.created_at) if entry.created_at is not None else now
        session.add(
            Message(
                conversation_id=conversation_id,
                author=entry.author,
                text=entry.text,
                payload=_encode_payload(entry.payload),
                created_at=created_at,
            )
        )
        if entry.author == "user":
            last_user_message_at = created_at
    conversation = _load_conversation(session, conversation_id)
    conversation.user_last_message_at = last_user_message_at
    session.flush()
    logger.info(
        "Escalated conversation %s on %s (reason %s, urgent %s, %d transcript messages)",
        conversation_id,
        channel,
        reason,
        bool(urgent),
        len(transcript),
    )
    return conversation


def _insert_conversation_unless_open(session: Session, values: dict) -> bool:
    """Insert a conversation row, or nothing when a unique index already has a matching row.

    Returns whether the row was inserted.
    """
    dialect = session.get_bind().dialect.name
    table = Conversation.__table__
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:
        raise NotImplementedError(f"escalate supports SQLite and PostgreSQL, not {dialect}")
    result = session.execute(statement)
    return result.rowcount == 1


def _update_open_conversation(
    conversation: Conversation,
    reason: str,
    urgent: bool,
    topic: Optional[str],
    location_label: Optional[str],
    age: Optional[int],
) -> None:
    if urgent and not conversation.urgent:
        conversation.urgent = True
        conversation.reason = reason
    if topic and not conversation.topic:
        conversation.topic = topic
    if location_label and not conversation.location_label:
        conversation.location_label = location_label
    if age is not None and conversation.age is None:
        conversation.age = age


def queue_position(session: Session, conversation_id: str) -> int:
    """Return the 1-based position of a queued conversation, or 0 when it is not queued.

    Urgent conversations come first, then the oldest `queued_at`; the id breaks ties.

    Raises:
        ConversationNotFound: no conversation has this id.
    """
    conversation = _load_conversation(session, conversation_id)
    if conversation.status != "queued":
        return 0
    earlier = or_(
        Conversation.queued_at < conversation.queued_at,
        and_(Conversation.queued_at == conversation.queued_at, Conversation.id < conversation.id),
    )
    if conversation.urgent:
        ahead = and_(Conversation.urgent.is_(True), earlier)
    else:
        ahead = or_(Conversation.urgent.is_(True), earlier)
    statement = select(func.count()).select_from(Conversation).where(Conversation.status == "queued", ahead)
    return session.execute(statement).scalar_one() + 1


def estimated_wait_minutes(
    session: Session, conversation_id: str, *, now: Optional[datetime] = None
) -> Optional[int]:
    """Estimate how many minutes a queued conversation will wait for a counsellor.

    This is an estimate, not a promise: the median time from queueing to claim
    of the conversations claimed in the last 24 hours, times the queue
    position, rounded up (at least 1 minute). It ignores how many counsellors
    are connected.

    Returns:
        None when fewer than 3 conversations were claimed in the last 24 hours
        (too little data), 0 when the conversation is not queued.

    Raises:
        ConversationNotFound: no conversation has this id.
    """
    now = _now(now)
    position = queue_position(session, conversation_id)
    if position == 0:
        return 0
    statement = (
        select(Conversation.queued_at, Conversation.claimed_at)
        .where(Conversation.claimed_at.is_not(None), Conversation.claimed_at >= now - WAIT_ESTIMATE_WINDOW)
        .order_by(Conversation.claimed_at.desc())
        .limit(WAIT_ESTIMATE_MAX_CLAIMS)
    )
    durations = [
        max(0.0, (claimed_at - queued_at).total_seconds()) for queued_at, claimed_at in session.execute(statement)
    ]
    if len(durations) < WAIT_ESTIMATE_MIN_CLAIMS:
        return None
    median_seconds = statistics.median(durations)
    return max(1, math.ceil(median_seconds * position / 60))


def add_message(
    session: Session,
    conversation_id: str,
    author: str,
    text: str,
    counsellor_id: Optional[int] = None,
    payload: Optional[Any] = None,
    *,
    now: Optional[datetime] = None,
) -> Message:
    """Store a message of a conversation and return it with its id.

    User, bot and system messages are accepted in any status, because a user
    message may arrive while a hand-back is in progress. The caller re-reads
    the status after the insert. A counsellor message needs the conversation
    to be active with that counsellor.

    Args:
        session: database session; the caller commits.
        conversation_id: the conversation.
        author: one of `models.AUTHORS`.
        text: the message text, stored whole whatever its length.
        counsellor_id: author of a counsellor message (required for those).
        payload: structured content (place card, buttons), stored as JSON.
        now: current time; None reads the clock.

    Raises:
        ValueError: `author` is invalid, or a counsellor message has no `counsellor_id`.
        ConversationNotFound: no conversation has this id.
        ConversationClosed: a counsellor message on a closed conversation.
        NotAssigned: a counsellor message on a conversation that is not with that counsellor.
    """
    if author not in AUTHORS:
        raise ValueError(f"invalid author {author!r}; expected one of {', '.join(AUTHORS)}")
    if author == "counsellor" and counsellor_id is None:
        raise ValueError("a counsellor message needs counsellor_id")
    now = _now(now)
    conversation = _load_conversation(session, conversation_id)
    if author == "counsellor":
        if conversation.status == "closed":
            raise ConversationClosed(conversation_id)
        if conversation.counsellor_id != counsellor_id:
            raise NotAssigned(conversation_id, counsellor_id, conversation.counsellor_id, _owner_name(conversation))
    message = Message(
        conversation_id=conversation_id,
        author=author,
        counsellor_id=counsellor_id if author == "counsellor" else None,
        text=text,
        payload=_encode_payload(payload),
        created_at=now,
    )
    session.add(message)
    if author == "user":
        conversation.user_last_message_at = now
    session.flush()
    logger.debug("Stored %s message %s in conversation %s", author, message.id, conversation_id)
    return message


def claim(
    session: Session, conversation_id: str, counsellor_id: int, *, now: Optional[datetime] = None
) -> Conversation:
    """Give a queued conversation to a counsellor and add the notice NOTICE_CLAIMED.

    Only one counsellor can win: the UPDATE is conditional on the status still
    being `queued`. A counsellor who claims a conversation they already have
    gets it back unchanged, so a double click is harmless.

    Raises:
        CounsellorNotFound: the counsellor does not exist or is deactivated.
        ConversationNotFound: no conversation has this id.
        ConversationClosed: the conversation is closed.
        AlreadyClaimed: another counsellor has it; `owner_name` is their display name.
    """
    now = _now(now)
    _require_active_counsellor(session, counsellor_id)
    statement = (
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.status == "queued")
        .values(status="active", counsellor_id=counsellor_id, claimed_at=now, counsellor_last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount != 1:
        conversation = _load_conversation(session, conversation_id)
        if conversation.status == "closed":
            raise ConversationClosed(conversation_id)
        if conversation.counsellor_id == counsellor_id:
            return conversation
        owner_name = _owner_name(conversation) or UNKNOWN_OWNER_NAME
        raise AlreadyClaimed(conversation_id, conversation.counsellor_id, owner_name)
    _add_notice(session, conversation_id, NOTICE_CLAIMED, now)
    logger.info("Counsellor %s claimed conversation %s", counsellor_id, conversation_id)
    return _load_conversation(session, conversation_id)


def transfer(
    session: Session,
    conversation_id: str,
    from_counsellor_id: int,
    to_counsellor_id: int,
    *,
    now: Optional[datetime] = None,
) -> Conversation:
    """Hand an active conversation over to another counsellor and add the notice NOTICE_TRANSFERRED.

    The grace period of the new counsellor starts now. A transfer to oneself
    changes nothing.

    Raises:
        CounsellorNotFound: the target counsellor does not exist or is deactivated.
        ConversationNotFound: no conversation has this id.
        ConversationClosed: the conversation is closed.
        NotAssigned: the conversation is not active with `from_counsellor_id`.
    """
    now = _now(now)
    _require_active_counsellor(session, to_counsellor_id)
    if from_counsellor_id == to_counsellor_id:
        conversation = _load_conversation(session, conversation_id)
        _check_assigned(conversation, from_counsellor_id)
        return conversation
    statement = (
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.status == "active",
            Conversation.counsellor_id == from_counsellor_id,
        )
        .values(counsellor_id=to_counsellor_id, counsellor_last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount != 1:
        _check_assigned(_load_conversation(session, conversation_id), from_counsellor_id)
        raise RuntimeError(f"transfer of conversation {conversation_id} failed for an unknown reason")
    _add_notice(session, conversation_id, NOTICE_TRANSFERRED, now)
    logger.info(
        "Conversation %s transferred from counsellor %s to %s", conversation_id, from_counsellor_id, to_counsellor_id
    )
    return _load_conversation(session, conversation_id)


def _check_assigned(conversation: Conversation, counsellor_id: int) -> None:
    if conversation.status == "closed":
        raise ConversationClosed(conversation.id)
    if conversation.status != "active" or conversation.counsellor_id != counsellor_id:
        raise NotAssigned(conversation.id, counsellor_id, conversation.counsellor_id, _owner_name(conversation))


def release_to_queue(
    session: Session,
    conversation_id: str,
    *,
    counsellor_id: Optional[int] = None,
    now: Optional[datetime] = None,
) -> Conversation:
    """Put an active conversation back in the queue and add the notice NOTICE_RELEASED.

    The conversation keeps its `queued_at`, so it goes back near the front.
    Its messages are kept. A conversation that is already queued is returned
    unchanged.

    Args:
        session: database session; the caller commits.
        conversation_id: the conversation.
        counsellor_id: release only if the conversation is still with this
            counsellor (guards against a transfer or re-claim in between).
        now: current time; None reads the clock.

    Raises:
        ConversationNotFound: no conversation has this id.
        ConversationClosed: the conversation is closed.
        NotAssigned: `counsellor_id` is given and the conversation is with someone else.
    """
    now = _now(now)
    conditions = [Conversation.id == conversation_id, Conversation.status == "active"]
    if counsellor_id is not None:
        conditions.append(Conversation.counsellor_id == counsellor_id)
    statement = (
        update(Conversation)
        .where(*conditions)
        .values(status="queued", counsellor_id=None, claimed_at=None, counsellor_last_seen_at=None)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount != 1:
        conversation = _load_conversation(session, conversation_id)
        if conversation.status == "closed":
            raise ConversationClosed(conversation_id)
        if conversation.status == "queued":
            return conversation
        raise NotAssigned(conversation_id, counsellor_id, conversation.counsellor_id, _owner_name(conversation))
    _add_notice(session, conversation_id, NOTICE_RELEASED, now)
    logger.info("Conversation %s released to the queue", conversation_id)
    return _load_conversation(session, conversation_id)


def record_counsellor_seen(session: Session, counsellor_id: int, *, now: Optional[datetime] = None) -> int:
    """Set `counsellor_last_seen_at` of the counsellor's active conversations to now.

    The console calls it while the counsellor has an open WebSocket, more
    often than the grace period, so that `release_idle_conversations` leaves
    those conversations alone.

    Returns:
        The number of conversations updated.
    """
    now = _now(now)
    statement = (
        update(Conversation)
        .where(Conversation.status == "active", Conversation.counsellor_id == counsellor_id)
        .values(counsellor_last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount


def release_idle_conversations(
    session: Session, grace_seconds: int, *, now: Optional[datetime] = None
) -> list[Conversation]:
    """Put back in the queue the active conversations whose counsellor was not seen for `grace_seconds`.

    Each one gets the notice NOTICE_RELEASED. A conversation whose counsellor
    is seen again before its UPDATE runs is left alone.

    Returns:
        The released conversations.
    """
    now = _now(now)
    cutoff = now - timedelta(seconds=grace_seconds)
    idle = or_(Conversation.counsellor_last_seen_at.is_(None), Conversation.counsellor_last_seen_at < cutoff)
    candidates = session.execute(
        select(Conversation.id, Conversation.counsellor_id).where(Conversation.status == "active", idle)
    ).all()
    released = []
    for conversation_id, counsellor_id in candidates:
        statement = (
            update(Conversation)
            .where(
                Conversation.id == conversation_id,
                Conversation.status == "active",
                Conversation.counsellor_id == counsellor_id,
                idle,
            )
            .values(status="queued", counsellor_id=None, claimed_at=None, counsellor_last_seen_at=None)
            .execution_options(synchronize_session=False)
        )
        if session.execute(statement).rowcount == 1:
            _add_notice(session, conversation_id, NOTICE_RELEASED, now)
            released.append(_load_conversation(session, conversation_id))
            logger.info(
                "Conversation %s released to the queue: counsellor %s not seen for %d s",
                conversation_id,
                counsellor_id,
                grace_seconds,
            )
    return released


def conversations_waiting_since(session: Session, cutoff: datetime) -> list[str]:
    """Return the ids of the queued conversations put in the queue before `cutoff`, oldest first."""
    statement = (
        select(Conversation.id)
        .where(Conversation.status == "queued", Conversation.queued_at < cutoff)
        .order_by(Conversation.queued_at)
    )
    return list(session.execute(statement).scalars())


def expire_queued(
    session: Session, conversation_id: str, *, now: Optional[datetime] = None
) -> Optional[Conversation]:
    """Give a queued conversation that no counsellor took back to the bot, with the notice NOTICE_EXPIRED.

    The conversation is closed with no counsellor (`closed_by` is NULL) and marked as
    handed back, which is how `recently_expired` recognises it. The caller
    appends `ConversationResumed` in Rasa before and sets the routing key to
    "bot" after the commit, as for a hand-back.

    Returns:
        The expired conversation, or None when a counsellor claimed it or it
        was closed in the meantime.
    """
    now = _now(now)
    statement = (
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.status == "queued")
        .values(status="closed", closed_at=now, closed_by=None, handed_back=True, close_note=None)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount != 1:
        return None
    conversation = _load_conversation(session, conversation_id)
    notice = NOTICE_EXPIRED_URGENT if conversation.urgent else NOTICE_EXPIRED
    _add_notice(session, conversation_id, notice, now)
    logger.info("Conversation %s expired in the queue (urgent %s)", conversation_id, conversation.urgent)
    return _load_conversation(session, conversation_id)


def recently_expired(
    session: Session, channel: str, sender_id: str, within: timedelta, *, now: Optional[datetime] = None
) -> bool:
    """Tell whether the user's last conversation expired in the queue less than `within` ago."""
    cutoff = _now(now) - within
    statement = (
        select(Conversation.id)
        .where(
            Conversation.channel == channel,
            Conversation.sender_id == sender_id,
            Conversation.status == "closed",
            Conversation.closed_by.is_(None),
            Conversation.handed_back.is_(True),
            Conversation.claimed_at.is_(None),
            Conversation.closed_at >= cutoff,
        )
        .limit(1)
    )
    return session.execute(statement).first() is not None


def hand_back(
    session: Session, conversation_id: str, counsellor_id: int, *, now: Optional[datetime] = None
) -> Conversation:
    """Close a conversation by giving the user back to the bot, and add the notice NOTICE_HANDED_BACK.

    Works on an active conversation of this counsellor, or on a queued one.
    The caller must have appended `ConversationResumed` in Rasa before, and
    sets the routing key to "bot" after the commit.

    Raises:
        ConversationNotFound: no conversation has this id.
        ConversationClosed: the conversation is already closed.
        NotAssigned: the conversation is active with another counsellor.
    """
    return _finish(session, conversation_id, counsellor_id, handed_back=True, note=None, now=now)


def close(
    session: Session,
    conversation_id: str,
    counsellor_id: int,
    note: Optional[str] = None,
    *,
    now: Optional[datetime] = None,
) -> Conversation:
    """Close a conversation with an optional internal note, and add the notice NOTICE_CLOSED.

    Works on an active conversation of this counsellor, or on a queued one.
    The user's next message goes to the bot. The note is for counsellors only.

    Raises:
        ConversationNotFound: no conversation has this id.
        ConversationClosed: the conversation is already closed.
        NotAssigned: the conversation is active with another counsellor.
    """
    note = (note or "").strip() or None
    return _finish(session, conversation_id, counsellor_id, handed_back=False, note=note, now=now)


def _finish(
    session: Session,
    conversation_id: str,
    counsellor_id: int,
    *,
    handed_back: bool,
    note: Optional[str],
    now: Optional[datetime],
) -> Conversation:
    now = _now(now)
    statement = (
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            or_(
                Conversation.status == "queued",
                and_(Conversation.status == "active", Conversation.counsellor_id == counsellor_id),
            ),
        )
        .values(status="closed", closed_at=now, closed_by=counsellor_id, handed_back=handed_back, close_note=note)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount != 1:
        conversation = _load_conversation(session, conversation_id)
        if conversation.status == "closed":
            raise ConversationClosed(conversation_id)
        raise NotAssigned(conversation_id, counsellor_id, conversation.counsellor_id, _owner_name(conversation))
    _add_notice(session, conversation_id, NOTICE_HANDED_BACK if handed_back else NOTICE_CLOSED, now)
    logger.info(
        "Counsellor %s %s conversation %s",
        counsellor_id,
        "handed back" if handed_back else "closed",
        conversation_id,
    )
    return _load_conversation(session, conversation_id)


def _undelivered_conditions(channel: str, sender_id: str, now: datetime) -> tuple[Any, ...]:
    """WHERE conditions of the user's unacknowledged counsellor and system messages (joined with Conversation)."""
    return (
        Conversation.channel == channel,
        Conversation.sender_id == sender_id,
        or_(Conversation.status.in_(OPEN_STATUSES), Conversation.closed_at >= now - UNDELIVERED_WINDOW),
        Message.author.in_(("counsellor", "system")),
        Message.delivered_at.is_(None),
    )


def undelivered_messages(
    session: Session, channel: str, sender_id: str, *, now: Optional[datetime] = None
) -> list[Message]:
    """Return the counsellor and system messages that the user's channel has not acknowledged, oldest first.

    They come from the user's open conversation and from conversations closed
    less than 24 hours ago, so the notice of a hand-back still reaches a user
    who reconnects later. Messages that a platform refused for good
    (`refused_at`, see `record_delivery_failure`) are left out until
    `clear_refusals`, so that one refused message never holds back the next.
    """
    now = _now(now)
    statement = (
        select(Message)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(*_undelivered_conditions(channel, sender_id, now), Message.refused_at.is_(None))
        .order_by(Message.id)
    )
    return list(session.execute(statement).scalars())


def _undelivered_ids_among(ids: list[int]) -> Any:
    """SELECT of the ids, among these, of counsellor and system messages not delivered yet."""
    return select(Message.id).where(
        Message.id.in_(ids),
        Message.delivered_at.is_(None),
        Message.author.in_(("counsellor", "system")),
    )


def record_delivery_failure(
    session: Session,
    message_ids: Iterable[int],
    reason: str,
    *,
    permanent: bool,
    now: Optional[datetime] = None,
) -> list[int]:
    """Store why a platform did not take counsellor or system messages, so the console shows it after a reload.

    Args:
        session: database session; the caller commits.
        message_ids: the messages concerned.
        reason: the French reason shown to counsellors (« non remis. … »),
            cut to MAX_DELIVERY_ERROR_LENGTH characters.
        permanent: True when the platform refused them for good. They then
            also get `refused_at`, so `undelivered_messages` leaves them out
            until `clear_refusals`. Otherwise they stay pending for the next
            delivery.
        now: current time; None reads the clock.

    Returns:
        The ids recorded, sorted; delivered, unknown and user/bot messages are left out.
    """
    now = _now(now)
    ids = sorted({int(message_id) for message_id in message_ids})
    if not ids:
        return []
    statement = _undelivered_ids_among(ids)
    recorded = sorted(session.execute(statement).scalars())
    if recorded:
        values: dict[str, Any] = {"delivery_error": (reason or "")[:MAX_DELIVERY_ERROR_LENGTH]}
        if permanent:
            values["refused_at"] = now
        session.execute(
            update(Message)
            .where(Message.id.in_(recorded), Message.delivered_at.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return recorded


def clear_refusals(session: Session, channel: str, sender_id: str, *, now: Optional[datetime] = None) -> list[int]:
    """Let the user's messages that a platform refused for good be delivered again.

    Called when the user writes: a bot they had blocked is unblocked, and a
    closed messaging window is open again. The messages keep their
    `delivery_error` until they are delivered or fail again.

    Returns:
        The ids of the messages that were refused, sorted.
    """
    now = _now(now)
    statement = (
        select(Message.id)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(*_undelivered_conditions(channel, sender_id, now), Message.refused_at.is_not(None))
    )
    cleared = sorted(session.execute(statement).scalars())
    if cleared:
        session.execute(
            update(Message)
            .where(Message.id.in_(cleared))
            .values(refused_at=None)
            .execution_options(synchronize_session=False)
        )
    return cleared


def mark_delivered(
    session: Session,
    message_ids: Iterable[int],
    *,
    channel: Optional[str] = None,
    sender_id: Optional[str] = None,
    now: Optional[datetime] = None,
) -> list[int]:
    """Record that the user's channel acknowledged counsellor or system messages.

    Pass `channel` and `sender_id` when the ids come from the user's client, so
    that a client cannot acknowledge another user's messages. A recorded
    delivery failure of these messages is cleared.

    Returns:
        The ids that were marked now, sorted; ids already delivered, unknown,
        of another user or of user/bot messages are left out.

    Raises:
        ValueError: an id is not an integer.
    """
    now = _now(now)
    ids = sorted({int(message_id) for message_id in message_ids})
    if not ids:
        return []
    statement = _undelivered_ids_among(ids)
    if channel is not None or sender_id is not None:
        statement = statement.join(Conversation, Message.conversation_id == Conversation.id).where(
            Conversation.channel == channel, Conversation.sender_id == sender_id
        )
    marked = sorted(session.execute(statement).scalars())
    if marked:
        session.execute(
            update(Message)
            .where(Message.id.in_(marked), Message.delivered_at.is_(None))
            .values(delivered_at=now, delivery_error=None, refused_at=None)
            .execution_options(synchronize_session=False)
        )
    return marked


def list_queue(session: Session) -> list[Conversation]:
    """Return the queued and active conversations: urgent first, then the oldest first."""
    statement = (
        select(Conversation)
        .where(Conversation.status.in_(OPEN_STATUSES))
        .order_by(Conversation.urgent.desc(), Conversation.queued_at, Conversation.id)
        .execution_options(populate_existing=True)
    )
    return list(session.execute(statement).scalars())


def transcript(session: Session, conversation_id: str) -> list[Message]:
    """Return every message of a conversation in the order they were stored: the bot part first, then the live part.

    Raises:
        ConversationNotFound: no conversation has this id.
    """
    _load_conversation(session, conversation_id)
    statement = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    return list(session.execute(statement).scalars())


def validate_email(email: str) -> str:
    """Return the address without surrounding spaces, or raise InvalidEmail.

    The check is syntactic and simple: one @, a dot in the domain, at most 254
    characters, no spaces and no header separator (`,`, `;`, `<`, quotes…).

    Raises:
        InvalidEmail: the address fails the check (the message does not repeat it).
    """
    address = (email or "").strip()
    if len(address) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"e-mail address longer than {MAX_EMAIL_LENGTH} characters")
    if _EMAIL_PATTERN.fullmatch(address) is None:
        raise InvalidEmail("invalid e-mail address syntax")
    return address


def pending_followup_for(session: Session, channel: str, sender_id: str) -> Optional[Followup]:
    """Return the pending follow-up of a user on a channel, or None."""
    statement = (
        select(Followup)
        .where(Followup.channel == channel, Followup.sender_id == sender_id, Followup.status == "pending")
        .order_by(Followup.id.desc())
        .execution_options(populate_existing=True)
    )
    return session.execute(statement).scalars().first()


def create_followup(
    session: Session,
    *,
    channel: str,
    sender_id: str,
    email: str,
    question: str,
    conversation_id: Optional[str] = None,
    pseudonym: Optional[str] = None,
    now: Optional[datetime] = None,
) -> Followup:
    """Store an e-mail follow-up request, or update the user's pending one.

    A user has at most one pending follow-up per channel: a second request
    replaces its address and question and keeps its place in the list.

    Args:
        session: database session; the caller commits.
        channel: channel name.
        sender_id: the platform's id of the user.
        email: the address the answer goes to, checked with `validate_email`.
        question: the user's last messages.
        conversation_id: the handoff conversation it comes from, if any.
        pseudonym: shown to counsellors; None takes the conversation's, or a new one.
        now: current time; None reads the clock.

    Raises:
        InvalidEmail: the address fails the syntax check.
    """
    now = _now(now)
    address = validate_email(email)
    followup = pending_followup_for(session, channel, sender_id)
    if followup is not None:
        followup.email = address
        followup.question = question
        if conversation_id is not None:
            followup.conversation_id = conversation_id
        session.flush()
        logger.info("Updated pending follow-up %s", followup.id)
        return followup
    if pseudonym is None and conversation_id is not None:
        conversation = session.get(Conversation, conversation_id)
        pseudonym = conversation.pseudonym if conversation is not None else None
    followup = Followup(
        conversation_id=conversation_id,
        channel=channel,
        sender_id=sender_id,
        pseudonym=pseudonym or new_pseudonym(),
        email=address,
        question=question,
        status="pending",
        created_at=now,
    )
    session.add(followup)
    session.flush()
    logger.info("Created follow-up %s on %s", followup.id, channel)
    return followup


def get_followup(session: Session, followup_id: int) -> Followup:
    """Return a follow-up, read again from the database.

    Raises:
        FollowupNotFound: no follow-up has this id.
    """
    statement = select(Followup).where(Followup.id == followup_id).execution_options(populate_existing=True)
    followup = session.execute(statement).scalars().first()
    if followup is None:
        raise FollowupNotFound(followup_id)
    return followup


def list_followups(session: Session, *, status: Optional[str] = "pending", limit: int = 200) -> list[Followup]:
    """Return follow-ups of one status (all when `status` is None).

    Pending ones come oldest first, so the longest wait is answered first;
    the others come newest first.
    """
    statement = select(Followup)
    if status is not None:
        statement = statement.where(Followup.status == status)
    if status == "pending":
        statement = statement.order_by(Followup.created_at, Followup.id)
    else:
        statement = statement.order_by(Followup.created_at.desc(), Followup.id.desc())
    return list(session.execute(statement.limit(limit)).scalars())


def answer_followup(
    session: Session, followup_id: int, counsellor_id: int, answer: str, *, now: Optional[datetime] = None
) -> Followup:
    """Record the answer to a pending follow-up and erase its e-mail address.

    Send the e-mail first (`mailer.send_followup_answer` with `followup.email`),
    then call this and commit: a failed send keeps the follow-up pending with
    its address.

    NOTE: two counsellors answering the same follow-up at once both send their
    e-mail; only the first one is recorded, the second gets FollowupNotPending.

    Raises:
        ValueError: the answer is empty.
        FollowupNotFound: no follow-up has this id.
        FollowupNotPending: it was already answered, cancelled or expired.
    """
    if not (answer or "").strip():
        raise ValueError("the answer must not be empty")
    now = _now(now)
    statement = (
        update(Followup)
        .where(Followup.id == followup_id, Followup.status == "pending")
        .values(
            status="answered",
            answer=answer,
            answered_at=now,
            answered_by=counsellor_id,
            email=None,
            closed_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount != 1:
        followup = get_followup(session, followup_id)
        raise FollowupNotPending(followup_id, followup.status)
    logger.info("Counsellor %s answered follow-up %s", counsellor_id, followup_id)
    return get_followup(session, followup_id)


def cancel_followup(session: Session, followup_id: int, *, now: Optional[datetime] = None) -> Followup:
    """Cancel a pending follow-up and erase its e-mail address.

    Raises:
        FollowupNotFound: no follow-up has this id.
        FollowupNotPending: it was already answered, cancelled or expired.
    """
    now = _now(now)
    statement = (
        update(Followup)
        .where(Followup.id == followup_id, Followup.status == "pending")
        .values(status="cancelled", email=None, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount != 1:
        followup = get_followup(session, followup_id)
        raise FollowupNotPending(followup_id, followup.status)
    logger.info("Cancelled follow-up %s", followup_id)
    return get_followup(session, followup_id)


def cancel_pending_followups(
    session: Session, channel: str, sender_id: str, *, now: Optional[datetime] = None
) -> int:
    """Cancel the user's pending follow-ups on a channel and erase their addresses (« Annuler ma demande »).

    Returns:
        The number of follow-ups cancelled (0 when there was none).
    """
    now = _now(now)
    statement = (
        update(Followup)
        .where(Followup.channel == channel, Followup.sender_id == sender_id, Followup.status == "pending")
        .values(status="cancelled", email=None, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    count = session.execute(statement).rowcount
    if count:
        logger.info("Cancelled %d pending follow-up(s) on %s at the user's request", count, channel)
    return count
