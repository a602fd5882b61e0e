"""Worker scale: N running paper bots on the sim feed (1m candles), a real Huey consumer with
the default thread count, several candle closes replayed back to back.

Lag is candle close -> tick finished when the ticks of a candle are enqueued at its close.
Prints a table, then one JSON line: python bench/worker_scale.py [--bots 10000] [--candles 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pydantic import SecretStr
from sqlmodel import select

from core import bots, engine, users
from core.config import Settings
from core.exchanges.paper_book import open_paper_account
from core.models import Tick
from core.runtime import start
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
        lookup = engine.market_lookup(rt)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bots", type=int, default=10_000)
    parser.add_argument("--candles", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            cookie_key=SecretStr("x" * 40),
            master_keys=SecretStr("bXktdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmc="),
            demo=False,
            log_level="WARNING",
            worker_scheduler=False,
        )
        rt = start("bench", settings=settings)
        setup(rt, args.bots)
        service = build_service(rt, mode="external")
        consumer = service.consumer(ThreadConsumer)
        thread = threading.Thread(target=consumer.run, daemon=True)
        thread.start()
        now = int(time.time() * 1000)
        first = now - now % MIN - args.candles * MIN
        lags, t0 = [], time.monotonic()
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
            base = min(t.created_at for t in ticks)
            lags += sorted((t.finished_at - base).total_seconds() for t in ticks)
        elapsed = time.monotonic() - t0
        consumer.stop(graceful=True)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lags.sort()
    p50, p99 = lags[len(lags) // 2], lags[int(len(lags) * 0.99) - 1]
    ticks_per_s = len(lags) / elapsed
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
                "ticks_per_s": round(ticks_per_s, 1),
                "lag_p50_s": round(p50, 2),
                "lag_p99_s": round(p99, 2),
                "data_requests_per_market_candle": None,
                "worker_rss_mb": round(rss),
                "threads": settings.worker_threads,
            }
        )
    )


if __name__ == "__main__":
    main()
