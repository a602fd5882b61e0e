"""What the Backtest page calls: checked settings, candles from a source, a run, a bot prefill.

Candle sources:

- `sim`: the deterministic simulated market, computed in memory (offline, no database);
- `cache`: the database candle cache of `exchange` (any feed id, "sim" included); candles
  missing from the range are downloaded first through `core.candles.cache` (resumable, reported
  through a progress callback), then the range is read from the cache;
- `csv`: an uploaded file read by `core.candles.csv_import`, optionally cut to the date range.

Only closed candles are used. Every refusal is an `InvalidInput` naming the problem.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from core.backtest.walk import DEFAULT_MARKET, BacktestResult, run_backtest
from core.bots import SHARED_SETTINGS, clean_risk
from core.candles import download_candles, load_candles_csv, read_cached
from core.errors import ExchangeTemporaryError, Forbidden, InvalidInput
from core.exchanges import (
    SIM,
    SIM_SYMBOLS,
    Exchange,
    Market,
    check_feed_id,
    last_closed_open,
    market_feed,
    sim_candles,
    timeframe_ms,
)
from core.platform.db import read_session
from core.strategy import Risk, get_strategy

SOURCES = ("sim", "cache", "csv")
GUEST_NO_DOWNLOAD = (
    "A guest trader of the demo backtests on the simulated market or on a CSV file of its own; "
    "exchange history is for accounts."
)
MAX_CANDLES = 200_000
MAX_FEE_PCT = 5.0
MAX_SLIPPAGE_BPS = 1_000.0
MAX_CASH = 1e12
PCT_FIELDS = ("take_profit_pct", "stop_loss_pct", "trailing_stop_pct", "max_drawdown_pct")
COLUMNS = ["ts", "open", "high", "low", "close", "volume"]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BacktestSettings:
    """Everything a backtest needs; `check_settings` validates it (fee and sizes in %)."""

    strategy: str
    params: dict = field(default_factory=dict)
    source: str = "sim"  # sim | cache | csv
    exchange: str = SIM  # feed id for the cache source
    symbol: str = "BTC/USDT"
    timeframe: str = "1h"
    start: date | datetime | str | None = None  # inclusive, UTC
    end: date | datetime | str | None = None  # a date covers its whole day
    fee_pct: float = 0.1  # per side
    slippage_bps: float = 0.0
    cash: float = 10_000.0
    order_size_type: str = "pct"  # quote | pct
    order_size: float = 100.0
    take_profit_pct: float | None = None
    stop_loss_pct: float | None = None
    trailing_stop_pct: float | None = None
    max_open_positions: int = 1
    max_drawdown_pct: float | None = None
    cooldown_minutes: int = 0

    @property
    def risk(self) -> Risk:
        return Risk.of(self)


@dataclass
class LoadedCandles:
    candles: pd.DataFrame  # ts, open, high, low, close, volume; oldest first
    market: Market
    downloaded: int = 0  # candles newly stored in the cache for this run


@dataclass
class BacktestRun:
    settings: BacktestSettings
    result: BacktestResult
    candles: pd.DataFrame
    indicators: dict[str, pd.Series]
    market: Market | None = None  # its steps: the precision prices and amounts are shown at


def _number(value: object, name: str, lo: float, hi: float, *, lo_open: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value > hi or value < lo or (lo_open and value == lo):
        low = f"above {lo:g}" if lo_open else f"at least {lo:g}"
        raise InvalidInput(f"{name} must be a number {low} and at most {hi:g}.")
    return float(value)


def to_ms(value: date | datetime | str, name: str, *, end: bool = False) -> int:
    """Epoch ms (UTC) of a date, date-time or ISO string; a date's end is its last instant."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(f"{name} {value!r} is not a date (use YYYY-MM-DD).") from None
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(when.timestamp() * 1000)
    if isinstance(value, date):
        day = datetime(value.year, value.month, value.day, tzinfo=UTC)
        if end:
            return int((day + timedelta(days=1)).timestamp() * 1000) - 1
        return int(day.timestamp() * 1000)
    raise InvalidInput(f"{name} is not a date.")


