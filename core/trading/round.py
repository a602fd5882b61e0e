"""One round of a batch of ticks (see core.trading.batch): decide, send, record — many bots at once.

A round takes, for each paper account, its next ticks in (candle, bot) order and decides them
in ONE write transaction, with every bot row and the account's cash read under the write lock:

- a quiet tick (no signal, no intent, no new pause) stores its new state and `last_candle_ts`
  (one executemany for all of them);
- any other tick goes through `core.trading.tick.plan_in_session`, the single-tick decision: signal
  and order events, pending_submit order rows with deterministic client ids, new state, pause.
  A tick that placed orders ends its account's share of the round: its fills change the cash
  the account's next bots must see, as they would one by one.

After that commit the orders are sent (the exchange deduplicates the client ids; a crash here
leaves pending_submit rows for reconciliation, never a second order), and every result is
recorded in ONE more write transaction with the fills applied to the bots (`on_filled`) and
their `last_candle_ts`. Outcomes are the single-tick path's.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from core.accounts import account_exchange
from core.errors import AppError, ExchangeTemporaryError, InsufficientFunds, OrderRejected
from core.exchanges import (
    Exchange,
    MarketOrder,
    OrderResult,
    market_feed,
    place_market_orders,
)
from core.models import (
    AccountKind,
    Bot,
    BotOrder,
    ExchangeAccount,
    OrderStatus,
    PaperBalance,
    PaperOrder,
    TickOutcome,
    utcnow,
)
from core.strategy import BotState
from core.trading import scheduler
from core.trading import tick as engine
from core.trading.fills import link_new_trades, on_filled
from core.trading.orders import record_result
from core.trading.signal import Signal

log = logging.getLogger(__name__)
QUIET = TickOutcome.OK.text("0 order(s)")
LEASE_LOST = TickOutcome.FAILED.text("the tick's lease was lost")
TickRef = tuple[int, int, int]  # (tick id, bot id, candle ts)


@dataclass
class Planned:
    """A tick whose orders were committed as pending_submit in the planning transaction."""

    tick: TickRef
    account_id: int
    # (id, symbol, side, type, amount, price, budget, cid) of each order
    orders: list[tuple] = field(default_factory=list)


# What deciding a tick reads of a bot (the full row is loaded only for ticks that trade).
_DECIDE_COLUMNS = (
    Bot.id,
    Bot.status,
    Bot.last_candle_ts,
    Bot.state,
    Bot.account_id,
    Bot.order_size_type,
    Bot.order_size,
    Bot.take_profit_pct,
    Bot.stop_loss_pct,
    Bot.trailing_stop_pct,
    Bot.max_open_positions,
    Bot.max_drawdown_pct,
    Bot.cooldown_minutes,
)


def accounts_with_resting_orders(session, account_ids) -> set[int]:
    """Paper accounts with open limit orders: their balance needs settling first (one by one)."""
    query = select(PaperOrder.account_id).where(
        col(PaperOrder.account_id).in_(account_ids),
        PaperOrder.status == "open",
        PaperOrder.type == "limit",
    )
    return set(session.exec(query.distinct()).all())


def plan_round(
    rt,
    heads: dict[int, list[TickRef]],
    signals: dict[int, Signal],
    outcomes: dict[int, str],
    leases: dict[int, int] | None = None,
) -> tuple[dict[int, int], list[Planned], set[int]]:
    """Decide the accounts' next ticks in one transaction. Returns how many ticks of each
    account's head were settled or planned, the planned ticks, and ticks that must run alone.
    With `leases`, a tick whose lease was lost is left alone: nothing is written for it."""
    bot_ids = [t[1] for refs in heads.values() for t in refs]
    now = utcnow()
    consumed: dict[int, int] = {}
    planned: list[Planned] = []
    alone: set[int] = set()
    settled: dict[int, str] = {}
    made: list[tuple[Planned, list[BotOrder]]] = []
    with rt.session() as s, s.no_autoflush:
        query = select(*_DECIDE_COLUMNS).where(col(Bot.id).in_(bot_ids)).order_by(Bot.id)
        rows = {r.id: r for r in s.exec(query.with_for_update())}
        resting = accounts_with_resting_orders(s, list(heads))
        balances = select(PaperBalance).where(col(PaperBalance.account_id).in_(list(heads)))
        cash = {(b.account_id, b.asset): b.free for b in s.exec(balances)}
        lost = _lost(s, [t[0] for refs in heads.values() for t in refs], leases)
        states = {  # tick id -> the new state JSON of a quiet tick, None for one that trades
            tick_id: quiet_state(rows[bot_id], signals[tick_id], candle_ts, cash)
            for account_id, refs in heads.items()
            if account_id not in resting
            for tick_id, bot_id, candle_ts in refs
            if tick_id not in lost and not engine.skip_reason(rows.get(bot_id), candle_ts)
        }
        whole = _whole_bots(s, [t[1] for t in _refs(heads) if states.get(t[0], "") is None])
        quiet: list[dict] = []
        for account_id, refs in heads.items():
            consumed[account_id] = 0
            for ref in refs:
                tick_id, bot_id, candle_ts = ref
                row = rows.get(bot_id)
                skipped = engine.skip_reason(row, candle_ts)
                if tick_id in lost:
                    settled[tick_id] = LEASE_LOST
                elif skipped:
                    settled[tick_id] = skipped
                elif account_id in resting:
                    alone.add(tick_id)
                    break
                else:
                    signal = signals[tick_id]
                    state = states[tick_id]
                    if state is not None:
                        quiet.append({"b_id": bot_id, "b_state": state, "b_ts": candle_ts})
                        settled[tick_id] = QUIET
                    else:
                        new = _plan(s, whole[bot_id], signal, candle_ts, cash, now)
                        if new:
                            made.append((Planned(ref, account_id), new))
                            consumed[account_id] += 1
                            break
                        settled[tick_id] = QUIET
                consumed[account_id] += 1
        _store_quiet(s, quiet, now)
        s.flush()  # the new orders get their ids
        for plan, new in made:
            plan.orders = [
                (o.id, o.symbol, o.side, o.type, o.amount, o.price, o.budget, o.client_order_id)
                for o in new
            ]
            planned.append(plan)
    outcomes.update(settled)  # only once committed
    return consumed, planned, alone


def _refs(heads: dict[int, list[TickRef]]) -> list[TickRef]:
    return [ref for refs in heads.values() for ref in refs]


def _whole_bots(s, bot_ids: list[int]) -> dict[int, Bot]:
    """The bots whose tick trades this round, loaded whole in one statement (a quiet tick
    needs only the decide columns). Held here: the session's identity map keeps only weak
    references, and the fills find them there."""
    if not bot_ids:
        return {}
    query = select(Bot).where(col(Bot.id).in_(bot_ids)).order_by(Bot.id).with_for_update()
    return {b.id: b for b in s.exec(query)}


def _lost(session, tick_ids: list[int], leases: dict[int, int] | None) -> set[int]:
    """The ticks among `tick_ids` whose lease is no longer ours (none without leases)."""
    if leases is None:
        return set()
    mine = {t: leases[t] for t in tick_ids if t in leases}
    return set(tick_ids) - scheduler.held(session, mine)


def quiet_state(row: Bot, signal: Signal, candle_ts: int, cash: dict) -> str | None:
    """The bot's new state JSON when this tick is quiet, else None."""
    if signal.entry or signal.exit:
        return None  # the signal is logged, by plan_in_session
    state = BotState.loads(row.state)
    was_paused = state.paused
    free = cash.get((row.account_id, signal.market.quote), 0.0)
    intents = engine.decide_tick(row, state, candle_ts=candle_ts, found=signal, free=free)
    if intents or (state.paused and not was_paused):
        return None
    return state.dumps()


