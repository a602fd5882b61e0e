"""Market-data commands: `python -m core.cli download-candles ...`."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from core.cli.commands import command
from core.errors import ExchangeError, InvalidInput
from core.exchanges import timeframe_ms


def add_commands(sub) -> None:
    dl = sub.add_parser(
        "download-candles",
        help="download candle history into the cache (resumable; skips what is cached)",
    )
    dl.add_argument("--exchange", required=True, help="'sim' or a ccxt exchange id")
    dl.add_argument("--symbol", required=True, help="unified symbol, e.g. BTC/USDT")
    dl.add_argument("--timeframe", required=True, help="1m, 5m, 15m, 1h, 4h, 1d ...")
    dl.add_argument("--since", required=True, help="UTC date or time: 2024-01-01[T12:00]")
    dl.add_argument("--until", default=None, help="UTC date or time (default: now)")


def parse_when(value: str, name: str) -> int:
    """Epoch ms from an ISO date or date-time; no zone means UTC."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"--{name} {value!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _progress_bar():
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="candle", file=sys.stderr, dynamic_ncols=True)
        bar.update(done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()

    return update, close


@command("download-candles")
def cmd_download_candles(args: argparse.Namespace) -> int:
    # Imported here, not at the top: `python -m core.cli backtest` loads no database stack.
    from core.candles import download_candles
    from core.exchanges import check_feed_id, market_feed
    from core.platform.config import load_settings
    from core.platform.runtime import start

    # Everything is checked before the database is opened: bad input writes nothing.
    now = int(time.time() * 1000)
    timeframe_ms(args.timeframe)
    since = parse_when(args.since, "since")
    until = parse_when(args.until, "until") if args.until else now
    if since > now:
        raise InvalidInput("--since is in the future.")
    if until < since:
        raise InvalidInput("--until is before --since.")
    exchange_id = check_feed_id(args.exchange)
    feed = market_feed(exchange_id, settings=load_settings())
    try:
        feed.market(args.symbol)
        rt = start("cli")
        update, close = _progress_bar()
        try:
            stats = download_candles(
                rt,
                feed,
                symbol=args.symbol,
                timeframe=args.timeframe,
                since_ms=since,
                until_ms=until,
                now_ms=now,
                progress=update,
            )
        finally:
            close()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: run the same command again to resume\n")
        return 130
    except ExchangeError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return 1
    finally:
        feed.close()
    sys.stdout.write(
        f"{args.symbol} {args.timeframe} on {exchange_id}: {stats.inserted} new candle(s) in "
        f"{stats.requests} request(s); {stats.cached_before} already cached\n"
    )
    return 0
