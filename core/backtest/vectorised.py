"""The numpy backtest: trade for trade identical to the walk, without visiting every candle.

Applies to signal strategies holding one position without a drawdown limit (`applies`): any
sizing (a fixed quote, a % of the cash, all the cash), stop-loss, take-profit, trailing stop,
cooldown. A position is then opened by an entry signal while flat (the budget buying at least
the market's minimums) and closed by the first of: its exit signal, the stop-loss or the
take-profit (thresholds on the fill price), the trailing stop (on the highest close since the
fill). So:

1. Every entry candidate (an entry signal) gets its exit candle with numpy: the next exit
   signal (searchsorted), and the first candle before it where a threshold is crossed, searched
   in 2-D blocks (one row per candidate, the trailing stop's peak a running maximum along the
   row) grouped by the length of their search; long searches continue in further rounds, and
   the few left once the work reaches a few times the candles are searched when the chain of
   trades reaches them (`_scan`).
2. The chain (the first candidate, its exit, the first candidate after the exit, ...) follows
   pointers over the trades, not the candles.
3. A fixed quote that the cash never caps sizes every buy at once (numpy). Otherwise (all the
   cash, a % of it, a quote the cash caps, a cooldown after a loss) one Python step per
   candidate of the chain sizes each buy from the cash after the previous trade.

Fill prices, amounts (`fill_amount` at the fill price), fees and PnL are the arithmetic of
`core.strategy.risk`, with the rounding of `Market.to_step` reproduced exactly (`to_steps`).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from core.exchanges import Market, step_decimals, to_step
from core.strategy import Lot, Risk, fill_price

# Exit reasons by code (the values of core.models.OrderPurpose).
REASONS = ("signal", "stop_loss", "take_profit", "trailing_stop")
_FIRST_ROUND = 256  # widest block of the first round; x4 each further round
_WORK = 4  # block cells in all (beyond these, `_scan` when needed): this many x the candles
_BLOCK_CELLS = 1 << 20  # cells of one block at most


def applies(mode: str, risk: Risk) -> bool:
    return mode == "signal" and risk.max_open_positions == 1 and not risk.max_drawdown_pct


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


@dataclass(frozen=True)
class _Limits:
    """The position limits in the walk's own arithmetic (None: off)."""

    stop: float | None  # close <= entry * stop
    take: float | None  # close >= entry * take
    trail: float | None  # close <= peak * trail

    @classmethod
    def of(cls, risk: Risk) -> _Limits:
        return cls(
            1 - risk.stop_loss_pct / 100 if risk.stop_loss_pct else None,
            1 + risk.take_profit_pct / 100 if risk.take_profit_pct else None,
            1 - risk.trailing_stop_pct / 100 if risk.trailing_stop_pct else None,
        )

    @property
    def any(self) -> bool:
        return not (self.stop is None and self.take is None and self.trail is None)


