"""Adding, re-entering and checking API keys, and balances: the account work that talks to the
exchange.

These take the `Runtime` and open short sessions themselves, so no database lock is held
while waiting on the network. A refused check is an outcome (`SaveOutcome`), not an exception,
so its audit row commits; bad input raises `InvalidInput` before anything is stored or sent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.accounts.credentials import (
    Connector,
    Credentials,
    check_key,
    clean_credentials,
    clean_exchange,
    live_connector,
)
from core.accounts.store import (
    AccountInfo,
    audit_account,
    credentials_for_use,
    info,
    owned,
    owned_live,
    refuse_taken_label,
)
from core.errors import ExchangeAuthError, Forbidden, InvalidInput, SecretUnreadable
from core.exchanges import Balance
from core.models import AccountKind, AccountStatus, ExchangeAccount, PaperBalance, User, utcnow
from core.platform.config import Settings
from core.platform.inputs import clean_text
from core.platform.limits import GUEST_PAPER_ACCOUNTS
from core.platform.runtime import Runtime
from core.platform.security import mask_key
from core.platform.vault import Vault

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaveOutcome:
    """`saved`; `refused` (nothing stored); `unreachable` (save again with allow_unverified)."""

    result: Literal["saved", "refused", "unreachable"]
    message: str
    account: AccountInfo | None = None
    warning: str = ""


def _encrypt_into(account: ExchangeAccount, creds: Credentials, vault: Vault) -> None:
    account.api_key_enc = vault.encrypt(creds.api_key)
    account.secret_enc = vault.encrypt(creds.secret)
    account.extra_enc = vault.encrypt(json.dumps(creds.extra)) if creds.extra else None
    account.api_key_hint = mask_key(creds.api_key)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _checked_outcome(status: str, reason: str, allow_unverified: bool) -> SaveOutcome | None:
    # One sentence per line: the reason, then what happens next (shown as Markdown).
    if status == "invalid":
        return SaveOutcome("refused", f"{_sentence(reason)}\n\nNothing was saved.")
    if status == "unreachable" and not allow_unverified:
        return SaveOutcome(
            "unreachable",
            f"{_sentence(reason)}\n\nYou can save the key as unverified: it is checked later.",
        )
    return None


def _apply_check(account: ExchangeAccount, status: str, reason: str) -> None:
    account.status = "unverified" if status == "unreachable" else status
    account.status_reason = reason[:500]
    account.last_checked_at = utcnow()


LIVE_KEYS_ADMIN_ONLY = (
    "This is a public demo: only its administrator can add a live exchange account. "
    "Paper accounts trade the same way with play money."
)


def live_keys_allowed(settings: Settings, user: User) -> bool:
    """Whether `user` may store a live exchange key: never a guest; in the public demo only an
    administrator (a key stored there could be traded with by anyone who got that account)."""
    if user.is_guest:
        return False
    return not settings.public_demo or user.role == "admin"


def refuse_live_keys(settings: Settings, user: User) -> None:
    if not live_keys_allowed(settings, user):
        raise Forbidden(LIVE_KEYS_ADMIN_ONLY)


def add_live_account(
    rt: Runtime,
    *,
    owner: User,
    exchange_id: str,
    label: str,
    api_key: str,
    secret: str,
    extra: dict[str, str] | None = None,
    sandbox: bool = False,
    allow_unverified: bool = False,
    connect: Connector | None = None,
) -> SaveOutcome:
    """Check the key on the exchange, then store it encrypted; see `SaveOutcome`."""
    refuse_live_keys(rt.settings, owner)
    exchange_id = clean_exchange(exchange_id)
    label = clean_text(label, "Label", max_len=64)
    creds = clean_credentials(exchange_id, api_key, secret, extra, sandbox)
    with rt.read() as session:
        refuse_taken_label(session, owner=owner, label=label)
    status, reason, warning = check_key(creds, rt.settings, connect)
    with rt.session() as session:
        refused = _checked_outcome(status, reason, allow_unverified)
        if refused is not None:
            audit_account(session, owner, "account.check_failed", label, f"{exchange_id}: {reason}")
            return refused
        refuse_taken_label(session, owner=owner, label=label)
        account = ExchangeAccount(
            owner_id=owner.id, label=label, exchange_id=exchange_id, sandbox=creds.sandbox
        )
        _encrypt_into(account, creds, Vault.from_settings(rt.settings))
        _apply_check(account, status, reason)
        session.add(account)
        session.flush()
        audit_account(session, owner, "account.add", label, f"{exchange_id} #{account.id} {status}")
    return SaveOutcome("saved", f"Account {label!r} saved.", info(account), warning)


def add_paper_account(
    session: Session, *, owner: User, label: str, feed: str = "sim", balances: dict[str, float]
) -> AccountInfo:
    """A paper account on the sim feed or a live exchange's public prices; needs no key."""
    from core.exchanges import SIM, open_paper_account

    label = clean_text(label, "Label", max_len=64)
    refuse_taken_label(session, owner=owner, label=label)
    if owner.is_guest and feed != SIM:  # nothing of a visitor's polls the exchanges
        raise Forbidden("A guest trader of the demo trades on the simulated market.")
    if owner.is_guest:
        query = select(func.count()).select_from(ExchangeAccount)
        if session.exec(query.where(ExchangeAccount.owner_id == owner.id)).one() >= (
            GUEST_PAPER_ACCOUNTS
        ):
            raise Forbidden(
                f"A guest trader of the demo can open {GUEST_PAPER_ACCOUNTS} paper accounts."
            )
    account = open_paper_account(
        session, owner_id=owner.id, label=label, feed=feed, balances=balances
    )
    audit_account(
        session, owner, "account.add", label, f"paper #{account.id} on {account.exchange_id}"
    )
    return info(account)


