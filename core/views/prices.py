"""The current price of a market for a form: the last cached close when it is recent, else the
market feed's last price asked with a short timeout, else the last cached close however old;
None when nothing answers (a form then shows no price and no price warning)."""

from __future__ import annotations

import logging
import time

from sqlmodel import col, select

from core.errors import AppError
from core.exchanges import SIM, live_exchange, market_feed, timeframe_ms
from core.models import Candle
from core.platform.deadline import call_within
from core.platform.runtime import Runtime

log = logging.getLogger(__name__)
FRESH_MS = 5 * 60_000  # a cached close this recent is the current price


def current_price(
    rt: Runtime,
    *,
    exchange_id: str,
    symbol: str,
    timeout_s: float = 2.0,
    now_ms: int | None = None,
) -> float | None:
    """The price of `symbol` on `exchange_id` now, or None (see the module docstring). The feed
    is asked for at most `timeout_s` seconds, one attempt, no retry."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    cached = _last_close(rt, exchange_id=exchange_id, symbol=symbol)
    if cached is not None and now_ms - cached[0] <= FRESH_MS:
        return cached[1]
    try:
        price = call_within(timeout_s, lambda: _feed_price(rt, exchange_id, symbol, timeout_s))
    except (AppError, TimeoutError, OSError) as exc:
        log.info("no current price for %s on %s: %s", symbol, exchange_id, exc)
        price = None
    if price is not None and price > 0:
        return price
    return cached[1] if cached is not None else None


def _last_close(rt: Runtime, *, exchange_id: str, symbol: str) -> tuple[int, float] | None:
    """(close time, close) of the newest cached candle: 1m first, else any timeframe."""
    where = (Candle.exchange == exchange_id, Candle.symbol == symbol)
    with rt.read() as session:
        row = session.exec(
            select(Candle.ts, Candle.close, Candle.timeframe)
            .where(*where, Candle.timeframe == "1m")
            .order_by(col(Candle.ts).desc())
            .limit(1)
        ).first()
        if row is None:
            row = session.exec(
                select(Candle.ts, Candle.close, Candle.timeframe)
                .where(*where)
                .order_by(col(Candle.ts).desc())
                .limit(1)
            ).first()
    if row is None:
        return None
    ts, close, timeframe = row
    return int(ts) + timeframe_ms(timeframe), float(close)


def _feed_price(rt: Runtime, exchange_id: str, symbol: str, timeout_s: float) -> float | None:
    if exchange_id == SIM:
        feed = market_feed(SIM, settings=rt.settings)
    else:
        feed = live_exchange(
            exchange_id=exchange_id,
            api_url=rt.settings.exchange_api_url_for(exchange_id),
            timeout_ms=max(100, int(timeout_s * 1000)),
            max_retries=0,
        )
    try:
        return float(feed.last_price(symbol))
    finally:
        feed.close()
