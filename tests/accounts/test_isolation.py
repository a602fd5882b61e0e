"""Two users: no service function lets one list, read, use, change or delete the other's
accounts, with ids guessed or enumerated; admins see existence only. And bad input stores
nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from core.accounts import onboarding as account_checks
from core.accounts import store as accounts
from core.errors import InvalidInput, NotFound
from core.models import ExchangeAccount
from tests.accounts.test_onboarding import KEY, SECRET, StubExchange, add, catalogue, rows  # noqa: F401
from tests.factories import make_user


@pytest.fixture
def world(rt):
    with rt.session() as s:
        alice = make_user(s, username="alice")
        bob = make_user(s, username="bob")
        admin = make_user(s, username="root", role="admin")
    bobs = add(rt, bob, label="bobs").account.id
    return {"alice": alice, "bob": bob, "admin": admin, "bobs": bobs}


def _session_call(fn):
    def call(rt, owner, account_id):
        with rt.session() as s:
            return fn(s, owner=owner, account_id=account_id)

    return call


def _reenter(rt, owner, account_id):
    return account_checks.reenter_key(
        rt, owner=owner, account_id=account_id, api_key=KEY, secret=SECRET, connect=StubExchange()
    )


OWNER_SCOPED = {
    "owned": _session_call(accounts.owned),
    "delete_account": _session_call(accounts.delete_account),
    "credentials_for_use": lambda rt, o, i: accounts.credentials_for_use(rt, owner=o, account_id=i),
    "reenter_key": _reenter,
    "check_account": lambda rt, o, i: account_checks.check_account(
        rt, owner=o, account_id=i, connect=StubExchange()
    ),
    "balances_for_account": lambda rt, o, i: account_checks.balances_for_account(
        rt, owner=o, account_id=i, connect=StubExchange()
    ),
}


@pytest.mark.parametrize("name", sorted(OWNER_SCOPED))
def test_another_users_account_is_not_found_like_a_missing_one(rt, world, name):
    call = OWNER_SCOPED[name]
    for guess in (world["bobs"], world["bobs"] + 1, 0, -1, 10**9, "1", None):
        with pytest.raises(NotFound) as caught:
            call(rt, world["alice"], guess)
        assert caught.value.message == accounts.NOT_FOUND
    with rt.read() as s:
        bobs = s.get(ExchangeAccount, world["bobs"])
    assert bobs.api_key_hint == "AKIA…0001" and bobs.status == "ok"


def test_listing_shows_only_the_owners_accounts(rt, world):
    add(rt, world["alice"], label="alices")
    with rt.read() as s:
        labels = [a.label for a in accounts.list_accounts(s, owner=world["alice"])]
    assert labels == ["alices"]


BAD_INPUT = {
    "empty key": {"api_key": ""},
    "blank secret": {"secret": "   "},
    "10,000 characters": {"api_key": "k" * 10_000},
    "NUL byte": {"secret": "abc\x00def-secret"},
    "control character": {"api_key": "abc\x1bdef-key"},
    "unicode": {"api_key": "ключ-api-key-ü"},
    "space inside": {"secret": "two words"},
    "unknown exchange": {"exchange_id": "nosuchexchange"},
    "empty label": {"label": ""},
    "missing passphrase": {"exchange_id": "okx"},
    "sandbox where there is none": {"exchange_id": "kraken", "sandbox": True},
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_refused_clearly_and_nothing_is_stored_or_sent(rt, world, case):
    stub = StubExchange()
    with pytest.raises(InvalidInput) as caught:
        add(rt, world["alice"], stub, **BAD_INPUT[case])
    assert caught.value.message.endswith(".") and len(caught.value.message) < 200
    assert "\x00" not in caught.value.message and "k" * 50 not in caught.value.message
    assert stub.calls == 0 and [a.label for a in rows(rt)] == ["bobs"]


def test_whitespace_around_keys_is_trimmed(rt, world):
    stub = StubExchange()
    add(rt, world["alice"], stub, api_key=f"  {KEY}\t", secret=f"\n{SECRET} ")
    assert (stub.creds.api_key, stub.creds.secret) == (KEY, SECRET)
    account_id = next(a.id for a in rows(rt) if a.label == "main")
    assert (
        accounts.credentials_for_use(rt, owner=world["alice"], account_id=account_id).api_key == KEY
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(api_key=st.text(max_size=1200), secret=st.text(max_size=50))
def test_any_text_is_either_refused_or_stored_trimmed_and_printable(rt, world, api_key, secret):
    label = f"h{abs(hash((api_key, secret))) % 10**12}"
    try:
        add(rt, world["alice"], label=label, api_key=api_key, secret=secret)
    except InvalidInput:
        with rt.read() as s:
            query = select(ExchangeAccount).where(ExchangeAccount.label == label)
            assert s.exec(query).first() is None
        return
    account_id = next(a.id for a in rows(rt) if a.label == label)
    creds = accounts.credentials_for_use(rt, owner=world["alice"], account_id=account_id)
    assert creds.api_key == api_key.strip() and creds.api_key.isprintable()
    assert creds.api_key.isascii() and " " not in creds.api_key