def _plan(session, row: Bot, signal: Signal, candle_ts: int, cash: dict, now) -> list[BotOrder]:
    made = engine.plan_in_session(
        session,
        row,
        candle_ts=candle_ts,
        found=signal,
        free=cash.get((row.account_id, signal.market.quote), 0.0),
        flush=False,
        fresh=True,  # the batch runs alone any tick whose candle has orders (batch._triage)
    )
    if not made:  # decided, nothing to send: the tick is done
        engine.mark_done(row, candle_ts, now)
        session.add(row)
    return made


def _store_quiet(session, quiet: list[dict], now) -> None:
    if not quiet:
        return
    stmt = (
        update(Bot)
        .where(Bot.id == bindparam("b_id"))
        .values(
            state=bindparam("b_state"),
            last_candle_ts=bindparam("b_ts"),
            last_tick_at=now,
            consecutive_failures=0,
        )
        .execution_options(synchronize_session=False)
    )
    session.connection().execute(stmt, quiet)


def send_round(
    rt,
    planned: list[Planned],
    exchanges: dict[int, Exchange],
    outcomes: dict[int, str],
    clock,
    leases: dict[int, int] | None = None,
) -> None:
    """Send the planned orders, then record every result in one transaction (only for the
    ticks whose lease is still ours: the others' new holders reconcile their orders; a paper
    order is placed once whoever sends it, by its client id)."""
    if not planned:
        return
    results: dict[int, OrderResult | str] = {}  # a str: the rejection
    failures: dict[int, tuple[str, bool]] = {}  # tick id -> (reason, fatal)
    for plan in _send_paper_market(rt, planned, results, failures, clock):
        try:
            if plan.account_id not in exchanges:
                exchanges[plan.account_id] = account_exchange(
                    rt, account_id=plan.account_id, clock=clock
                )
            _send(exchanges[plan.account_id], plan, results)
        except ExchangeTemporaryError as exc:
            failures[plan.tick[0]] = (f"exchange unavailable: {exc.message}", False)
        except AppError as exc:
            failures[plan.tick[0]] = (exc.message, True)
        except Exception as exc:
            log.exception("bot %s: sending the orders of %s failed", *plan.tick[1:])
            failures[plan.tick[0]] = (f"{type(exc).__name__} in the strategy or engine", True)
    now = utcnow()
    with rt.session() as s, s.no_autoflush:
        # Every row at once (bots for update), so the loop below reads nothing.
        bot_ids = sorted(p.tick[1] for p in planned)
        bots = {
            b.id: b
            for b in s.exec(
                select(Bot).where(col(Bot.id).in_(bot_ids)).order_by(Bot.id).with_for_update()
            )
        }
        order_ids = [o[0] for p in planned for o in p.orders]
        rows = {o.id: o for o in s.exec(select(BotOrder).where(col(BotOrder.id).in_(order_ids)))}
        new_trades: list = []
        lost = _lost(s, [p.tick[0] for p in planned], leases)
        for plan in planned:
            if plan.tick[0] in lost:
                continue
            _record(s, plan, results, rows, new_trades)
            if plan.tick[0] not in failures:
                bot = bots[plan.tick[1]]
                engine.mark_done(bot, plan.tick[2], now)
                s.add(bot)
        link_new_trades(s, new_trades)
    for plan in planned:
        tick_id, bot_id, _candle = plan.tick
        if tick_id in lost:
            outcomes[tick_id] = LEASE_LOST
        elif tick_id in failures:
            reason, fatal = failures[tick_id]
            outcomes[tick_id] = engine.record_failure(rt, bot_id, reason, fatal=fatal)
        else:
            outcomes[tick_id] = TickOutcome.OK.text(f"{len(plan.orders)} order(s)")


