"""Build the right `Exchange` for what the caller has: a feed id or an exchange account.

- `market_feed("sim")` is the deterministic simulated market; any other id is that exchange's
  public market data through ccxt (`LiveExchange` without a key), reaching the exchange at
  `settings.exchange_api_url` when set (tests, the fake exchange) with the configured timeout.
- `account_exchange(rt, account_id=...)`: a paper account trades on a `PaperExchange` over its
  feed; a live account gets a `LiveExchange` with its decrypted key (`SecretUnreadable` when the
  key no longer decrypts; the account is then marked for re-entry by `core.accounts`).

Exchange instances are not thread-safe: build one per thread.
"""

from __future__ import annotations

from collections.abc import Callable

from core.config import Settings, load_settings
from core.errors import InvalidInput, NotFound
from core.exchanges.base import Exchange
from core.exchanges.paper import DEFAULT_SLIPPAGE_BPS, PaperExchange
from core.models import ExchangeAccount, User

SIM = "sim"


def known_feed_ids() -> list[str]:
    """'sim' first, then every exchange id ccxt supports."""
    from core.exchanges import live

    return [SIM, *sorted(live.list_exchange_ids())]


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
    """Public market data (no key) for `exchange_id`; `clock` drives the sim feed's "now"."""
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
        api_url=settings.exchange_api_url or None,
        timeout_ms=settings.exchange_timeout_ms,
    )


def account_exchange(
    rt,
    *,
    account_id: int,
    clock: Callable[[], int] | None = None,
    slippage_bps: float = DEFAULT_SLIPPAGE_BPS,
) -> Exchange:
    """The exchange a bot on this account trades on (paper book or the real exchange)."""
    with rt.read() as session:
        account = session.get(ExchangeAccount, account_id)
        owner = session.get(User, account.owner_id) if account is not None else None
    if account is None or owner is None:
        raise NotFound(f"Exchange account {account_id} was not found.")
    if account.kind == "paper":
        feed = market_feed(account.exchange_id, settings=rt.settings, clock=clock)
        return PaperExchange(
            rt, account_id=account.id, feed=feed, slippage_bps=slippage_bps, clock=clock
        )
    from core.account_keys import live_connector
    from core.accounts import credentials_for_use

    creds = credentials_for_use(rt, owner=owner, account_id=account.id)
    return live_connector(creds, rt.settings)


def build_exchange(
    rt,
    *,
    exchange_id: str | None = None,
    account_id: int | None = None,
    clock: Callable[[], int] | None = None,
) -> Exchange:
    """`account_exchange` when given an account, else `market_feed` for the exchange id."""
    if (exchange_id is None) == (account_id is None):
        raise InvalidInput("Give either an exchange id or an exchange account.")
    if account_id is not None:
        return account_exchange(rt, account_id=account_id, clock=clock)
    return market_feed(exchange_id, settings=rt.settings, clock=clock)
