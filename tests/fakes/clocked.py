"""The fake exchange with a clock the caller moves, 10 days in the past (never ahead of the
ccxt client's own clock, which refuses 'since' in the future)."""

from __future__ import annotations

import time

from tests.fakes.binance_book import MARKETS
from tests.fakes.exchange import FakeExchange

MINUTE = 60_000


class ClockedFake:
    def __init__(self) -> None:
        start = int(time.time() * 1000) - 10 * 86_400_000
        self._now = [start - start % MINUTE + 30_000]
        self.fake = FakeExchange(now_ms=lambda: self._now[0])
        self.fake.start()

    @property
    def url(self) -> str:
        return self.fake.url

    def now(self) -> int:
        return self._now[0]

    def advance(self, ms: int) -> None:
        self._now[0] += ms

    def klines_requests(self) -> int:
        return self.fake.requests("GET", "/api/v3/klines")

    def fail_klines_after(self, pages: int) -> None:
        self.fake.inject("5xx", path="/api/v3/klines", after=pages)

    def heal(self) -> None:
        self.fake.clear_faults()

    def symbols(self, n: int) -> list[str]:
        return [s[:-4] + "/USDT" for s in MARKETS][:n]

    def stop(self) -> None:
        self.fake.stop()

    close = stop
