"""The one set of trading rules, shared by the backtester and the bot tick.

Decisions are made on a CLOSED candle; the resulting market orders fill at the NEXT candle's
open plus slippage (buy: open * (1 + bps/1e4), sell: open * (1 - bps/1e4)), rounded to the
market's price step; a fee of `fee_rate` of the cost is charged in quote on each side.

Sizing happens at the fill: a buy carries a budget, min(order quote, free quote) — the order
quote being a fixed quote amount, a share of the free quote ("% of balance") or all of it — and
fills for what that budget buys at the fill price after the fee: amount = budget / (price *
(1 + fee)), rounded DOWN to the amount step (`fill_amount`), so cost + fee never exceed the
budget and an entry is never dropped because the next open moved. The decision checks the
market's min amount and min notional at the decision close (no order when the budget is too
small); a fill whose amount falls below them at the fill price is skipped with a reason.
Backtest, paper and live apply the same rule (live: a cost-based market buy where the exchange
has one, see core.exchanges.live). Balances never go negative.

Positions are lots (one per filled buy). On each closed candle, for each lot and in this order:
stop-loss (close <= entry * (1 - sl%)), take-profit (close >= the lot's target, by default
entry * (1 + tp%)), trailing stop (close <= highest close since entry * (1 - trail%)). An exit
signal, or "exit now", closes every lot. DCA: the base order when flat; a safety order when
close <= last buy * (1 - step%) while fewer than 1 + K lots; all lots close when close >= average
entry * (1 + tp%). Grid: a lot per level, bought when the price falls through that level: the
highest level with previous close > level >= close that holds no lot (nothing on the first
candle, nothing when no level was crossed, so a price outside the range buys nothing); its
target is the next level up.
New entries need: an entry signal (signal mode), fewer than max_open_positions lots, the
candle time past the cooldown (set after a losing exit), and no max-drawdown pause. Drawdown is
measured on the bot's OWN equity, never on an account other bots share: its capital (the free
quote it saw at its first decision) + its realised PnL + its open lots' unrealised PnL at the
close (fees included), from its peak. Alone on an account that is exactly cash + lots at the
close, as in a backtest. Once hit the bot pauses; Resume measures again from that moment.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from core.enums import OrderPurpose
from core.exchanges import Market, fill_amount


@dataclass(frozen=True)
class Risk:
    take_profit_pct: float | None = None
    stop_loss_pct: float | None = None
    trailing_stop_pct: float | None = None
    max_open_positions: int = 1
    max_drawdown_pct: float | None = None
    cooldown_ms: int = 0

    @classmethod
    def of(cls, limits) -> Risk:
        """The limits of anything carrying a bot's risk fields (a Bot row, backtest settings)."""
        return cls(
            take_profit_pct=limits.take_profit_pct,
            stop_loss_pct=limits.stop_loss_pct,
            trailing_stop_pct=limits.trailing_stop_pct,
            max_open_positions=limits.max_open_positions,
            max_drawdown_pct=limits.max_drawdown_pct,
            cooldown_ms=limits.cooldown_minutes * 60_000,
        )

    @property
    def signals_alone(self) -> bool:
        """True when trades depend on the strategy's signals alone: one position and no limit
        that watches the path between signals (stops, cooldown, drawdown). The vectorised
        backtest applies only then; a new limit must say here whether it breaks that."""
        return (
            self.max_open_positions == 1
            and not self.max_drawdown_pct
            and not (self.stop_loss_pct or self.take_profit_pct or self.trailing_stop_pct)
            and not self.cooldown_ms
        )


@dataclass
class Lot:
    amount: float
    entry_price: float
    entry_ts: int
    entry_fee: float
    peak: float
    target: float | None = None
    level: int | None = None  # grid level index
    trade_id: int | None = None  # the engine's Trade row


