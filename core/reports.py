"""Read models for the dashboard: aggregated, indexed queries (no per-row queries, no whole
tables loaded into pandas). Every function is scoped to one owner."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from core.models import (
    Bot,
    Candle,
    ExchangeAccount,
    PaperBalance,
    Trade,
    User,
    WorkerHeartbeat,
    utcnow,
)

MS = 1000
QUOTE = "USDT"  # paper accounts are funded and valued in USDT
CURVE_POINTS = 500
MAX_EXPORT = 200_000  # rows in one CSV export


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * MS)


def _owned_bot_ids(owner: User):
    return select(Bot.id).where(Bot.owner_id == owner.id)


def pnl_summary(session: Session, *, owner: User, now: datetime | None = None) -> dict:
    """Realised PnL today / 7 days / all time, fees, closed trades and win rate."""
    now = now or utcnow()
    day = _ms(now.replace(hour=0, minute=0, second=0, microsecond=0))
    week = _ms(now - timedelta(days=7))
    closed = (Trade.status == "closed") & col(Trade.bot_id).in_(_owned_bot_ids(owner))
    row = session.exec(
        select(
            func.coalesce(func.sum(case((col(Trade.exit_ts) >= day, Trade.pnl), else_=0.0)), 0.0),
            func.coalesce(func.sum(case((col(Trade.exit_ts) >= week, Trade.pnl), else_=0.0)), 0.0),
            func.coalesce(func.sum(Trade.pnl), 0.0),
            func.coalesce(func.sum(Trade.entry_fee + Trade.exit_fee), 0.0),
            func.count(),
            func.coalesce(func.sum(case((col(Trade.pnl) > 0, 1), else_=0)), 0),
        ).where(closed)
    ).one()
    today, seven, total, fees, count, wins = row
    return {
        "pnl_today": float(today),
        "pnl_7d": float(seven),
        "pnl_all": float(total),
        "fees": float(fees),
        "closed_trades": int(count),
        "win_rate_pct": (100.0 * wins / count) if count else None,
    }


def last_prices(session: Session, *, markets: set[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Last cached close per (exchange, symbol), any timeframe's newest candle."""
    prices: dict[tuple[str, str], float] = {}
    for exchange, symbol in markets:
        row = session.exec(
            select(Candle.close)
            .where(Candle.exchange == exchange, Candle.symbol == symbol, Candle.timeframe == "1m")
            .order_by(col(Candle.ts).desc())
            .limit(1)
        ).first()
        if row is None:
            row = session.exec(
                select(Candle.close)
                .where(Candle.exchange == exchange, Candle.symbol == symbol)
                .order_by(col(Candle.ts).desc())
                .limit(1)
            ).first()
        if row is not None:
            prices[(exchange, symbol)] = float(row)
    return prices


def open_positions(session: Session, *, owner: User, bot_id: int | None = None) -> list[dict]:
    """Open lots with unrealised PnL at the last cached price (entry fee included)."""
    query = (
        select(Trade, Bot.name, ExchangeAccount.exchange_id)
        .join(Bot, Bot.id == Trade.bot_id)
        .join(ExchangeAccount, ExchangeAccount.id == Bot.account_id)
        .where(Bot.owner_id == owner.id, Trade.status == "open")
        .order_by(col(Trade.entry_ts))
    )
    if bot_id is not None:
        query = query.where(Trade.bot_id == bot_id)
    rows = session.exec(query).all()
    prices = last_prices(session, markets={(ex, t.symbol) for t, _n, ex in rows})
    result = []
    for trade, bot_name, exchange in rows:
        price = prices.get((exchange, trade.symbol))
        unrealised = None
        if price is not None:
            unrealised = (price - trade.entry_price) * trade.amount - trade.entry_fee
        result.append(
            {
                "bot_id": trade.bot_id,
                "bot": bot_name,
                "symbol": trade.symbol,
                "amount": trade.amount,
                "entry_price": trade.entry_price,
                "entry_ts": trade.entry_ts,
                "last_price": price,
                "unrealised_pnl": unrealised,
            }
        )
    return result


