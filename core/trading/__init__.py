"""Running bots: scheduler (tick rows claimed by workers), tick (one bot's step, the
reference path, used for live accounts), round + batch (many paper ticks decided and recorded
in a few transactions, equal to one-by-one ticks), orders (exactly-once order rows)."""

from __future__ import annotations

from core.trading.batch import run_ticks
from core.trading.orders import AWAITED
from core.trading.scheduler import (
    by_market,
    claim_ticks,
    extend_leases,
    finish_ticks,
    give_up_abandoned,
    lost_ticks,
    release_dead_claims,
    schedule_due_ticks,
    tick_statuses,
)
from core.trading.tick import market_lookup, reconcile_all, run_bot_tick

__all__ = [
    "AWAITED",
    "by_market",
    "claim_ticks",
    "extend_leases",
    "finish_ticks",
    "give_up_abandoned",
    "lost_ticks",
    "market_lookup",
    "reconcile_all",
    "release_dead_claims",
    "run_bot_tick",
    "run_ticks",
    "schedule_due_ticks",
    "tick_statuses",
]
