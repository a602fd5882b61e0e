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

import numpy as np
from sqlmodel import Session, select

from core import bots
from core.accounts import account_exchange
from core.candles import MAX_LIMIT, closed_candles
from core.errors import AppError, ExchangeTemporaryError, SecretUnreadable
from core.exchanges import Exchange, Market, PaperExchange, timeframe_ms
from core.models import Bot, BotOrder, Trade, utcnow
from core.platform.runtime import Runtime
from core.strategy import BotState, Intent, Risk, close_lots, decide, get_strategy, open_lot
from core.trading import orders

log = logging.getLogger(__name__)
MAX_FAILURES = 3  # ticks in a row with exchange errors before a bot goes to error


def run_bot_tick(
    rt: Runtime,
    *,
    bot_id: int,
    candle_ts: int,
    worker_id: str = "",
    clock: Callable[[], int] | None = None,
) -> str:
    """Run the bot's step for the candle that opened at `candle_ts`. Returns a short outcome."""
    with rt.read() as session:
        bot = session.get(Bot, bot_id)
    if bot is None or bot.status != "running":
        return "skipped: not running"
    if bot.last_candle_ts is not None and candle_ts <= bot.last_candle_ts:
        return "skipped: already done"
    try:
        exchange = account_exchange(rt, account_id=bot.account_id, clock=clock)
    except SecretUnreadable:
        _set_status(rt, bot_id, "paused", "needs key re-entry")
        return "paused: needs key re-entry"
    try:
        reconcile_bot(rt, exchange, bot_id)
        outcome = _decide_and_trade(rt, exchange, bot, candle_ts)
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


def _feed(exchange: Exchange) -> Exchange:
    return exchange.feed if isinstance(exchange, PaperExchange) else exchange


def _decide_and_trade(rt: Runtime, exchange: Exchange, bot: Bot, candle_ts: int) -> str:
    with rt.read() as session:
        already = session.exec(
            select(BotOrder.id).where(BotOrder.bot_id == bot.id, BotOrder.candle_ts == candle_ts)
        ).first()
    if already is None:
        strategy = get_strategy(bot.strategy)
        params = strategy.validate(json.loads(bot.params or "{}"))
        window = strategy.window(params)
        step = timeframe_ms(bot.timeframe)
        candles = closed_candles(
            rt,
            _feed(exchange),
            symbol=bot.symbol,
            timeframe=bot.timeframe,
            limit=min(window, MAX_LIMIT),
            now_ms=candle_ts + step,
        )
        if not candles or candles[-1].ts != candle_ts:
            raise ExchangeTemporaryError(
                f"the {bot.timeframe} candle at {candle_ts} is not available"
            )
        closes = np.fromiter((c.close for c in candles), dtype=float, count=len(candles))
        entry, exit_signal = strategy.last_signal(closes, params)
        _plan(rt, exchange, bot, candle_ts, closes[-1], entry, exit_signal, strategy.mode, params)
    with rt.read() as session:
        pending = [
            o.id
            for o in session.exec(
                select(BotOrder)
                .where(
                    BotOrder.bot_id == bot.id,
                    BotOrder.candle_ts == candle_ts,
                    BotOrder.status == "pending_submit",
                )
                .order_by(BotOrder.seq)
            )
        ]
    for order_id in pending:
        orders.send(rt.session, exchange, order_id, on_filled(bot.id))
    with rt.session() as session:
        row = session.get(Bot, bot.id)
        row.last_candle_ts = candle_ts
        row.last_tick_at = utcnow()
        row.consecutive_failures = 0
        session.add(row)
    return f"ok: {len(pending)} order(s)"


def _plan(rt, exchange, bot, candle_ts, close, entry, exit_signal, mode, params) -> None:
    """Decide once and commit the intents as pending_submit orders with the new state."""
    market = exchange.market(bot.symbol)
    cash = exchange.fetch_balance().get(market.quote)
    free = cash.free if cash else 0.0
    with rt.session() as session:
        row = session.exec(select(Bot).where(Bot.id == bot.id).with_for_update()).one()
        plan_in_session(
            session,
            row,
            candle_ts=candle_ts,
            close=close,
            signal=(entry, exit_signal),
            mode=mode,
            params=params,
            market=market,
            free=free,
        )


def plan_in_session(
    session: Session,
    row: Bot,
    *,
    candle_ts: int,
    close: float,
    signal: tuple[bool, bool],
    mode: str,
    params: dict,
    market: Market,
    free: float,
    flush: bool = True,
) -> list[BotOrder]:
    """The decision of one tick inside the caller's write transaction (the bot row read for
    update): signal event, pending_submit order rows, new state, drawdown pause. With
    `flush=False` the orders get their ids at the caller's next flush."""
    entry, exit_signal = signal
    quote = row.order_size if row.order_size_type == "quote" else free * row.order_size / 100
    state = BotState.from_dict(json.loads(row.state or "{}"))
    was_paused = state.paused
    intents = decide(
        state,
        ts=candle_ts,
        close=float(close),
        entry=entry,
        exit_signal=exit_signal,
        mode=mode,
        params=params,
        risk=Risk.of(row),
        market=market,
        cash=free,
        order_quote=quote,
        fee_rate=market.taker_fee,
    )
    if entry or exit_signal:
        bots.add_event(
            session,
            bot=row,
            kind="signal",
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
            purpose=intent.purpose,
            flush=flush,
        )
        order.detail = json.dumps({"trades": trade_ids, "level": intent.level})
        session.add(order)
        created.append(order)
        bots.add_event(
            session,
            bot=row,
            kind="order",
            message=f"{intent.side} {intent.amount:g} {row.symbol} ({intent.purpose})",
            data={"client_order_id": order.client_order_id},
        )
    row.state = json.dumps(state.to_dict())
    session.add(row)
    if state.paused and not was_paused:
        reason = f"max drawdown {row.max_drawdown_pct:g}% reached"
        bots.set_status(session, bot=row, status="paused", reason=reason)
    return created


