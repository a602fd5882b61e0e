"""PnL over time with the open positions in it: realised PnL plus the open lots valued at the
cached close of each moment (realised + unrealised), as the PnL tiles count them now.

Kept cheap: the first trade's time, realised PnL by step from the covering index, two GROUP
BY queries over the lots held across a step's end (opened and closed, by market and step, as
amount and cost sums; the step is an hour, 4 hours, a day or a week, so there are at most
CURVE_POINTS) and one look-up per market of the cached closes at the curve's points. The
last point is "now" at the last cached price, so the curve ends where the tiles are."""

from __future__ import annotations

import bisect
from datetime import datetime
from itertools import accumulate

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.exchanges import TIMEFRAMES
from core.models import Bot, Candle, ExchangeAccount, Trade, User, utcnow
from core.views.dashboard import CURVE_POINTS, HOUR_MS, last_prices

STEPS = (HOUR_MS, 4 * HOUR_MS, 24 * HOUR_MS, 7 * 24 * HOUR_MS)
REALISED, TOTAL = "Realised", "Realised + open positions"


def _cumulative(rows) -> tuple[list[int], list[float]]:
    rows = sorted(rows)
    return [b for b, _ in rows], list(accumulate(v for _, v in rows))


def _upto(buckets: list[int], sums: list[float], limit: int | None) -> float:
    """The running sum over buckets starting at or before `limit` (None: all of them)."""
    i = len(buckets) if limit is None else bisect.bisect_right(buckets, limit)
    return sums[i - 1] if i else 0.0


def _closes(
    session: Session, exchange: str, symbol: str, timeframe: str, points: list[int]
) -> list[float | None]:
    """The close of the candle that closed at or before each point (carried forward over gaps
    in the cache); None before the first cached one."""
    tf = TIMEFRAMES.get(timeframe, 60_000)
    opens = [p // tf * tf - tf for p in points]
    found = dict(
        session.exec(
            select(Candle.ts, Candle.close).where(
                Candle.exchange == exchange,
                Candle.symbol == symbol,
                Candle.timeframe == timeframe,
                col(Candle.ts).in_(sorted(set(opens))),
            )
        ).all()
    )
    last, result = None, []
    for ts in opens:
        last = found.get(ts, last)
        result.append(None if last is None else float(last))
    return result


def pnl_curves(
    session: Session, *, owner: User, bot_id: int | None = None, now: datetime | None = None
) -> dict[str, list[tuple[int, float]]]:
    """{"Realised": [(ms, pnl)], "Realised + open positions": [(ms, pnl)]} from the start of
    the first trade's hour (0) to now; {} without trades. One bot's, or all the owner's."""
    where = [Bot.owner_id == owner.id]
    if bot_id is not None:
        where.append(Trade.bot_id == bot_id)
    first = session.exec(
        select(func.min(Trade.entry_ts)).join(Bot, Bot.id == Trade.bot_id).where(*where)
    ).one()
    if first is None:
        return {}
    now_ms = int((now or utcnow()).timestamp() * 1000)
    step = _step(int(first), now_ms)  # the curve's spacing: an hour, 4 hours, a day, a week
    start = int(first) // step * step
    points = [*range(start, now_ms, step), now_ms] if now_ms > start else [start]
    market = (ExchangeAccount.exchange_id, Trade.symbol)
    closed = Trade.status == "closed"
    # Only lots held across a step's end are ever open at a point: a lot bought and sold
    # within one step adds and removes the same amount and cost before any point counts it.
    held_over = col(Trade.exit_ts).is_(None) | (
        col(Trade.exit_ts) // step != col(Trade.entry_ts) // step
    )

    def flows(ts, *extra):
        """Per market and step: lots opened (or closed) as amount and cost sums."""
        return session.exec(
            select(
                *market,
                ((col(ts) // step) * step).label("b"),
                func.sum(Trade.amount),
                func.sum(Trade.amount * Trade.entry_price + Trade.entry_fee),
            )
            .join(Bot, Bot.id == Trade.bot_id)
            .join(ExchangeAccount, ExchangeAccount.id == Bot.account_id)
            .where(*where, held_over, *extra)
            .group_by(*market, "b")
        ).all()

    opened, shut = flows(Trade.entry_ts), flows(Trade.exit_ts, closed)
    # A point counts the steps that ended by then; the last one ("now") counts them all.
    limits = [t - step for t in points[:-1]] + [None]
    owned = select(Bot.id).where(*where[:1])
    bucket = ((col(Trade.exit_ts) // step) * step).label("b")
    realised = session.exec(  # from the covering index (ix_trade_pnl_cover)
        select(bucket, func.sum(Trade.pnl))
        .where(closed, col(Trade.bot_id).in_(owned), *where[1:])
        .group_by("b")
    ).all()
    r_buckets, r_sums = _cumulative((int(b), float(v or 0.0)) for b, v in realised)
    real = [_upto(r_buckets, r_sums, limit) for limit in limits]
    markets = {(str(ex), str(sym)) for ex, sym, *_ in opened}
    timeframes = _bot_timeframes(session, owner=owner, bot_id=bot_id)
    now_prices = last_prices(session, markets=markets)
    unrealised = [0.0] * len(points)
    for m in markets:
        in_b, in_a, in_c = _flow_sums(r for r in opened if (r[0], r[1]) == m)
        out_b, out_a, out_c = _flow_sums(r for r in shut if (r[0], r[1]) == m)
        closes = [*_closes(session, *m, timeframes.get(m, "1m"), points[:-1]), now_prices.get(m)]
        for i, (limit, price) in enumerate(zip(limits, closes, strict=True)):
            amount = _upto(in_b, in_a, limit) - _upto(out_b, out_a, limit)
            if price is None or abs(amount) < 1e-12:
                continue  # flat, or no price yet: as open_positions, nothing unrealised
            cost = _upto(in_b, in_c, limit) - _upto(out_b, out_c, limit)
            unrealised[i] += amount * price - cost
    return {
        REALISED: list(zip(points, real, strict=True)),
        TOTAL: [(t, r + u) for t, r, u in zip(points, real, unrealised, strict=True)],
    }


def _step(start: int, end: int) -> int:
    step = next((s for s in STEPS if (end - start) // s < CURVE_POINTS), None)
    return step or -(-(end - start) // CURVE_POINTS) // HOUR_MS * HOUR_MS + HOUR_MS


def _flow_sums(rows) -> tuple[list[int], list[float], list[float]]:
    """Rows (exchange, symbol, bucket, amount, cost) -> the buckets in order with the running
    amount and cost."""
    rows = sorted((int(b), float(a), float(c)) for _ex, _sym, b, a, c in rows)
    return (
        [b for b, _a, _c in rows],
        list(accumulate(a for _b, a, _c in rows)),
        list(accumulate(c for _b, _a, c in rows)),
    )


def _bot_timeframes(
    session: Session, *, owner: User, bot_id: int | None
) -> dict[tuple[str, str], str]:
    """Per market, the shortest timeframe a bot trades it on (its candles are the cached ones)."""
    query = (
        select(ExchangeAccount.exchange_id, Bot.symbol, Bot.timeframe)
        .join(ExchangeAccount, ExchangeAccount.id == Bot.account_id)
        .where(Bot.owner_id == owner.id)
    )
    if bot_id is not None:
        query = query.where(Bot.id == bot_id)
    found: dict[tuple[str, str], str] = {}
    for ex, sym, tf in session.exec(query).all():
        key = (str(ex), str(sym))
        if key not in found or TIMEFRAMES.get(tf, 0) < TIMEFRAMES.get(found[key], 0):
            found[key] = tf
    return found
