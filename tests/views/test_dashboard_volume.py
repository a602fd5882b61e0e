"""Read models added for the dashboard at volume: paper equity, fills, long PnL curves, paged
totals, CSV export of a whole filter, the queue description. Scoped per owner."""

from __future__ import annotations

import csv
import io

import pytest

from core.models import Bot, BotOrder, Candle, ExchangeAccount, PaperBalance, Trade
from core.platform.config import Settings
from core.views import dashboard as reports
from core.views import equity, fills
from core.views import system as admin_reports
from core.views import trades as trade_views
from tests.factories import make_user

HOUR = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


@pytest.fixture(
    params=[
        pytest.param("rt", id="sqlite"),
        # getfixturevalue is invisible to the marker hook in tests/conftest.py: marked here.
        pytest.param("pg_rt", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_rt(request):
    """The same read models on SQLite and on PostgreSQL (skipped where it is not running)."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def world(db_rt):
    """alice: a paper account (USDT + BTC) and a bot with 3 fills; bob: the same market with
    one fill of his own."""
    rt = db_rt
    with rt.session() as s:
        alice = make_user(s, username="alice")
        bob = make_user(s, username="bob")
        acc_a = ExchangeAccount(owner_id=alice.id, label="p", exchange_id="sim", kind="paper")
        acc_b = ExchangeAccount(owner_id=bob.id, label="p", exchange_id="sim", kind="paper")
        s.add_all([acc_a, acc_b])
        s.flush()
        s.add_all(
            [
                PaperBalance(account_id=acc_a.id, asset="USDT", free=900.0, used=100.0),
                PaperBalance(account_id=acc_a.id, asset="BTC", free=0.5),
                PaperBalance(account_id=acc_a.id, asset="XYZ", free=3.0),  # no price
                PaperBalance(account_id=acc_b.id, asset="USDT", free=1e6),
                Candle(exchange="sim", symbol="BTC/USDT", timeframe="1m", ts=T0, open=1,
                       high=1, low=1, close=200.0, volume=1),
            ]
        )  # fmt: skip
        bot_a = Bot(owner_id=alice.id, account_id=acc_a.id, name="a", symbol="BTC/USDT",
                    timeframe="1m", strategy="sma_cross")  # fmt: skip
        bot_b = Bot(owner_id=bob.id, account_id=acc_b.id, name="b", symbol="BTC/USDT",
                    timeframe="1m", strategy="sma_cross")  # fmt: skip
        s.add_all([bot_a, bot_b])
        s.flush()
        for i, (bot, side, cost) in enumerate(
            [(bot_a, "buy", 100.0), (bot_a, "sell", 110.0), (bot_a, "buy", 50.0),
             (bot_b, "buy", 999.0)]
        ):  # fmt: skip
            s.add(
                BotOrder(bot_id=bot.id, account_id=bot.account_id, client_order_id=f"c{i}",
                         candle_ts=T0 + i * HOUR, symbol="BTC/USDT", side=side, amount=1.0,
                         status="closed", filled=1.0, average=cost, cost=cost, fee=0.1)
            )  # fmt: skip
        s.add(
            BotOrder(bot_id=bot_a.id, account_id=acc_a.id, client_order_id="never",
                     candle_ts=T0, symbol="BTC/USDT", side="buy", amount=1.0,
                     status="never_placed")
        )  # fmt: skip
    return {"rt": rt, "alice": alice, "bob": bob, "bot_a": bot_a, "bot_b": bot_b}


def test_paper_equity_values_balances_at_the_last_price(world):
    rt = world["rt"]
    with rt.read() as s:
        equity = reports.paper_equity(s, owner=world["alice"])
    assert equity["total"] == pytest.approx(1000.0 + 0.5 * 200.0)
    assert equity["unpriced"] == ["XYZ"]


def test_fills_filter_by_side_total_everything_and_never_cross_owners(world):
    rt = world["rt"]
    alice = world["alice"]
    with rt.read() as s:
        sells = fills.fill_page(s, owner=alice, flt=fills.FillFilter(side="sell"))
        totals = fills.fill_totals(s, owner=alice, flt=fills.FillFilter())
        theirs = fills.fill_totals(s, owner=alice, flt=fills.FillFilter(bot_id=world["bot_b"].id))
    assert [r["side"] for r in sells] == ["sell"]
    assert totals == {"fills": 3, "bought": 150.0, "sold": 110.0, "fees": pytest.approx(0.3)}
    assert theirs["fills"] == 0


def test_fills_page_is_newest_first_and_the_csv_has_every_fill(world):
    rt = world["rt"]
    with rt.read() as s:
        page = fills.fill_page(s, owner=world["alice"], flt=fills.FillFilter(), limit=2)
        text = fills.export_csv(s, owner=world["alice"], flt=fills.FillFilter())
    assert [r["cost"] for r in page] == [50.0, 110.0]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3 and {r["Bot"] for r in rows} == {"a"}


def _closed(bot_id: int, exit_ts: int, pnl: float) -> Trade:
    return Trade(bot_id=bot_id, symbol="BTC/USDT", status="closed", amount=1.0,
                 entry_ts=exit_ts - 60_000, entry_price=100.0, exit_ts=exit_ts,
                 exit_price=100.0 + pnl, pnl=pnl, exit_reason="signal")  # fmt: skip


def test_a_long_pnl_curve_is_merged_to_a_few_hundred_points(world):
    rt = world["rt"]
    with rt.session() as s:
        s.add_all([_closed(world["bot_a"].id, T0 + i * HOUR, 1.0) for i in range(2_000)])
    with rt.read() as s:
        curve = equity.pnl_curves(s, owner=world["alice"])[equity.REALISED]
    assert len(curve) <= reports.CURVE_POINTS + 1  # the points, and "now"
    assert curve[-1][1] == pytest.approx(2_000.0)
    assert [t for t, _ in curve] == sorted(t for t, _ in curve)


def test_paged_totals_cover_the_whole_filter_and_the_export_every_row(world):
    rt = world["rt"]
    with rt.session() as s:
        s.add_all([_closed(world["bot_a"].id, T0 + i * HOUR, (-1.0) ** i) for i in range(250)])
        s.add(Trade(bot_id=world["bot_a"].id, symbol="BTC/USDT", status="open", amount=1.0,
                    entry_ts=T0, entry_price=100.0))  # fmt: skip
    flt = trade_views.TradeFilter()
    with rt.read() as s:
        page = trade_views.trade_page(s, owner=world["alice"], flt=flt, limit=100, offset=200)
        totals = trade_views.trade_totals(s, owner=world["alice"], flt=flt)
        text = trade_views.export_trades_csv(s, owner=world["alice"], flt=flt)
    assert len(page) == 51
    assert totals["trades"] == 251 and totals["closed"] == 250 and totals["wins"] == 125
    assert len(list(csv.DictReader(io.StringIO(text)))) == 251


def test_queue_backend_is_described_without_credentials(tmp_path):
    def described(url: str) -> str:
        return admin_reports.queue_backend(Settings(data_dir=tmp_path, queue_url=url))

    assert described("").startswith("SQLite file")
    assert described("redis://:s3cret@cache:6379/0") == "Redis cache:6379"
    assert "s3cret" not in described("postgresql://u:s3cret@db:5432/q")