@dataclass
class BotState:
    lots: list[Lot] = field(default_factory=list)
    peak_equity: float | None = None
    cooldown_until: int = 0
    paused: bool = False
    exit_requested: bool = False
    next_scheduled_ts: int = 0  # DCA on a schedule: no scheduled buy before this candle
    capital: float | None = None  # the free quote at the bot's first decision
    realised: float = 0.0  # the PnL of the lots it closed, fees included
    last_close: float | None = None  # the previous decision's close (grid crossings)
    stop_when_flat: bool = False  # Stop asked to close the position first

    def equity(self, close: float) -> float:
        """The bot's own equity at `close`: capital + realised + unrealised PnL."""
        open_pnl = sum(lot.amount * (close - lot.entry_price) - lot.entry_fee for lot in self.lots)
        return (self.capital or 0.0) + self.realised + open_pnl

    def drawdown_pct(self, close: float) -> float:
        peak = self.peak_equity or 0.0
        return (peak - self.equity(close)) / peak * 100 if peak > 0 else 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> BotState:
        data = dict(data or {})
        lots = [Lot(**lot) for lot in data.pop("lots", [])]
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(lots=lots, **known)

    @classmethod
    def loads(cls, text: str | None) -> BotState:
        """The state stored in a bot row's `state` column (empty: a fresh bot)."""
        return cls.from_dict(json.loads(text or "{}"))

    def dumps(self) -> str:
        return json.dumps(self.to_dict())


def order_quote(size_type: str, size: float, free: float) -> float:
    """The quote amount one entry spends: a fixed quote amount, or a % of the free quote."""
    return size if size_type == "quote" else free * size / 100


@dataclass(frozen=True)
class Intent:
    side: str  # buy | sell
    purpose: str  # entry | safety | grid | signal | take_profit | stop_loss | trailing_stop | ...
    amount: float
    lots: tuple[int, ...] = ()  # indexes into state.lots for sells
    level: int | None = None
    budget: float | None = None  # buys: the quote to spend, fee included (sized at the fill)


def buy_budget(order_quote: float, cash: float) -> float:
    """The quote one buy may spend, fee included: the order quote, capped by the free cash."""
    return max(0.0, min(order_quote, cash))


def fill_price(open_price: float, side: str, slippage_bps: float, market: Market) -> float:
    factor = 1 + slippage_bps / 1e4 if side == "buy" else 1 - slippage_bps / 1e4
    return market.round_price(open_price * factor)


def decide(
    state: BotState,
    *,
    ts: int,
    close: float,
    entry: bool,
    exit_signal: bool,
    mode: str,
    params: dict,
    risk: Risk,
    market: Market,
    cash: float,
    order_quote: float,
    fee_rate: float,
) -> list[Intent]:
    """What to do after the candle that opened at `ts` closed at `close` (mutates peaks)."""
    for lot in state.lots:
        lot.peak = max(lot.peak, close)
    if state.capital is None:  # the first decision (or a state from before capital was kept)
        state.capital = cash + sum(
            lot.amount * lot.entry_price + lot.entry_fee for lot in state.lots
        )
    equity = state.equity(close)
    state.peak_equity = equity if state.peak_equity is None else max(state.peak_equity, equity)
    if (
        risk.max_drawdown_pct
        and state.peak_equity > 0
        and (state.peak_equity - equity) / state.peak_equity * 100 >= risk.max_drawdown_pct
    ):
        state.paused = True
    previous, state.last_close = state.last_close, close
    intents = _exits(
        state, close=close, exit_signal=exit_signal, mode=mode, params=params, risk=risk
    )
    if intents or state.paused or state.stop_when_flat:
        return intents
    buy = _entry(
        state,
        ts=ts,
        close=close,
        previous=previous,
        entry=entry,
        mode=mode,
        params=params,
        risk=risk,
    )
    if buy is None:
        return intents
    purpose, level = buy
    budget = buy_budget(order_quote, cash)
    amount = fill_amount(budget, close, fee_rate, market)  # at the close: what it would buy now
    return [Intent("buy", purpose, amount, level=level, budget=budget)] if amount > 0 else []


def _exits(state, *, close, exit_signal, mode, params, risk) -> list[Intent]:
    if not state.lots:
        return []
    everything = tuple(range(len(state.lots)))
    if state.exit_requested:
        return [Intent("sell", OrderPurpose.EXIT_NOW, _amount(state, everything), everything)]
    if exit_signal:
        return [Intent("sell", OrderPurpose.SIGNAL, _amount(state, everything), everything)]
    if mode == "dca":
        total = sum(lot.amount for lot in state.lots)
        cost = sum(lot.amount * lot.entry_price for lot in state.lots)
        if total > 0 and close >= cost / total * (1 + params["take_profit_pct"] / 100):
            return [Intent("sell", OrderPurpose.TAKE_PROFIT, total, everything)]
    out = []
    for i, lot in enumerate(state.lots):
        reason = _lot_exit(lot, close, risk)
        if reason:
            out.append(Intent("sell", reason, lot.amount, (i,)))
    return out


