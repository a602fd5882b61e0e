"""Each market's display precision (decimals of its price and amount steps), without a network
call: the simulated market's steps from its table, any other market's price step from the
prices cached for it (candles are quoted at the tick size), its amount step from the amounts
shown. Remembered per process for an hour."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import NamedTuple

from sqlmodel import Session, col, select

from core.exchanges import SIM_SYMBOLS
from core.models import Candle
from core.platform.present import decimals_of, step_decimals

SIM = "sim"
SAMPLE = 60  # cached closes looked at to find a market's price step
TTL_S = 3600.0
_known: dict[tuple[str, str], tuple[float, Decimals]] = {}


class Decimals(NamedTuple):
    price: int | None  # None: unknown (the formatter picks ~6 significant digits)
    amount: int | None


def _from_cache(session: Session, exchange: str, symbol: str) -> list[float]:
    closes = session.exec(
        select(Candle.close)
        .where(Candle.exchange == exchange, Candle.symbol == symbol, Candle.timeframe == "1m")
        .order_by(col(Candle.ts).desc())
        .limit(SAMPLE)
    ).all()
    if not closes:
        closes = session.exec(
            select(Candle.close)
            .where(Candle.exchange == exchange, Candle.symbol == symbol)
            .limit(SAMPLE)
        ).all()
    return [float(c) for c in closes]


def market_decimals(
    session: Session, markets: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Decimals]:
    """(exchange, symbol) -> Decimals for each market."""
    now = time.monotonic()
    found: dict[tuple[str, str], Decimals] = {}
    for market in set(markets):
        hit = _known.get(market)
        if hit is not None and now - hit[0] < TTL_S:
            found[market] = hit[1]
            continue
        exchange, symbol = market
        spec = SIM_SYMBOLS.get(symbol) if exchange == SIM else None
        if spec is not None:
            dec = Decimals(step_decimals(spec.price_step), step_decimals(spec.amount_step))
            _known[market] = (now, dec)
        else:
            closes = _from_cache(session, exchange, symbol)
            dec = Decimals(decimals_of(closes), None)
            if len(closes) >= SAMPLE // 3:  # enough prices to trust the step
                _known[market] = (now, dec)
        found[market] = dec
    return found


def with_decimals(session: Session, rows: list[dict]) -> list[dict]:
    """`rows` (each with exchange and symbol) with `price_dp` and `amount_dp` set; a market
    whose amount step is unknown gets the decimals its shown amounts need."""
    table = market_decimals(session, {(r["exchange"], r["symbol"]) for r in rows})
    amounts: dict[tuple[str, str], int | None] = {}
    for row in rows:
        market = (row["exchange"], row["symbol"])
        dec = table[market]
        if dec.amount is None and market not in amounts:
            amounts[market] = decimals_of(
                r["amount"] for r in rows if (r["exchange"], r["symbol"]) == market
            )
        row["price_dp"] = dec.price
        row["amount_dp"] = dec.amount if dec.amount is not None else amounts[market]
    return rows
