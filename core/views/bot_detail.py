"""What the Bot detail page shows: candles with indicators, trades, position and events."""

from __future__ import annotations

import json

import pandas as pd
from sqlmodel import col, select

from core import bots
from core.candles import closed_candles
from core.errors import InvalidInput
from core.exchanges import market_feed, timeframe_ms
from core.models import Bot, BotOrder, ExchangeAccount, Trade, User, utcnow
from core.platform.runtime import Runtime
from core.strategy import get_strategy
from core.trading import AWAITED
from core.views.markets import Decimals, market_decimals


def chart_data(rt: Runtime, *, owner: User, bot_id: int, limit: int = 300) -> dict:
    """Candles (DataFrame), indicators, the bot's trades in that window, its market's display
    `decimals` and its oscillator `bands` (RSI oversold/overbought)."""
    with rt.read() as session:
        bot = bots.get_bot(session, owner=owner, bot_id=bot_id)
        account = session.get(ExchangeAccount, bot.account_id)
        market = (account.exchange_id, bot.symbol)
        decimals = market_decimals(session, [market])[market]
    feed = market_feed(account.exchange_id, settings=rt.settings)
    now_ms = int(utcnow().timestamp() * 1000)
    candles = closed_candles(
        rt, feed, symbol=bot.symbol, timeframe=bot.timeframe, limit=limit, now_ms=now_ms
    )
    df = pd.DataFrame(candles, columns=["ts", "open", "high", "low", "close", "volume"])
    strategy = get_strategy(bot.strategy)
    params = strategy.validate(json.loads(bot.params or "{}"))
    indicators = strategy.indicators(df, params) if len(df) else {}
    since = int(df["ts"].iloc[0]) if len(df) else 0
    with rt.read() as session:
        trades = session.exec(
            select(Trade)
            .where(
                Trade.bot_id == bot.id, col(Trade.entry_ts) >= since - timeframe_ms(bot.timeframe)
            )
            .order_by(col(Trade.entry_ts))
        ).all()
    marks = [
        {
            "entry_ts": t.entry_ts,
            "entry_price": t.entry_price,
            "amount": t.amount,
            "exit_ts": t.exit_ts,
            "exit_price": t.exit_price,
            "pnl": t.pnl,
            "exit_reason": t.exit_reason,
        }
        for t in trades
    ]
    bands = {}
    if {"oversold", "overbought"} <= params.keys():
        bands["rsi"] = (float(params["oversold"]), float(params["overbought"]))
    return {
        "bot": bot,
        "candles": df,
        "indicators": indicators,
        "trades": marks,
        "decimals": decimals,
        "bands": bands,
    }


def orders_of(
    rt: Runtime, *, owner: User, bot_id: int, limit: int = 200, decimals: Decimals | None = None
) -> list[dict]:
    """The bot's newest orders; with `decimals`, each row carries `price_dp` and `amount_dp`."""
    dec = decimals or Decimals(None, None)
    with rt.read() as session:
        bots.get_bot(session, owner=owner, bot_id=bot_id)
        rows = session.exec(
            select(BotOrder)
            .where(BotOrder.bot_id == bot_id)
            .order_by(col(BotOrder.id).desc())
            .limit(limit)
        ).all()
    return [
        {
            "time": o.created_at,
            "client id": o.client_order_id,
            "side": o.side,
            "purpose": o.purpose,
            "amount": o.amount,
            "status": o.status,
            "price": o.average,
            "fee": o.fee,
            "error": o.error,
            "symbol": o.symbol,
            "price_dp": dec.price,
            "amount_dp": dec.amount,
        }
        for o in rows
    ]


def awaiting_orders(rt: Runtime, *, owner: User, bot_id: int) -> list[str]:
    """Client ids of the bot's orders sent and not settled (`sending`, `unknown`, `open`): the
    bot places no other order until each is found at the exchange or its deadline passes."""
    with rt.read() as session:
        bots.get_bot(session, owner=owner, bot_id=bot_id)
        return list(
            session.exec(
                select(BotOrder.client_order_id).where(
                    BotOrder.bot_id == bot_id,
                    col(BotOrder.status).in_(AWAITED),
                )
            ).all()
        )


def bot_label(bot: Bot) -> str:
    """'Swing · BTC/USDT 1h · RSI mean reversion': the strategy by its title."""
    try:
        strategy = get_strategy(bot.strategy).title
    except InvalidInput:  # a strategy no longer offered
        strategy = bot.strategy
    return f"{bot.name} · {bot.symbol} {bot.timeframe} · {strategy}"