def _lot_exit(lot: Lot, close: float, risk: Risk) -> str | None:
    if risk.stop_loss_pct and close <= lot.entry_price * (1 - risk.stop_loss_pct / 100):
        return OrderPurpose.STOP_LOSS
    target = lot.target
    if target is None and risk.take_profit_pct:
        target = lot.entry_price * (1 + risk.take_profit_pct / 100)
    if target is not None and close >= target:
        return OrderPurpose.TAKE_PROFIT
    if risk.trailing_stop_pct and close <= lot.peak * (1 - risk.trailing_stop_pct / 100):
        return OrderPurpose.TRAILING_STOP
    return None


def _amount(state: BotState, idx: tuple[int, ...]) -> float:
    return sum(state.lots[i].amount for i in idx)


def _entry(
    state, *, ts, close, previous, entry, mode, params, risk
) -> tuple[str, int | None] | None:
    if ts < state.cooldown_until:
        return None
    if mode == "grid":
        return _grid_entry(state, close, previous, params)
    if len(state.lots) >= max(1, risk.max_open_positions) and mode != "dca":
        return None
    if mode == "dca":
        return _dca_entry(state, ts=ts, close=close, entry=entry, params=params)
    return (OrderPurpose.ENTRY, None) if entry else None


def _dca_entry(state, *, ts, close, entry, params) -> tuple[str, None] | None:
    """Base order on the entry signal (or dip); safety orders at further dips; and, with
    `every_minutes`, a buy on every candle that opens at least that long after the previous
    scheduled decision. Every buy counts towards 1 + `safety_orders` lots."""
    every_ms = int(params.get("every_minutes", 0)) * 60_000
    if len(state.lots) >= 1 + params["safety_orders"]:
        return None
    if every_ms and ts >= state.next_scheduled_ts:
        state.next_scheduled_ts = ts + every_ms
        return (OrderPurpose.SCHEDULED, None)
    if not state.lots:
        return (OrderPurpose.ENTRY, None) if entry else None
    last = state.lots[-1].entry_price
    if close <= last * (1 - params["safety_step_pct"] / 100):
        return (OrderPurpose.SAFETY, None)
    return None


def _grid_entry(
    state: BotState, close: float, previous: float | None, params: dict
) -> tuple[str, int] | None:
    """The highest level the price fell through since the previous close that holds no lot."""
    from core.strategy.builtin import grid_levels

    if previous is None:
        return None
    levels = grid_levels(params)
    held = {lot.level for lot in state.lots}
    crossed = [i for i, lvl in enumerate(levels[:-1]) if previous > lvl >= close and i not in held]
    return (OrderPurpose.GRID, max(crossed)) if crossed else None


def open_lot(
    state: BotState,
    intent: Intent,
    *,
    amount: float,
    price: float,
    fee: float,
    ts: int,
    mode: str,
    params: dict,
) -> Lot:
    """Record a filled buy as a new lot."""
    target = None
    if mode == "grid" and intent.level is not None:
        from core.strategy.builtin import grid_levels

        target = grid_levels(params)[intent.level + 1]
    lot = Lot(
        amount=amount,
        entry_price=price,
        entry_ts=ts,
        entry_fee=fee,
        peak=price,
        target=target,
        level=intent.level,
    )
    state.lots.append(lot)
    return lot


def close_lots(
    state: BotState, intent: Intent, *, price: float, fee: float, ts: int, cooldown_ms: int
) -> list[tuple[Lot, float, float]]:
    """Record a filled sell: returns (lot, its share of the exit fee, pnl) per closed lot."""
    closing = [state.lots[i] for i in intent.lots]
    total = sum(lot.amount for lot in closing) or 1.0
    out = []
    for lot in closing:
        share = fee * lot.amount / total
        pnl = lot.amount * (price - lot.entry_price) - lot.entry_fee - share
        out.append((lot, share, pnl))
        state.realised += pnl
        if pnl < 0 and cooldown_ms:
            state.cooldown_until = max(state.cooldown_until, ts + cooldown_ms)
    keep = set(range(len(state.lots))) - set(intent.lots)
    state.lots = [lot for i, lot in enumerate(state.lots) if i in keep]
    if intent.purpose == OrderPurpose.EXIT_NOW:
        state.exit_requested = False
    return out
