"""What an account holds of an asset, for the bot form's warning: never raises, bounded wait."""

from __future__ import annotations

import time

import pytest

from core import accounts
from core.accounts import holdings
from core.models import PaperBalance
from tests.accounts.test_onboarding import StubExchange, add, catalogue  # noqa: F401
from tests.factories import make_paper_account, make_user


@pytest.fixture
def people(rt):
    with rt.session() as s:
        return make_user(s, username="alice"), make_user(s, username="bob")


def test_a_paper_account_holds_its_book(rt, people):
    alice, bob = people
    with rt.session() as s:
        acc = make_paper_account(s, owner=alice)
        s.get(PaperBalance, (acc.id, "USDT")).used = 5.0
    held = accounts.asset_balance(rt, owner=alice, account_id=acc.id, asset="USDT")
    assert held == 10_005.0
    assert accounts.asset_balance(rt, owner=alice, account_id=acc.id, asset="BTC") == 0.0
    assert accounts.asset_balance(rt, owner=bob, account_id=acc.id, asset="USDT") is None


def test_a_live_account_answers_its_free_balance_or_nothing(rt, people, monkeypatch):
    alice = people[0]
    account_id = add(rt, alice).account.id
    ok = StubExchange()
    monkeypatch.setattr(holdings, "live_connector", ok)
    assert accounts.asset_balance(rt, owner=alice, account_id=account_id, asset="USDT") == 100.0
    assert ok.max_retries == 0  # one attempt: a form waits for one answer at most
    for behaviour in ("down", "auth"):
        monkeypatch.setattr(holdings, "live_connector", StubExchange(behaviour))
        assert accounts.asset_balance(rt, owner=alice, account_id=account_id, asset="USDT") is None


def test_a_slow_exchange_is_not_waited_for(rt, people, monkeypatch):
    alice = people[0]
    account_id = add(rt, alice).account.id
    slow = StubExchange()
    slow.fetch_balance = lambda: time.sleep(5)
    monkeypatch.setattr(holdings, "live_connector", slow)
    started = time.monotonic()
    held = accounts.asset_balance(
        rt, owner=alice, account_id=account_id, asset="USDT", timeout_s=0.2
    )
    assert held is None and time.monotonic() - started < 2
