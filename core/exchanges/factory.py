"""Build the right `Exchange` for what the caller has: a feed id or an exchange account.

- `market_feed("sim")` is the deterministic simulated market; any other id is that exchange's
  public market data through ccxt (`LiveExchange` without a key), reaching the exchange at
  `settings.exchange_api_url` when set (tests, the fake exchange) with the configured timeout.
- An exchange *account* (paper book or a live key) is built one layer up, by
  `core.accounts.account_exchange`, which knows how to decrypt keys.

Exchange instances are not thread-safe: build one per thread.
"""

from __future__ import annotations

from collections.abc import Callable

from core.errors import InvalidInput
from core.exchanges.base import Exchange
from core.platform.config import Settings, load_settings

SIM = "sim"
SIM_NAME = "Simulated market"


def known_feed_ids() -> list[str]:
    """'sim' first, then every exchange id ccxt supports."""
    return [SIM, *exchange_ids()]


def feed_choices() -> list[str]:
    """The feed ids in the order a picker offers them: 'sim', then the exchanges offered for
    live trading (core.exchanges.capabilities), then the paper-only ones, each group by name."""
    from core.exchanges.capabilities import live_exchange_ids

    names = exchange_names()
    live = set(live_exchange_ids()) & set(names)
    return [
        SIM,
        *sorted(live, key=lambda e: names[e].lower()),
        *sorted(set(names) - live, key=lambda e: names[e].lower()),
    ]


def exchange_names() -> dict[str, str]:
    """Exchange id -> name as people know it ('okx' -> 'OKX'), 'sim' included; no network."""
    from core.exchanges import live

    return {SIM: SIM_NAME, **live.exchange_names()}


def exchange_name(exchange_id: str) -> str:
    """'binance' -> 'Binance'; an unknown id stays as it is."""
    return exchange_names().get(exchange_id, exchange_id)


def check_feed_id(exchange_id: object) -> str:
    """The cleaned feed id, or `InvalidInput` naming the unknown exchange."""
    value = exchange_id.strip().lower() if isinstance(exchange_id, str) else ""
    if value == SIM:
        return value
    from core.exchanges import live

    if not value or value not in live.list_exchange_ids():
        raise InvalidInput(f"Unknown exchange {exchange_id!r}: use 'sim' or a ccxt exchange id.")
    return value


def market_feed(
    exchange_id: str,
    *,
    settings: Settings | None = None,
    clock: Callable[[], int] | None = None,
) -> Exchange:
    """Public market data (no key) for `exchange_id`; `clock` drives the sim feed's "now".
    A live feed reaches `settings.exchange_api_url_for(exchange_id)` when one is set."""
    exchange_id = check_feed_id(exchange_id)
    if exchange_id == SIM:
        from core.exchanges.sim import SimExchange

        return SimExchange(seed=42, now_ms=clock) if clock else SimExchange(seed=42)
    from core.exchanges.live import LiveExchange

    settings = settings or load_settings()
    return LiveExchange(
        exchange_id=exchange_id,
        api_key=None,
        secret=None,
        sandbox=False,
        api_url=settings.exchange_api_url_for(exchange_id),
        timeout_ms=settings.exchange_timeout_ms,
    )


# ccxt takes about a second to import: the live adapter is loaded on first use, through these.


def live_exchange(**kwargs) -> Exchange:
    """A `LiveExchange` (ccxt) built with `kwargs`."""
    from core.exchanges.live import LiveExchange

    return LiveExchange(**kwargs)


def exchange_ids() -> list[str]:
    """Every exchange id ccxt supports, sorted."""
    from core.exchanges import live

    return sorted(live.list_exchange_ids())


def required_credentials(exchange_id: str):
    from core.exchanges import live

    return live.required_credentials(exchange_id)


def has_testnet(exchange_id: str) -> bool:
    from core.exchanges import live

    return bool(live.has_testnet(exchange_id))
