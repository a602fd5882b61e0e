"""The real ccxt.binance client (through LiveExchange) against the fake exchange on 127.0.0.1.

Skipped until core/exchanges/live.py and tests/fakes/exchange.py exist. Every call into the
fake is in the `Venue` adapter below, so a different fake API changes only that class.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.accounts import onboarding as account_checks
from core.models import ExchangeAccount, User
from core.platform.runtime import start
from tests.conftest import make_settings
from tests.factories import make_user

pytest.importorskip("core.exchanges.live")
fakes = pytest.importorskip("tests.fakes.exchange")

GOOD = ("live-good-key-000000000001", "live-good-secret-000000000001")
WITHDRAW = ("live-withdraw-key-00000002", "live-withdraw-secret-0000002")


class Venue:
    """The fake exchange, as these tests use it (assumed API: adapt here only)."""

    def __init__(self) -> None:
        self.fake = fakes.FakeExchange()
        self.fake.start()
        self.fake.add_key(*GOOD, withdrawals=False)
        self.fake.add_key(*WITHDRAW, withdrawals=True)

    @property
    def url(self) -> str:
        return self.fake.url

    def make_timeouts(self) -> None:
        self.fake.inject("timeout")

    def close(self) -> None:
        self.fake.stop()


@pytest.fixture
def venue():
    v = Venue()
    yield v
    v.close()


@pytest.fixture
def live_rt(data_dir, venue):
    settings = make_settings(data_dir, exchange_api_url=venue.url, exchange_timeout_ms=500)
    runtime = start("test", settings=settings)
    with runtime.session() as s:
        make_user(s, username="alice")
    yield runtime
    runtime.engine.dispose()


def _alice(rt) -> User:
    with rt.read() as s:
        return s.exec(select(User)).one()


def _add(rt, api_key, secret, **kw):
    return account_checks.add_live_account(
        rt, owner=_alice(rt), exchange_id="binance", label="main", api_key=api_key,
        secret=secret, **kw,
    )  # fmt: skip


def _stored(rt) -> list[ExchangeAccount]:
    with rt.read() as s:
        return list(s.exec(select(ExchangeAccount)))


def test_a_good_key_is_saved_ok(live_rt):
    outcome = _add(live_rt, *GOOD)
    assert outcome.result == "saved" and _stored(live_rt)[0].status == "ok"


def test_a_bad_signature_is_refused_and_nothing_stored(live_rt):
    outcome = _add(live_rt, GOOD[0], "wrong-secret-0000000000000")
    assert outcome.result == "refused" and _stored(live_rt) == []


def test_a_key_with_withdrawals_enabled_is_refused(live_rt):
    outcome = _add(live_rt, *WITHDRAW)
    assert outcome.result == "refused" and "withdraw" in outcome.message
    assert _stored(live_rt) == []


# ~11 s: real client timeouts, retried
@pytest.mark.slow
def test_a_timeout_offers_unverified_then_saves_it_when_allowed(live_rt, venue):
    venue.make_timeouts()
    assert _add(live_rt, *GOOD).result == "unreachable" and _stored(live_rt) == []
    assert _add(live_rt, *GOOD, allow_unverified=True).result == "saved"
    assert _stored(live_rt)[0].status == "unverified"
