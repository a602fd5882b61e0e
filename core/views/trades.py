"""Round trips for the Trades page: filtered and totalled in SQL, paged, exported as CSV.
Scoped to one owner."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from core.models import Bot, Trade, User

MAX_EXPORT = 200_000  # rows in one CSV export


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


def trade_page(
    session: Session, *, owner: User, flt: TradeFilter, limit: int = 100, offset: int = 0
) -> list[dict]:
    """One page of filtered trades, newest first."""
    rows = session.exec(
        select(Trade, Bot.name)
        .join(Bot, Bot.id == Trade.bot_id)
        .where(*_trade_where(owner, flt))
        .order_by(col(Trade.entry_ts).desc(), col(Trade.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [_trade_row(t, name) for t, name in rows]


def trade_totals(session: Session, *, owner: User, flt: TradeFilter) -> dict:
    """Count, PnL, fees, wins and closed trades over the whole filter, in one query."""
    count, pnl, fees, wins, still_open = session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(Trade.pnl), 0.0),
            func.coalesce(func.sum(Trade.entry_fee + Trade.exit_fee), 0.0),
            func.coalesce(func.sum(case((col(Trade.pnl) > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Trade.status == "open", 1), else_=0)), 0),
        )
        .join(Bot, Bot.id == Trade.bot_id)
        .where(*_trade_where(owner, flt))
    ).one()
    return {
        "trades": int(count),
        "pnl": float(pnl),
        "fees": float(fees),
        "wins": int(wins),
        "closed": int(count) - int(still_open),
    }


def trade_list(
    session: Session, *, owner: User, flt: TradeFilter, limit: int = 500, offset: int = 0
) -> tuple[list[dict], dict]:
    """One page of filtered trades (newest first) and the totals over the whole filter."""
    items = trade_page(session, owner=owner, flt=flt, limit=limit, offset=offset)
    return items, trade_totals(session, owner=owner, flt=flt)


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


def bot_choices(session: Session, *, owner: User) -> list[tuple[int, str, str]]:
    """(id, name, symbol) of every bot the user has had, archived ones included (filters)."""
    rows = session.exec(
        select(Bot.id, Bot.name, Bot.symbol).where(Bot.owner_id == owner.id).order_by(col(Bot.id))
    ).all()
    return [(int(i), n, s) for i, n, s in rows]
