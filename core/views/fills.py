"""Fills for the Trades page: the executed orders behind the trades (each with its side),
filtered and totalled in SQL, paged, and exported as CSV (ISO-8601 UTC times, numbers at the
market's steps, column names in words). Scoped to one owner."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from core.models import Bot, BotOrder, ExchangeAccount, User
from core.views.markets import market_decimals, with_decimals
from core.views.trades import owner_markets, stepped, write_csv

CSV_COLUMNS = {
    "Order id": ("id", "int"),
    "Bot": ("bot", "text"),
    "Exchange": ("exchange", "text"),
    "Market": ("symbol", "text"),
    "Side": ("side", "text"),
    "Purpose": ("purpose", "words"),
    "Candle time (UTC)": ("candle_ts", "time"),
    "Amount": ("amount", "amount"),
    "Price": ("price", "price"),
    "Cost": ("cost", "money"),
    "Fee": ("fee", "money"),
}
MAX_EXPORT = 200_000


@dataclass
class FillFilter:
    bot_id: int | None = None
    symbol: str | None = None
    side: str | None = None  # buy | sell
    since_ms: int | None = None
    until_ms: int | None = None


def _where(owner: User, flt: FillFilter) -> list:
    where = [Bot.owner_id == owner.id, col(BotOrder.filled) > 0]
    if flt.bot_id is not None:
        where.append(BotOrder.bot_id == flt.bot_id)
    if flt.symbol:
        where.append(BotOrder.symbol == flt.symbol)
    if flt.side:
        where.append(BotOrder.side == flt.side)
    if flt.since_ms is not None:
        where.append(col(BotOrder.candle_ts) >= flt.since_ms)
    if flt.until_ms is not None:
        where.append(col(BotOrder.candle_ts) < flt.until_ms)
    return where


def _query(owner: User, flt: FillFilter):
    return (
        select(BotOrder, Bot.name, ExchangeAccount.exchange_id)
        .join(Bot, Bot.id == BotOrder.bot_id)
        .join(ExchangeAccount, ExchangeAccount.id == Bot.account_id)
        .where(*_where(owner, flt))
        .order_by(col(BotOrder.candle_ts).desc(), col(BotOrder.id).desc())
    )


def _row(order: BotOrder, bot_name: str, exchange: str) -> dict:
    return {
        "id": order.id,
        "bot": bot_name,
        "exchange": exchange,
        "symbol": order.symbol,
        "side": order.side,
        "purpose": order.purpose,
        "candle_ts": order.candle_ts,
        "amount": order.filled,
        "price": order.average,
        "cost": order.cost,
        "fee": order.fee,
    }


def fill_page(
    session: Session, *, owner: User, flt: FillFilter, limit: int = 100, offset: int = 0
) -> list[dict]:
    """One page of filled orders, newest first, with their market's display decimals."""
    rows = session.exec(_query(owner, flt).limit(limit).offset(offset)).all()
    return with_decimals(session, [_row(*row) for row in rows])


def fill_totals(session: Session, *, owner: User, flt: FillFilter) -> dict:
    """Count, quote bought and sold, and fees over the whole filter, in one query."""
    buy = BotOrder.side == "buy"
    count, bought, sold, fees = session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(case((buy, BotOrder.cost), else_=0.0)), 0.0),
            func.coalesce(func.sum(case((buy, 0.0), else_=BotOrder.cost)), 0.0),
            func.coalesce(func.sum(BotOrder.fee), 0.0),
        )
        .join(Bot, Bot.id == BotOrder.bot_id)
        .where(*_where(owner, flt))
    ).one()
    return {"fills": int(count), "bought": float(bought), "sold": float(sold), "fees": float(fees)}


def export_csv(session: Session, *, owner: User, flt: FillFilter, limit: int = MAX_EXPORT) -> str:
    """Every fill matching the filter (newest first, at most `limit`), streamed in chunks."""
    known = market_decimals(session, owner_markets(session, owner=owner))
    query = _query(owner, flt).limit(limit).execution_options(yield_per=2_000)
    rows = (_row(*row) for row in session.exec(query))
    return write_csv(stepped(session, rows, known), CSV_COLUMNS)
