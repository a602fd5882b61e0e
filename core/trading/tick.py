"""One bot tick: candles -> signals -> risk -> order intents -> fills.

`run_bot_tick` is called by the worker once per (bot, closed candle). A tick's decisions are
made once: they are committed together with their order rows (pending_submit, deterministic
client ids) before anything is sent. A rerun of the same tick (a retry, a reclaimed tick after
a crash) only completes those orders through reconciliation; it never decides again, so a
signal can never produce a second order. Each fill is applied to the bot's state and its trade
rows in the same transaction that records the fill.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from sqlmodel import Session, col, select

from core import bots
from core.accounts import account_exchange
from core.errors import AppError, ExchangeTemporaryError, SecretUnreadable
from core.exchanges import Exchange, PaperExchange
from core.models import Bot, BotOrder, BotStatus, EventKind, OrderStatus, TickOutcome, utcnow
from core.platform.runtime import Runtime
from core.strategy import (
    BotState,
    Risk,
    decide,
    order_quote,
)
from core.trading import orders, signal
from core.trading.fills import on_filled

log = logging.getLogger(__name__)
MAX_FAILURES = 3  # ticks in a row with exchange errors before a bot goes to error


def run_bot_tick(
    rt: Runtime,
    *,
    bot_id: int,
    candle_ts: int,
    worker_id: str = "",
    clock: Callable[[], int] | None = None,
    lease: int | None = None,
) -> str:
    """Run the bot's step for the candle that opened at `candle_ts`. Returns a short outcome.
    `lease`: the claim's fencing token (the worker's ticks); every write checks it."""
    with rt.read() as session:
        bot = session.get(Bot, bot_id)
    skipped = skip_reason(bot, candle_ts)
    if skipped:
        return skipped
    try:
        exchange = account_exchange(rt, account_id=bot.account_id, clock=clock)
    except SecretUnreadable:  # the account is marked; pause every bot on it, this one too
        with rt.session() as session:
            bots.pause_for_key_reentry(session, account_id=bot.account_id)
        return TickOutcome.PAUSED.text("needs key re-entry")
    try:
        reconcile_bot(rt, exchange, bot_id, lease=lease)
        waiting = _unknown_order(rt, bot_id, candle_ts)
        if waiting:  # its fate decides the bot's position: no other order until then
            return TickOutcome.FAILED.text(f"waiting: order {waiting} state unknown")
        outcome = _decide_and_trade(rt, exchange, bot, candle_ts, lease)
    except orders.LeaseLost as exc:  # another worker holds the tick now: write nothing
        return TickOutcome.FAILED.text(exc.message)
    except ExchangeTemporaryError as exc:
        return record_failure(rt, bot_id, f"exchange unavailable: {exc.message}")
    except AppError as exc:
        return record_failure(rt, bot_id, exc.message, fatal=True)
    except Exception as exc:
        log.exception("bot %s: tick for %s failed", bot_id, candle_ts)
        return record_failure(
            rt, bot_id, f"{type(exc).__name__} in the strategy or engine", fatal=True
        )
    finally:
        exchange.close()
    return outcome


def skip_reason(bot, candle_ts: int) -> str | None:
    """The outcome of a tick that has nothing to do (`bot`: a row or its columns), else None."""
    if bot is None or bot.status != BotStatus.RUNNING:
        return TickOutcome.SKIPPED.text("not running")
    if bot.last_candle_ts is not None and candle_ts <= bot.last_candle_ts:
        return TickOutcome.SKIPPED.text("already done")
    return None


def mark_done(bot: Bot, candle_ts: int, now) -> None:
    """The tick for `candle_ts` is finished: never run again, the failure streak ends.
    (round.store_quiet writes the same three columns for many bots in one statement.)"""
    bot.last_candle_ts, bot.last_tick_at, bot.consecutive_failures = candle_ts, now, 0


def _feed(exchange: Exchange) -> Exchange:
    return exchange.feed if isinstance(exchange, PaperExchange) else exchange


def _unknown_order(rt: Runtime, bot_id: int, candle_ts: int) -> str | None:
    """The client id of an order of the bot, from another candle, sent and not settled."""
    with rt.read() as session:
        return session.exec(
            select(BotOrder.client_order_id).where(
                BotOrder.bot_id == bot_id,
                BotOrder.candle_ts != candle_ts,
                col(BotOrder.status).in_(orders.AWAITED),
            )
        ).first()


def _decide_and_trade(
    rt: Runtime, exchange: Exchange, bot: Bot, candle_ts: int, lease: int | None
) -> str:
    with rt.read() as session:
        already = session.exec(
            select(BotOrder.id).where(BotOrder.bot_id == bot.id, BotOrder.candle_ts == candle_ts)
        ).first()
    if already is None:
        found = signal.compute(
            rt,
            _feed(exchange),
            symbol=bot.symbol,
            timeframe=bot.timeframe,
            candle_ts=candle_ts,
            strategy=bot.strategy,
            params=bot.params,
        )
        if not _plan(rt, exchange, bot, candle_ts, found, lease):
            return TickOutcome.SKIPPED.text("not running")  # stopped or paused meanwhile
    with rt.read() as session:
        pending = [
            o.id
            for o in session.exec(
                select(BotOrder)
                .where(
                    BotOrder.bot_id == bot.id,
                    BotOrder.candle_ts == candle_ts,
                    BotOrder.status == OrderStatus.PENDING_SUBMIT,
                )
                .order_by(BotOrder.seq)
            )
        ]
    for order_id in pending:
        orders.send(
            rt.session,
            exchange,
            order_id,
            on_filled(bot.id),
            lease=lease,
            timeout_ms=rt.settings.exchange_timeout_ms,
        )
    with rt.session() as session:
        if lease is not None and not orders.holds(session, bot.id, candle_ts, lease):
            raise orders.LeaseLost(f"tick of bot {bot.id}: the lease was lost")
        row = session.get(Bot, bot.id)
        mark_done(row, candle_ts, utcnow())
        session.add(row)
    return TickOutcome.OK.text(f"{len(pending)} order(s)")


def _plan(rt, exchange: Exchange, bot: Bot, candle_ts: int, found: signal.Signal, lease) -> bool:
    """Decide once and commit the intents as pending_submit orders with the new state; False,
    nothing written, when the bot stopped or paused since the tick began (its status is read
    again under the row lock: a Stop that committed first is obeyed). `LeaseLost` when another
    worker holds the tick now."""
    cash = exchange.fetch_balance().get(found.market.quote)
    with rt.session() as session:
        if lease is not None and not orders.holds(session, bot.id, candle_ts, lease):
            raise orders.LeaseLost(f"tick of bot {bot.id}: the lease was lost")
        row = session.exec(select(Bot).where(Bot.id == bot.id).with_for_update()).one()
        if skip_reason(row, candle_ts):
            return False
        plan_in_session(
            session, row, candle_ts=candle_ts, found=found, free=cash.free if cash else 0.0
        )
    return True


def plan_in_session(
    session: Session,
    row: Bot,
    *,
    candle_ts: int,
    found: signal.Signal,
    free: float,
    flush: bool = True,
    fresh: bool = False,
) -> list[BotOrder]:
    """The decision of one tick inside the caller's write transaction (the bot row read for
    update): signal event, pending_submit order rows, new state, drawdown pause. With
    `flush=False` the orders get their ids at the caller's next flush; `fresh`: see
    `orders.prepare`."""
    entry, exit_signal, close = found.entry, found.exit, found.close
    state = BotState.loads(row.state)
    was_paused = state.paused
    intents = decide_tick(row, state, candle_ts=candle_ts, found=found, free=free)
    if entry or exit_signal:
        bots.add_event(
            session,
            bot=row,
            kind=EventKind.SIGNAL,
            message=f"{'entry' if entry else 'exit'} signal at close {close:g}",
        )
    created = []
    for seq, intent in enumerate(intents):
        trade_ids = [state.lots[i].trade_id for i in intent.lots]
        order = orders.prepare(
            session,
            bot_id=row.id,
            account_id=row.account_id,
            candle_ts=candle_ts,
            seq=seq,
            symbol=row.symbol,
            side=intent.side,
            amount=intent.amount,
            budget=intent.budget,
            purpose=intent.purpose,
            flush=flush,
            fresh=fresh,
        )
        order.detail = json.dumps({"trades": trade_ids, "level": intent.level})
        session.add(order)
        created.append(order)
        bots.add_event(
            session,
            bot=row,
            kind=EventKind.ORDER,
            message=_order_text(intent, row.symbol, found.market.quote),
            data={"client_order_id": order.client_order_id},
        )
    row.state = state.dumps()
    session.add(row)
    if state.paused and not was_paused:
        quote = found.market.quote
        reason = (
            f"max drawdown {row.max_drawdown_pct:g}% reached: the bot's equity is "
            f"{state.equity(found.close):,.2f} {quote}, its peak {state.peak_equity:,.2f} {quote} "
            f"(-{state.drawdown_pct(found.close):.1f}%)"
        )
        bots.set_status(
            session, bot=row, status=BotStatus.PAUSED, reason=reason, event=EventKind.RISK_PAUSE
        )
    return created


def decide_tick(
    row: Bot, state: BotState, *, candle_ts: int, found: signal.Signal, free: float
) -> list:
    """`decide` for a bot row on the candle of `found` with `free` quote (mutates `state`)."""
    return decide(
        state,
        ts=candle_ts,
        close=found.close,
        entry=found.entry,
        exit_signal=found.exit,
        mode=found.mode,
        params=found.params,
        risk=Risk.of(row),
        market=found.market,
        cash=free,
        order_quote=order_quote(row.order_size_type, row.order_size, free),
        fee_rate=found.market.taker_fee,
    )


def _order_text(intent, symbol: str, quote: str) -> str:
    if intent.budget is not None:  # sized at the fill price
        return f"{intent.side} {symbol} for {intent.budget:g} {quote} ({intent.purpose})"
    return f"{intent.side} {intent.amount:g} {symbol} ({intent.purpose})"


def reconcile_bot(rt: Runtime, exchange: Exchange, bot_id: int, *, lease: int | None = None) -> int:
    """Settle the bot's unsettled orders with the exchange (each not before its next check,
    none whose tick another worker holds); returns how many were looked at."""
    with rt.read() as session:
        unsettled = [o.id for o in orders.unsettled_orders(session, bot_id=bot_id)]
    for order_id in unsettled:
        orders.reconcile_order(rt.session, exchange, order_id, on_filled(bot_id), lease=lease)
    return len(unsettled)


def reconcile_all(rt: Runtime, *, clock: Callable[[], int] | None = None) -> int:
    """At worker start: settle the unsettled orders of every bot whose tick no live lease holds
    (a running batch's orders are its own; errors logged, not raised)."""
    with rt.read() as session:
        bot_ids = sorted({o.bot_id for o in orders.unsettled_orders(session)})
    settled = 0
    for bot_id in bot_ids:
        with rt.read() as session:
            bot = session.get(Bot, bot_id)
        try:
            exchange = account_exchange(rt, account_id=bot.account_id, clock=clock)
            try:
                settled += reconcile_bot(rt, exchange, bot_id)
            finally:
                exchange.close()
        except AppError as exc:
            log.warning("bot %s: reconciliation postponed (%s)", bot_id, exc.message)
    return settled


def record_failure(rt: Runtime, bot_id: int, reason: str, *, fatal: bool = False) -> str:
    with rt.session() as session:
        bot = session.get(Bot, bot_id)
        bot.consecutive_failures += 1
        session.add(bot)
        bots.add_event(session, bot=bot, kind=EventKind.ERROR, message=reason)
        if fatal or bot.consecutive_failures >= MAX_FAILURES:
            bots.set_status(session, bot=bot, status=BotStatus.ERROR, reason=reason)
            return TickOutcome.ERROR.text(reason)
    return TickOutcome.FAILED.text(reason)


def market_lookup(rt: Runtime):
    """For core.bots: the markets of an account's exchange (the sim feed needs no network)."""
    from core.exchanges import market_feed

    return lambda account: market_feed(account.exchange_id, settings=rt.settings).load_markets()
