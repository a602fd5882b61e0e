"""Round trips for the Trades page: filtered and totalled in SQL, paged, exported as CSV
(ISO-8601 UTC times, numbers at the market's steps, column names in words). Scoped to one
owner."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from core.models import Bot, ExchangeAccount, Trade, User
from core.platform.present import csv_number, iso_utc, words
from core.views.markets import market_decimals, with_decimals

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


def _trade_row(t: Trade, bot_name: str, exchange: str) -> dict:
    return {
        "id": t.id,
        "bot": bot_name,
        "exchange": exchange,
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
    """One page of filtered trades, newest first, each with its market's display decimals
    (`price_dp`, `amount_dp`)."""
    rows = session.exec(
        _trades_query(owner, flt)
        .order_by(col(Trade.entry_ts).desc(), col(Trade.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return with_decimals(session, [_trade_row(*row) for row in rows])


def _trades_query(owner: User, flt: TradeFilter):
    return (
        select(Trade, Bot.name, ExchangeAccount.exchange_id)
        .join(Bot, Bot.id == Trade.bot_id)
        .join(ExchangeAccount, ExchangeAccount.id == Bot.account_id)
        .where(*_trade_where(owner, flt))
    )


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


# CSV column -> (row key, kind): times ISO-8601 UTC, prices and amounts at the market's steps,
# money to 10 significant digits.
CSV_COLUMNS = {
    "Trade id": ("id", "int"),
    "Bot": ("bot", "text"),
    "Exchange": ("exchange", "text"),
    "Market": ("symbol", "text"),
    "Status": ("status", "text"),
    "Amount": ("amount", "amount"),
    "Entry time (UTC)": ("entry_ts", "time"),
    "Entry price": ("entry_price", "price"),
    "Exit time (UTC)": ("exit_ts", "time"),
    "Exit price": ("exit_price", "price"),
    "Exit reason": ("exit_reason", "words"),
    "Fees": ("fees", "money"),
    "PnL": ("pnl", "money"),
}


def csv_cell(row: dict, key: str, kind: str) -> object:
    """One CSV value of `row`, for CSV_COLUMNS-style (key, kind) pairs."""
    value = row.get(key)
    if kind == "time":
        return iso_utc(value)
    if kind == "price":
        return csv_number(value, row.get("price_dp"))
    if kind == "amount":
        return csv_number(value, row.get("amount_dp"))
    if kind == "money":
        return csv_number(value)
    if kind == "words":
        return "" if value is None else words(value)
    return "" if value is None else value


def write_csv(rows, columns: dict[str, tuple[str, str]]) -> str:
    """`rows` (dicts) as CSV with `columns`: header in words, cells by `csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    spec = list(columns.values())
    writer.writerows([csv_cell(row, key, kind) for key, kind in spec] for row in rows)
    return buffer.getvalue()


def trades_csv(items: list[dict]) -> str:
    return write_csv(items, CSV_COLUMNS)


def owner_markets(session: Session, *, owner: User) -> set[tuple[str, str]]:
    """(exchange, symbol) of every bot the owner has had."""
    rows = session.exec(
        select(ExchangeAccount.exchange_id, Bot.symbol)
        .join(ExchangeAccount, ExchangeAccount.id == Bot.account_id)
        .where(Bot.owner_id == owner.id)
        .distinct()
    ).all()
    return {(str(ex), str(sym)) for ex, sym in rows}


def stepped(session: Session, rows, known: dict):
    """Rows with their market's decimals (`known`: market -> Decimals, looked up before the
    export streams; a market missing there is looked up once)."""
    for row in rows:
        market = (row["exchange"], row["symbol"])
        if market not in known:
            known.update(market_decimals(session, [market]))
        row["price_dp"], row["amount_dp"] = known[market]
        yield row


def export_trades_csv(
    session: Session, *, owner: User, flt: TradeFilter, limit: int = MAX_EXPORT
) -> str:
    """Every trade matching the filter (newest first, at most `limit`) as CSV, streamed from
    one query in chunks rather than loaded at once."""
    query = (
        _trades_query(owner, flt)
        .order_by(col(Trade.entry_ts).desc(), col(Trade.id).desc())
        .limit(limit)
        .execution_options(yield_per=2_000)
    )
    known = market_decimals(session, owner_markets(session, owner=owner))
    rows = (_trade_row(*row) for row in session.exec(query))
    return write_csv(stepped(session, rows, known), CSV_COLUMNS)


def bot_choices(session: Session, *, owner: User) -> list[tuple[int, str, str]]:
    """(id, name, symbol) of every bot the user has had, archived ones included (filters)."""
    rows = session.exec(
        select(Bot.id, Bot.name, Bot.symbol).where(Bot.owner_id == owner.id).order_by(col(Bot.id))
    ).all()
    return [(int(i), n, s) for i, n, s in rows]
