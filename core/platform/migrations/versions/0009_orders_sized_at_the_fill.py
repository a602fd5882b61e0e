"""buy orders carry their budget: the amount is sized at the fill price

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("botorder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("budget", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("botorder", schema=None) as batch_op:
        batch_op.drop_column("budget")