class _Exits:
    """Each candidate's exit: decision candle `j` (n: held to the end; -1 not searched yet)
    and reason code; for those not searched yet, where the search resumes and the peak so far."""

    def __init__(self, close, exit_idx, first, p_in, limits: _Limits):
        n = len(close)
        self.close, self.p_in, self.limits, self.first = close, p_in, limits, first
        # The exit signal ends the threshold search: on its candle the signal comes first.
        self.lim = np.append(exit_idx, n)[np.searchsorted(exit_idx, first)]
        self.j = self.lim.copy()
        self.reason = np.zeros(len(first), dtype=np.int8)
        self.off = first.copy()
        self.peak = p_in.copy()
        if limits.any:
            self._blocks(np.flatnonzero(self.off < self.lim), int(_WORK * n))

    def _blocks(self, todo: np.ndarray, work: int) -> None:
        """Rounds of 2-D blocks until every search ends or `work` cells are spent."""
        width = _FIRST_ROUND
        while len(todo):
            span = np.minimum(self.lim[todo] - self.off[todo], width)
            # Rows of about the same length share a block: cells < 2 x the candles searched.
            bits = np.ceil(np.log2(np.maximum(span, 1))).astype(np.int64)
            left, searched = [], False
            for b in np.unique(bits).tolist():
                rows = todo[bits == b]
                if len(rows) << b > work:
                    left.append(rows)
                    continue
                work -= len(rows) << b
                step = max(1, _BLOCK_CELLS >> b)  # rows per block: bounded memory
                left += [self._block(rows[i : i + step], 1 << b) for i in range(0, len(rows), step)]
                searched = True
            todo = np.concatenate(left)
            if not searched:
                break
            width *= 4
        self.j[todo] = -1

    def _block(self, rows: np.ndarray, w: int) -> np.ndarray:
        """Search [off, off + w) of `rows`; returns the rows still unresolved."""
        close, lim = self.close, self.lim[rows]
        off = self.off[rows]
        cols = np.arange(w)
        idx = off[:, None] + cols
        np.minimum(idx, len(close) - 1, out=idx)
        v = close[idx]
        inside = cols < (lim - off)[:, None]
        hit, peak = self._hits(v, self.p_in[rows], self.peak[rows])
        hit &= inside
        found = hit.any(axis=1)
        col = hit.argmax(axis=1)
        got = rows[found]
        self.j[got] = off[found] + col[found]
        self.reason[got] = self._reasons(v[found, col[found]], self.p_in[got])
        # Not found: done if the search reached the exit signal (or the end), else go on.
        more = ~found & (off + w < lim)
        rest = rows[more]
        self.off[rest] = off[more] + w
        if peak is not None:
            self.peak[rest] = peak[more, -1]
        return rest

    def _hits(self, v, p_in, peak0):
        lm = self.limits
        hit = np.zeros(v.shape, dtype=bool)
        if lm.stop is not None:
            hit |= v <= (p_in * lm.stop)[:, None]
        if lm.take is not None:
            hit |= v >= (p_in * lm.take)[:, None]
        peak = None
        if lm.trail is not None:
            peak = np.maximum.accumulate(v, axis=1)
            np.maximum(peak, peak0[:, None], out=peak)
            hit |= v <= peak * lm.trail
        return hit, peak

    def _reasons(self, v, p_in) -> np.ndarray:
        """Reason codes of hits at closes `v`, in the walk's order: stop, take, trailing."""
        lm = self.limits
        code = np.full(len(v), 3, dtype=np.int8)
        if lm.take is not None:
            code[v >= p_in * lm.take] = 2
        if lm.stop is not None:
            code[v <= p_in * lm.stop] = 1
        return code

    def get(self, c: int) -> tuple[int, int]:
        """(exit candle, reason code) of candidate c, searched now if it was left."""
        j = int(self.j[c])
        if j < 0:
            j, code = _scan(self.close, int(self.off[c]), int(self.lim[c]), self, c)
            self.j[c], self.reason[c] = j, code
        return j, int(self.reason[c])


def _scan(close, start: int, lim: int, ex: _Exits, c: int) -> tuple[int, int]:
    """The first threshold hit of candidate c in [start, lim), in growing chunks; else lim."""
    p_in, peak, chunk = ex.p_in[c : c + 1], ex.peak[c : c + 1], 256
    while start < lim:
        end = min(lim, start + chunk)
        v = close[start:end][None, :]
        hit, peaks = ex._hits(v, p_in, peak)
        found = np.flatnonzero(hit[0])
        if len(found):
            i = int(found[0])
            return start + i, int(ex._reasons(v[0, i : i + 1], p_in)[0])
        if peaks is not None:
            peak = peaks[0, -1:]
        start, chunk = end, chunk * 2
    return lim, 0


def walk(book, a: dict, ctx) -> bool:
    """Fill `book` (trades, skipped, cash, the lot still open) exactly as the walk would."""
    _mode, _params, risk, market, fee_rate, slip, (quote, pct) = ctx
    ts, open_, close = a["ts"], a["open"], a["close"]
    n = len(ts)
    entry = np.asarray(a["entry"], dtype=bool)
    # A decision on the last candle never fills; before the cooldown's start nothing enters.
    cand = np.flatnonzero(entry[: n - 1] & (ts[: n - 1] >= book.state.cooldown_until))
    if not len(cand):
        return True
    p_in = to_steps(open_[cand + 1] * (1 + slip / 1e4), market.price_step, "round")
    exits = _Exits(close, np.flatnonzero(a["exit"]), cand + 1, p_in, _Limits.of(risk))
    fixed = pct is None and quote is not None
    if fixed:
        budget = np.full(len(cand), float(quote))
        ok = fill_amounts(budget, close[cand], fee_rate, market) > 0
        amounts = fill_amounts(budget, p_in, fee_rate, market)
        if not risk.cooldown_ms and _fixed(book, a, ctx, np.flatnonzero(ok), p_in, amounts, exits):
            return True
    else:
        ok = amounts = None
    _one_by_one(book, a, ctx, cand, p_in, exits, ok, amounts)
    return True


