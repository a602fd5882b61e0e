"""The paper exchange's book: order validation, fills, reservations and paper accounts.

Functions here run inside the caller's write transaction; balance rows are read `FOR UPDATE`
(PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers).
"""

from __future__ import annotations

import math
import re

from sqlmodel import Session, select

from core.errors import Conflict, InsufficientFunds, InvalidInput, OrderRejected
from core.exchanges.base import DEFAULT_FEE, Balance, Candle, Market, OrderResult, fill_amount
from core.models import ExchangeAccount, PaperBalance, PaperOrder
from core.platform.inputs import clean_text

__all__ = ["DEFAULT_FEE", "open_paper_account", "paper_balances"]

ASSET_RE = re.compile(r"^[A-Z0-9]{1,16}$")
MAX_START_BALANCE = 1e12
EPS = 1e-12  # float noise tolerated when comparing balances


def new_order(
    market: Market,
    *,
    account_id: int,
    client_order_id: object,
    side: object,
    type: object,
    amount: object,
    price: object,
) -> PaperOrder:
    """A validated, rounded (not yet saved) order row; `OrderRejected` says what is wrong."""
    if not isinstance(client_order_id, str) or not 0 < len(client_order_id) <= 64:
        raise OrderRejected("The client order id must be 1-64 characters.")
    if side not in ("buy", "sell") or type not in ("market", "limit"):
        raise OrderRejected("Orders are buy or sell, market or limit.")
    if not _positive(amount):
        raise OrderRejected(f"The amount must be a positive number (got {amount!r}).")
    rounded_price = None
    if type == "limit":
        if not _positive(price):
            raise OrderRejected(f"A limit order needs a positive price (got {price!r}).")
        rounded_price = market.round_price(float(price))
        if rounded_price <= 0:
            raise OrderRejected(f"The price {price} is below the price step {market.price_step}.")
    return PaperOrder(
        account_id=account_id,
        client_order_id=client_order_id,
        symbol=market.symbol,
        side=side,
        type=type,
        amount=market.round_amount(float(amount)),
        price=rounded_price,
        status="open",
        fee_currency=market.quote,
        created_ms=0,
        updated_ms=0,
    )


def market_fill_price(
    market: Market, side: str, ref: float, slippage: float, limit: float | None = None
) -> float:
    """The price a marketable order fills at: the reference price moved by the slippage
    against the taker, never beyond a limit price, rounded to the price step."""
    slipped = ref * (1 + slippage) if side == "buy" else ref * (1 - slippage)
    if limit is not None:
        slipped = min(slipped, limit) if side == "buy" else max(slipped, limit)
    return market.round_price(slipped) or slipped


def budget_amount(
    market: Market, side: object, type: object, budget: object, price: float, fee_rate: float
) -> float:
    """The amount of a market buy given a budget (quote, fee included) at its fill price;
    `OrderRejected` for a budget on anything else, or one that buys less than the minimums."""
    if side != "buy" or type != "market":
        raise OrderRejected("A budget is for market buys only.")
    if not _positive(budget):
        raise OrderRejected(f"The budget must be a positive number (got {budget!r}).")
    amount = fill_amount(float(budget), price, fee_rate, market)
    if amount <= 0:
        raise OrderRejected(
            f"A budget of {float(budget):.8g} {market.quote} buys less than the minimum "
            f"order for {market.symbol} at {price:.8g}."
        )
    return amount


def check_minimums(market: Market, amount: float, price: float) -> None:
    if amount <= 0 or amount < market.min_amount:
        raise OrderRejected(
            f"The amount {amount} {market.base} is below the minimum "
            f"{max(market.min_amount, market.amount_step)} for {market.symbol}."
        )
    if amount * price < market.min_notional:
        raise OrderRejected(
            f"The order value {amount * price:.8g} {market.quote} is below the minimum "
            f"{market.min_notional} {market.quote} for {market.symbol}."
        )


def crosses(order: PaperOrder, candle: Candle) -> bool:
    return candle.low <= order.price if order.side == "buy" else candle.high >= order.price