def paper_equity(session: Session, *, owner: User) -> dict:
    """Value of the owner's paper balances (free + used) in quote at the last cached prices.

    Live balances live on the exchange (one request per account), so they are not summed here.
    Assets without a cached `ASSET/QUOTE` price are listed in `unpriced`."""
    rows = session.exec(
        select(
            ExchangeAccount.exchange_id, PaperBalance.asset, PaperBalance.free + PaperBalance.used
        )
        .join(ExchangeAccount, ExchangeAccount.id == PaperBalance.account_id)
        .where(ExchangeAccount.owner_id == owner.id, ExchangeAccount.kind == "paper")
    ).all()
    held = [(ex, asset, float(amount)) for ex, asset, amount in rows if amount]
    markets = {(ex, f"{asset}/{QUOTE}") for ex, asset, _ in held if asset != QUOTE}
    prices = last_prices(session, markets=markets)
    total, unpriced = 0.0, []
    for ex, asset, amount in held:
        price = 1.0 if asset == QUOTE else prices.get((ex, f"{asset}/{QUOTE}"))
        if price is None:
            unpriced.append(asset)
        else:
            total += amount * price
    return {"total": total, "accounts": len({ex for ex, *_ in rows}), "unpriced": unpriced}


def bot_cards(session: Session, *, owner: User) -> list[dict]:
    """One row per (non-archived) bot with realised PnL and open lots, in one query."""
    realised = func.coalesce(func.sum(case((Trade.status == "closed", Trade.pnl), else_=0.0)), 0.0)
    open_lots = func.coalesce(func.sum(case((Trade.status == "open", 1), else_=0)), 0)
    rows = session.exec(
        select(Bot, realised, open_lots, func.count(col(Trade.id)))
        .join(Trade, Trade.bot_id == Bot.id, isouter=True)
        .where(Bot.owner_id == owner.id, Bot.status != "archived")
        .group_by(col(Bot.id))
        .order_by(col(Bot.id))
    ).all()
    return [
        {"bot": bot, "realised_pnl": float(pnl), "open_lots": int(lots), "trades": int(n)}
        for bot, pnl, lots, n in rows
    ]


def curve_bucket_ms(span_ms: int, *, max_points: int = CURVE_POINTS) -> int:
    """The smallest of hour / 4 hours / day / week giving at most `max_points` buckets."""
    for bucket in (3_600_000, 4 * 3_600_000, 86_400_000, 7 * 86_400_000):
        if span_ms // bucket < max_points:
            return bucket
    return 7 * 86_400_000


