"""The vectorised backtest for the common case, trade for trade identical to the walk.

Applies when the outcome depends on the signals alone: signal strategy, one position, no
stop-loss / take-profit / trailing stop, no cooldown, no drawdown limit, and a fixed quote per
order. Position state is then a function of the signal events (an entry while flat opens, an
exit while long closes, a candle with both flips the state), so every entry and exit is found
with numpy; fill prices, amounts (sized at the fill price, `core.strategy.risk.fill_amount`),
fees and PnL use the same arithmetic as `core.strategy.risk`, with the rounding of
`Market.to_step` reproduced exactly. The rest is checked afterwards: if the cash would have
capped a budget or a fill fell below the market's minimums, `walk` returns False and the caller
walks.
"""

from __future__ import annotations

import math

import numpy as np

from core.exchanges import Market, step_decimals, to_step
from core.strategy import Risk

_KEYS = (
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "amount",
    "fees",
    "pnl",
    "exit_reason",
)


def applies(mode: str, risk: Risk, sizing: tuple) -> bool:
    quote, pct = sizing
    return mode == "signal" and risk.signals_alone and pct is None and quote is not None


def to_steps(values: np.ndarray, step: float, how: str) -> np.ndarray:
    """`Market.to_step` over an array (how: "floor" or "round"), bit for bit.

    Python's round(x, d) rounds the exact binary value; numpy's multiplies by 10**d first,
    which can only differ next to a half-way point: those few values take the scalar path.
    """
    values = np.asarray(values, dtype=float)
    if not step:
        return values.copy()
    scaled = values / step + 1e-9
    units = np.floor(scaled) if how == "floor" else np.rint(scaled)
    raw = units * step
    d = step_decimals(step)
    shifted = raw * 10.0**d
    out = np.rint(shifted) / 10.0**d
    frac = np.abs(shifted - np.floor(shifted) - 0.5)
    unsure = (frac < 1e-6 + np.abs(shifted) * 2.0**-50) | ~(np.abs(shifted) < 2.0**50)
    fn = math.floor if how == "floor" else round
    for i in np.flatnonzero(unsure).tolist():
        out[i] = to_step(float(values[i]), step, fn)
    return out


def walk(book, a: dict, ctx) -> bool:
    """Fill `book` (trades, cash) as the walk would; False, book untouched, if cash binds."""
    _mode, _params, _risk, market, fee_rate, slip, (quote, _pct) = ctx
    ts, open_, close = a["ts"], a["open"], a["close"]
    n = len(ts)
    valid = _valid_entries(a, market, quote, fee_rate)
    e, x = _positions(valid, np.asarray(a["exit"], dtype=bool))
    if len(e) and e[-1] == n - 1:  # decided on the last candle: nothing fills it
        e = e[:-1]
        x = x[: len(e)]
    if not len(e):
        return True
    fin = e + 1
    ended = bool(len(x) < len(e) or x[-1] == n - 1)
    x = x[: len(e) - 1] if ended else x
    fout = x + 1
    p_in = to_steps(open_[fin] * (1 + slip / 1e4), market.price_step, "round")
    amount = fill_amounts(np.full(len(e), float(quote)), p_in, fee_rate, market)
    if not np.all(amount > 0):  # a fill below the minimums: the walk skips it
        return False
    p_out = to_steps(open_[fout] * (1 - slip / 1e4), market.price_step, "round")
    if ended:
        p_out = np.append(p_out, float(close[-1]))
        fout = np.append(fout, n - 1)
    fee_in = amount * p_in * fee_rate
    cost_out = amount * p_out
    fee_out = cost_out * fee_rate
    share = fee_out * amount / amount
    pnl = amount * (p_out - p_in) - fee_in - share
    deltas = np.empty(2 * len(e) + 1)
    deltas[0] = book.cash
    deltas[1::2] = -(amount * p_in + fee_in)
    deltas[2::2] = cost_out - fee_out
    cash = np.cumsum(deltas)
    before = cash[0:-1:2]
    if np.any(before < quote) or np.any(amount * p_in + fee_in > before):
        return False
    book.cash = float(cash[-1])
    columns = (ts[fin], ts[fout], p_in, p_out, amount, fee_in + share, pnl)
    reasons = ["signal"] * len(x) + ["end"] * ended
    rows = zip(*(col.tolist() for col in columns), reasons, strict=True)
    book.trades.extend(dict(zip(_KEYS, row, strict=True)) for row in rows)
    return True


def fill_amounts(budget: np.ndarray, price: np.ndarray, fee_rate: float, market: Market):
    """`core.strategy.risk.fill_amount` over arrays, bit for bit (0.0 below the minimums)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        amount = to_steps(budget / (price * (1 + fee_rate)), market.amount_step, "floor")
    cost = amount * price
    over = np.flatnonzero(cost + cost * fee_rate > budget)
    if len(over):
        step = market.amount_step
        lower = amount[over] - step if step else amount[over] * (1 - 2.0**-50)
        amount[over] = to_steps(lower, step, "floor") if step else lower
    bad = (
        ~(budget > 0)
        | ~(price > 0)
        | (amount <= 0)
        | (amount < market.min_amount)
        | (amount * price < market.min_notional)
    )
    return np.where(bad, 0.0, amount)


def _valid_entries(a: dict, market: Market, quote: float, fee_rate: float) -> np.ndarray:
    """Entry candles where the budget buys at least the minimums at the decision close."""
    close = a["close"]
    valid = np.zeros(len(close), dtype=bool)
    cand = np.flatnonzero(np.asarray(a["entry"], dtype=bool) & (a["ts"] >= 0))
    amount = fill_amounts(np.full(len(cand), float(quote)), close[cand], fee_rate, market)
    valid[cand[amount > 0]] = True
    return valid


def _positions(entry: np.ndarray, exit_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decision candles of entries and exits: flat + entry opens, long + exit closes."""
    ev = np.flatnonzero(entry | exit_)
    is_e, is_x = entry[ev], exit_[ev]
    absolute = is_e ^ is_x  # sets the state; a candle with both flips it
    flips = np.cumsum(is_e & is_x)
    last = np.maximum.accumulate(np.where(absolute, np.arange(len(ev)), -1))
    has = last >= 0
    base = np.where(has, is_e[np.maximum(last, 0)], False)
    since = flips - np.where(has, flips[np.maximum(last, 0)], 0)
    long = base ^ (since % 2 == 1)
    was = np.concatenate([[False], long[:-1]])
    return ev[long & ~was], ev[~long & was]
