"""Exchange accounts: store (owned rows), credentials (key input and the exchange check),
onboarding (add / re-enter / re-check keys), connect (the exchange a bot trades on), holdings
(what an account holds of an asset, for a form's warning)."""

from __future__ import annotations

from core.accounts.connect import account_exchange
from core.accounts.credentials import (
    exchange_choices,
    extra_fields,
    extra_label,
    has_sandbox,
    parse_balances,
)
from core.accounts.holdings import asset_balance
from core.accounts.onboarding import (
    LIVE_KEYS_ADMIN_ONLY,
    SaveOutcome,
    add_live_account,
    add_paper_account,
    balances_for_account,
    check_account,
    live_keys_allowed,
    recheck_unverified,
    reenter_key,
)
from core.accounts.store import AccountInfo, delete_account, list_accounts, list_accounts_checked

__all__ = [
    "LIVE_KEYS_ADMIN_ONLY",
    "AccountInfo",
    "SaveOutcome",
    "account_exchange",
    "add_live_account",
    "add_paper_account",
    "asset_balance",
    "balances_for_account",
    "check_account",
    "delete_account",
    "exchange_choices",
    "extra_fields",
    "extra_label",
    "has_sandbox",
    "list_accounts",
    "live_keys_allowed",
    "list_accounts_checked",
    "parse_balances",
    "recheck_unverified",
    "reenter_key",
]
