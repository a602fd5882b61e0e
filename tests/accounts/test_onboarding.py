"""Exchange account service: saving checked keys, unreadable keys, deletion, the audit log.

The exchange here is a stub connector (the real ccxt client against the fake exchange is in
test_onboarding_live.py); the catalogue of exchanges is pinned so these tests stand alone.
"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlmodel import select

from core.accounts import credentials as account_keys
from core.accounts import onboarding as account_checks
from core.accounts import store as accounts
from core.errors import Conflict, ExchangeAuthError, ExchangeTemporaryError, SecretUnreadable
from core.exchanges.base import Balance
from core.models import AuditLog, Bot, ExchangeAccount
from core.platform.runtime import start
from tests.conftest import make_settings
from tests.factories import make_user

KEY = "AKIA-good-api-key-0001"
SECRET = "s3cret-good-secret-value-0001"


class StubExchange:
    """Answers like the live adapter: `behaviour` is ok | auth | down; `withdraw` the flag."""

    def __init__(self, behaviour: str = "ok", withdraw: bool | None = False) -> None:
        self.behaviour, self.withdraw, self.calls = behaviour, withdraw, 0

    def __call__(self, creds, settings):
        self.calls += 1
        self.creds = creds
        return self

    def fetch_balance(self):
        if self.behaviour == "auth":
            raise ExchangeAuthError("Signature for this request is not valid.")
        if self.behaviour == "down":
            raise ExchangeTemporaryError("The exchange did not answer in time.")
        return {"USDT": Balance(100.0), "BTC": Balance(0.0)}

    def fetch_key_permissions(self):
        return {"withdrawals_enabled": self.withdraw, "source": "stub"}

    def close(self):
        pass


@pytest.fixture(autouse=True)
def catalogue(monkeypatch):
    monkeypatch.setattr(account_keys, "exchange_choices", lambda: ["binance", "kraken", "okx"])
    monkeypatch.setattr(
        account_keys, "extra_fields", lambda ex: ["password"] if ex == "okx" else []
    )
    monkeypatch.setattr(account_keys, "has_sandbox", lambda ex: ex == "binance")


@pytest.fixture
def people(rt):
    with rt.session() as s:
        return make_user(s, username="alice"), make_user(s, username="bob")


def add(rt, owner, stub=None, **kw):
    values = {"exchange_id": "binance", "label": "main", "api_key": KEY, "secret": SECRET}
    values.update(kw)
    return account_checks.add_live_account(
        rt, owner=owner, connect=stub or StubExchange(), **values
    )


def rows(rt) -> list[ExchangeAccount]:
    with rt.read() as s:
        return list(s.exec(select(ExchangeAccount)))


def actions(rt) -> list[str]:
    with rt.read() as s:
        return [a.action for a in s.exec(select(AuditLog))]


def test_a_good_key_is_saved_ok_with_only_a_masked_hint(rt, people):
    outcome = add(rt, people[0])
    assert outcome.result == "saved" and outcome.account.status == "ok"
    assert outcome.account.key_hint == "AKIA…0001"
    assert "account.add" in actions(rt)


def test_a_refused_key_stores_nothing_and_is_audited(rt, people):
    outcome = add(rt, people[0], StubExchange("auth"))
    assert outcome.result == "refused" and "not valid" in outcome.message
    assert rows(rt) == [] and "account.check_failed" in actions(rt)


def test_a_key_that_can_withdraw_is_refused_with_the_reason(rt, people):
    outcome = add(rt, people[0], StubExchange(withdraw=True))
    assert outcome.result == "refused" and "withdraw" in outcome.message
    assert rows(rt) == []


def test_unknown_withdrawal_permission_saves_with_a_warning(rt, people):
    outcome = add(rt, people[0], StubExchange(withdraw=None))
    assert outcome.result == "saved" and "IP" in outcome.warning


def test_an_unreachable_exchange_offers_unverified_and_stores_nothing(rt, people):
    outcome = add(rt, people[0], StubExchange("down"))
    assert outcome.result == "unreachable" and rows(rt) == []


def test_allow_unverified_stores_the_key_as_unverified(rt, people):
    outcome = add(rt, people[0], StubExchange("down"), allow_unverified=True)
    assert outcome.result == "saved" and rows(rt)[0].status == "unverified"


def test_recheck_unverified_verifies_once_the_exchange_answers(rt, people):
    add(rt, people[0], StubExchange("down"), allow_unverified=True)
    counts = account_checks.recheck_unverified(rt, connect=StubExchange())
    assert counts == {"ok": 1} and rows(rt)[0].status == "ok"


def test_recheck_marks_a_refused_key_invalid(rt, people):
    add(rt, people[0], StubExchange("down"), allow_unverified=True)
    account_checks.recheck_unverified(rt, connect=StubExchange("auth"))
    assert rows(rt)[0].status == "invalid" and "not valid" in rows(rt)[0].status_reason


def test_a_second_account_with_the_same_label_is_a_conflict(rt, people):
    add(rt, people[0])
    with pytest.raises(Conflict):
        add(rt, people[0])


def test_extra_credentials_are_required_and_stored_encrypted(rt, people):
    stub = StubExchange()
    add(rt, people[0], stub, exchange_id="okx", extra={"password": "my pass phrase"})
    creds = accounts.credentials_for_use(rt, owner=people[0], account_id=rows(rt)[0].id)
    assert creds.extra == {"password": "my pass phrase"}
    assert b"my pass phrase" not in rows(rt)[0].extra_enc


def test_reenter_replaces_the_key_and_is_audited(rt, people):
    account_id = add(rt, people[0]).account.id
    outcome = account_checks.reenter_key(
        rt, owner=people[0], account_id=account_id, api_key="NEWK-replaced-key-9999",
        secret="new-secret-value-9999", connect=StubExchange(),
    )  # fmt: skip
    assert outcome.result == "saved" and outcome.account.key_hint == "NEWK…9999"
    assert accounts.credentials_for_use(rt, owner=people[0], account_id=account_id).secret == (
        "new-secret-value-9999"
    )
    assert "account.reenter" in actions(rt)


def test_a_corrupted_secret_marks_needs_reentry_pauses_bots_and_spares_others(rt, people):
    alice = people[0]
    broken = add(rt, alice).account.id
    healthy = add(rt, alice, label="second").account.id
    with rt.session() as s:
        s.get(ExchangeAccount, broken).secret_enc = b"gAAAAAB-corrupted-bytes"
        s.add(Bot(owner_id=alice.id, account_id=broken, name="b", symbol="BTC/USDT",
                  timeframe="1m", strategy="sma", status="running"))  # fmt: skip
    with pytest.raises(SecretUnreadable) as caught:
        accounts.credentials_for_use(rt, owner=alice, account_id=broken)
    assert SECRET not in str(caught.value)
    with rt.read() as s:
        assert s.get(ExchangeAccount, broken).status == "needs_reentry"
        assert s.exec(select(Bot)).one().status == "paused"
    assert accounts.credentials_for_use(rt, owner=alice, account_id=healthy).secret == SECRET


def test_a_lost_master_key_marks_every_key_needs_reentry_on_listing(rt, people, data_dir):
    add(rt, people[0])
    other = make_settings(data_dir, master_keys=SecretStr(Fernet.generate_key().decode()))
    listed = accounts.list_accounts_checked(start("test", settings=other), owner=people[0])
    assert [a.status for a in listed] == ["needs_reentry"]


def test_delete_stops_a_running_bot_and_erases_the_key(rt, people):
    """Erasure at any time (tests/accounts/test_erasure.py has the rest)."""
    alice = people[0]
    account_id = add(rt, alice).account.id
    with rt.session() as s:
        s.add(Bot(owner_id=alice.id, account_id=account_id, name="b", symbol="BTC/USDT",
                  timeframe="1m", strategy="sma", status="running"))  # fmt: skip
    with rt.session() as s:
        accounts.delete_account(s, owner=alice, account_id=account_id)
    (row,) = rows(rt)
    assert row.status == "deleted" and row.secret_enc is None and row.api_key_enc is None
    with rt.read() as s:
        assert s.exec(select(Bot)).one().status == "stopped"


def test_delete_erases_the_account_and_is_audited(rt, people):
    account_id = add(rt, people[0]).account.id
    with rt.session() as s:
        accounts.delete_account(s, owner=people[0], account_id=account_id)
    assert rows(rt) == [] and "account.delete" in actions(rt)


def test_balances_of_a_verified_account_omit_zero_assets(rt, people):
    account_id = add(rt, people[0]).account.id
    balances = account_checks.balances_for_account(
        rt, owner=people[0], account_id=account_id, connect=StubExchange()
    )
    assert balances == {"USDT": Balance(100.0)}
