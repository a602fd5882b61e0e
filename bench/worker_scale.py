"""Worker scale: N running paper bots on the sim feed (1m candles), a real Huey consumer with
the default thread count, several candle closes replayed back to back.

Lag is candle close -> tick finished when the ticks of a candle are enqueued at its close.
Market-data requests are the sim feed's candle requests made by the shared cache
(core.candles.cache), per market and candle; the paper exchange's own price reads (one per order,
for the fill price) are counted apart. Prints a table per candle, then one JSON line:

    python bench/worker_scale.py [--bots 10000] [--candles 3] [--first-candle-ms T]
                                 [--consumers 1]

`--consumers N` adds N-1 consumer processes (`python -m worker`'s service, scheduler off, the
same database and queue) to the one in this process: how a box with N cores runs its workers.
`--database-url` / `--queue-url` point at an empty PostgreSQL database and an empty Redis (or
PostgreSQL) queue instead of the SQLite files.

The sim feed is a pure function of time, so `--first-candle-ms` replays the same candles (and
signals) on every run; by default the last `--candles` closed candles are replayed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from huey.consumer import Consumer
from pydantic import SecretStr
from sqlalchemy import func
from sqlmodel import select

from core import bots, trading, users
from core.exchanges import SimExchange, open_paper_account
from core.models import BotOrder, Tick
from core.platform.config import Settings
from core.platform.runtime import start
from worker.embedded import ThreadConsumer
from worker.service import build_service

MIN = 60_000
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT", "DOGE/USDT", "ADA/USDT"]


def setup(rt, n: int) -> None:
    with rt.session() as s:
        owner = users.create_user(
            s, username="bench", email="b@x.io", name="B", password="Bench-Pass-9"
        )
        accounts = [
            open_paper_account(s, owner_id=owner.id, label=f"p{i}", balances={"USDT": 1e9})
            for i in range(max(1, n // 100))
        ]
        lookup = trading.market_lookup(rt)
        for i in range(n):
            spec = bots.BotSpec(
                name=f"b{i}",
                account_id=accounts[i % len(accounts)].id,
                symbol=SYMBOLS[i % len(SYMBOLS)],
                timeframe="1m",
                strategy="sma_cross",
                params={"fast": 5, "slow": 20},
                order_size=100.0,
            )
            bot = bots.create_bot(s, owner=owner, spec=spec, markets=lookup)
            bot.status = "running"
            s.add(bot)


def count_feed_requests() -> Counter:
    """Count the sim feed's candle requests by the calling module."""
    calls: Counter = Counter()
    fetch = SimExchange.fetch_candles

    def counted(self, *args, **kwargs):
        calls[sys._getframe(1).f_globals.get("__name__", "?")] += 1
        return fetch(self, *args, **kwargs)

    SimExchange.fetch_candles = counted
    return calls


def bench_settings(data_dir: Path, args: argparse.Namespace) -> Settings:
    extra = {"worker_threads": args.threads} if args.threads else {}
    return Settings(
        **extra,
        database_url=args.database_url,
        queue_url=args.queue_url,
        data_dir=data_dir,
        cookie_key=SecretStr("x" * 40),
        master_keys=SecretStr("bXktdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmc="),
        demo=False,
        log_level="WARNING",
        worker_scheduler=False,
    )


def serve(data_dir: Path, args: argparse.Namespace) -> None:
    """An extra consumer process (as `python -m worker`); its request counts go to a file."""
    rt = start("bench-worker", settings=bench_settings(data_dir, args))
    requests = count_feed_requests()
    service = build_service(rt, mode="external")
    service.start_background()
    (data_dir / f"ready.{os.getpid()}").touch()
    try:
        service.consumer(Consumer).run()  # SIGINT: graceful stop
    finally:
        service.stop_background()
        (data_dir / f"requests.{os.getpid()}.json").write_text(json.dumps(requests))


def start_consumers(data_dir: Path, n: int, args: argparse.Namespace) -> list[subprocess.Popen]:
    command = [sys.executable, __file__, "--serve", str(data_dir)]
    command += ["--threads", str(args.threads)] if args.threads else []
    command += ["--database-url", args.database_url, "--queue-url", args.queue_url]
    procs = [subprocess.Popen(command) for _ in range(n)]
    while not all((data_dir / f"ready.{p.pid}").exists() for p in procs):
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a consumer process exited at start")
        time.sleep(0.2)
    return procs


