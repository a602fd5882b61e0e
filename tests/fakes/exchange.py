"""Fake Binance, OKX and Bybit over real HTTP on 127.0.0.1, for the real ccxt clients.

One book (tests.fakes.book: balances per key, market orders filled at the current price with a
fee, limit orders resting), three HTTP dialects. Each verifies API keys and request signatures
the way its venue does, answers in the venue's envelopes and error codes, and injects faults on
request: latency, timeouts, 429 with Retry-After, 5xx, malformed JSON, connection resets and
"order accepted but response lost". Venue semantics, switchable per fake: client order ids
unique among open orders only (`reject_reused_ids=True` refuses any reuse) and orders visible
to queries only `visibility_delay_ms` after they were accepted.

Market orders sized in quote follow each venue's documented parameters (Binance quoteOrderQty,
OKX tgtCcy=quote_ccy, Bybit marketUnit=quoteCoin; tests.fakes.book). `posted(path)` gives the
fields of the requests as they came on the wire.

Drive it from Python (`FakeExchange`) or over HTTP (`/__fake__/...`); run it standalone with
`python -m tests.fakes.exchange [--venue binance|okx|bybit] --port N [--key K --secret S
[--passphrase X]]`. Point a ccxt client at `url` as core.exchanges.live._point_at does.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from collections import Counter, deque
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qsl

from tests.fakes.book import Book, Key

log = logging.getLogger("fake-exchange")
FAULTS = ("latency", "timeout", "429", "5xx", "malformed", "reset", "lost")
VENUES = ("binance", "okx", "bybit")


def handler_class(venue: str):
    if venue == "binance":
        from tests.fakes.binance_http import BinanceHandler as handler
    elif venue == "okx":
        from tests.fakes.okx_http import OkxHandler as handler
    elif venue == "bybit":
        from tests.fakes.bybit_http import BybitHandler as handler
    else:
        raise ValueError(f"unknown venue {venue!r}; one of {', '.join(VENUES)}")
    return handler


class FakeExchange:
    def __init__(
        self,
        *,
        venue: str = "binance",
        host: str = "127.0.0.1",
        port: int = 0,
        now_ms=None,
        reject_reused_ids: bool = False,
        visibility_delay_ms: int = 0,
    ) -> None:
        self.venue = venue
        self.handler = handler_class(venue)
        self.book = Book(
            now_ms=now_ms,
            reject_reused_ids=reject_reused_ids,
            visibility_delay_ms=visibility_delay_ms,
        )
        self.faults: list[dict] = []
        self.stats: Counter = Counter()
        self.klines_by_symbol: Counter = Counter()
        self.stats_lock = threading.Lock()
        # (method, path, query params, body) of the latest non-GET requests, oldest first
        self.journal: deque = deque(maxlen=1000)
        self.server = ThreadingHTTPServer((host, port), self.handler)
        self.server.daemon_threads = True
        self.server.fake = self
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits at most this long
            daemon=True,
            name=f"fake-{self.venue}",
        )
        self.thread.start()
        return self.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def configure(
        self, *, reject_reused_ids: bool | None = None, visibility_delay_ms: int | None = None
    ) -> None:
        """Switch venue semantics at run time (orders already placed keep their visibility)."""
        with self.book.lock:
            if reject_reused_ids is not None:
                self.book.reject_reused_ids = bool(reject_reused_ids)
            if visibility_delay_ms is not None:
                self.book.visibility_delay_ms = int(visibility_delay_ms)

    def add_key(
        self,
        api_key: str,
        secret: str,
        *,
        passphrase: str = "",
        withdrawals: bool = False,
        balances: dict[str, float] | None = None,
    ) -> None:
        with self.book.lock:
            key = Key(secret=secret, passphrase=passphrase, withdrawals=withdrawals)
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
            if symbol:
                self.klines_by_symbol[symbol] += 1

    def requests(self, method: str, path: str) -> int:
        return self.stats[f"{method} {path}"]

    def record(self, method: str, path: str, params: dict, body: str) -> None:
        with self.stats_lock:
            self.journal.append((method, path, dict(params), body))

    def posted(self, path: str) -> list[dict]:
        """The fields of each POST to `path` as sent (query string, form or JSON body merged;
        a JSON list, as OKX's batch-orders, gives one entry per element), oldest first."""
        with self.stats_lock:
            sent = [(p, b) for m, pth, p, b in self.journal if m == "POST" and pth == path]
        out = []
        for params, body in sent:
            try:
                data = json.loads(body) if body else {}
            except ValueError:
                data = dict(parse_qsl(body, keep_blank_values=True))
            for item in data if isinstance(data, list) else [data]:
                out.append({**params, **(item if isinstance(item, dict) else {})})
        return out

    def orders(self, api_key: str) -> list[dict]:
        """Every order of this key, oldest first, as the venue's API renders it (visible to
        queries or not yet)."""
        with self.book.lock:
            return [self.handler.render_order(o) for o in self.book.orders.get(api_key, [])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--venue", choices=VENUES, default="binance")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--key", default="")
    parser.add_argument("--secret", default="")
    parser.add_argument("--passphrase", default="", help="OKX keys sign with one")
    parser.add_argument("--withdrawals", action="store_true", help="the key may withdraw")
    parser.add_argument("--visibility-delay-ms", type=int, default=0)
    parser.add_argument("--reject-reused-ids", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    fake = FakeExchange(
        venue=args.venue,
        port=args.port,
        reject_reused_ids=args.reject_reused_ids,
        visibility_delay_ms=args.visibility_delay_ms,
    )
    if args.key:
        fake.add_key(
            args.key, args.secret, passphrase=args.passphrase, withdrawals=args.withdrawals
        )
    log.info("fake %s exchange on %s", args.venue, fake.url)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopped")
    finally:
        fake.server.server_close()
        log.info("%s", json.dumps(dict(fake.stats)))


if __name__ == "__main__":
    main()
