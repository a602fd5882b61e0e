"""Backtests with the same strategies and the same rules (core.strategy.risk) as the bots.

`run_backtest` walks the candles applying core.strategy.risk exactly as a bot tick does: decide on a
closed candle, fill at the next candle's open. Signals are vectorised. When the trades depend
on the signals alone (core.backtest.vectorised: no stops, no cooldown, a fixed order quote the cash
never caps) they are computed with numpy outright, identical to the walk. The walk itself visits
only the candles where something can happen when the rules allow it (signal strategies, one
position, no drawdown limit): flat, it jumps to the next entry signal; in a position, it finds
the first exit trigger with numpy. Otherwise it visits every candle. Both walks give identical
trades (tested). A position still open at the end is closed at the last close, marked "end".
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
    """Backtest `strategy_name` over `candles` (ts, open, high, low, close, volume)."""
    strategy = get_strategy(strategy_name)
    params = strategy.validate(params or {})
    risk = risk or Risk()
    market = market or DEFAULT_MARKET
    sig = strategy.signals(candles.reset_index(drop=True), params)
    arrays = {k: sig[k].to_numpy() for k in ("ts", "open", "close", "entry", "exit")}
    book = _Book(cash=cash, state=BotState())
    sizing = (order_quote, order_pct)
    ctx = (strategy.mode, params, risk, market, fee_rate, slippage_bps, sizing)
    can_jump = (
        strategy.mode == "signal" and risk.max_open_positions == 1 and not risk.max_drawdown_pct
    )
    vector = fast is None and backtest_fast.applies(strategy.mode, risk, sizing)
    if not (vector and backtest_fast.walk(book, arrays, ctx)):
        (_walk_events if (can_jump if fast is None else fast) else _walk_all)(book, arrays, ctx)
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


def _walk_events(book: _Book, a: dict, ctx) -> None:
    """Visit only candles where the rules can act (signal mode, one lot, no drawdown)."""
    risk: Risk = ctx[2]
    close, ts = a["close"], a["ts"]
    entries = np.flatnonzero(a["entry"])
    exits = a["exit"]
    exit_idx = np.flatnonzero(exits)
    n, i = len(ts), 0
    while i < n:
        if not book.state.lots:
            k = np.searchsorted(entries, i)
            while k < len(entries) and ts[entries[k]] < book.state.cooldown_until:
                k += 1
            if k >= len(entries):
                return
            i = int(entries[k])
            _step(book, i, a, ctx)
            i += 1
            continue
        lot = book.state.lots[0]
        j = _first_exit(close, exits, i, lot, risk, exit_idx)
        if j is None:
            lot.peak = max(lot.peak, float(close[i:].max()))
            return
        _step(book, j, a, ctx)
        i = j + 1


def _first_exit(close, exits, start: int, lot: Lot, risk: Risk, exit_idx: np.ndarray) -> int | None:
    if not (risk.stop_loss_pct or risk.take_profit_pct or risk.trailing_stop_pct):
        k = np.searchsorted(exit_idx, start)  # only exit signals can end the position
        return int(exit_idx[k]) if k < len(exit_idx) else None
    n, chunk, peak = len(close), 256, lot.peak
    while start < n:
        end = min(n, start + chunk)
        c = close[start:end]
        hit = exits[start:end].copy()
        if risk.stop_loss_pct:
            hit |= c <= lot.entry_price * (1 - risk.stop_loss_pct / 100)
        if risk.take_profit_pct:
            hit |= c >= lot.entry_price * (1 + risk.take_profit_pct / 100)
        if risk.trailing_stop_pct:
            peaks = np.maximum.accumulate(np.maximum(c, peak))
            hit |= c <= peaks * (1 - risk.trailing_stop_pct / 100)
            peak = float(peaks[-1])
        found = np.flatnonzero(hit)
        if len(found):
            j = start + int(found[0])
            lot.peak = max(lot.peak, float(close[start:j].max()) if j > start else lot.peak)
            return j
        lot.peak = max(lot.peak, peak, float(c.max()))
        start, chunk = end, chunk * 2
    return None


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
    return pd.Series(equity, index=pd.to_datetime(ts, unit="ms", utc=True))
