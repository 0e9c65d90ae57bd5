"""Record on each message why a platform did not take it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# handoff.models.UTCDateTime is stored as this type.
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add handoff_messages.delivery_error (reason shown to counsellors) and refused_at (refused for good)."""
    with op.batch_alter_table("handoff_messages") as batch_op:
        batch_op.add_column(sa.Column("delivery_error", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("refused_at", Timestamp, nullable=True))


def downgrade() -> None:
    """Drop the two columns (the recorded failures are lost)."""
    with op.batch_alter_table("handoff_messages") as batch_op:
        batch_op.drop_column("refused_at")
        batch_op.drop_column("delivery_error")
