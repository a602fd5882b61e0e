"""Paper trading: the `Exchange` interface with fills simulated and the book in the database.

Prices come from a market-data feed (the sim feed or a live exchange's public data); balances
and orders live in `PaperBalance` / `PaperOrder` rows of one `ExchangeAccount` (kind "paper"),
so every process sees the same book. Fill rules (the backtester uses the same ones):

- A market order fills at once at the OPEN of the 1m candle containing the order time (the
  backtester's "next candle's open"), moved by `slippage_bps` against the trader (buy up, sell
  down), taker fee. A limit order that is already marketable fills the same way, capped at its
  limit price.
- Any other limit order rests: its funds move to `used` (quote incl. the maker fee for a buy,
  base for a sell). It fills at the limit price, maker fee, on the first CLOSED 1m candle after
  the order's own candle whose low (buy) / high (sell) crosses it. Resting orders are checked
  whenever the account is touched (create / fetch order / open orders / balance / cancel).
  For an open limit order `updated_ms` is the open time of the next 1m candle to check.
- Fees are always charged in the quote currency. Balances never go negative.
- Each `create_order` is one write transaction; a repeated client order id returns the
  existing order and changes nothing (the UNIQUE(account_id, client_order_id) constraint
  settles races between processes).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.errors import InvalidInput, OrderRejected
from core.exchanges import paper_book as book
from core.exchanges.base import (
    Balance,
    Candle,
    Exchange,
    Market,
    OrderResult,
    OrderType,
    Side,
    candle_open,
)
from core.exchanges.paper_book import open_paper_account, paper_balances
from core.models import AccountKind, ExchangeAccount, PaperOrder
from core.platform.db import read_session, session_scope

__all__ = ["DEFAULT_SLIPPAGE_BPS", "PaperExchange", "open_paper_account", "paper_balances"]

log = logging.getLogger(__name__)
DEFAULT_SLIPPAGE_BPS = 5.0
MINUTE = 60_000
MAX_PAGES_PER_CHECK = 10  # bounded work per touch; the rest is checked on the next touch


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


class PaperExchange(Exchange):
    """A paper account over a price feed. `id` is the feed's id (its market data is the feed's)."""

    def __init__(
        self,
        db,
        *,
        account_id: int,
        feed: Exchange,
        slippage_bps: float = DEFAULT_SLIPPAGE_BPS,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.engine: Engine = getattr(db, "engine", db)
        self.account_id = account_id
        self.feed = feed
        self.id = feed.id
        if not (math.isfinite(slippage_bps) and 0 <= slippage_bps < 10_000):
            raise InvalidInput("Slippage must be between 0 and 10000 basis points.")
        self.slippage = slippage_bps / 10_000
        self.clock = clock or _wall_clock_ms
        with read_session(self.engine) as session:
            account = session.get(ExchangeAccount, account_id)
        if account is None or account.kind != AccountKind.PAPER:
            raise InvalidInput(f"Exchange account {account_id} is not a paper account.")

    # --- market data: the feed's -------------------------------------------------------------
    def load_markets(self) -> dict[str, Market]:
        return self.feed.load_markets()

    def fetch_candles(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        return self.feed.fetch_candles(symbol, timeframe, since, limit)

    def last_price(self, symbol: str) -> float:
        return self.feed.last_price(symbol)

    # --- the book ------------------------------------------------------------------------------
    def fetch_balance(self) -> dict[str, Balance]:
        self._settle()
        with read_session(self.engine) as session:
            return paper_balances(session, account_id=self.account_id)

    def create_order(
        self,
        *,
        symbol: str,
        side: Side,
        type: OrderType,
        amount: float,
        client_order_id: str,
        price: float | None = None,
        budget: float | None = None,
    ) -> OrderResult:
        self._settle()
        existing = self._find(client_order_id)
        if existing is not None:
            return book.to_result(existing)
        market = self.market(symbol)
        fee = market.taker_fee if market.taker_fee is not None else book.DEFAULT_FEE
        now = self.clock()
        ref = self._reference_price(symbol, now)
        if budget is not None:  # sized at the fill price
            fill = book.market_fill_price(market, "buy", ref, self.slippage)
            amount = book.budget_amount(market, side, type, budget, fill, fee)
        order = book.new_order(
            market,
            account_id=self.account_id,
            client_order_id=client_order_id,
            side=side,
            type=type,
            amount=amount,
            price=price,
        )
        marketable = type == "market" or (
            (side == "buy" and order.price >= ref) or (side == "sell" and order.price <= ref)
        )
        fill_price = None
        if marketable:
            fill_price = book.market_fill_price(market, side, ref, self.slippage, order.price)
        book.check_minimums(market, order.amount, fill_price or order.price)
        order.created_ms = now
        order.updated_ms = candle_open(now, "1m") + MINUTE
        try:
            with session_scope(self.engine) as session:
                again = self._find(client_order_id, session)
                if again is not None:
                    return book.to_result(again)
                session.add(order)
                if fill_price is not None:
                    book.fill(session, order, market, fill_price, fee, now, reserved=False)
                else:
                    book.reserve(session, order, market)
                session.flush()
        except IntegrityError:
            found = self._find(client_order_id)
            if found is None:
                raise
            log.info("paper #%s: client order id %s raced; kept", self.account_id, client_order_id)
            return book.to_result(found)
        log.info(
            "paper #%s: %s %s %s %s -> %s",
            self.account_id,
            side,
            type,
            order.amount,
            symbol,
            order.status,
        )
        return book.to_result(order)

    def fetch_order(self, *, symbol: str, client_order_id: str) -> OrderResult | None:
        self._settle()
        order = self._find(client_order_id)
        return None if order is None else book.to_result(order)

    def cancel_order(self, *, symbol: str, client_order_id: str) -> OrderResult:
        self._settle()
        with session_scope(self.engine) as session:
            order = self._find(client_order_id, session)
            if order is None:
                raise OrderRejected(f"There is no order {client_order_id!r} to cancel.")
            if order.status == "open":
                book.release(session, order, self.market(order.symbol))
                order.status = "canceled"
                order.updated_ms = self.clock()
                session.add(order)
            return book.to_result(order)

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderResult]:
        self._settle()
        with read_session(self.engine) as session:
            query = select(PaperOrder).where(
                PaperOrder.account_id == self.account_id, PaperOrder.status == "open"
            )
            if symbol is not None:
                query = query.where(PaperOrder.symbol == symbol)
            return [book.to_result(o) for o in session.exec(query.order_by(PaperOrder.id))]

    def close(self) -> None:
        self.feed.close()

    # --- internals -----------------------------------------------------------------------------
    def _find(self, client_order_id: str, session: Session | None = None) -> PaperOrder | None:
        query = select(PaperOrder).where(
            PaperOrder.account_id == self.account_id,
            PaperOrder.client_order_id == client_order_id,
        )
        if session is not None:
            return session.exec(query).first()
        with read_session(self.engine) as read:
            return read.exec(query).first()

    def _reference_price(self, symbol: str, now: int) -> float:
        return self.reference_price(self.feed, symbol, now)

    @staticmethod
    def reference_price(feed: Exchange, symbol: str, now: int) -> float:
        """Open of the 1m candle containing `now`; the last price if the feed has none yet."""
        start = candle_open(now, "1m")
        candles = feed.fetch_candles(symbol, "1m", since=start, limit=1)
        if candles and candles[0].ts == start:
            return candles[0].open
        return feed.last_price(symbol)

    def _settle(self) -> None:
        """Fill resting limit orders whose price a later closed 1m candle crossed."""
        with read_session(self.engine) as session:
            query = select(PaperOrder).where(
                PaperOrder.account_id == self.account_id,
                PaperOrder.status == "open",
                PaperOrder.type == "limit",
            )
            pending = session.exec(query).all()
        if not pending:
            return
        now = self.clock()
        fills: dict[int, Candle | None] = {}
        checked: dict[int, int] = {}
        for symbol in {o.symbol for o in pending}:
            orders = [o for o in pending if o.symbol == symbol]
            candles = self._closed_1m(symbol, min(o.updated_ms for o in orders), now)
            for o in orders:
                later = [c for c in candles if c.ts >= o.updated_ms]
                fills[o.id] = next((c for c in later if book.crosses(o, c)), None)
                checked[o.id] = later[-1].ts + MINUTE if later else o.updated_ms
        with session_scope(self.engine) as session:
            for o in pending:
                row = session.get(PaperOrder, o.id)
                if row is None or row.status != "open" or row.updated_ms != o.updated_ms:
                    continue  # settled meanwhile by someone else
                candle = fills[o.id]
                if candle is None:
                    row.updated_ms = checked[o.id]
                    session.add(row)
                    continue
                market = self.market(row.symbol)
                fee = market.maker_fee if market.maker_fee is not None else book.DEFAULT_FEE
                book.fill(session, row, market, row.price, fee, candle.ts, reserved=True)
                log.info("paper #%s: limit %s filled", self.account_id, row.client_order_id)

    def _closed_1m(self, symbol: str, since: int, now: int) -> list[Candle]:
        out: list[Candle] = []
        for _ in range(MAX_PAGES_PER_CHECK):
            if since + MINUTE > now:
                break
            page = [
                c
                for c in self.feed.fetch_candles(symbol, "1m", since=since, limit=1000)
                if c.ts >= since and c.ts + MINUTE <= now
            ]
            if not page:
                break
            out.extend(page)
            since = page[-1].ts + MINUTE
        return out
