"""Backtests with the same strategies and the same rules (core.strategy.risk) as the bots.

`run_backtest` walks the candles applying core.strategy.risk exactly as a bot tick does: decide on a
closed candle, fill at the next candle's open. Signals are vectorised. Signal strategies with one
position and no drawdown limit (any sizing, stop-loss, take-profit, trailing stop, cooldown) take
the numpy path of core.backtest.vectorised, which visits the trades instead of the candles and
gives trade for trade the walk's result (tested); `fast=False` walks every candle. A position
still open at the end is closed at the last close, marked "end".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.backtest import vectorised as backtest_fast
from core.backtest.metrics import compute_metrics
from core.exchanges import Market
from core.strategy import (
    BotState,
    Intent,
    Lot,
    Risk,
    close_lots,
    decide,
    fill_amount,
    fill_price,
    get_strategy,
    open_lot,
)

DEFAULT_MARKET = Market(
    symbol="X/USDT",
    base="X",
    quote="USDT",
    amount_step=1e-8,
    price_step=1e-8,
    min_amount=0.0,
    min_notional=0.0,
)


@dataclass
class BacktestResult:
    trades: list[dict]
    equity: pd.Series
    buy_and_hold: pd.Series
    metrics: dict
    skipped: list[str] = field(default_factory=list)


@dataclass
class _Book:
    cash: float
    state: BotState
    trades: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def run_backtest(
    candles: pd.DataFrame,
    strategy_name: str,
    params: dict | None = None,
    *,
    risk: Risk | None = None,
    market: Market | None = None,
    fee_rate: float = 0.001,
    slippage_bps: float = 0.0,
    cash: float = 10_000.0,
    order_quote: float | None = None,
    order_pct: float | None = None,
    fast: bool | None = None,
) -> BacktestResult:
    """Backtest `strategy_name` over `candles` (ts, open, high, low, close, volume).

    `fast=False` visits every candle (the reference the numpy path is tested against)."""
    strategy = get_strategy(strategy_name)
    params = strategy.validate(params or {})
    risk = risk or Risk()
    market = market or DEFAULT_MARKET
    sig = strategy.signals(candles.reset_index(drop=True), params)
    arrays = {k: sig[k].to_numpy() for k in ("ts", "open", "close", "entry", "exit")}
    book = _Book(cash=cash, state=BotState())
    sizing = (order_quote, order_pct)
    ctx = (strategy.mode, params, risk, market, fee_rate, slippage_bps, sizing)
    vector = fast is not False and backtest_fast.applies(strategy.mode, risk)
    if not (vector and backtest_fast.walk(book, arrays, ctx)):
        _walk_all(book, arrays, ctx)
    _close_at_end(book, arrays, fee_rate)
    equity = _equity_curve(book, arrays, cash)
    bh = pd.Series(cash * arrays["close"] / arrays["close"][0], index=equity.index)
    metrics = compute_metrics(book.trades, equity, bh, candles_ts=arrays["ts"])
    return BacktestResult(book.trades, equity, bh, metrics, book.skipped)


def _order_quote(book: _Book, sizing) -> float:
    quote, pct = sizing
    if pct is not None:
        return book.cash * pct / 100
    return quote if quote is not None else book.cash


def _step(book: _Book, i: int, a: dict, ctx) -> None:
    """Apply core.strategy.risk to candle i and fill the intents at candle i+1's open."""
    mode, params, risk, market, fee_rate, slip, sizing = ctx
    intents = decide(
        book.state,
        ts=int(a["ts"][i]),
        close=float(a["close"][i]),
        entry=bool(a["entry"][i]),
        exit_signal=bool(a["exit"][i]),
        mode=mode,
        params=params,
        risk=risk,
        market=market,
        cash=book.cash,
        order_quote=_order_quote(book, sizing),
        fee_rate=fee_rate,
    )
    if i + 1 >= len(a["ts"]):
        return
    ts_fill, open_next = a["ts"][i + 1].item(), a["open"][i + 1].item()
    for intent in intents:
        price = fill_price(open_next, intent.side, slip, market)
        amount = intent.amount
        if intent.side == "buy":  # sized at the fill price (core.strategy.risk)
            amount = fill_amount(intent.budget, price, fee_rate, market)
            if amount <= 0:
                book.skipped.append(f"{ts_fill}: {intent.budget:g} buys less than the minimum")
                continue
        cost = amount * price
        fee = cost * fee_rate
        if intent.side == "buy":
            if cost + fee > book.cash:
                book.skipped.append(f"{ts_fill}: insufficient balance for {amount}")
                continue
            book.cash -= cost + fee
            open_lot(
                book.state,
                intent,
                amount=amount,
                price=price,
                fee=fee,
                ts=ts_fill,
                mode=mode,
                params=params,
            )
        else:
            book.cash += cost - fee
            for lot, exit_fee, pnl in close_lots(
                book.state, intent, price=price, fee=fee, ts=ts_fill, cooldown_ms=risk.cooldown_ms
            ):
                book.trades.append(_trade(lot, ts_fill, price, exit_fee, pnl, intent.purpose))


