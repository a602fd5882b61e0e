"""server-side sign-in sessions and sign-in throttling (no more per-user hard lock)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 03:00:00.000000

The per-user lock (user.failed_logins, user.locked_until) let anyone lock any account: it is
replaced by signinthrottle (per username, per address, per pair). Every re-auth cookie issued
before this revision held only a username: none maps to a session row, so all are void.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usersession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("usersession", schema=None) as batch_op:
        batch_op.create_index("ix_usersession_user_address", ["user_id", "address"], unique=False)
    op.create_table(
        "signinthrottle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("blocked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("signinthrottle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signinthrottle_username"), ["username"], unique=False)
        batch_op.create_index(batch_op.f("ix_signinthrottle_last_at"), ["last_at"], unique=False)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("signinthrottle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signinthrottle_last_at"))
        batch_op.drop_index(batch_op.f("ix_signinthrottle_username"))
    op.drop_table("signinthrottle")
    with op.batch_alter_table("usersession", schema=None) as batch_op:
        batch_op.drop_index("ix_usersession_user_address")
    op.drop_table("usersession")