def _fixed(book, a, ctx, back, p_in, amount, exits: _Exits) -> bool:
    """Fixed quote: the chain by pointers over the candidates `back` (those whose quote buys
    the minimums at the decision), then every amount and cash balance with numpy; False (book
    untouched) if the cash would cap a budget or a fill falls below the minimums."""
    _m, _p, _r, market, fee_rate, slip, (quote, _pct) = ctx
    ts, open_ = a["ts"], a["open"]
    n = len(ts)
    cand = exits.first[back] - 1
    p_in, amount = p_in[back], amount[back]
    j = exits.j[back]
    nxt = np.searchsorted(cand, j + 1).tolist()
    jl = j.tolist()
    path, c, m = [], 0, len(cand)
    while c < m:
        path.append(c)
        if jl[c] < 0:
            jl[c] = exits.get(int(back[c]))[0]
            nxt[c] = int(np.searchsorted(cand, jl[c] + 1))
        if jl[c] >= n - 1:
            break
        c = nxt[c]
    if not path:
        return True
    p = np.asarray(path, dtype=np.int64)
    amt, pin, jj = amount[p], p_in[p], np.asarray(jl)[p]
    if not np.all(amt > 0):
        return False
    held = bool(jj[-1] >= n - 1)  # the last position is open at the end
    closed = len(p) - held
    jc = jj[:closed]
    p_out = to_steps(open_[jc + 1] * (1 - slip / 1e4), market.price_step, "round")
    fee_in = amt * pin * fee_rate
    cost_out = amt[:closed] * p_out
    fee_out = cost_out * fee_rate
    deltas = np.empty(len(p) + closed + 1)
    deltas[0] = book.cash
    deltas[1::2] = -(amt * pin + fee_in)
    deltas[2::2] = cost_out - fee_out
    cash = np.cumsum(deltas)
    before = cash[: 2 * len(p) : 2]
    if np.any(before < quote) or np.any(amt * pin + fee_in > before):
        return False
    share = fee_out * amt[:closed] / amt[:closed]
    pnl = amt[:closed] * (p_out - pin[:closed]) - fee_in[:closed] - share
    reasons = [REASONS[r] for r in exits.reason[back[p[:closed]]].tolist()]
    t_in = ts[cand[p] + 1]
    _record(
        book,
        t_in[:closed],
        ts[jc + 1],
        pin[:closed],
        p_out,
        amt[:closed],
        fee_in[:closed] + share,
        pnl,
        reasons,
    )
    if held:
        book.state.lots.append(_lot(amt[-1], pin[-1], t_in[-1], fee_in[-1]))
    book.cash = float(cash[-1])
    return True


def _one_by_one(book, a, ctx, cand, p_in, exits: _Exits, ok, amounts) -> None:
    """The chain one candidate at a time, each buy sized from the cash of its decision."""
    _m, _p, risk, market, fee_rate, slip, (quote, pct) = ctx
    ts, open_, close = a["ts"], a["open"], a["close"]
    n = len(ts)
    cand_l, pin, ts_c = cand.tolist(), p_in.tolist(), ts[cand].tolist()
    close_c, ts_in = close[cand], ts[cand + 1].tolist()
    j_l, code_l = exits.j.tolist(), exits.reason.tolist()  # j -1: searched when reached
    j_out = np.clip(exits.j, cand + 1, n - 2) + 1
    p_out = to_steps(open_[j_out] * (1 - slip / 1e4), market.price_step, "round").tolist()
    sure = _sure_budgets(close_c, fee_rate, market).tolist()
    fixed_ok = None if ok is None else ok.tolist()
    fixed_amt = None if amounts is None else amounts.tolist()
    cooldown, amount_for = risk.cooldown_ms, buyer(market, fee_rate)
    cash, cool = book.cash, book.state.cooldown_until
    rows, c, m, misses = [], 0, len(cand_l), 0
    while c < m:
        if ts_c[c] < cool:
            c = bisect.bisect_left(ts_c, cool, c)
            continue
        oq = cash * pct / 100 if pct is not None else (quote if quote is not None else cash)
        budget = max(0.0, min(oq, cash))
        if fixed_ok is not None and budget == quote:
            go = fixed_ok[c]
        else:
            go = budget >= sure[c] or amount_for(budget, float(close_c[c])) > 0
        if not go:  # no order at the decision; the budget holds while flat
            c, misses = c + 1, misses + 1
            if misses >= 8:
                c = _next_order(budget, close_c, c, fee_rate, market)
            continue
        misses = 0
        amount = fixed_amt[c] if fixed_ok is not None and budget == quote else None
        ts_fill, price = ts_in[c], pin[c]
        if amount is None:
            amount = amount_for(budget, price)
        if amount <= 0:
            book.skipped.append(f"{ts_fill}: {budget:g} buys less than the minimum")
            c += 1
            continue
        cost = amount * price
        fee = cost * fee_rate
        if cost + fee > cash:
            book.skipped.append(f"{ts_fill}: insufficient balance for {amount}")
            c += 1
            continue
        cash -= cost + fee
        j, code = j_l[c], code_l[c]
        if j < 0:
            j, code = exits.get(c)
            out = fill_price(float(open_[j + 1]), "sell", slip, market) if j < n - 1 else 0.0
        else:
            out = p_out[c]
        if j >= n - 1:
            book.state.lots.append(_lot(amount, price, ts_fill, fee))
            break
        cost_out = amount * out
        fee_out = cost_out * fee_rate
        cash += cost_out - fee_out
        share = fee_out * amount / amount
        pnl = amount * (out - price) - fee - share
        ts_out = int(ts[j + 1])
        rows.append((ts_fill, ts_out, price, out, amount, fee + share, pnl, REASONS[code]))
        if pnl < 0 and cooldown:
            cool = max(cool, ts_out + cooldown)
        c = bisect.bisect_right(cand_l, j, c)
    book.cash = cash
    book.state.cooldown_until = cool
    if rows:
        _record(book, *zip(*rows, strict=True))