def date_range_ms(settings: BacktestSettings, now_ms: int) -> tuple[int, int]:
    """(first, last) candle open times of the range, closed candles only."""
    if settings.start is None or settings.end is None:
        raise InvalidInput("Pick both a start and an end date.")
    start, end = _dates(settings)
    if start >= now_ms:
        raise InvalidInput("The start date is in the future.")
    step = timeframe_ms(settings.timeframe)
    first = start + (-start % step)
    last = min(end - end % step, last_closed_open(now_ms, settings.timeframe))
    if last < first:
        raise InvalidInput(
            f"The range holds no closed {settings.timeframe} candle (empty range): widen it."
        )
    count = (last - first) // step + 1
    if count > MAX_CANDLES:
        raise InvalidInput(
            f"The range holds {count:,} candles of {settings.timeframe}; at most "
            f"{MAX_CANDLES:,} per backtest: shorten the range or pick a larger timeframe."
        )
    return first, last


def check_settings(settings: BacktestSettings, *, now_ms: int | None = None) -> BacktestSettings:
    """The settings with strategy parameters coerced, or `InvalidInput` naming the problem."""
    now_ms = _now() if now_ms is None else now_ms
    strategy = get_strategy(settings.strategy)
    params = strategy.validate(settings.params)
    if settings.source not in SOURCES:
        raise InvalidInput(f"Unknown candle source {settings.source!r}: use sim, cache or csv.")
    timeframe_ms(settings.timeframe)
    exchange = SIM if settings.source == "sim" else settings.exchange
    if settings.source == "cache":
        exchange = check_feed_id(settings.exchange)
    symbol = (settings.symbol or "").strip().upper()
    if settings.source != "csv" and not symbol:
        raise InvalidInput("Pick a market (symbol such as BTC/USDT).")
    if exchange == SIM and settings.source != "csv" and symbol not in SIM_SYMBOLS:
        raise InvalidInput(f"Symbol {symbol!r} is not traded on sim: use {', '.join(SIM_SYMBOLS)}.")
    if settings.source != "csv":
        date_range_ms(settings, now_ms)
    elif settings.start is not None and settings.end is not None:
        _dates(settings)
    if settings.order_size_type not in ("quote", "pct"):
        raise InvalidInput("The order size is a quote amount or a % of the balance.")
    if settings.order_size_type == "pct":
        _number(settings.order_size, "The order size (% of balance)", 0, 100, lo_open=True)
    else:
        _number(settings.order_size, "The order size", 0, MAX_CASH, lo_open=True)
    _number(settings.fee_pct, "The fee (%)", 0, MAX_FEE_PCT)
    _number(settings.slippage_bps, "The slippage (bps)", 0, MAX_SLIPPAGE_BPS)
    _number(settings.cash, "The starting cash", 0, MAX_CASH, lo_open=True)
    off = {f: None for f in PCT_FIELDS if getattr(settings, f) == 0}  # 0 = off, as on the form
    risk = clean_risk(replace(settings, **off))  # the same limits and messages as a bot's
    return replace(
        settings,
        params=params,
        exchange=exchange,
        symbol=symbol,
        fee_pct=float(settings.fee_pct),
        **risk,
    )


def _now() -> int:
    return time.time_ns() // 1_000_000


def sim_symbols() -> list[str]:
    return list(SIM_SYMBOLS)


