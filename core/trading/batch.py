"""Many bot ticks in a few statements: the body of one worker task over a batch of claimed ticks.

Most ticks decide nothing (no signal, no risk exit, no order); on a signal, every bot of the
market with the same strategy and parameters acts at once. So a batch is run in rounds
(`core.trading.round`): one read of the batch's bots, accounts and open orders; the signal
computed once per (market, candle, strategy, parameters) and kept in a small per-process cache
(closed candles never change); then per round ONE transaction deciding the next ticks of every
account (quiet ones stored, orders committed as pending_submit), the orders sent, and ONE
transaction recording every result. The outcome is that of running the ticks one by one in
(candle, bot) order: bots of one account see each other's fills in that order.

Ticks that need more than that run through `core.trading.tick.run_bot_tick` unchanged, where they
fall in that order: pending orders to reconcile, a rerun of a candle that already has orders,
a live account or a paper account with resting limit orders, a candle the feed does not have,
a strategy that raises. The exactly-once order rules (pending_submit row committed before the
exchange call, deterministic client order id, reconciliation) hold on both paths.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from itertools import takewhile

from sqlalchemy import or_
from sqlmodel import col, select

from core.exchanges import Exchange, market_feed
from core.models import (
    AccountKind,
    Bot,
    BotOrder,
    ExchangeAccount,
    TickOutcome,
)
from core.platform.runtime import Runtime
from core.trading import round as engine_round
from core.trading import signal
from core.trading.orders import UNSETTLED
from core.trading.round import TickRef
from core.trading.signal import Signal
from core.trading.tick import run_bot_tick, skip_reason

log = logging.getLogger(__name__)


def run_ticks(
    rt: Runtime,
    ticks: Sequence[TickRef],
    *,
    worker_id: str = "",
    clock: Callable[[], int] | None = None,
    leases: dict[int, int] | None = None,
) -> dict[int, str]:
    """Run claimed ticks; returns tick id -> outcome (the same outcomes as `run_bot_tick`).
    `leases`: tick id -> the claim's fencing token; every write checks it."""
    ordered = sorted(ticks, key=lambda t: (t[2], t[1]))
    outcomes: dict[int, str] = {}
    alone: set[int] = set()
    exchanges: dict[int, Exchange] = {}
    try:
        quiet, account_of = _triage(rt, ordered, outcomes, alone)
        signals = _signals_for(rt, ordered, quiet, alone, clock)
        queues: dict[int, deque[TickRef]] = defaultdict(deque)
        for ref in ordered:
            if ref[0] not in outcomes:
                queues[account_of[ref[0]]].append(ref)
        while queues:
            _round(rt, queues, signals, alone, outcomes, exchanges, worker_id, clock, leases)
    except Exception:
        log.exception("batch of %d tick(s) failed; running the rest one by one", len(ticks))
        for tick_id, bot_id, candle_ts in ordered:
            if tick_id not in outcomes:
                outcomes[tick_id] = _run_one(
                    rt, (tick_id, bot_id, candle_ts), worker_id, clock, leases
                )
    finally:
        for exchange in exchanges.values():
            exchange.close()
    return outcomes


def _round(rt, queues, signals, alone, outcomes, exchanges, worker_id, clock, leases) -> None:
    """Plan and send every account's next ticks; then run the ticks that must run alone and
    now head their account's queue."""
    heads = {}
    for account, queue in queues.items():
        head = list(takewhile(lambda t: t[0] not in alone, queue))
        if head:
            heads[account] = head
    if heads:
        consumed, planned, must = engine_round.plan_round(rt, heads, signals, outcomes, leases)
        alone |= must
        for account, n in consumed.items():
            for _ in range(n):
                queues[account].popleft()
        engine_round.send_round(rt, planned, exchanges, outcomes, clock, leases)
    for account in list(queues):
        queue = queues[account]
        if queue and queue[0][0] in alone:
            ref = queue.popleft()
            outcomes[ref[0]] = _run_one(rt, ref, worker_id, clock, leases)
        if not queue:
            del queues[account]


def _run_one(rt, ref: TickRef, worker_id: str, clock, leases) -> str:
    tick_id, bot_id, candle_ts = ref
    lease = leases.get(tick_id) if leases is not None else None
    try:
        return run_bot_tick(
            rt, bot_id=bot_id, candle_ts=candle_ts, worker_id=worker_id, clock=clock, lease=lease
        )
    except Exception as exc:
        log.exception("bot %s: tick for %s crashed", bot_id, candle_ts)
        return TickOutcome.ERROR.text(type(exc).__name__)


Candidates = dict[int, tuple]  # tick id -> (bot, account), the columns below
_BOT = (
    Bot.id,
    Bot.status,
    Bot.last_candle_ts,
    Bot.account_id,
    Bot.symbol,
    Bot.timeframe,
    Bot.strategy,
    Bot.params,
)
_ACCOUNT = (ExchangeAccount.id, ExchangeAccount.kind, ExchangeAccount.exchange_id)


def _triage(rt, ticks, outcomes, alone: set[int]) -> tuple[Candidates, dict[int, int]]:
    """Split the batch: skipped (outcome now), on its own (`alone`) or quiet candidates."""
    bot_ids = [t[1] for t in ticks]
    candles = {t[2] for t in ticks}
    with rt.read() as s:
        bots = {b.id: b for b in s.exec(select(*_BOT).where(col(Bot.id).in_(bot_ids)))}
        account_ids = {b.account_id for b in bots.values()}
        accounts = {
            a.id: a
            for a in s.exec(select(*_ACCOUNT).where(col(ExchangeAccount.id).in_(account_ids)))
        }
        with_orders = set(
            s.exec(
                select(BotOrder.bot_id).where(
                    col(BotOrder.bot_id).in_(bot_ids),
                    or_(
                        col(BotOrder.status).in_(UNSETTLED),
                        col(BotOrder.candle_ts).in_(candles),
                    ),
                )
            ).all()
        )
        resting = engine_round.accounts_with_resting_orders(s, account_ids)
    seen: set[int] = set()
    quiet: Candidates = {}
    account_of: dict[int, int] = {}  # tick id -> account id, for the ticks still to run
    for tick_id, bot_id, candle_ts in ticks:
        bot = bots.get(bot_id)
        skipped = skip_reason(bot, candle_ts)
        if skipped:
            outcomes[tick_id] = skipped
        else:
            account_of[tick_id] = bot.account_id
            account = accounts.get(bot.account_id)
            simple = (
                account is not None and account.kind == AccountKind.PAPER and bot_id not in seen
            )
            if simple and bot_id not in with_orders and bot.account_id not in resting:
                quiet[tick_id] = (bot, account)
            else:
                alone.add(tick_id)
        seen.add(bot_id)
    return quiet, account_of


def _group_key(bot, account, candle_ts: int) -> tuple:
    return (account.exchange_id, bot.symbol, bot.timeframe, candle_ts, bot.strategy, bot.params)


def _signals_for(rt, ticks, quiet: Candidates, alone: set[int], clock) -> dict[int, Signal]:
    """The signal of each candidate, computed once per group. A group whose candles or
    strategy fail runs one by one (the single-tick path records the failure on each bot
    exactly as it always has)."""
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
            if signal is None:
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
    return signal.compute(
        rt,
        feed,
        symbol=symbol,
        timeframe=timeframe,
        candle_ts=candle_ts,
        strategy=name,
        params=raw,
        cached=True,
    )
