"""Orders exactly once.

Before an order is sent, its row is committed as `pending_submit` with a deterministic client
order id (bot, candle, sequence). Then the order is sent with that id. If the process dies in
between, or the response is lost, `reconcile_order` asks the exchange for that client id and
either records the order or marks it `never_placed`. Order creation is never blindly retried:
the only resend is of an order the exchange has proven it never received, with the SAME client
id, which the exchange deduplicates anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlmodel import Session, select

from core.errors import ExchangeTemporaryError, InsufficientFunds, OrderRejected
from core.exchanges import Exchange, OrderResult
from core.models import BotOrder, OrderStatus, utcnow

log = logging.getLogger(__name__)
OnFilled = Callable[[Session, BotOrder], None]


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
    flush: bool = True,
) -> BotOrder:
    """The order row for this (bot, candle, seq): the existing one, or a new pending_submit
    (flushed, so it has its id, unless the caller flushes many at once)."""
    cid = client_order_id(bot_id, candle_ts, seq)
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
        purpose=purpose,
        type="limit" if price is not None else "market",
    )
    session.add(order)
    if flush:
        session.flush()
    return order


def record_result(session: Session, order: BotOrder, result: OrderResult) -> None:
    order.status = result.status
    order.exchange_order_id = result.exchange_order_id
    order.filled = result.filled
    order.average = result.average
    order.cost = result.cost
    order.fee = result.fee
    order.fee_currency = result.fee_currency or ""
    order.updated_at = utcnow()
    session.add(order)


def send(session_factory, exchange: Exchange, order_id: int, on_filled: OnFilled) -> BotOrder:
    """Send a committed pending_submit order and record the outcome in its own transaction.

    `on_filled(session, order)` runs in the same transaction that records a fill, so the
    bot's position and the order can never disagree. Temporary errors leave the order
    pending_submit for reconciliation and are re-raised.
    """
    with session_factory() as session:
        order = session.get(BotOrder, order_id)
        if order.status != OrderStatus.PENDING_SUBMIT:
            return order
        snapshot = (
            order.symbol,
            order.side,
            order.type,
            order.amount,
            order.price,
            order.client_order_id,
        )
    symbol, side, type_, amount, price, cid = snapshot
    try:
        result = exchange.create_order(
            symbol=symbol, side=side, type=type_, amount=amount, price=price, client_order_id=cid
        )
    except (OrderRejected, InsufficientFunds) as exc:
        with session_factory() as session:
            order = session.get(BotOrder, order_id)
            order.status = "rejected"
            order.error = exc.message[:500]
            order.updated_at = utcnow()
            session.add(order)
        log.info("order %s rejected: %s", cid, exc.message)
        return order
    except ExchangeTemporaryError:
        log.warning("order %s state unknown after a temporary error; reconciliation decides", cid)
        raise
    return _finish(session_factory, order_id, result, on_filled)


def _finish(session_factory, order_id: int, result: OrderResult, on_filled: OnFilled) -> BotOrder:
    with session_factory() as session:
        order = session.get(BotOrder, order_id)
        was_filled = order.status == "closed"
        record_result(session, order, result)
        if result.status == "closed" and not was_filled:
            on_filled(session, order)
    return order


def reconcile_order(
    session_factory, exchange: Exchange, order_id: int, on_filled: OnFilled
) -> BotOrder:
    """Settle a pending_submit order by asking the exchange for its client id."""
    with session_factory() as session:
        order = session.get(BotOrder, order_id)
        if order.status != OrderStatus.PENDING_SUBMIT:
            return order
        symbol, cid = order.symbol, order.client_order_id
    found = exchange.fetch_order(symbol=symbol, client_order_id=cid)
    if found is None:
        with session_factory() as session:
            order = session.get(BotOrder, order_id)
            if order.status == OrderStatus.PENDING_SUBMIT:
                order.status = OrderStatus.NEVER_PLACED
                order.updated_at = utcnow()
                session.add(order)
        log.info("order %s was never placed", cid)
        return order
    log.info("order %s found at the exchange during reconciliation", cid)
    return _finish(session_factory, order_id, found, on_filled)


def pending_orders(session: Session, *, bot_id: int | None = None) -> list[BotOrder]:
    query = select(BotOrder).where(BotOrder.status == OrderStatus.PENDING_SUBMIT)
    if bot_id is not None:
        query = query.where(BotOrder.bot_id == bot_id)
    return list(session.exec(query))