def on_filled(
    bot_id: int, *, locked: bool = False, new_trades: list | None = None
) -> orders.OnFilled:
    """Apply a fill to the bot's lots and trades (in the transaction recording the fill).

    `locked`: the caller has read the bot row for update in this session already.
    `new_trades`: a buy's Trade row is not flushed for its id here; (bot, trade) is appended
    and the caller flushes once and calls `link_new_trades` (batches: one buy per bot)."""

    def apply(session: Session, order: BotOrder) -> None:
        if locked:
            bot = session.get(Bot, bot_id)
        else:
            bot = session.exec(select(Bot).where(Bot.id == bot_id).with_for_update()).one()
        state = BotState.from_dict(json.loads(bot.state or "{}"))
        detail = json.loads(order.detail or "{}")
        strategy = get_strategy(bot.strategy)
        params = strategy.validate(json.loads(bot.params or "{}"))
        price, amount = float(order.average), float(order.filled)
        fill_ts = order.candle_ts + timeframe_ms(bot.timeframe)
        if order.side == "buy":
            intent = Intent("buy", order.purpose, amount, level=detail.get("level"))
            lot = open_lot(
                state,
                intent,
                amount=amount,
                price=price,
                fee=order.fee,
                ts=fill_ts,
                mode=strategy.mode,
                params=params,
            )
            trade = Trade(
                bot_id=bot.id,
                symbol=bot.symbol,
                amount=amount,
                entry_ts=fill_ts,
                entry_price=price,
                entry_fee=order.fee,
                entry_order_id=order.id,
            )
            session.add(trade)
            if new_trades is None:
                session.flush()
                lot.trade_id = trade.id
            else:
                new_trades.append((bot, trade))
        else:
            wanted = set(detail.get("trades") or [])
            idx = tuple(i for i, lot in enumerate(state.lots) if lot.trade_id in wanted)
            intent = Intent("sell", order.purpose, amount, idx)
            for lot, fee, pnl in close_lots(
                state,
                intent,
                price=price,
                fee=order.fee,
                ts=fill_ts,
                cooldown_ms=bot.cooldown_minutes * 60_000,
            ):
                trade = session.get(Trade, lot.trade_id)
                trade.status, trade.exit_ts, trade.exit_price = "closed", fill_ts, price
                trade.exit_fee, trade.pnl, trade.exit_reason = fee, pnl, order.purpose
                trade.exit_order_id = order.id
                session.add(trade)
        bot.state = json.dumps(state.to_dict())
        session.add(bot)
        bots.add_event(
            session,
            bot=bot,
            kind="fill",
            message=f"{order.side} {amount:g} {bot.symbol} at {price:g}",
            data={"client_order_id": order.client_order_id, "fee": order.fee},
        )

    return apply


def link_new_trades(session: Session, new_trades: list) -> None:
    """After `on_filled(new_trades=...)`: flush once, then give each new lot its trade id."""
    session.flush()
    for bot, trade in new_trades:
        state = BotState.from_dict(json.loads(bot.state or "{}"))
        opened = (trade.entry_ts, trade.amount)
        for lot in state.lots:  # the lot this buy opened: the first one without a trade
            if lot.trade_id is None and (lot.entry_ts, lot.amount) == opened:
                lot.trade_id = trade.id
                break
        bot.state = json.dumps(state.to_dict())
        session.add(bot)


def reconcile_bot(rt: Runtime, exchange: Exchange, bot_id: int) -> int:
    """Settle the bot's pending_submit orders with the exchange; returns how many."""
    with rt.read() as session:
        pending = [o.id for o in orders.pending_orders(session, bot_id=bot_id)]
    for order_id in pending:
        orders.reconcile_order(rt.session, exchange, order_id, on_filled(bot_id))
    return len(pending)


def reconcile_all(rt: Runtime, *, clock: Callable[[], int] | None = None) -> int:
    """At worker start: settle every pending order of every bot (errors logged, not raised)."""
    with rt.read() as session:
        bot_ids = sorted({o.bot_id for o in orders.pending_orders(session)})
    settled = 0
    for bot_id in bot_ids:
        with rt.read() as session:
            bot = session.get(Bot, bot_id)
        try:
            exchange = account_exchange(rt, account_id=bot.account_id, clock=clock)
            settled += reconcile_bot(rt, exchange, bot_id)
        except AppError as exc:
            log.warning("bot %s: reconciliation postponed (%s)", bot_id, exc.message)
    return settled


def record_failure(rt: Runtime, bot_id: int, reason: str, *, fatal: bool = False) -> str:
    with rt.session() as session:
        bot = session.get(Bot, bot_id)
        bot.consecutive_failures += 1
        session.add(bot)
        bots.add_event(session, bot=bot, kind="error", message=reason)
        if fatal or bot.consecutive_failures >= MAX_FAILURES:
            bots.set_status(session, bot=bot, status="error", reason=reason)
            return f"error: {reason}"
    return f"failed: {reason}"


def _set_status(rt: Runtime, bot_id: int, status: str, reason: str) -> None:
    with rt.session() as session:
        bots.set_status(session, bot=session.get(Bot, bot_id), status=status, reason=reason)


def market_lookup(rt: Runtime):
    """For core.bots: the markets of an account's exchange (the sim feed needs no network)."""
    from core.exchanges import market_feed

    return lambda account: market_feed(account.exchange_id, settings=rt.settings).load_markets()
