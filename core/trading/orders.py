"""Orders exactly once.

1. Before an order is sent, its row is committed as `pending_submit` with a deterministic
   client order id (bot, candle, sequence), together with the decision that made it.
2. The lease holder commits it as `sending`, with the database-clock time and a deadline (the
   request timeout plus the venue's visibility window), then sends it once with that id.
3. The answer is recorded. No answer (timeout, lost response, 5xx) leaves it `unknown`: never
   resent on the spot, since a request that timed out may still be executing, or executed and
   not yet visible, and venues such as Binance accept a filled order's client id again.
4. `reconcile_order` settles `pending_submit`, `sending` and `unknown` orders by looking the
   client id up, with backoff. Found: recorded. Not found: still `unknown` until the deadline
   has passed (a `pending_submit` order has no deadline: it was never sent), then
   `never_placed`. While a bot has an unknown order it places no other (core.trading.tick).

Every write for a tick that runs under a claim checks its lease (`scheduler.held`) in the same
transaction, so a worker that lost its lease can neither send nor record; the new holder
reconciles instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlmodel import Session, col, select

from core.errors import AppError, ExchangeTemporaryError
from core.exchanges import Exchange, OrderResult
from core.models import BotOrder, OrderStatus, utcnow
from core.platform.db import read_now_ms
from core.trading import scheduler

log = logging.getLogger(__name__)
OnFilled = Callable[[Session, BotOrder], None]
# Orders whose outcome is still to be learnt from the exchange. OPEN is here because every order
# the engine places is a market order: most venues answer a create with an acknowledgement
# only, so an open market order is looked up (with backoff) until it is filled or cancelled.
UNSETTLED = (
    OrderStatus.PENDING_SUBMIT,
    OrderStatus.SENDING,
    OrderStatus.UNKNOWN,
    OrderStatus.OPEN,
)
AWAITED = (OrderStatus.SENDING, OrderStatus.UNKNOWN, OrderStatus.OPEN)  # sent, outcome unknown
BACKOFF_MS = (1_000, 2_000, 4_000, 8_000, 15_000, 30_000)  # between look-ups of an unknown
DEADLINE_MARGIN_MS = 2_000


class LeaseLost(ExchangeTemporaryError):
    """The tick's lease passed to another worker: this one must not send or record."""


def client_order_id(bot_id: int, candle_ts: int, seq: int) -> str:
    """Deterministic and short enough for every exchange (Binance allows 36 characters)."""
    return f"sb-{bot_id}-{candle_ts // 1000}-{seq}"


def prepare(
    session: Session,
    *,
    bot_id: int,
    account_id: int,
    candle_ts: int,
    seq: int,
    symbol: str,
    side: str,
    amount: float,
    purpose: str,
    price: float | None = None,
    budget: float | None = None,
    flush: bool = True,
    fresh: bool = False,
) -> BotOrder:
    """The order row for this (bot, candle, seq): the existing one, or a new pending_submit
    (flushed, so it has its id, unless the caller flushes many at once). `fresh`: the caller
    knows the candle has no order of this bot yet (a batch, under its lease), so none is looked
    up; the unique client order id still refuses a second row."""
    cid = client_order_id(bot_id, candle_ts, seq)
    if not fresh:
        existing = session.exec(select(BotOrder).where(BotOrder.client_order_id == cid)).first()
        if existing is not None:
            return existing
    order = BotOrder(
        bot_id=bot_id,
        account_id=account_id,
        client_order_id=cid,
        candle_ts=candle_ts,
        seq=seq,
        symbol=symbol,
        side=side,
        amount=amount,
        price=price,
        budget=budget,
        purpose=purpose,
        type="limit" if price is not None else "market",
    )
    session.add(order)
    if flush:
        session.flush()
    return order


def record_result(session: Session, order: BotOrder, result: OrderResult) -> None:
    if order.budget is not None and result.amount > 0:  # sized at the fill: the real amount
        order.amount = result.amount
    order.status = result.status
    order.exchange_order_id = result.exchange_order_id
    order.filled = result.filled
    order.average = result.average
    order.cost = result.cost
    order.fee = result.fee
    order.fee_currency = result.fee_currency or ""
    order.check_after_ms = None
    order.updated_at = utcnow()
    session.add(order)


def _locked(session: Session, order_id: int) -> BotOrder:
    query = select(BotOrder).where(BotOrder.id == order_id).with_for_update()
    return session.exec(query.execution_options(populate_existing=True)).one()


def _fenced(session: Session, order: BotOrder, lease: int | None) -> bool:
    """May this caller write the order? With `lease` (a claimed tick): only while that lease
    still holds the order's tick. Without (start-up reconciliation, tools): only while no live
    lease holds it. The tick row stays locked until the caller commits."""
    live = scheduler.tick_lease(session, bot_id=order.bot_id, candle_ts=order.candle_ts)
    return live is None if lease is None else live == lease


def holds(session: Session, bot_id: int, candle_ts: int, lease: int) -> bool:
    """Whether `lease` still holds the bot's tick for that candle (locked until commit)."""
    return scheduler.tick_lease(session, bot_id=bot_id, candle_ts=candle_ts) == lease


def deadline_after_ms(exchange: Exchange, timeout_ms: int) -> int:
    """How long after sending an order that is not found may still appear at the venue: a
    request held in transit is executed as long as the venue accepts its timestamp (our
    client may have given up long before), then it may take the visibility window to show."""
    late_ms = max(timeout_ms, int(exchange.late_request_s * 1000))
    return late_ms + int(exchange.visibility_window_s * 1000) + DEADLINE_MARGIN_MS