def _positive(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _balance(
    session: Session, account_id: int, asset: str, rows: dict | None = None
) -> PaperBalance:
    """The balance row, read for update; `rows` ((account, asset) -> row) when the caller has
    read them already (batches), new rows being added to it."""
    if rows is not None and (account_id, asset) in rows:
        return rows[account_id, asset]
    query = (
        select(PaperBalance)
        .where(PaperBalance.account_id == account_id, PaperBalance.asset == asset)
        .with_for_update()
    )
    row = session.exec(query).first() if rows is None else None
    if row is None:
        row = PaperBalance(account_id=account_id, asset=asset, free=0.0, used=0.0)
        session.add(row)
    if rows is not None:
        rows[account_id, asset] = row
    return row


def _take(row: PaperBalance, field: str, amount: float, what: str) -> None:
    have = getattr(row, field)
    if have + EPS < amount:
        raise InsufficientFunds(
            f"Insufficient {row.asset}: {what} needs {amount:.8g}, {field} is {have:.8g}."
        )
    setattr(row, field, max(0.0, have - amount))


def _buy_reserve(order: PaperOrder, market: Market) -> float:
    fee = market.maker_fee if market.maker_fee is not None else DEFAULT_FEE
    return order.amount * order.price * (1 + fee)


def reserve(session: Session, order: PaperOrder, market: Market) -> None:
    """Move a resting limit order's funds from free to used."""
    if order.side == "buy":
        row, need = _balance(session, order.account_id, market.quote), _buy_reserve(order, market)
    else:
        row, need = _balance(session, order.account_id, market.base), order.amount
    _take(row, "free", need, f"this {order.side} order")
    row.used += need
    session.add(row)


def release(session: Session, order: PaperOrder, market: Market) -> None:
    """Give a canceled limit order's reserved funds back."""
    if order.side == "buy":
        row, held = _balance(session, order.account_id, market.quote), _buy_reserve(order, market)
    else:
        row, held = _balance(session, order.account_id, market.base), order.amount
    held = min(held, row.used)
    row.used -= held
    row.free += held
    session.add(row)


def fill(
    session: Session,
    order: PaperOrder,
    market: Market,
    price: float,
    fee_rate: float,
    ts: int,
    *,
    reserved: bool,
    balances: dict | None = None,
) -> None:
    """Fill the whole order at `price`: move base and quote, charge the fee in quote."""
    base = _balance(session, order.account_id, market.base, balances)
    quote = _balance(session, order.account_id, market.quote, balances)
    cost = order.amount * price
    fee = cost * fee_rate
    if order.side == "buy":
        if reserved:
            held = min(_buy_reserve(order, market), quote.used)
            quote.used -= held
            quote.free += held
        _take(quote, "free", cost + fee, "this buy")
        base.free += order.amount
    else:
        _take(base, "used" if reserved else "free", order.amount, "this sell")
        quote.free += cost - fee
    order.status, order.filled, order.average = "closed", order.amount, price
    order.cost, order.fee, order.fee_currency, order.updated_ms = cost, fee, market.quote, ts
    session.add_all([base, quote, order])


def to_result(order: PaperOrder) -> OrderResult:
    return OrderResult(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,  # type: ignore[arg-type]
        type=order.type,  # type: ignore[arg-type]
        amount=order.amount,
        status=order.status,  # type: ignore[arg-type]
        price=order.price,
        exchange_order_id=f"paper-{order.id}" if order.id is not None else None,
        filled=order.filled,
        average=order.average,
        cost=order.cost,
        fee=order.fee,
        fee_currency=order.fee_currency or None,
        timestamp=order.created_ms,
    )


def paper_balances(session: Session, *, account_id: int) -> dict[str, Balance]:
    """Every asset row of the paper account (zeros included), by asset."""
    rows = session.exec(select(PaperBalance).where(PaperBalance.account_id == account_id))
    return {r.asset: Balance(free=r.free, used=r.used) for r in rows}


def _feed_assets(feed: str) -> set[str] | None:
    """Assets the feed trades (sim: its markets); None when only the syntax can be checked."""
    if feed == "sim":
        from core.exchanges.sim import SimExchange

        markets = SimExchange(seed=42).load_markets().values()
        return {m.base for m in markets} | {m.quote for m in markets}
    from core.exchanges import live

    if feed not in live.list_exchange_ids():
        raise InvalidInput(f"Unknown price feed {feed!r}: use 'sim' or an exchange id.")
    return None  # a live feed's asset list needs the network; checked when trading


def open_paper_account(
    session: Session,
    *,
    owner_id: int,
    label: str,
    feed: str = "sim",
    balances: dict[str, float] | None = None,
) -> ExchangeAccount:
    """A new paper account with its starting balances (default 10,000 USDT)."""
    label = clean_text(label, "Label", max_len=64)
    feed = clean_text(feed, "Price feed", max_len=32).lower()
    balances = {"USDT": 10_000.0} if balances is None else balances
    if not isinstance(balances, dict) or not balances or len(balances) > 50:
        raise InvalidInput("Give 1-50 starting balances, e.g. {'USDT': 10000}.")
    known = _feed_assets(feed)
    clean: dict[str, float] = {}
    for asset, amount in balances.items():
        name = asset.strip().upper() if isinstance(asset, str) else ""
        if not ASSET_RE.fullmatch(name) or (known is not None and name not in known):
            raise InvalidInput(f"Unknown asset {asset!r} for the {feed} feed.")
        if not _positive(amount) or amount >= MAX_START_BALANCE:
            raise InvalidInput(f"The starting balance of {name} must be a positive number.")
        clean[name] = float(amount)
    taken = select(ExchangeAccount).where(
        ExchangeAccount.owner_id == owner_id, ExchangeAccount.label == label
    )
    if session.exec(taken).first() is not None:
        raise Conflict(f"You already have an account labelled {label!r}.")
    account = ExchangeAccount(owner_id=owner_id, label=label, exchange_id=feed, kind="paper")
    session.add(account)
    session.flush()
    session.add_all(
        PaperBalance(account_id=account.id, asset=a, free=v, used=0.0) for a, v in clean.items()
    )
    session.flush()
    return account
