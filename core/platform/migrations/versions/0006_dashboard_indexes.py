"""dashboard indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 05:45:00

Indexes for the dashboard's read models (see core/views/ and bench/ui_render.py):
a bot's newest trades without a sort, open lots without scanning closed ones, the newest fills (all bots or one), and the PnL
aggregates (per bot, per status, by exit time) answered from the index alone.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trade", schema=None) as batch_op:
        batch_op.create_index("ix_trade_bot_id_entry_ts", ["bot_id", "entry_ts"], unique=False)
        batch_op.create_index("ix_trade_status_entry_ts", ["status", "entry_ts"], unique=False)
        batch_op.create_index(
            "ix_trade_pnl_cover",
            ["bot_id", "status", "exit_ts", "pnl", "entry_fee", "exit_fee"],
            unique=False,
        )
    with op.batch_alter_table("botorder", schema=None) as batch_op:
        batch_op.create_index("ix_botorder_candle_ts", ["candle_ts"], unique=False)
        batch_op.create_index("ix_botorder_bot_id_candle_ts", ["bot_id", "candle_ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("botorder", schema=None) as batch_op:
        batch_op.drop_index("ix_botorder_bot_id_candle_ts")
        batch_op.drop_index("ix_botorder_candle_ts")
    with op.batch_alter_table("trade", schema=None) as batch_op:
        batch_op.drop_index("ix_trade_pnl_cover")
        batch_op.drop_index("ix_trade_status_entry_ts")
        batch_op.drop_index("ix_trade_bot_id_entry_ts")
