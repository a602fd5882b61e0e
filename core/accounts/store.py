"""Exchange accounts: listing, ownership, deletion, readability and credentials for use.

Every function is scoped to its `owner`: another user's account id, guessed or enumerated, gets
the same `NotFound` as an id that does not exist. Admins see only that accounts exist (owner,
exchange, label, status). Adding, re-entering and checking keys (the parts that talk to the
exchange) are in `core.accounts.onboarding`; key input rules in `core.accounts.credentials`.

A secret that no longer decrypts never raises anything but `SecretUnreadable`: the account is
marked "needs re-entry" with the reason, its running bots pause, and the log names the account
id only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from core import bots
from core.accounts.credentials import Credentials
from core.errors import Conflict, InvalidInput, NotFound, SecretUnreadable
from core.models import AccountKind, AccountStatus, Bot, BotStatus, ExchangeAccount, User
from core.platform import audit
from core.platform.runtime import Runtime
from core.platform.vault import UNREADABLE_REASON, Vault

log = logging.getLogger(__name__)
NOT_FOUND = "No such exchange account."
BUSY_BOT_STATUSES = (BotStatus.RUNNING, BotStatus.PAUSED)


@dataclass(frozen=True)
class AccountInfo:
    """What the owner sees: the key masked, the secret never."""

    id: int
    label: str
    exchange_id: str
    kind: str
    sandbox: bool
    key_hint: str
    status: str
    status_reason: str
    last_checked_at: datetime | None


def info(account: ExchangeAccount) -> AccountInfo:
    return AccountInfo(
        id=account.id,
        label=account.label,
        exchange_id=account.exchange_id,
        kind=account.kind,
        sandbox=account.sandbox,
        key_hint=account.api_key_hint,
        status=account.status,
        status_reason=account.status_reason,
        last_checked_at=account.last_checked_at,
    )


def owned(session: Session, *, owner: User, account_id: object) -> ExchangeAccount:
    """The owner's account, or `NotFound` (the same whether the id exists or not)."""
    if not isinstance(account_id, int) or isinstance(account_id, bool):
        raise NotFound(NOT_FOUND)
    query = select(ExchangeAccount).where(
        ExchangeAccount.id == account_id, ExchangeAccount.owner_id == owner.id
    )
    account = session.exec(query).first()
    if account is None:
        raise NotFound(NOT_FOUND)
    return account


def owned_live(session: Session, *, owner: User, account_id: object) -> ExchangeAccount:
    account = owned(session, owner=owner, account_id=account_id)
    if account.kind != AccountKind.LIVE:
        raise InvalidInput("A paper account has no API key.")
    return account


def refuse_taken_label(session: Session, *, owner: User, label: str) -> None:
    query = select(ExchangeAccount.id).where(
        ExchangeAccount.owner_id == owner.id, ExchangeAccount.label == label
    )
    if session.exec(query).first() is not None:
        raise Conflict(f"You already have an account labelled {label!r}.")


def audit_account(session: Session, actor: User | None, action: str, label: str, detail: str):
    audit.record(session, actor=actor, action=action, target=f"account {label}", detail=detail)


def list_accounts(session: Session, *, owner: User) -> list[AccountInfo]:
    query = select(ExchangeAccount).where(ExchangeAccount.owner_id == owner.id)
    return [info(a) for a in session.exec(query.order_by(col(ExchangeAccount.id)))]


def account_in_use(session: Session, account_id: int) -> bool:
    """Whether a running (or paused, so resumable) bot trades on this account."""
    query = select(func.count()).where(
        Bot.account_id == account_id, col(Bot.status).in_(BUSY_BOT_STATUSES)
    )
    return session.exec(query).one() > 0


def delete_account(session: Session, *, owner: User, account_id: int) -> None:
    """Delete the account and its stored key; refused while a bot runs on it."""
    account = owned(session, owner=owner, account_id=account_id)
    if account_in_use(session, account.id):
        raise Conflict(
            f"A running bot uses {account.label!r}: stop it before deleting the account."
        )
    referring = session.exec(select(func.count()).where(Bot.account_id == account.id)).one()
    if referring:
        raise Conflict(
            f"{referring} bot(s) still refer to {account.label!r} (their history needs it): "
            "delete those bots first."
        )
    label = account.label
    session.delete(account)
    session.flush()
    audit_account(session, owner, "account.delete", label, f"#{account_id}")


def mark_needs_reentry(session: Session, *, account: ExchangeAccount, reason: str) -> None:
    """Mark the account and pause its running bots (each with a KEY_REENTRY event), in the
    caller's transaction."""
    log.warning("exchange account %s: %s Marked needs re-entry.", account.id, reason)
    if account.status != AccountStatus.NEEDS_REENTRY:
        audit_account(session, None, "account.unreadable", account.label, f"#{account.id}")
    account.status = AccountStatus.NEEDS_REENTRY
    account.status_reason = reason[:500]
    session.add(account)
    session.flush()
    bots.pause_for_key_reentry(session, account_id=account.id)


def decrypt_credentials(account: ExchangeAccount, vault: Vault) -> Credentials:
    """Decrypt the stored key, or raise `SecretUnreadable` (the caller marks the account)."""
    if account.api_key_enc is None or account.secret_enc is None:
        raise SecretUnreadable()
    try:
        extra = json.loads(vault.decrypt(account.extra_enc)) if account.extra_enc else {}
    except ValueError:
        raise SecretUnreadable() from None
    return Credentials(
        exchange_id=account.exchange_id,
        api_key=vault.decrypt(account.api_key_enc),
        secret=vault.decrypt(account.secret_enc),
        extra={str(k): str(v) for k, v in dict(extra).items()},
        sandbox=account.sandbox,
    )


def flag_unreadable(session: Session, *, owner: User, vault: Vault) -> list[int]:
    """Mark the owner's live accounts whose key no longer decrypts; their ids."""
    query = select(ExchangeAccount).where(
        ExchangeAccount.owner_id == owner.id,
        ExchangeAccount.kind == AccountKind.LIVE,
        ExchangeAccount.status != AccountStatus.NEEDS_REENTRY,
    )
    marked = []
    for account in session.exec(query).all():
        try:
            decrypt_credentials(account, vault)
        except SecretUnreadable:
            mark_needs_reentry(session, account=account, reason=UNREADABLE_REASON)
            marked.append(account.id)
    return marked


def credentials_for_use(rt: Runtime, *, owner: User, account_id: int) -> Credentials:
    """The decrypted credentials of the owner's live account, for trading or balances.

    An unreadable key marks the account (committed in its own transaction, so call this
    while holding no write session) and raises `SecretUnreadable`.
    """
    with rt.read() as session:
        account = owned_live(session, owner=owner, account_id=account_id)
    if account.status == AccountStatus.NEEDS_REENTRY:
        raise SecretUnreadable(f"The API key of {account.label!r} must be entered again.")
    try:
        return decrypt_credentials(account, Vault.from_settings(rt.settings))
    except SecretUnreadable:
        with rt.session() as session:
            fresh = session.get(ExchangeAccount, account.id)
            if fresh is not None:
                mark_needs_reentry(session, account=fresh, reason=UNREADABLE_REASON)
        raise SecretUnreadable(f"The API key of {account.label!r} must be entered again.") from None


def list_accounts_checked(rt: Runtime, *, owner: User) -> list[AccountInfo]:
    """The owner's accounts, after marking any whose key no longer decrypts (for the page)."""
    with rt.session() as session:
        flag_unreadable(session, owner=owner, vault=Vault.from_settings(rt.settings))
        return list_accounts(session, owner=owner)