def stop_consumers(data_dir: Path, procs: list[subprocess.Popen], requests: Counter) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        proc.wait(60)
        requests.update(json.loads((data_dir / f"requests.{proc.pid}.json").read_text()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bots", type=int, default=10_000)
    parser.add_argument("--candles", type=int, default=3)
    parser.add_argument("--first-candle-ms", type=int, default=None)
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="default: the setting's")
    parser.add_argument("--database-url", default="", help="an EMPTY database (default: SQLite)")
    parser.add_argument("--queue-url", default="", help="an empty queue (default: SQLite file)")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(Path(tmp), args)
        rt = start("bench", settings=settings)
        setup(rt, args.bots)
        requests = count_feed_requests()
        procs = start_consumers(Path(tmp), args.consumers - 1, args)
        service = build_service(rt, mode="external")
        consumer = service.consumer(ThreadConsumer)
        thread = threading.Thread(target=consumer.run, daemon=True)
        thread.start()
        now = int(time.time() * 1000)
        first = now - now % MIN - args.candles * MIN
        if args.first_candle_ms is not None:
            first = args.first_candle_ms - args.first_candle_ms % MIN
        lags, t0, rows = [], time.monotonic(), []
        for k in range(args.candles):
            candle = first + k * MIN
            service.app.schedule_once(now_ms=candle + MIN + 1_000)
            while True:
                with rt.read() as s:
                    done = s.exec(
                        select(Tick.finished_at).where(
                            Tick.candle_ts == candle, Tick.status.in_(("done", "failed"))
                        )
                    ).all()
                if len(done) >= args.bots:
                    break
                time.sleep(0.5)
            with rt.read() as s:
                ticks = s.exec(select(Tick).where(Tick.candle_ts == candle)).all()
                orders = s.exec(
                    select(func.count()).select_from(BotOrder).where(BotOrder.candle_ts == candle)
                ).one()
            base = min(t.created_at for t in ticks)
            mine = sorted((t.finished_at - base).total_seconds() for t in ticks)
            rows.append((k, len(ticks), orders, mine[int(len(mine) * 0.99) - 1], mine[-1]))
            lags += mine
        elapsed = time.monotonic() - t0
        consumer.stop(graceful=True)
        stop_consumers(Path(tmp), procs, requests)
        rss = max(
            resource.getrusage(who).ru_maxrss / 1024
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
    lags.sort()
    p50, p99 = lags[len(lags) // 2], lags[int(len(lags) * 0.99) - 1]
    ticks_per_s = len(lags) / elapsed
    print(f"{'candle':>8}{'ticks':>8}{'orders':>8}{'lag p99 s':>11}{'lag max s':>11}")
    for k, n, orders, c99, cmax in rows:
        print(f"{k:>8}{n:>8}{orders:>8}{c99:>11.1f}{cmax:>11.1f}")
    market_requests = requests["core.candles.cache"] / (len(SYMBOLS) * args.candles)
    print(
        f"{'bots':>8}{'candles':>9}{'ticks/s':>10}{'lag p50 s':>11}{'lag p99 s':>11}{'rss MB':>8}"
    )
    print(f"{args.bots:>8}{args.candles:>9}{ticks_per_s:>10.1f}{p50:>11.1f}{p99:>11.1f}{rss:>8.0f}")
    print(f"one minute holds {ticks_per_s * 60:.0f} ticks at this rate (goal: {args.bots})")
    print(
        json.dumps(
            {
                "bots": args.bots,
                "candles": args.candles,
                "first_candle_ms": first,
                "ticks_per_s": round(ticks_per_s, 1),
                "lag_p50_s": round(p50, 2),
                "lag_p99_s": round(p99, 2),
                "data_requests_per_market_candle": round(market_requests, 2),
                "paper_price_reads": requests["core.exchanges.paper"],
                "orders": sum(r[2] for r in rows),
                "worker_rss_mb": round(rss),  # the largest process
                "consumers": args.consumers,
                "database": rt.engine.dialect.name,
                "queue": args.queue_url.split(":", 1)[0] or "sqlite",
                "threads": settings.worker_threads,
            }
        )
    )


if __name__ == "__main__":
    main()