def _trade(lot: Lot, ts: int, price: float, fee: float, pnl: float, reason: str) -> dict:
    return {
        "entry_time": lot.entry_ts,
        "exit_time": ts,
        "entry_price": lot.entry_price,
        "exit_price": price,
        "amount": lot.amount,
        "fees": lot.entry_fee + fee,
        "pnl": pnl,
        "exit_reason": reason,
    }


def _walk_all(book: _Book, a: dict, ctx) -> None:
    for i in range(len(a["ts"])):
        if book.state.paused:
            break
        _step(book, i, a, ctx)


def _close_at_end(book: _Book, a: dict, fee_rate: float) -> None:
    if not book.state.lots:
        return
    price, ts = float(a["close"][-1]), int(a["ts"][-1])
    everything = tuple(range(len(book.state.lots)))
    amount = sum(lot.amount for lot in book.state.lots)
    fee = amount * price * fee_rate
    intent = Intent("sell", "end", amount, everything)
    book.cash += amount * price - fee
    for lot, exit_fee, pnl in close_lots(
        book.state, intent, price=price, fee=fee, ts=ts, cooldown_ms=0
    ):
        book.trades.append(_trade(lot, ts, price, exit_fee, pnl, "end"))


def _equity_curve(book: _Book, a: dict, cash0: float) -> pd.Series:
    """Mark-to-market equity at every close, from the trade list (vectorised)."""
    ts, close = a["ts"], a["close"]
    cash_delta = np.zeros(len(ts))
    holding = np.zeros(len(ts))
    if book.trades:
        cols = zip(
            *(
                (t["entry_time"], t["exit_time"], t["amount"], t["entry_price"], t["pnl"])
                for t in book.trades
            ),
            strict=True,
        )
        t_in, t_out, amount, price, pnl = (np.asarray(c) for c in cols)
        # Fees are booked with the exit: the curve ends exactly at cash + sum(pnl).
        cost_in = amount * price
        # Interleaved in trade order (entry, exit, entry, ...): np.add.at adds in that order,
        # as a loop over the trades would.
        at = np.column_stack([np.searchsorted(ts, t_in), np.searchsorted(ts, t_out)]).ravel()
        np.add.at(cash_delta, at, np.column_stack([-cost_in, cost_in + pnl]).ravel())
        np.add.at(holding, at, np.column_stack([amount, -amount]).ravel())
    cash = cash0 + np.cumsum(cash_delta)
    equity = cash + np.cumsum(holding) * close
    return pd.Series(equity, index=_utc_index(ts))


def _utc_index(ts: np.ndarray) -> pd.DatetimeIndex:
    """`pd.to_datetime(ts, unit="ms", utc=True)`, without its parsing for integer times."""
    if ts.dtype.kind != "i":
        return pd.to_datetime(ts, unit="ms", utc=True)
    return pd.DatetimeIndex((ts.astype(np.int64) * 1000).view("M8[us]"), dtype="M8[us, UTC]")