def send(
    session_factory,
    exchange: Exchange,
    order_id: int,
    on_filled: OnFilled,
    *,
    lease: int | None = None,
    timeout_ms: int = 0,
) -> BotOrder:
    """Send a committed pending_submit order once and record the outcome.

    `on_filled(session, order)` runs in the transaction that records a fill, so the bot's
    position and the order never disagree. No answer leaves the order `unknown` and raises
    the temporary error; `LeaseLost` when this worker no longer holds the tick."""
    with session_factory() as session:
        order = _locked(session, order_id)
        if order.status != OrderStatus.PENDING_SUBMIT:
            return order
        if not _fenced(session, order, lease):
            raise LeaseLost(f"order {order.client_order_id}: the tick's lease was lost")
        now = read_now_ms(session)
        order.status, order.sent_at_ms = OrderStatus.SENDING, now
        order.deadline_ms = now + deadline_after_ms(exchange, timeout_ms)
        session.add(order)
        fields = (order.symbol, order.side, order.type, order.amount, order.price, order.budget)
        cid = order.client_order_id
    symbol, side, type_, amount, price, budget = fields
    try:
        result = exchange.create_order(
            symbol=symbol,
            side=side,
            type=type_,
            amount=amount,
            price=price,
            client_order_id=cid,
            budget=budget,
        )
    except ExchangeTemporaryError:
        with session_factory() as session:
            order = _locked(session, order_id)
            if order.status == OrderStatus.SENDING and _fenced(session, order, lease):
                _check_later(session, order)
        log.warning("order %s: no answer; unknown until found or its deadline passes", cid)
        raise
    except AppError as exc:  # refused: by the exchange, or before any request was made
        with session_factory() as session:
            order = _locked(session, order_id)
            if order.status == OrderStatus.SENDING and _fenced(session, order, lease):
                order.status, order.error = OrderStatus.REJECTED, exc.message[:500]
                order.updated_at = utcnow()
                session.add(order)
        log.info("order %s rejected: %s", cid, exc.message)
        return order
    return _finish(session_factory, order_id, result, on_filled, lease=lease)


def _check_later(session: Session, order: BotOrder, status=OrderStatus.UNKNOWN) -> None:
    now = read_now_ms(session)
    order.status = status
    order.check_after_ms = now + BACKOFF_MS[min(order.checks, len(BACKOFF_MS) - 1)]
    order.checks += 1
    order.updated_at = utcnow()
    session.add(order)


def _finish(
    session_factory, order_id: int, result: OrderResult, on_filled: OnFilled, *, lease=None
) -> BotOrder:
    with session_factory() as session:
        order = _locked(session, order_id)
        if not _fenced(session, order, lease):
            log.warning("order %s: lease lost; the tick's new holder records it", order_id)
            return order
        was_filled = order.status == OrderStatus.CLOSED
        record_result(session, order, result)
        if result.status == OrderStatus.CLOSED and not was_filled:
            on_filled(session, order)
        elif result.status == OrderStatus.OPEN:  # accepted, fill not reported: look it up
            _check_later(session, order, OrderStatus.OPEN)
    return order


def reconcile_order(
    session_factory,
    exchange: Exchange,
    order_id: int,
    on_filled: OnFilled,
    *,
    lease: int | None = None,
) -> BotOrder:
    """Settle an unsettled order by looking its client id up (not before its next check)."""
    with session_factory() as session:
        order = _locked(session, order_id)
        if order.status not in UNSETTLED:
            return order
        if order.check_after_ms is not None and read_now_ms(session) < order.check_after_ms:
            return order
        symbol, cid = order.symbol, order.client_order_id
    try:
        found = exchange.fetch_order(symbol=symbol, client_order_id=cid)
    except AppError as exc:  # no proof either way: keep it and look again
        log.info("order %s: look-up failed (%s); checked again later", cid, exc.message)
        with session_factory() as session:
            order = _locked(session, order_id)
            if order.status in UNSETTLED and _fenced(session, order, lease):
                _check_later(session, order, order.status)
        return order
    if found is not None:
        log.info("order %s found at the exchange during reconciliation", cid)
        return _finish(session_factory, order_id, found, on_filled, lease=lease)
    with session_factory() as session:
        order = _locked(session, order_id)
        if order.status not in UNSETTLED or not _fenced(session, order, lease):
            return order
        if order.status == OrderStatus.OPEN:  # it was there: a venue hiccup, not proof
            _check_later(session, order, OrderStatus.OPEN)
            return order
        if order.deadline_ms is not None and read_now_ms(session) < order.deadline_ms:
            _check_later(session, order)  # may still be executing or not yet visible
            log.info("order %s not found yet; looked up again after a backoff", cid)
            return order
        order.status, order.check_after_ms = OrderStatus.NEVER_PLACED, None
        order.updated_at = utcnow()
        session.add(order)
    log.info("order %s was never placed", cid)
    return order


def unsettled_orders(session: Session, *, bot_id: int | None = None) -> list[BotOrder]:
    query = select(BotOrder).where(col(BotOrder.status).in_(UNSETTLED))
    if bot_id is not None:
        query = query.where(BotOrder.bot_id == bot_id)
    return list(session.exec(query.order_by(BotOrder.id)))
