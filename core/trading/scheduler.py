"""Tick scheduling and claiming, in the database (no queue library here).

`schedule_due_ticks` inserts one Tick row per (running bot, newest closed candle). The row is
unique on (bot_id, candle_ts) and inserted with ON CONFLICT DO NOTHING, so two schedulers, a
retry or a restart never create two; only the rows this call created are returned for
enqueueing.

`claim_ticks` makes execution exclusive: one worker per tick, one running tick per bot, a bot's
older candle first. A claim is a lease: a fencing token (`Tick.lease`, +1 per claim) and an
expiry in the DATABASE's clock (`lease_until_ms`), extended by the holder's heartbeat
(`extend_leases`) for as long as it runs, however long a slow exchange keeps it. Host clocks
play no part, so a skewed worker neither steals a tick nor loses its own. Only an expired lease
can be claimed again (its worker died or hung), until the tick has been tried `MAX_ATTEMPTS`
times. Whoever writes for a tick (plans orders, sends one, records a result) checks with
`held` that the lease is still its own, in the same transaction: a worker that lost its lease
can neither send nor record.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, bindparam, exists, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.exchanges import last_closed_open
from core.models import Bot, BotStatus, ExchangeAccount, Tick, TickOutcome, utcnow
from core.platform.db import now_ms as db_now_ms

LEASE_MS = 30_000  # the heartbeat extends it every 5 s; six missed beats and it is gone
LOST_AFTER_S = 90.0  # a queued tick whose task vanished is enqueued again after this
MAX_ATTEMPTS = 3
Claim = tuple[int, int, int, int]  # (tick id, bot id, candle ts, lease token)


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


def _expired(session: Session):
    return and_(Tick.status == "running", col(Tick.lease_until_ms) < db_now_ms(session))


def release_dead_claims(session: Session) -> int:
    """Ticks whose lease expired go back to the queue (until they have had MAX_ATTEMPTS: see
    give_up_abandoned); returns how many."""
    result = session.execute(
        update(Tick)
        .where(_expired(session), Tick.attempts < MAX_ATTEMPTS)
        .values(status="queued", created_at=utcnow() - timedelta(seconds=LOST_AFTER_S + 1))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def lost_ticks(session: Session) -> list[tuple[int, int, int]]:
    """Queued too long (its task was lost) or running under an expired lease (its worker died)."""
    queued_before = utcnow() - timedelta(seconds=LOST_AFTER_S)
    rows = session.exec(
        select(Tick.id, Tick.bot_id, Tick.candle_ts).where(
            or_(
                and_(Tick.status == "queued", col(Tick.created_at) < queued_before),
                and_(_expired(session), Tick.attempts < MAX_ATTEMPTS),
            )
        )
    ).all()
    return [tuple(r) for r in rows]


def give_up_abandoned(session: Session) -> int:
    """Fail the abandoned ticks that have used all their attempts (a tick that kills its
    worker every time must not take down the next one); returns how many."""
    result = session.execute(
        update(Tick)
        .where(_expired(session), Tick.attempts >= MAX_ATTEMPTS)
        .values(
            status="failed",
            finished_at=utcnow(),
            error=f"abandoned: its worker stopped during {MAX_ATTEMPTS} attempts",
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _busy(session: Session):
    """Another tick of the same bot holds a live lease, or an older candle is queued."""
    other = aliased(Tick)
    return exists().where(
        other.bot_id == Tick.bot_id,
        other.id != Tick.id,
        or_(
            and_(other.status == "running", col(other.lease_until_ms) >= db_now_ms(session)),
            and_(other.status == "queued", other.candle_ts < Tick.candle_ts),
        ),
    )


def _claimable(session: Session):
    return or_(
        Tick.status == "queued",
        and_(_expired(session), Tick.attempts < MAX_ATTEMPTS),
    )


def claim_ticks(
    session: Session, *, tick_ids: list[int], worker_id: str, lease_ms: int = LEASE_MS
) -> list[Claim]:
    """Claim the ticks for `worker_id` in one statement: (tick id, bot id, candle ts, lease
    token) of those claimed, by candle then bot. A tick is left out when another worker holds
    it or its bot must wait (another tick of the bot holds a lease, or an older candle of the
    bot is still queued); a bot with two ticks in the list gets its older one."""
    if not tick_ids:
        return []
    bot_ids = select(Tick.bot_id).where(col(Tick.id).in_(tick_ids))
    # PostgreSQL: lock the bots in id order (no deadlock between two batch claims).
    session.exec(
        select(Bot.id).where(col(Bot.id).in_(bot_ids)).order_by(Bot.id).with_for_update()
    ).all()
    result = session.execute(
        update(Tick)
        .where(col(Tick.id).in_(tick_ids), ~_busy(session), _claimable(session))
        .values(
            status="running",
            claimed_by=worker_id[:80],
            claimed_at=utcnow(),
            attempts=Tick.attempts + 1,
            lease=Tick.lease + 1,
            lease_until_ms=db_now_ms(session) + lease_ms,
        )
        .returning(Tick.id, Tick.bot_id, Tick.candle_ts, Tick.lease)
        .execution_options(synchronize_session=False)
    )
    return sorted((tuple(r) for r in result.all()), key=lambda r: (r[2], r[1]))


def extend_leases(session: Session, *, worker_id: str, lease_ms: int = LEASE_MS) -> int:
    """The heartbeat: every running tick this worker holds stays its own for `lease_ms` more
    (an expired lease is not revived: someone may hold it again already)."""
    mine = and_(
        Tick.status == "running",
        Tick.claimed_by == worker_id[:80],
        col(Tick.lease_until_ms) >= db_now_ms(session),
    )
    # Lock in id order, as `held` does, so a beat and a batch never deadlock (PostgreSQL).
    ids = session.exec(select(Tick.id).where(mine).order_by(Tick.id).with_for_update()).all()
    if not ids:
        return 0
    result = session.execute(
        update(Tick)
        .where(col(Tick.id).in_(ids), mine)
        .values(lease_until_ms=db_now_ms(session) + lease_ms)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def held(session: Session, leases: dict[int, int]) -> set[int]:
    """Of `leases` (tick id -> token), the ticks still held under that token and unexpired,
    locked until the caller's commit (PostgreSQL; SQLite's write transaction serialises)."""
    if not leases:
        return set()
    rows = session.exec(
        select(Tick.id, Tick.lease)
        .where(
            col(Tick.id).in_(list(leases)),
            Tick.status == "running",
            col(Tick.lease_until_ms) >= db_now_ms(session),
        )
        .order_by(Tick.id)
        .with_for_update()
    ).all()
    return {tick_id for tick_id, token in rows if leases.get(tick_id) == token}


def tick_lease(session: Session, *, bot_id: int, candle_ts: int) -> int | None:
    """The token of the live lease on the bot's tick for that candle, or None (no tick, not
    running, or its lease expired). The row stays locked until the caller commits."""
    row = session.exec(
        select(Tick.lease, col(Tick.lease_until_ms) >= db_now_ms(session))
        .where(Tick.bot_id == bot_id, Tick.candle_ts == candle_ts, Tick.status == "running")
        .with_for_update()
    ).first()
    return row[0] if row is not None and row[1] else None


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


def finish_ticks(
    session: Session,
    *,
    outcomes: dict[int, str],
    worker_id: str,
    leases: dict[int, int] | None = None,
) -> int:
    """Record the outcomes (failed / error -> failed, else done) in one executemany, each only
    while `worker_id` still holds the claim under its token (a reclaimed tick belongs to its
    new worker); returns how many were still ours."""
    if not outcomes:
        return 0
    now = utcnow()
    rows = []
    for tick_id, outcome in outcomes.items():
        failed = TickOutcome.of(outcome).failed
        rows.append(
            {
                "t_id": tick_id,
                "t_lease": (leases or {}).get(tick_id, -1),
                "t_status": "failed" if failed else "done",
                "t_error": outcome[:500] if failed else "",
                "t_finished": now,
            }
        )
    mine = Tick.claimed_by == worker_id[:80]
    if leases is not None:
        mine = and_(mine, Tick.lease == bindparam("t_lease"))
    stmt = (
        update(Tick)
        .where(Tick.id == bindparam("t_id"), mine)
        .values(
            status=bindparam("t_status"),
            error=bindparam("t_error"),
            finished_at=bindparam("t_finished"),
        )
        .execution_options(synchronize_session=False)
    )
    return session.connection().execute(stmt, rows).rowcount
