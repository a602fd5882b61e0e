"""Many market orders on paper accounts in one write transaction (the worker's batches).

Each order follows `PaperExchange.create_order` for a market order exactly: a client order id
the account already has returns that order and changes nothing; the fill price is the open of
the 1m candle containing the order time, moved by the slippage against the trader and rounded
to the price step; minimums are checked; the taker fee is charged in quote; a rejection
(`OrderRejected`, `InsufficientFunds`) concerns that order only. The difference is the
bookkeeping: the accounts' balance rows are read once (FOR UPDATE on PostgreSQL; SQLite's
BEGIN IMMEDIATE serialises writers) and every order is written in the same transaction.

Accounts with resting limit orders are left out (their balances need settling first): their
requests come back as None, for `PaperExchange.create_order`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import col, select

from core.errors import AppError, InsufficientFunds, InvalidInput, OrderRejected
from core.exchanges import paper_book as book
from core.exchanges.base import Exchange, OrderResult, candle_open
from core.exchanges.paper import DEFAULT_SLIPPAGE_BPS, MINUTE, PaperExchange
from core.models import PaperBalance, PaperOrder
from core.platform.db import session_scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MarketOrder:
    account_id: int
    symbol: str
    side: str
    amount: float
    client_order_id: str
    budget: float | None = None  # a buy sized at the fill price (Exchange.create_order)


Outcome = OrderResult | AppError | None  # None: not handled here (resting limit orders)


def place_market_orders(
    db,
    feed: Exchange,
    requests: list[MarketOrder],
    *,
    clock: Callable[[], int],
    slippage_bps: float = DEFAULT_SLIPPAGE_BPS,
) -> list[Outcome]:
    """Place the orders in the given order; one outcome per request, in the same order."""
    engine = getattr(db, "engine", db)
    slip = slippage_bps / 10_000
    prices: dict[tuple[str, int], float] = {}
    accounts = sorted({r.account_id for r in requests})
    out: list[Outcome] = []
    placed: list[PaperOrder] = []
    with session_scope(engine) as session:
        resting = set(
            session.exec(
                select(PaperOrder.account_id)
                .where(col(PaperOrder.account_id).in_(accounts), PaperOrder.status == "open")
                .distinct()
            ).all()
        )
        cids = [r.client_order_id for r in requests]
        existing = {
            (o.account_id, o.client_order_id): o
            for o in session.exec(
                select(PaperOrder).where(col(PaperOrder.client_order_id).in_(cids))
            )
        }
        balances = {
            (b.account_id, b.asset): b
            for b in session.exec(
                select(PaperBalance)
                .where(col(PaperBalance.account_id).in_(accounts))
                .with_for_update()
            )
        }
        for r in requests:
            if r.account_id in resting:
                out.append(None)
                continue
            found = existing.get((r.account_id, r.client_order_id))
            if found is not None:
                out.append(book.to_result(found))
                continue
            try:
                order = _fill(session, feed, r, balances, prices, clock, slip)
            except (OrderRejected, InsufficientFunds, InvalidInput) as exc:
                out.append(exc)
                continue
            existing[r.account_id, r.client_order_id] = order
            placed.append(order)
            out.append(order)
        session.flush()  # ids: the exchange order ids
        results = [book.to_result(o) if isinstance(o, PaperOrder) else o for o in out]
    for order in placed:
        log.info(
            "paper #%s: %s market %s %s -> %s",
            order.account_id,
            order.side,
            order.amount,
            order.symbol,
            order.status,
        )
    return results


def _fill(session, feed, r: MarketOrder, balances: dict, prices: dict, clock, slip) -> PaperOrder:
    market = feed.market(r.symbol)
    fee = market.taker_fee if market.taker_fee is not None else book.DEFAULT_FEE
    now = clock()
    start = candle_open(now, "1m")
    if (r.symbol, start) not in prices:
        prices[r.symbol, start] = PaperExchange.reference_price(feed, r.symbol, now)
    price = book.market_fill_price(market, r.side, prices[r.symbol, start], slip)
    amount = r.amount
    if r.budget is not None:  # sized at the fill price
        amount = book.budget_amount(market, r.side, "market", r.budget, price, fee)
    order = book.new_order(
        market,
        account_id=r.account_id,
        client_order_id=r.client_order_id,
        side=r.side,
        type="market",
        amount=amount,
        price=None,
    )
    book.check_minimums(market, order.amount, price)
    order.created_ms, order.updated_ms = now, start + MINUTE
    before = set(balances)
    try:
        book.fill(session, order, market, price, fee, now, reserved=False, balances=balances)
    except InsufficientFunds:
        for key in set(balances) - before:  # rows created for this order only: not kept
            session.expunge(balances.pop(key))
        raise
    return order
