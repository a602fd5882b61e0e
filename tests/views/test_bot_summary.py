"""A bot's settings in words (cards, detail), positions no running bot manages, and a market's
current price for a form."""

from __future__ import annotations

import time

import pytest

from core import views
from core.errors import ExchangeTemporaryError
from core.models import Bot, Candle, ExchangeAccount, Trade
from core.strategy import BotState, Lot
from core.views import prices
from tests.factories import make_user

MIN = 60_000


def _bot(**kw) -> Bot:
    fields = {"id": 1, "owner_id": 1, "account_id": 1, "name": "b", "symbol": "ETH/USDT",
              "timeframe": "1m", "strategy": "sma_cross"} | kw  # fmt: skip
    return Bot(**fields)


PAPER = ExchangeAccount(id=1, owner_id=1, label="Main", exchange_id="sim", kind="paper")
LIVE = ExchangeAccount(id=1, owner_id=1, label="Binance", exchange_id="binance", kind="live")


def test_the_bot_picker_label_names_the_strategy_by_its_title():
    assert views.bot_label(_bot(name="Swing", strategy="rsi")) == (
        "Swing · ETH/USDT 1m · RSI mean reversion"
    )
    assert views.bot_label(_bot(strategy="retired")).endswith(" · retired")


def test_describe_says_account_mode_size_and_only_the_limits_set():
    facts = views.describe(
        _bot(
            order_size=250.0,
            stop_loss_pct=2.0,
            trailing_stop_pct=1.5,
            cooldown_minutes=120,
            max_open_positions=3,
        ),  # fmt: skip
        PAPER,
    )
    assert facts["strategy"] == "SMA crossover"
    assert (facts["account"], facts["mode"]) == ("Main", "paper")
    assert facts["line"] == (
        "Main · 250 USDT per order · stop-loss 2 % · trailing stop 1.5 % · "
        "cooldown 2 h after a loss · up to 3 positions"
    )
    live = views.describe(_bot(order_size_type="pct", order_size=10.0), LIVE)
    assert live["mode"] == "live" and live["line"] == "Binance · 10 % of the balance per order"
    gone = views.describe(_bot(), None)
    assert gone["mode"] == "" and gone["account"] == "deleted account"


def test_describe_leaves_out_what_the_strategy_ignores():
    grid = _bot(strategy="grid", take_profit_pct=5.0, max_open_positions=4, max_drawdown_pct=9.0)
    facts = views.describe(grid, PAPER)
    assert facts["strategy"] == "Grid"
    assert facts["limits"] == ["max drawdown 9 %"]


def _state(**kw) -> str:
    lot = Lot(amount=1.0, entry_price=10.0, entry_ts=0, entry_fee=0.0, peak=10.0)
    return BotState(lots=[lot], **kw).dumps()


def test_describe_says_exit_pending_or_stopping():
    assert views.describe(_bot(state=_state(), status="running"), PAPER)["note"] == ""
    pending = views.describe(_bot(state=_state(exit_requested=True), status="running"), PAPER)
    assert pending["exit_pending"] and pending["note"] == views.EXIT_PENDING
    stopping = views.describe(_bot(state=_state(exit_requested=True, stop_when_flat=True)), PAPER)
    assert stopping["stopping"] and not stopping["exit_pending"]
    assert stopping["note"] == views.STOPPING and stopping["lots"] == 1
    kept = views.describe(_bot(state=_state(), status="stopped"), PAPER)
    assert (
        kept["note"]
        == "holds 1 open lot that nothing sells while it is stopped (Overview can close it)"
    )


