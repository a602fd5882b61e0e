"""What an account holds of one asset, for a form's warning (e.g. an order size above the
balance): a paper account's book, or a live account's free balance asked from the exchange
with a short timeout. Never raises: None when it cannot be known (the form then warns of
nothing)."""

from __future__ import annotations

import logging

from sqlmodel import select

from core.accounts.credentials import Connector, live_connector
from core.accounts.store import credentials_for_use, owned
from core.errors import AppError
from core.models import AccountKind, AccountStatus, PaperBalance, User
from core.platform.deadline import call_within
from core.platform.runtime import Runtime

log = logging.getLogger(__name__)


def asset_balance(
    rt: Runtime,
    *,
    owner: User,
    account_id: int,
    asset: str,
    timeout_s: float = 3.0,
    connect: Connector | None = None,
) -> float | None:
    """The owner's account's holding of `asset`: paper, free + reserved in its book; live,
    the exchange's free balance (one attempt, at most `timeout_s` seconds). None when the
    account is not the owner's, its key is unreadable or unverified, or the exchange does not
    answer in time."""
    try:
        with rt.read() as session:
            account = owned(session, owner=owner, account_id=account_id)
            if account.kind == AccountKind.PAPER:
                row = session.exec(
                    select(PaperBalance).where(
                        PaperBalance.account_id == account.id, PaperBalance.asset == asset
                    )
                ).first()
                return (row.free + row.used) if row is not None else 0.0
        if account.status not in (AccountStatus.OK, AccountStatus.UNVERIFIED):
            return None
        creds = credentials_for_use(rt, owner=owner, account_id=account.id)
        settings = rt.settings.model_copy(
            update={"exchange_timeout_ms": max(100, int(timeout_s * 1000))}
        )
        exchange = (connect or _one_attempt)(creds, settings)

        def fetch() -> float:
            try:
                held = exchange.fetch_balance().get(asset)
            finally:
                exchange.close()
            return held.free if held is not None else 0.0

        return call_within(timeout_s, fetch)
    except (AppError, TimeoutError, OSError) as exc:
        log.info("balance of %s on account %s unknown: %s", asset, account_id, exc)
        return None


def _one_attempt(creds, settings):
    """The live client without its retries: a form waits for one answer at most."""
    exchange = live_connector(creds, settings)
    exchange.max_retries = 0
    return exchange
