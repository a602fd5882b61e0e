"""Many bot ticks in a few statements: the body of one worker task over a batch of claimed ticks.

Most ticks decide nothing (no signal, no risk exit, no order). Those "quiet" ticks are run
together: one read of the batch's bots, accounts and open orders; the signal computed once per
(market, candle, strategy, parameters) and kept in a small per-process cache (closed candles
never change); then ONE write transaction that re-reads every bot's state and its account's cash
under the write lock, decides again with `core.rules` exactly as `core.engine` does, and stores
the new state and `last_candle_ts` of every bot that stayed quiet.

Every other tick runs through `core.engine.run_bot_tick` unchanged, so the exactly-once order
rules (pending_submit row committed before the exchange call, deterministic client order id,
reconciliation) live in one place: a signal, an order intent or a drawdown pause; pending
orders to reconcile; a rerun of a candle that already has orders; a live account, or a paper
account with resting limit orders; a candle the feed does not have; a strategy that raises.
Quiet ticks write nothing before their one commit, so a crash leaves nothing to undo: the
reclaimed ticks simply decide again.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import takewhile

import numpy as np
from sqlalchemy import bindparam, or_, update
from sqlmodel import col, select

from core import marketdata, rules
from core.engine import risk_of, run_bot_tick
from core.exchanges.base import Exchange, Market, timeframe_ms
from core.exchanges.factory import market_feed
from core.models import Bot, BotOrder, ExchangeAccount, PaperBalance, PaperOrder, utcnow
from core.runtime import Runtime
from core.strategies import get_strategy

log = logging.getLogger(__name__)
SIGNAL_CACHE_SIZE = 4096
QUIET = "ok: 0 order(s)"
TickRef = tuple[int, int, int]  # (tick id, bot id, candle ts)

_signals: OrderedDict[tuple, tuple[bool, bool, float]] = OrderedDict()
_signals_guard = threading.Lock()


@dataclass(frozen=True)
class Signal:
    """What every bot of one (market, candle, strategy, parameters) group sees."""

    entry: bool
    exit: bool
    close: float
    market: Market
    mode: str
    params: dict


def clear_signal_cache() -> None:
    with _signals_guard:
        _signals.clear()


def run_ticks(
    rt: Runtime,
    ticks: Sequence[TickRef],
    *,
    worker_id: str = "",
    clock: Callable[[], int] | None = None,
) -> dict[int, str]:
    """Run claimed ticks; returns tick id -> outcome (the same outcomes as `run_bot_tick`).

    The result is that of running the ticks one by one in (candle, bot id) order: a run of
    quiet ticks is decided in one transaction, and a tick that must run on its own runs where
    it falls in that order (its trades change the cash the next bots of its account see)."""
    ordered = sorted(ticks, key=lambda t: (t[2], t[1]))
    outcomes: dict[int, str] = {}
    alone: set[int] = set()
    try:
        quiet = _triage(rt, ordered, outcomes, alone)
        signals = _signals_for(rt, ordered, quiet, alone, clock)
        todo = [t for t in ordered if t[0] not in outcomes]
        while todo:
            run = list(takewhile(lambda t: t[0] not in alone, todo))
            done = _write_quiet(rt, run, signals, outcomes) if run else 0
            todo = todo[done:]
            if todo:  # the next tick runs on its own
                outcomes[todo[0][0]] = _run_one(rt, *todo[0][1:], worker_id, clock)
                todo = todo[1:]
    except Exception:
        log.exception("batch of %d tick(s) failed; running the rest one by one", len(ticks))
        for tick_id, bot_id, candle_ts in ordered:
            if tick_id not in outcomes:
                outcomes[tick_id] = _run_one(rt, bot_id, candle_ts, worker_id, clock)
    return outcomes


def _run_one(rt, bot_id: int, candle_ts: int, worker_id: str, clock) -> str:
    try:
        return run_bot_tick(
            rt, bot_id=bot_id, candle_ts=candle_ts, worker_id=worker_id, clock=clock
        )
    except Exception as exc:
        log.exception("bot %s: tick for %s crashed", bot_id, candle_ts)
        return f"error: {type(exc).__name__}"


Candidates = dict[int, tuple[Bot, ExchangeAccount]]  # tick id -> (bot snapshot, account)


def _triage(rt, ticks, outcomes, alone: set[int]) -> Candidates:
    """Split the batch: skipped (outcome now), on its own (`alone`) or quiet candidates."""
    bot_ids = [t[1] for t in ticks]
    candles = {t[2] for t in ticks}
    with rt.read() as s:
        bots = {b.id: b for b in s.exec(select(Bot).where(col(Bot.id).in_(bot_ids)))}
        account_ids = {b.account_id for b in bots.values()}
        accounts = {
            a.id: a
            for a in s.exec(select(ExchangeAccount).where(col(ExchangeAccount.id).in_(account_ids)))
        }
        with_orders = set(
            s.exec(
                select(BotOrder.bot_id).where(
                    col(BotOrder.bot_id).in_(bot_ids),
                    or_(BotOrder.status == "pending_submit", col(BotOrder.candle_ts).in_(candles)),
                )
            ).all()
        )
        resting = _accounts_with_resting_orders(s, account_ids)
    seen: set[int] = set()
    quiet: Candidates = {}
    for tick_id, bot_id, candle_ts in ticks:
        bot = bots.get(bot_id)
        if bot is None or bot.status != "running":
            outcomes[tick_id] = "skipped: not running"
        elif bot.last_candle_ts is not None and candle_ts <= bot.last_candle_ts:
            outcomes[tick_id] = "skipped: already done"
        else:
            account = accounts.get(bot.account_id)
            simple = account is not None and account.kind == "paper" and bot_id not in seen
            if simple and bot_id not in with_orders and bot.account_id not in resting:
                quiet[tick_id] = (bot, account)
            else:
                alone.add(tick_id)
        seen.add(bot_id)
    return quiet


def _accounts_with_resting_orders(session, account_ids) -> set[int]:
    """Paper accounts with open limit orders: their balance needs settling first (one by one)."""
    query = select(PaperOrder.account_id).where(
        col(PaperOrder.account_id).in_(account_ids),
        PaperOrder.status == "open",
        PaperOrder.type == "limit",
    )
    return set(session.exec(query.distinct()).all())


def _group_key(bot: Bot, account: ExchangeAccount, candle_ts: int) -> tuple:
    return (account.exchange_id, bot.symbol, bot.timeframe, candle_ts, bot.strategy, bot.params)


def _signals_for(rt, ticks, quiet: Candidates, alone: set[int], clock) -> dict[int, Signal]:
    """The signal of each quiet candidate, computed once per group. A group with an entry or
    exit signal, or whose candles or strategy fail, runs one by one (the single-tick path logs
    the signal, or records the failure on each bot exactly as it always has)."""
    feeds: dict[str, Exchange] = {}
    groups: dict[tuple, Signal | None] = {}
    out: dict[int, Signal] = {}
    try:
        for tick_id, _bot_id, candle_ts in ticks:
            if tick_id not in quiet:
                continue
            bot, account = quiet[tick_id]
            key = _group_key(bot, account, candle_ts)
            if key not in groups:
                groups[key] = _group_signal(rt, feeds, key, clock)
            signal = groups[key]
            if signal is None or signal.entry or signal.exit:
                alone.add(tick_id)
            else:
                out[tick_id] = signal
    finally:
        for feed in feeds.values():
            feed.close()
    return out


def _group_signal(rt, feeds: dict[str, Exchange], key: tuple, clock) -> Signal | None:
    try:
        if key[0] not in feeds:
            feeds[key[0]] = market_feed(key[0], settings=rt.settings, clock=clock)
        return _signal(rt, feeds[key[0]], key)
    except Exception as exc:  # noqa: BLE001 - replayed per bot by run_bot_tick
        log.info("signal %s: %s; its ticks run one by one", key[:5], type(exc).__name__)
        return None


def _signal(rt, feed: Exchange, key: tuple) -> Signal:
    _exchange, symbol, timeframe, candle_ts, name, raw = key
    strategy = get_strategy(name)
    params = strategy.validate(json.loads(raw or "{}"))
    market = feed.market(symbol)
    cache_key = (str(rt.engine.url), *key)
    with _signals_guard:
        hit = _signals.get(cache_key)
    if hit is None:
        candles = marketdata.closed_candles(
            rt,
            feed,
            symbol=symbol,
            timeframe=timeframe,
            limit=min(strategy.warmup(params) + 2, marketdata.MAX_LIMIT),
            now_ms=candle_ts + timeframe_ms(timeframe),
        )
        if not candles or candles[-1].ts != candle_ts:
            raise LookupError(f"the {timeframe} candle at {candle_ts} is not available")
        closes = np.fromiter((c.close for c in candles), dtype=float, count=len(candles))
        entry, exit_signal = strategy.last_signal(closes, params)
        hit = (entry, exit_signal, float(closes[-1]))
        with _signals_guard:
            _signals[cache_key] = hit
            while len(_signals) > SIGNAL_CACHE_SIZE:
                _signals.popitem(last=False)
    return Signal(hit[0], hit[1], hit[2], market, strategy.mode, params)


def _write_quiet(rt, run: list[TickRef], signals: dict[int, Signal], outcomes) -> int:
    """Decide the run's ticks in order under the write lock and store them, up to the first
    one that is not quiet after all; returns how many ticks of the run were settled."""
    bot_ids = [t[1] for t in run]
    now = utcnow()
    settled = len(run)
    with rt.session() as s:
        rows = {
            r.id: r
            for r in s.exec(
                select(Bot).where(col(Bot.id).in_(bot_ids)).order_by(Bot.id).with_for_update()
            )
        }
        account_ids = {r.account_id for r in rows.values()}
        resting = _accounts_with_resting_orders(s, account_ids)
        balances = select(PaperBalance).where(col(PaperBalance.account_id).in_(account_ids))
        cash = {(b.account_id, b.asset): b.free for b in s.exec(balances)}
        s.expunge_all()  # only read: the update below is one executemany
        updates, settled_outcomes = [], {}
        for i, (tick_id, bot_id, candle_ts) in enumerate(run):
            row = rows.get(bot_id)
            if row is None or row.status != "running":
                settled_outcomes[tick_id] = "skipped: not running"
                continue
            if row.last_candle_ts is not None and candle_ts <= row.last_candle_ts:
                settled_outcomes[tick_id] = "skipped: already done"
                continue
            state = None
            if row.account_id not in resting:
                state = _decide_quiet(row, signals[tick_id], candle_ts, cash)
            if state is None:
                settled = i
                break
            updates.append({"b_id": bot_id, "b_state": state, "b_ts": candle_ts})
            settled_outcomes[tick_id] = QUIET
        if updates:
            stmt = (
                update(Bot)
                .where(Bot.id == bindparam("b_id"))
                .values(
                    state=bindparam("b_state"),
                    last_candle_ts=bindparam("b_ts"),
                    last_tick_at=now,
                    consecutive_failures=0,
                )
            )
            s.connection().execute(stmt, updates)
    outcomes.update(settled_outcomes)  # only once committed
    return settled


def _decide_quiet(row: Bot, signal: Signal, candle_ts: int, cash: dict) -> str | None:
    """The bot's new state JSON when this tick is quiet, else None (it must run on its own)."""
    if signal.entry or signal.exit:
        return None  # the single-tick path logs the signal event
    state = rules.BotState.from_dict(json.loads(row.state or "{}"))
    was_paused = state.paused
    free = cash.get((row.account_id, signal.market.quote), 0.0)
    quote = row.order_size if row.order_size_type == "quote" else free * row.order_size / 100
    intents = rules.decide(
        state,
        ts=candle_ts,
        close=signal.close,
        entry=False,
        exit_signal=False,
        mode=signal.mode,
        params=signal.params,
        risk=risk_of(row),
        market=signal.market,
        cash=free,
        order_quote=quote,
        fee_rate=signal.market.taker_fee,
    )
    if intents or (state.paused and not was_paused):
        return None
    return json.dumps(state.to_dict())
