"""Paper accounts: opening one (validated), trading it on the sim feed through the factory."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.accounts.connect import account_exchange
from core.errors import Conflict, InvalidInput
from core.exchanges.base import Balance, candle_open
from core.exchanges.factory import market_feed
from core.exchanges.paper import PaperExchange, open_paper_account, paper_balances
from core.exchanges.sim import SimExchange
from core.models import ExchangeAccount, PaperBalance
from tests.factories import make_user

NOW = 1_750_000_000_000 + 25_000


@pytest.fixture
def owner_id(rt) -> int:
    with rt.session() as s:
        return make_user(s, username="ann").id


def test_opens_a_paper_account_with_10000_usdt_by_default(rt, owner_id):
    with rt.session() as s:
        account = open_paper_account(s, owner_id=owner_id, label="  Practice ")
    assert (account.kind, account.exchange_id, account.label) == ("paper", "sim", "Practice")
    with rt.read() as s:
        assert paper_balances(s, account_id=account.id) == {"USDT": Balance(10_000.0, 0.0)}


def test_opens_with_given_balances_upper_casing_assets(rt, owner_id):
    with rt.session() as s:
        account = open_paper_account(
            s, owner_id=owner_id, label="p", balances={"usdt": 500, "BTC": 0.25}
        )
        assert paper_balances(s, account_id=account.id) == {
            "USDT": Balance(500.0),
            "BTC": Balance(0.25),
        }


@pytest.mark.parametrize(
    ("label", "balances", "message"),
    [
        ("", {"USDT": 1}, "Label is required"),
        ("x" * 65, {"USDT": 1}, "Label is too long"),
        ("ok", {"USDT": -5}, "must be a positive number"),
        ("ok", {"USDT": float("nan")}, "must be a positive number"),
        ("ok", {"USDT": float("inf")}, "must be a positive number"),
        ("ok", {"USDT": "100"}, "must be a positive number"),
        ("ok", {"EUR": 10}, "Unknown asset 'EUR'"),
        ("ok", {"US DT": 10}, "Unknown asset"),
        ("ok", {}, "starting balances"),
    ],
)
def test_bad_input_opens_nothing(rt, owner_id, label, balances, message):
    with pytest.raises(InvalidInput, match=message), rt.session() as s:
        open_paper_account(s, owner_id=owner_id, label=label, balances=balances)
    with rt.read() as s:
        assert s.exec(select(ExchangeAccount)).all() == []
        assert s.exec(select(PaperBalance)).all() == []


def test_an_unknown_price_feed_is_refused(rt, owner_id):
    with pytest.raises(InvalidInput, match="Unknown price feed"), rt.session() as s:
        open_paper_account(s, owner_id=owner_id, label="p", feed="nosuchexchange")


def test_a_taken_label_is_a_conflict(rt, owner_id):
    with rt.session() as s:
        open_paper_account(s, owner_id=owner_id, label="same")
    with pytest.raises(Conflict), rt.session() as s:
        open_paper_account(s, owner_id=owner_id, label="same")


def test_a_paper_account_trades_on_the_sim_feed_through_the_factory(rt, owner_id):
    with rt.session() as s:
        account = open_paper_account(s, owner_id=owner_id, label="sim")
    paper = account_exchange(rt, account_id=account.id, clock=lambda: NOW, slippage_bps=0)
    assert isinstance(paper, PaperExchange) and paper.id == "sim"
    result = paper.create_order(
        symbol="ETH/USDT", side="buy", type="market", amount=0.5, client_order_id="f1"
    )
    sim = SimExchange(seed=42, now_ms=lambda: NOW)
    minute = candle_open(NOW, "1m")
    expected_open = sim.fetch_candles("ETH/USDT", "1m", since=minute, limit=1)[0].open
    assert result.average == pytest.approx(sim.market("ETH/USDT").round_price(expected_open))
    assert paper.fetch_balance()["ETH"].free == pytest.approx(0.5)


def test_the_sim_feed_comes_from_the_factory():
    feed = market_feed("SIM", clock=lambda: NOW)
    assert feed.id == "sim" and "BTC/USDT" in feed.load_markets()
