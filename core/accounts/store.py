"""Exchange accounts: listing, ownership, deletion, readability and credentials for use.

Every function is scoped to its `owner`: another user's account id, guessed or enumerated, gets
the same `NotFound` as an id that does not exist. Admins see only that accounts exist (owner,
exchange, label, status). Adding, re-entering and checking keys (the parts that talk to the
exchange) are in `core.accounts.onboarding`; key input rules in `core.accounts.credentials`.

A secret that no longer decrypts never raises anything but `SecretUnreadable`: the account is
marked "needs re-entry" with the reason, its running bots pause, and the log names the account
id only.

Deleting is erasure, allowed at any time: the encrypted key, secret and extra fields are gone
from the database in the same transaction. An account nothing refers to is removed with its
paper book; one that bots (archived or not) or orders refer to stays as a tombstone, status
`deleted`, every secret column NULL, its key hint blank and its label freed, so their trades,
orders and events keep their account. Its bots are stopped, orders never sent are marked never
placed, and orders sent without a known outcome are abandoned (the key that could look them up
is gone).
Every owner-scoped function here treats a deleted account as one that does not exist.
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
from core.models import (
    AccountKind,
    AccountStatus,
    Bot,
    BotOrder,
    ExchangeAccount,
    OrderStatus,
    PaperBalance,
    PaperOrder,
    User,
    utcnow,
)
from core.platform import audit
from core.platform.runtime import Runtime
from core.platform.vault import UNREADABLE_REASON, Vault

log = logging.getLogger(__name__)
NOT_FOUND = "No such exchange account."
DELETED_REASON = "The exchange account was deleted (its API key is erased)."
NOT_SENT = "Not sent: the exchange account was deleted first."
OUTCOME_LOST = (
    "The exchange account was deleted before this order's outcome was known: "
    "check it on the exchange."
)
# Sent orders whose outcome is still to be learnt (core.trading.orders.AWAITED).
_AWAITED = (OrderStatus.SENDING, OrderStatus.UNKNOWN, OrderStatus.OPEN)


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
        ExchangeAccount.id == account_id,
        ExchangeAccount.owner_id == owner.id,
        ExchangeAccount.status != AccountStatus.DELETED,
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
    query = select(ExchangeAccount).where(
        ExchangeAccount.owner_id == owner.id, ExchangeAccount.status != AccountStatus.DELETED
    )
    return [info(a) for a in session.exec(query.order_by(col(ExchangeAccount.id)))]


def delete_account(session: Session, *, owner: User, account_id: int) -> dict[str, int]:
    """Erase the owner's account and its stored key now, whatever refers to it (see the module
    docstring); returns what was done: bots stopped, orders settled, whether a tombstone
    stays."""
    account = owned(session, owner=owner, account_id=account_id)
    label = account.label
    stopped = bots.stop_for_deleted_account(session, account_id=account.id, actor=owner)
    settled = _settle_orders(session, account.id)
    referring_bots = session.exec(select(func.count()).where(Bot.account_id == account.id)).one()
    referring_orders = session.exec(
        select(func.count()).where(BotOrder.account_id == account.id)
    ).one()
    kept = bool(referring_bots or referring_orders)
    if kept:
        _tombstone(session, account)
    else:
        session.delete(account)  # its paper balances and orders go with it (ON DELETE CASCADE)
    session.flush()
    detail = f"#{account_id}; key erased; {len(stopped)} bot(s) stopped"
    if kept:
        detail += f"; kept for the history of {referring_bots} bot(s)"
    audit_account(session, owner, "account.delete", label, detail)
    return {"bots_stopped": len(stopped), "orders_settled": settled, "tombstone": int(kept)}


def _tombstone(session: Session, account: ExchangeAccount) -> None:
    """Null every secret, blank the hint, free the label, drop the paper book."""
    account.api_key_enc = None
    account.secret_enc = None
    account.extra_enc = None
    account.api_key_hint = ""
    account.status = AccountStatus.DELETED
    account.status_reason = DELETED_REASON
    account.last_checked_at = None
    account.label = _free_label(session, account)
    session.add(account)
    for model in (PaperOrder, PaperBalance):
        rows = session.exec(select(model).where(model.account_id == account.id)).all()
        for row in rows:
            session.delete(row)


def _free_label(session: Session, account: ExchangeAccount) -> str:
    """The tombstone's label: the old one marked deleted, unique among the owner's labels."""
    for attempt in range(100):
        suffix = f" (deleted #{account.id}" + (f"-{attempt}" if attempt else "") + ")"
        label = account.label[: 64 - len(suffix)] + suffix
        taken = select(ExchangeAccount.id).where(
            ExchangeAccount.owner_id == account.owner_id,
            ExchangeAccount.label == label,
            ExchangeAccount.id != account.id,
        )
        if session.exec(taken).first() is None:
            return label
    raise Conflict("Could not free the account's label; rename your other accounts.")


def _settle_orders(session: Session, account_id: int) -> int:
    """Orders on the account that can no longer be sent or looked up: never-sent ones are
    never placed; sent ones whose outcome is unknown are abandoned, with the reason (nothing
    looks them up again, and they hold up no bot)."""
    query = select(BotOrder).where(
        BotOrder.account_id == account_id,
        col(BotOrder.status).in_((OrderStatus.PENDING_SUBMIT, *_AWAITED)),
    )
    orders = session.exec(query.with_for_update()).all()
    for order in orders:
        if order.status == OrderStatus.PENDING_SUBMIT:
            order.status, order.error = OrderStatus.NEVER_PLACED, NOT_SENT
        else:
            order.status, order.error = OrderStatus.ABANDONED, OUTCOME_LOST
        order.check_after_ms = None
        order.updated_at = utcnow()
        session.add(order)
    return len(orders)


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
        col(ExchangeAccount.status).not_in((AccountStatus.NEEDS_REENTRY, AccountStatus.DELETED)),
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