def pnl_curve(
    session: Session, *, owner: User, bot_id: int | None = None, bucket_ms: int | None = None
) -> list[tuple[int, float]]:
    """Cumulative realised PnL per time bucket, aggregated in SQL; the bucket (hourly up to
    weekly) keeps the curve to a few hundred points however long the history."""
    where = [Trade.status == "closed", col(Trade.bot_id).in_(_owned_bot_ids(owner))]
    if bot_id is not None:
        where.append(Trade.bot_id == bot_id)
    if bucket_ms is None:
        first, last = session.exec(
            select(func.min(Trade.exit_ts), func.max(Trade.exit_ts)).where(*where)
        ).one()
        bucket_ms = curve_bucket_ms((last or 0) - (first or 0))
    bucket = (col(Trade.exit_ts) // bucket_ms) * bucket_ms
    query = select(bucket.label("b"), func.sum(Trade.pnl)).where(*where).group_by("b").order_by("b")
    total, curve = 0.0, []
    for ts, pnl in session.exec(query).all():
        total += float(pnl or 0.0)
        curve.append((int(ts), total))
    return curve


@dataclass
class TradeFilter:
    bot_id: int | None = None
    symbol: str | None = None
    outcome: str | None = None  # win | loss | open
    since_ms: int | None = None
    until_ms: int | None = None


def _trade_where(owner: User, flt: TradeFilter) -> list:
    where = [Bot.owner_id == owner.id]
    if flt.bot_id is not None:
        where.append(Trade.bot_id == flt.bot_id)
    if flt.symbol:
        where.append(Trade.symbol == flt.symbol)
    if flt.outcome == "win":
        where += [Trade.status == "closed", col(Trade.pnl) > 0]
    elif flt.outcome == "loss":
        where += [Trade.status == "closed", col(Trade.pnl) <= 0]
    elif flt.outcome == "open":
        where.append(Trade.status == "open")
    if flt.since_ms is not None:
        where.append(col(Trade.entry_ts) >= flt.since_ms)
    if flt.until_ms is not None:
        where.append(col(Trade.entry_ts) < flt.until_ms)
    return where


def _trade_row(t: Trade, bot_name: str) -> dict:
    return {
        "id": t.id,
        "bot": bot_name,
        "symbol": t.symbol,
        "status": t.status,
        "amount": t.amount,
        "entry_ts": t.entry_ts,
        "entry_price": t.entry_price,
        "exit_ts": t.exit_ts,
        "exit_price": t.exit_price,
        "exit_reason": t.exit_reason,
        "fees": t.entry_fee + t.exit_fee,
        "pnl": t.pnl,
    }


def trades(
    session: Session, *, owner: User, flt: TradeFilter, limit: int = 500, offset: int = 0
) -> tuple[list[dict], dict]:
    """One page of filtered trades (newest first) and the totals over the whole filter."""
    where = _trade_where(owner, flt)
    rows = session.exec(
        select(Trade, Bot.name)
        .join(Bot, Bot.id == Trade.bot_id)
        .where(*where)
        .order_by(col(Trade.entry_ts).desc(), col(Trade.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    count, pnl, fees, wins, still_open = session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(Trade.pnl), 0.0),
            func.coalesce(func.sum(Trade.entry_fee + Trade.exit_fee), 0.0),
            func.coalesce(func.sum(case((col(Trade.pnl) > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Trade.status == "open", 1), else_=0)), 0),
        )
        .join(Bot, Bot.id == Trade.bot_id)
        .where(*where)
    ).one()
    items = [_trade_row(t, name) for t, name in rows]
    totals = {
        "trades": int(count),
        "pnl": float(pnl),
        "fees": float(fees),
        "wins": int(wins),
        "closed": int(count) - int(still_open),
    }
    return items, totals


CSV_FIELDS = [
    "id",
    "bot",
    "symbol",
    "status",
    "amount",
    "entry_ts",
    "entry_price",
    "exit_ts",
    "exit_price",
    "exit_reason",
    "fees",
    "pnl",
]


def trades_csv(items: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(items)
    return buffer.getvalue()


def export_trades_csv(
    session: Session, *, owner: User, flt: TradeFilter, limit: int = MAX_EXPORT
) -> str:
    """Every trade matching the filter (newest first, at most `limit`) as CSV, streamed from
    one query in chunks rather than loaded at once."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    query = (
        select(Trade, Bot.name)
        .join(Bot, Bot.id == Trade.bot_id)
        .where(*_trade_where(owner, flt))
        .order_by(col(Trade.entry_ts).desc(), col(Trade.id).desc())
        .limit(limit)
        .execution_options(yield_per=2_000)
    )
    for trade, name in session.exec(query):
        writer.writerow(_trade_row(trade, name))
    return buffer.getvalue()


def worker_status(session: Session, *, now: datetime | None = None) -> dict:
    """Newest heartbeat and whether any worker beat within the last minute."""
    now = now or utcnow()
    beats = list(
        session.exec(select(WorkerHeartbeat).order_by(col(WorkerHeartbeat.last_beat).desc()))
    )
    alive = [b for b in beats if now - b.last_beat <= timedelta(minutes=1)]
    return {
        "workers": beats,
        "alive": len(alive),
        "last_beat": beats[0].last_beat if beats else None,
        "healthy": bool(alive),
    }


def bot_choices(session: Session, *, owner: User) -> list[tuple[int, str, str]]:
    """(id, name, symbol) of every bot the user has had, archived ones included (filters)."""
    rows = session.exec(
        select(Bot.id, Bot.name, Bot.symbol).where(Bot.owner_id == owner.id).order_by(col(Bot.id))
    ).all()
    return [(int(i), n, s) for i, n, s in rows]


def admin_bots(session: Session) -> list[dict]:
    """Every bot on the platform with its owner, status, realised PnL and last error."""
    realised = func.coalesce(func.sum(case((Trade.status == "closed", Trade.pnl), else_=0.0)), 0.0)
    rows = session.exec(
        select(Bot, User.username, realised)
        .join(User, User.id == Bot.owner_id)
        .join(Trade, Trade.bot_id == Bot.id, isouter=True)
        .where(Bot.status != "archived")
        .group_by(col(Bot.id), col(User.username))
        .order_by(col(Bot.id))
    ).all()
    return [
        {
            "id": bot.id,
            "owner": owner,
            "name": bot.name,
            "market": f"{bot.symbol} {bot.timeframe}",
            "strategy": bot.strategy,
            "status": bot.status,
            "reason": bot.status_reason,
            "realised_pnl": float(pnl),
            "last_tick": bot.last_tick_at,
        }
        for bot, owner, pnl in rows
    ]