def _send_paper_market(rt, planned, results, failures, clock) -> list[Planned]:
    """Market orders of paper accounts: one transaction per price feed (core.exchanges.
    paper_bulk). Returns the plans left for the exchange-by-exchange path."""
    if not planned:
        return []
    with rt.read() as s:
        query = select(ExchangeAccount.id, ExchangeAccount.exchange_id).where(
            col(ExchangeAccount.id).in_({p.account_id for p in planned}),
            ExchangeAccount.kind == AccountKind.PAPER,
        )
        feed_of = dict(s.exec(query).all())
    rest, by_feed = [], defaultdict(list)
    for plan in planned:
        if plan.account_id in feed_of and all(o[3] == "market" for o in plan.orders):
            by_feed[feed_of[plan.account_id]].append(plan)
        else:
            rest.append(plan)
    for feed_id, plans in by_feed.items():
        requests = [
            MarketOrder(p.account_id, o[1], o[2], o[4], o[7], budget=o[6])
            for p in plans
            for o in p.orders
        ]
        feed = market_feed(feed_id, settings=rt.settings, clock=clock)
        try:
            got = iter(place_market_orders(rt, feed, requests, clock=clock or _now_ms))
        except (AppError, IntegrityError) as exc:
            log.warning("paper orders on %s in one go failed (%r); one by one", feed_id, exc)
            rest.extend(plans)
            continue
        finally:
            feed.close()
        for plan in plans:
            outcomes = [next(got) for _ in plan.orders]
            if any(o is None for o in outcomes):  # resting limit orders: settle them first
                rest.append(plan)
                continue
            for (order_id, *_x, cid), outcome in zip(plan.orders, outcomes, strict=True):
                if isinstance(outcome, OrderRejected | InsufficientFunds):
                    log.info("order %s rejected: %s", cid, outcome.message)
                    results[order_id] = outcome.message
                elif isinstance(outcome, AppError):
                    failures[plan.tick[0]] = (outcome.message, True)
                else:
                    results[order_id] = outcome
    return rest


def _now_ms() -> int:
    return int(time.time() * 1000)


def _send(exchange: Exchange, plan: Planned, results: dict) -> None:
    """As core.trading.orders.send, in the bot's order sequence; a temporary error stops the bot's
    remaining orders (they stay pending_submit for reconciliation) and is re-raised."""
    for order_id, symbol, side, type_, amount, price, budget, cid in plan.orders:
        try:
            results[order_id] = exchange.create_order(
                symbol=symbol,
                side=side,
                type=type_,
                amount=amount,
                price=price,
                client_order_id=cid,
                budget=budget,
            )
        except (OrderRejected, InsufficientFunds) as exc:
            log.info("order %s rejected: %s", cid, exc.message)
            results[order_id] = exc.message
        except ExchangeTemporaryError:
            log.warning(
                "order %s state unknown after a temporary error; reconciliation decides", cid
            )
            raise


def _record(session, plan: Planned, results: dict, rows: dict, new_trades: list) -> None:
    apply_fill = on_filled(plan.tick[1], locked=True, new_trades=new_trades)
    for order_id, *_rest in plan.orders:
        if order_id not in results:
            continue
        order = rows[order_id]
        if order.status != OrderStatus.PENDING_SUBMIT:
            continue  # settled meanwhile (reconciliation)
        result = results[order_id]
        if isinstance(result, str):
            order.status, order.error, order.updated_at = "rejected", result[:500], utcnow()
            session.add(order)
            continue
        record_result(session, order, result)
        if result.status == "closed":
            apply_fill(session, order)
