"""tick leases with fencing tokens; orders sent / unknown with database-clock deadlines

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 22:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tick", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("lease_until_ms", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("botorder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("deadline_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("check_after_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("checks", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index("ix_botorder_bot_id_status", ["bot_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("botorder", schema=None) as batch_op:
        batch_op.drop_index("ix_botorder_bot_id_status")
        for name in ("checks", "check_after_ms", "deadline_ms", "sent_at_ms"):
            batch_op.drop_column(name)
    with op.batch_alter_table("tick", schema=None) as batch_op:
        batch_op.drop_column("lease_until_ms")
        batch_op.drop_column("lease")
