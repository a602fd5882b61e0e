"""Tick scheduling and claiming, in the database (no queue library here).

`schedule_due_ticks` inserts one Tick row per (running bot, newest closed candle). The row is
unique on (bot_id, candle_ts) and inserted with ON CONFLICT DO NOTHING, so two schedulers, a
retry or a restart never create two; only the rows this call created are returned for
enqueueing. `claim_tick` makes execution exclusive: one worker per tick, one running tick per
bot, a bot's older candle first; a tick whose worker died (claim older than `stale_after_s`) can
be claimed again — safe, because the tick body is idempotent (see core.trading.tick) — until it has
been tried `MAX_ATTEMPTS` times (a tick that kills its worker every time is given up).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.exchanges import last_closed_open
from core.models import Bot, BotStatus, ExchangeAccount, Tick, TickOutcome, WorkerHeartbeat, utcnow

STALE_AFTER_S = 300.0
LOST_AFTER_S = 90.0
MAX_ATTEMPTS = 3


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(Tick)


def schedule_due_ticks(session: Session, *, now_ms: int) -> list[tuple[int, int, int]]:
    """Create the due ticks; returns (tick id, bot id, candle ts) of the rows created now."""
    running = session.exec(
        select(Bot.id, Bot.timeframe, Bot.last_candle_ts).where(Bot.status == BotStatus.RUNNING)
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


DEAD_AFTER_S = 30.0  # a worker whose heartbeat is this old is dead (it beats every 5 s)


def _dead_claim(now: datetime):
    """Running, claimed by a worker that stopped beating (or longer ago than STALE_AFTER_S)."""
    cutoff = now - timedelta(seconds=DEAD_AFTER_S)
    alive = select(WorkerHeartbeat.worker_id).where(col(WorkerHeartbeat.last_beat) >= cutoff)
    return and_(
        Tick.status == "running",
        col(Tick.claimed_at) < cutoff,
        or_(
            ~col(Tick.claimed_by).in_(alive),
            col(Tick.claimed_at) < now - timedelta(seconds=STALE_AFTER_S),
        ),
    )


def release_dead_claims(session: Session, *, now: datetime | None = None) -> int:
    """Ticks claimed by workers that stopped beating go back to the queue (until they have
    had MAX_ATTEMPTS: see give_up_abandoned); returns how many."""
    now = now or utcnow()
    result = session.execute(
        update(Tick)
        .where(_dead_claim(now), Tick.attempts < MAX_ATTEMPTS)
        .values(status="queued", created_at=now - timedelta(seconds=LOST_AFTER_S + 1))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


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
                    Tick.attempts < MAX_ATTEMPTS,
                ),
            )
        )
    ).all()
    return [tuple(r) for r in rows]


def give_up_abandoned(session: Session, *, now: datetime | None = None) -> int:
    """Fail the abandoned ticks that have used all their attempts (a tick that kills its
    worker every time must not take down the next one); returns how many."""
    result = session.execute(
        update(Tick)
        .where(_dead_claim(now or utcnow()), Tick.attempts >= MAX_ATTEMPTS)
        .values(
            status="failed",
            finished_at=utcnow(),
            error=f"abandoned: its worker stopped during {MAX_ATTEMPTS} attempts",
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _busy(stale: datetime):
    """Another tick of the same bot is running (fresh claim) or an older candle is queued."""
    other = aliased(Tick)
    return exists().where(
        other.bot_id == Tick.bot_id,
        other.id != Tick.id,
        or_(
            and_(other.status == "running", other.claimed_at >= stale),
            and_(other.status == "queued", other.candle_ts < Tick.candle_ts),
        ),
    )


def _claimable(stale: datetime):
    return or_(
        Tick.status == "queued",
        and_(Tick.status == "running", col(Tick.claimed_at) < stale, Tick.attempts < MAX_ATTEMPTS),
    )


def claim_ticks(
    session: Session,
    *,
    tick_ids: list[int],
    worker_id: str,
    now: datetime | None = None,
    stale_after_s: float = STALE_AFTER_S,
) -> list[tuple[int, int, int]]:
    """Claim the ticks for `worker_id` in one statement: (tick id, bot id, candle ts) of those
    claimed, by candle then bot. A tick is left out when another worker has it or its bot must
    wait (another tick of the bot is running, or an older candle of the bot is still queued);
    a bot with two ticks in the list gets its older one."""
    if not tick_ids:
        return []
    now = now or utcnow()
    stale = now - timedelta(seconds=stale_after_s)
    bot_ids = select(Tick.bot_id).where(col(Tick.id).in_(tick_ids))
    # PostgreSQL: lock the bots in id order (no deadlock between two batch claims).
    session.exec(
        select(Bot.id).where(col(Bot.id).in_(bot_ids)).order_by(Bot.id).with_for_update()
    ).all()
    result = session.execute(
        update(Tick)
        .where(col(Tick.id).in_(tick_ids), ~_busy(stale), _claimable(stale))
        .values(
            status="running", claimed_by=worker_id[:80], claimed_at=now, attempts=Tick.attempts + 1
        )
        .returning(Tick.id, Tick.bot_id, Tick.candle_ts)
        .execution_options(synchronize_session=False)
    )
    return sorted((tuple(r) for r in result.all()), key=lambda r: (r[2], r[1]))


def by_market(session: Session, *, tick_ids: list[int]) -> list[int]:
    """The tick ids sorted by (candle, exchange, symbol, timeframe, bot), so a batch of
    consecutive ids shares its market data and signals."""
    rows = []
    for start in range(0, len(tick_ids), 500):
        chunk = tick_ids[start : start + 500]
        query = (
            select(
                Tick.id,
                Tick.candle_ts,
                ExchangeAccount.exchange_id,
                Bot.symbol,
                Bot.timeframe,
                Bot.id,
            )
            .join(Bot, Bot.id == Tick.bot_id)
            .join(ExchangeAccount, ExchangeAccount.id == Bot.account_id)
            .where(col(Tick.id).in_(chunk))
        )
        rows.extend(session.exec(query).all())
    return [r[0] for r in sorted(rows, key=lambda r: r[1:])]


def tick_statuses(session: Session, *, tick_ids: list[int]) -> dict[int, str]:
    rows = session.exec(select(Tick.id, Tick.status).where(col(Tick.id).in_(tick_ids)))
    return dict(rows.all())


def finish_ticks(session: Session, *, outcomes: dict[int, str], worker_id: str) -> int:
    """Record the outcomes (failed / error -> failed, else done) in one executemany, each only
    while `worker_id` still holds the claim (a reclaimed tick belongs to its new worker);
    returns how many were still ours."""
    if not outcomes:
        return 0
    now = utcnow()
    rows = []
    for tick_id, outcome in outcomes.items():
        failed = TickOutcome.of(outcome).failed
        rows.append(
            {
                "t_id": tick_id,
                "t_status": "failed" if failed else "done",
                "t_error": outcome[:500] if failed else "",
                "t_finished": now,
            }
        )
    stmt = (
        update(Tick)
        .where(Tick.id == bindparam("t_id"), Tick.claimed_by == worker_id[:80])
        .values(
            status=bindparam("t_status"),
            error=bindparam("t_error"),
            finished_at=bindparam("t_finished"),
        )
        .execution_options(synchronize_session=False)
    )
    return session.connection().execute(stmt, rows).rowcount