def _sure_budgets(close: np.ndarray, fee_rate: float, market: Market) -> np.ndarray:
    """Budgets from which `fill_amount(budget, close)` is surely above the minimums (the
    floor to the step and its correction take at most 2 steps, the rounding half a step)."""
    step = market.amount_step
    with np.errstate(divide="ignore", invalid="ignore"):
        least = np.maximum(max(step, market.min_amount), market.min_notional / close)
        sure = (least + 4 * step) * close * (1 + fee_rate) * (1 + 1e-9)
        sure = np.maximum(sure, close * 1e-250)
    return np.where(close > 0, sure, np.inf)


def _next_order(budget: float, close: np.ndarray, c: int, fee_rate: float, market: Market):
    """The first candidate from c whose decision with `budget` places an order (else the end)."""
    width = 64
    while c < len(close):
        end = min(len(close), c + width)
        buys = fill_amounts(np.full(end - c, budget), close[c:end], fee_rate, market) > 0
        if buys.any():
            return c + int(buys.argmax())
        c, width = end, width * 4
    return c


def buyer(market: Market, fee_rate: float):
    """`fill_amount(budget, price, fee_rate, market)` as a function of (budget, price), the
    same arithmetic with the market's constants bound (the hot loop of `_one_by_one`)."""
    step, floor = market.amount_step, math.floor
    d = step_decimals(step) if step else 0
    least, notional, gross = market.min_amount, market.min_notional, 1 + fee_rate

    def amount_for(budget: float, price: float) -> float:
        if not budget > 0 or not price > 0:
            return 0.0
        amount = budget / (price * gross)
        if step:
            amount = round(floor(amount / step + 1e-9) * step, d)
        cost = amount * price
        if cost + cost * fee_rate > budget:
            if step:
                amount = round(floor((amount - step) / step + 1e-9) * step, d)
            else:
                amount = amount * (1 - 2.0**-50)
        if amount <= 0 or amount < least or amount * price < notional:
            return 0.0
        return amount

    return amount_for


def _lot(amount, price, ts, fee) -> Lot:
    price = float(price)
    return Lot(
        amount=float(amount), entry_price=price, entry_ts=int(ts), entry_fee=float(fee), peak=price
    )


def _record(book, t_in, t_out, p_in, p_out, amount, fees, pnl, reasons) -> None:
    cols = [
        x.tolist() if isinstance(x, np.ndarray) else list(x)
        for x in (t_in, t_out, p_in, p_out, amount, fees, pnl)
    ]
    book.trades.extend(
        {
            "entry_time": a,
            "exit_time": b,
            "entry_price": c,
            "exit_price": d,
            "amount": e,
            "fees": f,
            "pnl": g,
            "exit_reason": r,
        }
        for a, b, c, d, e, f, g, r in zip(*cols, reasons, strict=True)
    )
