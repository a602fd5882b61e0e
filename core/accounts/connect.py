"""The exchange a bot on an account trades on: a paper book over its feed, or the real exchange.

A live account gets a `LiveExchange` with its decrypted key; `SecretUnreadable` when the key
no longer decrypts (the account is then marked for re-entry by `store.credentials_for_use`).
Exchange instances are not thread-safe: build one per thread.
"""

from __future__ import annotations

from collections.abc import Callable

from core.accounts.credentials import live_connector
from core.accounts.store import credentials_for_use
from core.errors import NotFound
from core.exchanges import DEFAULT_SLIPPAGE_BPS, Exchange, PaperExchange, market_feed
from core.models import AccountKind, AccountStatus, ExchangeAccount, User


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
    if account.status == AccountStatus.DELETED:
        raise NotFound(f"Exchange account {account_id} was deleted by its owner.")
    if account.kind == AccountKind.PAPER:
        feed = market_feed(account.exchange_id, settings=rt.settings, clock=clock)
        return PaperExchange(
            rt, account_id=account.id, feed=feed, slippage_bps=slippage_bps, clock=clock
        )
    creds = credentials_for_use(rt, owner=owner, account_id=account.id)
    return live_connector(creds, rt.settings)
