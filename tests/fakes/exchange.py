"""A Binance-compatible subset over real HTTP on 127.0.0.1, for the real ccxt.binance client.

It verifies API keys, HMAC-SHA256 signatures and timestamps like Binance, keeps balances and
orders per key, and injects faults on request: latency, timeouts, 429 with Retry-After, 5xx,
malformed JSON, connection resets and "order accepted but response lost". Drive it from Python
(`FakeExchange`) or over HTTP (`/__fake__/...`); run it standalone with
`python -m tests.fakes.exchange --port N [--key K --secret S]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from collections import Counter
from http.server import ThreadingHTTPServer

from tests.fakes.binance_book import Book, Key
from tests.fakes.binance_http import Handler

log = logging.getLogger("fake-exchange")
FAULTS = ("latency", "timeout", "429", "5xx", "malformed", "reset", "lost")


class FakeExchange:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, now_ms=None) -> None:
        self.book = Book(now_ms=now_ms)
        self.faults: list[dict] = []
        self.stats: Counter = Counter()
        self.klines_by_symbol: Counter = Counter()
        self.stats_lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.server.fake = self
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True, name="fake-exchange"
        )
        self.thread.start()
        return self.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_key(
        self,
        api_key: str,
        secret: str,
        *,
        withdrawals: bool = False,
        balances: dict[str, float] | None = None,
    ) -> None:
        with self.book.lock:
            key = Key(secret=secret, withdrawals=withdrawals)
            if balances is not None:
                key.balances = dict(balances)
            self.book.keys[api_key] = key

    def inject(
        self,
        kind: str,
        *,
        path: str = "*",
        count: int = 1000,
        seconds: float = 0.0,
        retry_after: int = 1,
        after: int = 0,
    ) -> None:
        """Apply `kind` to `count` requests on `path` ("*" = every path), after letting
        `after` of them through."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}")
        self.faults.append(
            {
                "kind": kind,
                "path": path,
                "count": count,
                "seconds": seconds,
                "retry_after": retry_after,
                "after": after,
            }
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    def take_fault(self, path: str) -> dict | None:
        with self.stats_lock:
            for fault in self.faults:
                if fault["count"] > 0 and fault["path"] in ("*", path):
                    if fault["after"] > 0:
                        fault["after"] -= 1
                        return None
                    fault["count"] -= 1
                    return fault
        return None

    def count(self, method: str, path: str, symbol: str | None = None) -> None:
        with self.stats_lock:
            self.stats[f"{method} {path}"] += 1
            if symbol and path.endswith("/klines"):
                self.klines_by_symbol[symbol] += 1

    def requests(self, method: str, path: str) -> int:
        return self.stats[f"{method} {path}"]

    def orders(self, api_key: str) -> list[dict]:
        return list(self.book.orders.get(api_key, []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--key", default="")
    parser.add_argument("--secret", default="")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    fake = FakeExchange(port=args.port)
    if args.key:
        fake.add_key(args.key, args.secret)
    log.info("fake exchange on %s", fake.url)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopped")
    finally:
        fake.server.server_close()
        log.info("%s", json.dumps(dict(fake.stats)))


if __name__ == "__main__":
    main()
