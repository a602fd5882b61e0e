"""Read models for the dashboard: aggregated, indexed queries (no per-row queries, no whole
tables loaded into pandas). Every function is scoped to one owner."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from core.models import (
    AccountKind,
    AccountStatus,
    Bot,
    BotStatus,
    Candle,
    ExchangeAccount,
    PaperBalance,
    Trade,
    User,
    utcnow,
)
from core.views.bot_summary import describe_bots

MS = 1000
QUOTE = "USDT"  # paper accounts are funded and valued in USDT
CURVE_POINTS = 500
HOUR_MS = 3_600_000


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * MS)


def _owned_bot_ids(owner: User):
    return select(Bot.id).where(Bot.owner_id == owner.id)


def bot_stats(session: Session, *, owner: User, now: datetime | None = None) -> list[dict]:
    """Per bot (archived ones included): realised PnL today / 7 days / all time, fees, closed
    winning and losing trades (break-even ones are neither), open lots and trade count. One
    GROUP BY over the covering index."""
    now = now or utcnow()
    day = _ms(now.replace(hour=0, minute=0, second=0, microsecond=0))
    week = _ms(now - timedelta(days=7))
    closed = Trade.status == "closed"

    def total(condition, value):
        return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

    rows = session.exec(
        select(
            Bot,
            total(closed & (col(Trade.exit_ts) >= day), Trade.pnl),
            total(closed & (col(Trade.exit_ts) >= week), Trade.pnl),
            total(closed, Trade.pnl),
            total(closed, Trade.entry_fee + Trade.exit_fee),
            total(closed, 1),
            total(closed & (col(Trade.pnl) > 0), 1),
            total(closed & (col(Trade.pnl) < 0), 1),
            total(Trade.status == "open", 1),
            func.count(col(Trade.id)),
        )
        .join(Trade, Trade.bot_id == Bot.id, isouter=True)
        .where(Bot.owner_id == owner.id)
        .group_by(col(Bot.id))
        .order_by(col(Bot.id))
    ).all()
    keys = (
        "pnl_today",
        "pnl_7d",
        "realised_pnl",
        "fees",
        "closed",
        "wins",
        "losses",
        "open_lots",
        "trades",
    )
    return [
        {"bot": bot, **{k: (float(v) if k.startswith(("pnl", "real", "fees")) else int(v))
                        for k, v in zip(keys, values, strict=True)}}
        for bot, *values in rows
    ]  # fmt: skip


def summarise(stats: list[dict]) -> dict:
    """The owner's totals from `bot_stats` rows."""
    count = sum(r["closed"] for r in stats)
    wins = sum(r["wins"] for r in stats)
    decided = wins + sum(r["losses"] for r in stats)  # break-even trades are neither
    return {
        "pnl_today": sum(r["pnl_today"] for r in stats),
        "pnl_7d": sum(r["pnl_7d"] for r in stats),
        "pnl_all": sum(r["realised_pnl"] for r in stats),
        "fees": sum(r["fees"] for r in stats),
        "closed_trades": count,
        "win_rate_pct": (100.0 * wins / decided) if decided else None,
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
                "exchange": exchange,
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
        .where(ExchangeAccount.owner_id == owner.id, ExchangeAccount.kind == AccountKind.PAPER)
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


def bot_cards(session: Session, *, owner: User, stats: list[dict] | None = None) -> list[dict]:
    """One row per non-archived bot with its PnL figures, open lots and trade count, and its
    settings in words under "facts" (core.views.bot_summary.describe)."""
    stats = bot_stats(session, owner=owner) if stats is None else stats
    rows = [row for row in stats if row["bot"].status != BotStatus.ARCHIVED]
    facts = describe_bots(session, [row["bot"] for row in rows])
    return [{**row, "facts": facts[row["bot"].id]} for row in rows]


def first_steps(session: Session, *, owner: User) -> dict | None:
    """What a newcomer still lacks before Overview has anything to show (None once they have
    an exchange account and a bot): {"account": has one, "bot": has a non-archived one}."""
    accounts = session.exec(
        select(func.count())
        .select_from(ExchangeAccount)
        .where(
            ExchangeAccount.owner_id == owner.id, ExchangeAccount.status != AccountStatus.DELETED
        )
    ).one()
    bots = session.exec(
        select(func.count())
        .select_from(Bot)
        .where(Bot.owner_id == owner.id, Bot.status != BotStatus.ARCHIVED)
    ).one()
    if accounts and bots:
        return None
    return {"account": bool(accounts), "bot": bool(bots)}


def unmanaged_positions(session: Session, *, owner: User) -> list[dict]:
    """Open positions no running bot manages: per stopped, paused, errored or archived bot
    holding lots, its amount, average entry, unrealised PnL at the last cached price (entry
    fees included; None without a price) and whether it can be closed from here
    (`core.bots.close_position`; `why_not` says why not)."""
    lots = (
        select(
            Trade.bot_id.label("bot_id"),
            func.count(col(Trade.id)).label("lots"),
            func.sum(Trade.amount).label("amount"),
            func.sum(Trade.amount * Trade.entry_price).label("cost"),
            func.sum(Trade.entry_fee).label("fees"),
        )
        .where(Trade.status == "open")
        .group_by(col(Trade.bot_id))
        .subquery()
    )
    rows = session.exec(
        select(Bot, ExchangeAccount, lots.c.lots, lots.c.amount, lots.c.cost, lots.c.fees)
        .join(lots, lots.c.bot_id == Bot.id)
        .join(ExchangeAccount, ExchangeAccount.id == Bot.account_id, isouter=True)
        .where(Bot.owner_id == owner.id, Bot.status != BotStatus.RUNNING)
        .order_by(col(Bot.id))
    ).all()
    markets = {(acc.exchange_id, bot.symbol) for bot, acc, *_ in rows if acc is not None}
    prices = last_prices(session, markets=markets)
    out = []
    for bot, account, count, amount, cost, fees in rows:
        price = prices.get((account.exchange_id, bot.symbol)) if account is not None else None
        amount, cost, fees = float(amount or 0), float(cost or 0), float(fees or 0)
        why_not = ""
        if bot.status == BotStatus.ARCHIVED:
            why_not = "archived: it never trades again"
        elif account is None or account.status == AccountStatus.DELETED:
            why_not = "its exchange account was deleted"
        elif account.status in (AccountStatus.INVALID, AccountStatus.NEEDS_REENTRY):
            why_not = "its exchange account needs its API key entered again"
        out.append(
            {
                "bot_id": bot.id,
                "bot": bot.name,
                "status": bot.status,
                "symbol": bot.symbol,
                "lots": int(count),
                "amount": amount,
                "entry_price": cost / amount if amount else None,
                "last_price": price,
                "unrealised_pnl": (price * amount - cost - fees) if price is not None else None,
                "closable": not why_not,
                "why_not": why_not,
            }
        )
    return out