@pytest.fixture
def holders(rt):
    """bob's bots on one paper account, each with one open lot of 2 at 100 (fee 0.2), in every
    status; carol has a stopped one too."""
    with rt.session() as s:
        bob, carol = make_user(s, username="bob"), make_user(s, username="carol")
        acc = ExchangeAccount(owner_id=bob.id, label="p", exchange_id="sim", kind="paper")
        acc_c = ExchangeAccount(owner_id=carol.id, label="c", exchange_id="sim", kind="paper")
        s.add_all([acc, acc_c])
        s.flush()
        ids = {}
        for owner, account, status in [
            (bob, acc, "running"), (bob, acc, "stopped"), (bob, acc, "paused"),
            (bob, acc, "error"), (bob, acc, "archived"), (carol, acc_c, "stopped"),
        ]:  # fmt: skip
            name = f"{owner.username}-{status}"
            bot = Bot(owner_id=owner.id, account_id=account.id, name=name, symbol="ETH/USDT",
                      timeframe="1m", strategy="sma_cross", status=status)  # fmt: skip
            s.add(bot)
            s.flush()
            for _ in range(2):  # two lots of 1 each
                s.add(Trade(bot_id=bot.id, symbol="ETH/USDT", amount=1.0, entry_ts=0,
                            entry_price=100.0, entry_fee=0.1))  # fmt: skip
            ids[bot.name] = bot.id
        s.add(Candle(exchange="sim", symbol="ETH/USDT", timeframe="1m", ts=0, open=110.0,
                     high=110.0, low=110.0, close=110.0, volume=1.0))  # fmt: skip
    return {"bob": bob, "carol": carol, "acc": acc, "ids": ids}


def test_unmanaged_positions_lists_what_no_running_bot_holds(rt, holders):
    with rt.read() as s:
        rows = views.unmanaged_positions(s, owner=holders["bob"])
    assert [r["bot"] for r in rows] == ["bob-stopped", "bob-paused", "bob-error", "bob-archived"]
    first = rows[0]
    assert (first["lots"], first["amount"], first["entry_price"]) == (2, 2.0, 100.0)
    assert first["last_price"] == 110.0
    assert first["unrealised_pnl"] == pytest.approx(2 * (110.0 - 100.0) - 0.2)
    assert [r["closable"] for r in rows] == [True, True, True, False]
    assert rows[3]["why_not"] == "archived: it never trades again"


def test_unmanaged_positions_says_why_a_deleted_account_cannot_close(rt, holders):
    with rt.session() as s:
        s.get(ExchangeAccount, holders["acc"].id).status = "deleted"
    with rt.read() as s:
        rows = views.unmanaged_positions(s, owner=holders["bob"])
    assert {r["why_not"] for r in rows} == {
        "archived: it never trades again",
        "its exchange account was deleted",
    }
    assert not any(r["closable"] for r in rows)


def test_current_price_prefers_a_fresh_cached_close(rt):
    now = 100 * MIN
    with rt.session() as s:
        s.add(Candle(exchange="sim", symbol="BTC/USDT", timeframe="1m", ts=now - 2 * MIN,
                     open=1.0, high=1.0, low=1.0, close=123.0, volume=1.0))  # fmt: skip
    assert views.current_price(rt, exchange_id="sim", symbol="BTC/USDT", now_ms=now) == 123.0


def test_current_price_asks_the_feed_when_the_cache_is_old(rt, monkeypatch):
    with rt.session() as s:
        s.add(Candle(exchange="sim", symbol="BTC/USDT", timeframe="1m", ts=0, open=1.0,
                     high=1.0, low=1.0, close=123.0, volume=1.0))  # fmt: skip
    price = views.current_price(rt, exchange_id="sim", symbol="BTC/USDT")
    assert price is not None and price != 123.0 and 10_000 < price < 200_000  # the sim's price

    def down(*_a):
        raise ExchangeTemporaryError("The exchange did not answer in time.")

    monkeypatch.setattr(prices, "_feed_price", down)  # no answer: the old close, else nothing
    assert views.current_price(rt, exchange_id="sim", symbol="BTC/USDT") == 123.0
    assert views.current_price(rt, exchange_id="sim", symbol="ETH/USDT") is None


def test_current_price_waits_no_longer_than_its_timeout(rt, monkeypatch):
    monkeypatch.setattr(prices, "_feed_price", lambda *_a: time.sleep(5) or 1.0)
    started = time.monotonic()
    assert views.current_price(rt, exchange_id="sim", symbol="BTC/USDT", timeout_s=0.2) is None
    assert time.monotonic() - started < 2