def load_candles(
    rt_or_engine,
    settings: BacktestSettings,
    *,
    csv: bytes | str | io.IOBase | None = None,
    progress: Progress | None = None,
    now_ms: int | None = None,
    feed: Exchange | None = None,
    owner=None,
) -> LoadedCandles:
    """Candles of the checked `settings` from their source (see the module docstring).

    `feed` replaces the exchange of the cache source (tests); `now_ms` is the clock. A guest
    trader of the public demo (`owner`) backtests on the simulated market or its own CSV: an
    exchange's history is downloaded for accounts only (anonymous visitors would fill the
    shared cache and spend the server's standing with the exchanges).
    """
    if getattr(owner, "is_guest", False) and settings.source == "cache":
        raise Forbidden(GUEST_NO_DOWNLOAD)
    now_ms = _now() if now_ms is None else now_ms
    if settings.source == "csv":
        return _from_csv(settings, csv, now_ms)
    first, last = date_range_ms(settings, now_ms)
    step = timeframe_ms(settings.timeframe)
    if settings.source == "sim":
        arrays = sim_candles(settings.symbol, settings.timeframe, first, (last - first) // step + 1)
        market = market_feed(SIM).market(settings.symbol)
        return LoadedCandles(pd.DataFrame(arrays)[COLUMNS], market)
    own = feed is None
    feed = feed or market_feed(settings.exchange, settings=getattr(rt_or_engine, "settings", None))
    try:
        market, stats = _download(rt_or_engine, feed, settings, first, last, now_ms, progress)
    finally:
        if own:
            feed.close()
    with read_session(getattr(rt_or_engine, "engine", rt_or_engine)) as session:
        rows = read_cached(
            session,
            exchange=feed.id,
            symbol=settings.symbol,
            timeframe=settings.timeframe,
            start=first,
            end=last,
        )
    if not rows:
        raise InvalidInput(
            f"{feed.id} has no {settings.symbol} {settings.timeframe} candles in this range "
            "(empty range)."
        )
    frame = pd.DataFrame([c._asdict() for c in rows], columns=COLUMNS)
    return LoadedCandles(frame, market, downloaded=stats.inserted)


def _download(rt_or_engine, feed, settings, first, last, now_ms, progress):
    try:
        market = feed.market(settings.symbol)
        stats = download_candles(
            rt_or_engine,
            feed,
            symbol=settings.symbol,
            timeframe=settings.timeframe,
            since_ms=first,
            until_ms=last,
            now_ms=now_ms,
            progress=progress,
        )
    except ExchangeTemporaryError as exc:
        raise ExchangeTemporaryError(
            f"{feed.id} could not be reached ({exc.message}). Candles already downloaded stay "
            "cached: try again later, or use the simulated market."
        ) from None
    return market, stats


def _dates(settings: BacktestSettings) -> tuple[int, int]:
    """(start, end) in epoch ms of the chosen dates, the end date's last instant included."""
    start = to_ms(settings.start, "The start date")
    end = to_ms(settings.end, "The end date", end=True)
    if start > end:
        raise InvalidInput("The start date is after the end date.")
    return start, end


def _from_csv(settings: BacktestSettings, csv, now_ms: int) -> LoadedCandles:
    if csv is None:
        raise InvalidInput("Upload a CSV file of candles (date, open, high, low, close, volume).")
    source = io.BytesIO(csv) if isinstance(csv, bytes) else csv
    frame = load_candles_csv(source)
    if settings.start is not None and settings.end is not None:
        start, end = _dates(settings)
        frame = frame[(frame["ts"] >= start) & (frame["ts"] <= end)].reset_index(drop=True)
    if len(frame) < 2:
        raise InvalidInput("The CSV has fewer than 2 candles in the date range (empty range).")
    if len(frame) > MAX_CANDLES:
        raise InvalidInput(f"The CSV has {len(frame):,} candles; at most {MAX_CANDLES:,}.")
    symbol = settings.symbol or DEFAULT_MARKET.symbol
    return LoadedCandles(frame, replace(DEFAULT_MARKET, symbol=symbol))


def run(settings: BacktestSettings, loaded: LoadedCandles, *, chart: bool = True) -> BacktestRun:
    """Backtest the checked `settings` over `loaded` candles with the bots' rules; `chart`:
    with the strategy's indicator lines (a sweep needs only the metrics)."""
    if len(loaded.candles) < 2:
        raise InvalidInput("A backtest needs at least 2 candles (empty range).")
    pct = settings.order_size_type == "pct"
    result = run_backtest(
        loaded.candles,
        settings.strategy,
        settings.params,
        risk=settings.risk,
        market=loaded.market,
        fee_rate=settings.fee_pct / 100,
        slippage_bps=settings.slippage_bps,
        cash=settings.cash,
        order_quote=None if pct else settings.order_size,
        order_pct=settings.order_size if pct else None,
    )
    indicators = {}
    if chart:
        indicators = get_strategy(settings.strategy).indicators(loaded.candles, settings.params)
    return BacktestRun(settings, result, loaded.candles, indicators, loaded.market)


def bot_prefill(settings: BacktestSettings) -> dict:
    """What the Bots page's create form starts from: these settings as a bot spec (less the
    account, which the person picks; `exchange` says which accounts fit)."""
    title = get_strategy(settings.strategy).title
    spec = asdict(settings)
    prefill = {k: spec[k] for k in SHARED_SETTINGS}
    prefill["params"] = dict(settings.params)
    prefill["exchange"] = settings.exchange if settings.source != "csv" else None
    prefill["name"] = f"{title} {settings.symbol} {settings.timeframe}"[:64]
    return prefill
