"""event outbox: events waiting to be notified are flagged (claimed row by row, no cursor)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:20:00.000000

A max-id cursor skips an event whose transaction commits after a higher id was claimed
(PostgreSQL hands out ids before commit). Existing events are history: not flagged.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("botevent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notify", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_botevent_notify_id", ["notify", "id"], unique=False)
    op.execute("DELETE FROM appsetting WHERE key = 'notify.last_event_id'")


def downgrade() -> None:
    with op.batch_alter_table("botevent", schema=None) as batch_op:
        batch_op.drop_index("ix_botevent_notify_id")
        batch_op.drop_column("notify")
