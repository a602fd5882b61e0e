"""Candles shared by every bot: the `Candle` table is the cache, the exchange is asked once.

`closed_candles` serves the last N closed candles of a market from the cache. When the newest
closed candle is missing, ONE caller fetches it while the others wait and then read it:

- in-process: a `threading.Lock` per market;
- across processes: on SQLite the fetch runs inside a `BEGIN IMMEDIATE` transaction (the
  database write lock; the fetch is one request bounded by the exchange timeout), on
  PostgreSQL inside a transaction holding `pg_advisory_xact_lock` for that market only.

After the lock is acquired the cache is checked again, so whoever waited reads what the first
caller stored. Closed candles never change, so an in-process LRU keyed by the newest closed
open time serves repeated reads without touching the database.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from core.errors import ExchangeTemporaryError, InvalidInput
from core.exchanges import Candle, Exchange, last_closed_open, timeframe_ms
from core.models import Candle as CandleRow
from core.platform.db import read_session, session_scope

log = logging.getLogger(__name__)
MAX_LIMIT = 10_000  # the longest window a tick reads (MACD at its maximum needs 7,722); paged
PAGE_LIMIT = 1_000  # candles per request (Binance's maximum); smaller exchanges clip it
LRU_SIZE = 512
DOWNLOAD_RETRIES = 5
RETRY_MISSING_S = 2.0  # a candle the exchange has not published yet is asked for again after
_COLUMNS = ("ts", "open", "high", "low", "close", "volume")

_locks: dict[tuple, threading.Lock] = {}
_locks_guard = threading.Lock()
_lru: OrderedDict[tuple, tuple[int, tuple[Candle, ...]]] = OrderedDict()
_lru_guard = threading.Lock()
_tried: dict[tuple, tuple[int, float]] = {}  # market -> (newest asked for, retry after)


def _engine(rt_or_engine) -> Engine:
    return getattr(rt_or_engine, "engine", rt_or_engine)


def _market_lock(key: tuple) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def clear_memory_cache() -> None:
    """Forget the in-process LRU (tests; the database cache stays)."""
    with _lru_guard:
        _lru.clear()
        _tried.clear()


def read_cached(
    session: Session, *, exchange: str, symbol: str, timeframe: str, start: int, end: int
) -> list[Candle]:
    """Cached candles with start <= ts <= end, oldest first (one primary-key range scan)."""
    query = (
        select(*(getattr(CandleRow, c) for c in _COLUMNS))
        .where(
            CandleRow.exchange == exchange,
            CandleRow.symbol == symbol,
            CandleRow.timeframe == timeframe,
            col(CandleRow.ts) >= start,
            col(CandleRow.ts) <= end,
        )
        .order_by(col(CandleRow.ts))
    )
    return [Candle(*row) for row in session.exec(query)]


def store_candles(
    session: Session, *, exchange: str, symbol: str, timeframe: str, candles: Iterable[Candle]
) -> int:
    """Insert candles, ignoring ones already cached; the number of rows inserted."""
    rows = [
        {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, **c._asdict()}
        for c in candles
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = 0
    for i in range(0, len(rows), 500):  # well under SQLite's bound-parameter limit
        stmt = insert(CandleRow).values(rows[i : i + 500]).on_conflict_do_nothing()
        inserted += session.execute(stmt).rowcount
    return inserted


def lock_market(session: Session, key: tuple) -> None:
    """Serialise fetches of one market across processes for the rest of this transaction."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
        lock_id = int.from_bytes(digest, "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    # SQLite: the session's BEGIN IMMEDIATE already holds the database write lock.


def closed_candles(
    rt_or_engine, feed: Exchange, *, symbol: str, timeframe: str, limit: int, now_ms: int
) -> list[Candle]:
    """The last `limit` closed candles at `now_ms`, oldest first, fetched once per candle.

    Fewer are returned when the exchange has no older history, or has not yet published the
    candle that just closed (then the window ends one candle earlier; the next call retries).
    """
    if not isinstance(limit, int) or not 0 < limit <= MAX_LIMIT:
        raise InvalidInput(f"The candle limit must be 1-{MAX_LIMIT}.")
    step = timeframe_ms(timeframe)
    newest = last_closed_open(now_ms, timeframe)
    oldest = newest - (limit - 1) * step
    engine = _engine(rt_or_engine)
    market = (feed.id, symbol, timeframe)
    market_key = (str(engine.url), *market)
    lru_key = (*market_key, limit)
    with _lru_guard:
        hit = _lru.get(lru_key)
        if hit is not None and hit[0] == newest:
            _lru.move_to_end(lru_key)
            return list(hit[1])
    with read_session(engine) as session:
        cached = read_cached(session, **_where(market), start=oldest, end=newest)
    if _needs_fetch(cached, newest, oldest, limit) and not _recently_tried(market_key, newest):
        with _market_lock(market_key):
            cached = _fetch_locked(engine, feed, market, oldest, newest, limit, now_ms)
        if not cached or cached[-1].ts != newest:
            _tried[market_key] = (newest, time.monotonic() + RETRY_MISSING_S)
        elif len(cached) < limit:  # the exchange has no older history: do not ask again
            _tried[market_key] = (newest, float("inf"))
    if cached and cached[-1].ts == newest:
        with _lru_guard:
            _lru[lru_key] = (newest, tuple(cached))
            _lru.move_to_end(lru_key)
            while len(_lru) > LRU_SIZE:
                _lru.popitem(last=False)
    return cached


def _recently_tried(market_key: tuple, newest: int) -> bool:
    """True when this candle was just asked for and the exchange did not have it (yet)."""
    tried = _tried.get(market_key)
    return tried is not None and tried[0] == newest and time.monotonic() < tried[1]


def _where(market: tuple) -> dict:
    return {"exchange": market[0], "symbol": market[1], "timeframe": market[2]}


def _needs_fetch(cached: list[Candle], newest: int, oldest: int, limit: int) -> bool:
    if not cached or cached[-1].ts != newest:
        return True
    return len(cached) < limit and cached[0].ts > oldest  # older history not cached yet


def _fetch_locked(
    engine: Engine,
    feed: Exchange,
    market: tuple,
    oldest: int,
    newest: int,
    limit: int,
    now_ms: int,
) -> list[Candle]:
    step = timeframe_ms(market[2])
    with session_scope(engine) as session:
        lock_market(session, market)
        cached = read_cached(session, **_where(market), start=oldest, end=newest)
        if not _needs_fetch(cached, newest, oldest, limit):
            return cached  # someone else fetched it while we waited
        since = oldest  # empty, gappy or short at the start: (re)fetch the window
        complete = cached and cached[-1].ts - oldest == (len(cached) - 1) * step
        if complete and cached[-1].ts < newest:
            since = cached[-1].ts + step  # complete but for the newest candle(s)
        fetched = _fetch_range(feed, market, since, newest, now_ms)
        store_candles(session, **_where(market), candles=fetched)
        log.info(
            "market data %s %s %s: fetched %d candle(s) from %s",
            *market,
            len(fetched),
            since,
        )
        return read_cached(session, **_where(market), start=oldest, end=newest)


def _fetch_range(feed: Exchange, market: tuple, since: int, newest: int, now_ms: int):
    """Closed candles with since <= ts <= newest, in as few requests as the page size allows."""
    step = timeframe_ms(market[2])
    out: list[Candle] = []
    while since <= newest:
        want = min(PAGE_LIMIT, (newest - since) // step + 1)
        page = feed.fetch_candles(market[1], market[2], since=since, limit=want)
        short = len(page) < want  # the exchange has nothing more (yet)
        page = [c for c in page if since <= c.ts <= newest and c.ts + step <= now_ms]
        if not page:
            break
        out.extend(page)
        since = page[-1].ts + step
        if short:
            break
    return out


@dataclass
class DownloadStats:
    requests: int = 0
    inserted: int = 0
    missing_before: int = 0  # candles in range not cached when the download started
    cached_before: int = 0


def missing_runs(have: set[int], first: int, last: int, step: int) -> list[tuple[int, int]]:
    """Contiguous (start, end) open-time ranges in [first, last] that are not in `have`."""
    runs: list[tuple[int, int]] = []
    start = None
    for ts in range(first, last + step, step):
        if ts not in have and start is None:
            start = ts
        elif ts in have and start is not None:
            runs.append((start, ts - step))
            start = None
    if start is not None:
        runs.append((start, last))
    return runs


def download_candles(
    rt_or_engine,
    feed: Exchange,
    *,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int,
    now_ms: int,
    progress: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadStats:
    """Fill the cache with the closed candles opening in [since_ms, until_ms].

    Only missing candles are requested (so a rerun resumes where an interrupted one stopped),
    page by page; each page is committed on its own. `progress(done, total)` is called before
    the first request and after each page, counting missing candles (covered / to fetch).
    """
    step = timeframe_ms(timeframe)
    first = since_ms + (-since_ms % step)
    last = min(until_ms - until_ms % step, last_closed_open(now_ms, timeframe))
    engine, market = _engine(rt_or_engine), (feed.id, symbol, timeframe)
    stats = DownloadStats()
    if last < first:
        return stats
    with read_session(engine) as session:
        have = {c.ts for c in read_cached(session, **_where(market), start=first, end=last)}
    runs = missing_runs(have, first, last, step)
    stats.cached_before = len(have)
    stats.missing_before = sum((end - start) // step + 1 for start, end in runs)
    done = 0
    if progress is not None:
        progress(done, stats.missing_before)
    for start, end in runs:
        while start <= end:
            want = min(PAGE_LIMIT, (end - start) // step + 1)
            page = _fetch_with_backoff(feed, symbol, timeframe, start, want, sleep)
            stats.requests += 1
            page = [c for c in page if start <= c.ts <= end and c.ts + step <= now_ms]
            if page:
                with session_scope(engine) as session:
                    stats.inserted += store_candles(session, **_where(market), candles=page)
            covered = page[-1].ts + step if page else start + want * step
            done += (min(covered, end + step) - start) // step
            if progress is not None:
                progress(done, stats.missing_before)
            start = covered
    log.info("download %s %s %s: %s", *market, stats)
    return stats


def _fetch_with_backoff(feed, symbol, timeframe, since, limit, sleep) -> list[Candle]:
    """One page; a temporary error left over from the adapter's retries waits and tries again."""
    for attempt in range(DOWNLOAD_RETRIES):
        try:
            return feed.fetch_candles(symbol, timeframe, since=since, limit=limit)
        except ExchangeTemporaryError as exc:
            if attempt == DOWNLOAD_RETRIES - 1:
                raise
            wait = getattr(exc, "retry_after", None) or min(30.0, 2.0**attempt)
            log.warning("download %s %s: %s; waiting %.1f s", symbol, timeframe, exc, wait)
            sleep(wait)
    return []
