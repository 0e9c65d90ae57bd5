"""Create the handoff tables.

Revision ID: 0001
Revises:
Create Date: 2026-12-04

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# handoff.models.UTCDateTime is stored as this type.
Timestamp = sa.DateTime(timezone=True)
OPEN_STATUS_CONDITION = sa.text("status IN ('queued', 'active')")


def upgrade() -> None:
    """Create the counsellor, conversation, message, session, canned reply and follow-up tables."""
    op.create_table(
        "counsellors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", Timestamp, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_login_at", Timestamp, nullable=True),
        sa.CheckConstraint("role IN ('counsellor', 'admin')", name=op.f("ck_counsellors_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counsellors")),
        sa.UniqueConstraint("login", name=op.f("uq_counsellors_login")),
    )

    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["counsellors.id"],
            name=op.f("fk_canned_replies_updated_by_counsellors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
    )

    op.create_table(
        "counsellor_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("counsellor_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("last_seen_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["counsellor_id"],
            ["counsellors.id"],
            name=op.f("fk_counsellor_sessions_counsellor_id_counsellors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counsellor_sessions")),
    )
    op.create_index(op.f("ix_counsellor_sessions_counsellor_id"), "counsellor_sessions", ["counsellor_id"])
    op.create_index("ix_counsellor_sessions_expires_at", "counsellor_sessions", ["expires_at"])

    op.create_table(
        "handoff_conversations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=120), nullable=True),
        sa.Column("location_label", sa.String(length=120), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("counsellor_id", sa.Integer(), nullable=True),
        sa.Column("queued_at", Timestamp, nullable=False),
        sa.Column("claimed_at", Timestamp, nullable=True),
        sa.Column("closed_at", Timestamp, nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("handed_back", sa.Boolean(), nullable=False),
        sa.Column("counsellor_last_seen_at", Timestamp, nullable=True),
        sa.Column("user_last_message_at", Timestamp, nullable=True),
        sa.CheckConstraint(
            "reason IN ('user_request', 'fallback', 'distress')", name=op.f("ck_handoff_conversations_reason")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'active', 'closed')", name=op.f("ck_handoff_conversations_status")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["counsellors.id"], name=op.f("fk_handoff_conversations_closed_by_counsellors")
        ),
        sa.ForeignKeyConstraint(
            ["counsellor_id"], ["counsellors.id"], name=op.f("fk_handoff_conversations_counsellor_id_counsellors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_conversations")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_handoff_conversations_pseudonym")),
    )
    op.create_index(
        "ix_handoff_conversations_channel_sender_status", "handoff_conversations", ["channel", "sender_id", "status"]
    )
    op.create_index("ix_handoff_conversations_status_queued_at", "handoff_conversations", ["status", "queued_at"])
    # At most one open conversation per (channel, sender_id).
    op.create_index(
        "uq_handoff_conversations_open_sender",
        "handoff_conversations",
        ["channel", "sender_id"],
        unique=True,
        sqlite_where=OPEN_STATUS_CONDITION,
        postgresql_where=OPEN_STATUS_CONDITION,
    )

    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("answered_at", Timestamp, nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("closed_at", Timestamp, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'answered', 'cancelled', 'expired')", name=op.f("ck_followups_status")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by"],
            ["counsellors.id"],
            name=op.f("fk_followups_answered_by_counsellors"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["handoff_conversations.id"],
            name=op.f("fk_followups_conversation_id_handoff_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
    )
    op.create_index("ix_followups_channel_sender_id", "followups", ["channel", "sender_id"])
    op.create_index("ix_followups_status_created_at", "followups", ["status", "created_at"])

    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("counsellor_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("delivered_at", Timestamp, nullable=True),
        sa.CheckConstraint(
            "author IN ('user', 'bot', 'counsellor', 'system')", name=op.f("ck_handoff_messages_author")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["handoff_conversations.id"],
            name=op.f("fk_handoff_messages_conversation_id_handoff_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["counsellor_id"],
            ["counsellors.id"],
            name=op.f("fk_handoff_messages_counsellor_id_counsellors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_messages")),
    )
    op.create_index("ix_handoff_messages_conversation_id_id", "handoff_messages", ["conversation_id", "id"])


def downgrade() -> None:
    """Drop every handoff table (their rows are lost)."""
    op.drop_table("handoff_messages")
    op.drop_table("followups")
    op.drop_table("handoff_conversations")
    op.drop_table("counsellor_sessions")
    op.drop_table("canned_replies")
    op.drop_table("counsellors")
