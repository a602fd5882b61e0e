"""Tick scheduling and claiming, in the database (no queue library here).

`schedule_due_ticks` inserts one Tick row per (running bot, newest closed candle). The row is
unique on (bot_id, candle_ts) and inserted with ON CONFLICT DO NOTHING, so two schedulers, a
retry or a restart never create two; only the rows this call created are returned for
enqueueing. `claim_tick` makes execution exclusive: one worker per tick, one running tick per
bot; a tick whose worker died (claim older than `stale_after_s`) can be claimed again — safe,
because the tick body is idempotent (see core.engine).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.exchanges.base import last_closed_open
from core.models import Bot, Tick, utcnow

STALE_AFTER_S = 300.0
LOST_AFTER_S = 90.0


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(Tick)


def schedule_due_ticks(session: Session, *, now_ms: int) -> list[tuple[int, int, int]]:
    """Create the due ticks; returns (tick id, bot id, candle ts) of the rows created now."""
    running = session.exec(
        select(Bot.id, Bot.timeframe, Bot.last_candle_ts).where(Bot.status == "running")
    ).all()
    rows = []
    for bot_id, timeframe, last in running:
        due = last_closed_open(now_ms, timeframe)
        if last is None or due > last:
            rows.append(
                {
                    "bot_id": bot_id,
                    "candle_ts": due,
                    "status": "queued",
                    "attempts": 0,
                    "created_at": utcnow(),
                    "error": "",
                }
            )
    created: list[tuple[int, int, int]] = []
    for start in range(0, len(rows), 500):
        stmt = (
            _insert(session)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(index_elements=["bot_id", "candle_ts"])
            .returning(Tick.id, Tick.bot_id, Tick.candle_ts)
        )
        created.extend(tuple(r) for r in session.execute(stmt).all())
    return created


def lost_ticks(session: Session, *, now: datetime | None = None) -> list[tuple[int, int, int]]:
    """Queued too long (its task was lost) or running with a stale claim (its worker died)."""
    now = now or utcnow()
    rows = session.exec(
        select(Tick.id, Tick.bot_id, Tick.candle_ts).where(
            or_(
                and_(
                    Tick.status == "queued",
                    col(Tick.created_at) < now - timedelta(seconds=LOST_AFTER_S),
                ),
                and_(
                    Tick.status == "running",
                    col(Tick.claimed_at) < now - timedelta(seconds=STALE_AFTER_S),
                ),
            )
        )
    ).all()
    return [tuple(r) for r in rows]


def claim_tick(
    session: Session,
    *,
    tick_id: int,
    worker_id: str,
    now: datetime | None = None,
    stale_after_s: float = STALE_AFTER_S,
) -> Tick | None:
    """Claim the tick for `worker_id`, or None if another worker has it (or its bot is busy)."""
    now = now or utcnow()
    stale = now - timedelta(seconds=stale_after_s)
    tick = session.get(Tick, tick_id)
    if tick is None:
        return None
    # Serialise claims per bot (PostgreSQL row lock; SQLite holds the write lock already).
    session.exec(select(Bot.id).where(Bot.id == tick.bot_id).with_for_update()).first()
    other = aliased(Tick)
    busy = exists().where(
        other.bot_id == Tick.bot_id,
        other.id != Tick.id,
        other.status == "running",
        other.claimed_at >= stale,
    )
    result = session.execute(
        update(Tick)
        .where(
            Tick.id == tick_id,
            ~busy,
            or_(
                Tick.status == "queued",
                and_(Tick.status == "running", col(Tick.claimed_at) < stale),
            ),
        )
        .values(
            status="running", claimed_by=worker_id[:80], claimed_at=now, attempts=Tick.attempts + 1
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    session.refresh(tick)
    return tick


def finish_tick(session: Session, *, tick_id: int, outcome: str) -> None:
    failed = outcome.startswith(("failed", "error"))
    session.execute(
        update(Tick)
        .where(Tick.id == tick_id)
        .values(
            status="failed" if failed else "done",
            finished_at=utcnow(),
            error=outcome[:500] if failed else "",
        )
    )