def reenter_key(
    rt: Runtime,
    *,
    owner: User,
    account_id: int,
    api_key: str,
    secret: str,
    extra: dict[str, str] | None = None,
    allow_unverified: bool = False,
    connect: Connector | None = None,
) -> SaveOutcome:
    """Replace an account's key with a checked one; a refused key leaves the old one."""
    refuse_live_keys(rt.settings, owner)
    with rt.read() as session:
        account = owned_live(session, owner=owner, account_id=account_id)
    creds = clean_credentials(account.exchange_id, api_key, secret, extra, account.sandbox)
    status, reason, warning = check_key(creds, rt.settings, connect)
    with rt.session() as session:
        account = owned_live(session, owner=owner, account_id=account_id)
        refused = _checked_outcome(status, reason, allow_unverified)
        if refused is not None:
            audit_account(session, owner, "account.check_failed", account.label, reason)
            return refused
        _encrypt_into(account, creds, Vault.from_settings(rt.settings))
        _apply_check(account, status, reason)
        session.add(account)
        audit_account(session, owner, "account.reenter", account.label, f"#{account.id} {status}")
    return SaveOutcome("saved", f"New key for {account.label!r} saved.", info(account), warning)


def _record_check(rt: Runtime, account_id: int, status: str, reason: str) -> AccountInfo:
    with rt.session() as session:
        account = session.get(ExchangeAccount, account_id)
        if account is None or account.status == AccountStatus.DELETED:  # deleted meanwhile
            raise InvalidInput("The account was deleted while it was being checked.")
        if status == "unreachable" and account.status == "ok":
            account.status_reason = reason[:500]  # a verified key stays verified
        else:
            _apply_check(account, status, reason)
        if status != "ok":
            audit_account(session, None, "account.check_failed", account.label, reason)
        session.add(account)
        return info(account)


def check_account(
    rt: Runtime, *, owner: User, account_id: int, connect: Connector | None = None
) -> AccountInfo:
    """Check the owner's stored key again (fetch balance and permissions); the new state."""
    creds = credentials_for_use(rt, owner=owner, account_id=account_id)
    status, reason, _warning = check_key(creds, rt.settings, connect)
    return _record_check(rt, account_id, status, reason)


def recheck_unverified(rt: Runtime, *, connect: Connector | None = None) -> dict[str, int]:
    """Check every unverified account again (the worker calls this); counts by new status."""
    with rt.read() as session:
        query = select(ExchangeAccount).where(
            ExchangeAccount.kind == AccountKind.LIVE,
            ExchangeAccount.status == AccountStatus.UNVERIFIED,
        )
        pending = [
            (a.id, a.owner_id) for a in session.exec(query.order_by(col(ExchangeAccount.id)))
        ]
        owners = {u.id: u for u in session.exec(select(User)).all()}
    counts: dict[str, int] = {}
    for account_id, owner_id in pending:
        try:
            new = check_account(rt, owner=owners[owner_id], account_id=account_id, connect=connect)
            status = new.status
        except SecretUnreadable:
            status = "needs_reentry"
        except InvalidInput:  # deleted while we were checking
            continue
        counts[status] = counts.get(status, 0) + 1
    log.info("re-checked %d unverified exchange account(s): %s", len(pending), counts)
    return counts


def balances_for_account(
    rt: Runtime, *, owner: User, account_id: int, connect: Connector | None = None
) -> dict[str, Balance]:
    """Balances of a verified account (paper: its simulated book), assets with zero omitted."""
    with rt.read() as session:
        account = owned(session, owner=owner, account_id=account_id)
        if account.kind == AccountKind.PAPER:
            rows = session.exec(select(PaperBalance).where(PaperBalance.account_id == account.id))
            return {r.asset: Balance(r.free, r.used) for r in rows if r.free or r.used}
    if account.status != "ok":
        raise InvalidInput(f"Balances are shown for verified accounts only ({account.label!r}).")
    creds = credentials_for_use(rt, owner=owner, account_id=account_id)
    exchange = (connect or live_connector)(creds, rt.settings)
    try:
        balances = exchange.fetch_balance()
    except ExchangeAuthError as exc:
        _record_check(rt, account.id, "invalid", f"The exchange refused the API key: {exc.message}")
        raise
    finally:
        exchange.close()
    return {asset: b for asset, b in balances.items() if b.total}
