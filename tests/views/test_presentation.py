"""What the screens and exports show: PnL curves with the open positions in them, each
market's display decimals, CSV exports in words with ISO-8601 UTC times and no float noise,
the "times in UTC" preference, and exchange names as people know them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from core.exchanges import exchange_name, feed_choices, live_exchange_ids
from core.models import Bot, BotOrder, Candle, ExchangeAccount, Trade, User
from core.views import dashboard, equity, fills, markets, preferences
from core.views import trades as trade_views
from tests.factories import make_user

HOUR = 3_600_000
NOW = datetime(2026, 12, 5, 14, 30, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
T0 = NOW_MS - NOW_MS % HOUR - 10 * HOUR  # ten hours ago, on the hour
NOISY_FEE = 0.19989147840000002


@pytest.fixture(
    params=[
        pytest.param("rt", id="sqlite"),
        pytest.param("pg_rt", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_rt(request):
    return request.getfixturevalue(request.param)


def _candle(exchange: str, symbol: str, ts: int, close: float, tf: str = "1m") -> Candle:
    return Candle(exchange=exchange, symbol=symbol, timeframe=tf, ts=ts, open=close,
                  high=close, low=close, close=close, volume=1)  # fmt: skip


@pytest.fixture
def world(db_rt):
    """alice's bot on the sim BTC/USDT: a lot bought at 100 (T0) and sold at 110 (T0 + 2 h),
    a lot bought at 100 (T0 + 4 h) still open, a round trip within T0 + 7 h; closes cached
    every hour (the price is 120 from T0 + 6 h on). bob has a trade of his own."""
    rt = db_rt
    with rt.session() as s:
        alice, bob = make_user(s, username="alice"), make_user(s, username="bob")
        accounts = [ExchangeAccount(owner_id=u.id, label="p", exchange_id="sim", kind="paper")
                    for u in (alice, bob)]  # fmt: skip
        s.add_all(accounts)
        s.flush()
        bot, bobs = (
            Bot(owner_id=a.owner_id, account_id=a.id, name=f"bot{a.id}", symbol="BTC/USDT",
                timeframe="1m", strategy="sma_cross")
            for a in accounts
        )  # fmt: skip
        s.add_all([bot, bobs])
        s.flush()
        s.add_all(
            [
                Trade(bot_id=bot.id, symbol="BTC/USDT", status="closed", amount=1.0,
                      entry_ts=T0 + 60_000, entry_price=100.0, entry_fee=0.1,
                      exit_ts=T0 + 2 * HOUR + 60_000, exit_price=110.0, exit_fee=NOISY_FEE,
                      pnl=10.0 - 0.1 - NOISY_FEE, exit_reason="take_profit"),
                Trade(bot_id=bot.id, symbol="BTC/USDT", status="open", amount=2.0,
                      entry_ts=T0 + 4 * HOUR + 60_000, entry_price=100.0, entry_fee=0.2),
                Trade(bot_id=bot.id, symbol="BTC/USDT", status="closed", amount=5.0,
                      entry_ts=T0 + 7 * HOUR + 60_000, entry_price=100.0,
                      exit_ts=T0 + 7 * HOUR + 120_000, exit_price=101.0, pnl=5.0,
                      exit_reason="signal"),  # bought and sold within one hour
                Trade(bot_id=bobs.id, symbol="BTC/USDT", status="closed", amount=1.0,
                      entry_ts=T0, entry_price=100.0, exit_ts=T0 + HOUR, exit_price=1000.0,
                      pnl=900.0, exit_reason="signal"),
            ]
        )  # fmt: skip
        for h in range(12):
            ts = T0 + h * HOUR - 60_000  # the 1m candle that closes on the hour
            s.add(_candle("sim", "BTC/USDT", ts, 100.0 if h < 6 else 120.0))
    return {"rt": rt, "alice": alice, "bob": bob, "bot": bot}


def test_the_pnl_curve_includes_open_positions_and_ends_where_the_tiles_are(world):
    rt, alice = world["rt"], world["alice"]
    with rt.read() as s:
        curves = equity.pnl_curves(s, owner=alice, now=NOW)
        positions = dashboard.open_positions(s, owner=alice)
        closed = select(Trade).join(Bot).where(Trade.status == "closed", Bot.owner_id == alice.id)
        realised = sum(t.pnl for t in s.exec(closed))
    real, total = dict(curves[equity.REALISED]), dict(curves[equity.TOTAL])
    assert list(real)[0] == T0 and real[T0] == total[T0] == 0.0  # starts at zero
    assert list(real)[-1] == NOW_MS  # ends now
    unrealised = sum(p["unrealised_pnl"] for p in positions)  # 2 x (120 - 100) - 0.2
    assert total[NOW_MS] == pytest.approx(realised + unrealised)
    assert real[NOW_MS] == pytest.approx(realised)
    # At T0 + 5 h the open lot is valued at that hour's close (100): minus its fee only.
    assert total[T0 + 5 * HOUR] == pytest.approx(realised - 5.0 - 0.2)
    # From T0 + 6 h the close is 120: the open lot gains 40 (realised: before the round trip).
    assert total[T0 + 6 * HOUR] == pytest.approx(realised - 5.0 + 40 - 0.2)
    assert real[T0 + 8 * HOUR] == pytest.approx(realised)  # the round trip of T0 + 7 h
    assert total[T0 + 8 * HOUR] == pytest.approx(realised + 40 - 0.2)
    assert 900.0 not in [v for _t, v in curves[equity.TOTAL]]  # never bob's trade


def test_a_first_trade_this_hour_still_draws_a_line_and_no_trades_draw_nothing(world):
    rt, bob = world["rt"], world["bob"]
    with rt.read() as s:
        soon = equity.pnl_curves(s, owner=bob, now=datetime.fromtimestamp(T0 / 1000 + 60, UTC))
        with_nothing = equity.pnl_curves(s, owner=bob, bot_id=world["bot"].id, now=NOW)
    assert len(soon[equity.TOTAL]) == 2  # the hour's start (0) and now
    assert with_nothing == {}


def test_a_long_history_is_at_most_a_few_hundred_points(world):
    rt, alice = world["rt"], world["alice"]
    with rt.read() as s:
        curves = equity.pnl_curves(s, owner=alice, now=NOW + timedelta(days=400))
    assert len(curves[equity.TOTAL]) <= dashboard.CURVE_POINTS + 1
    times = [t for t, _v in curves[equity.TOTAL]]
    assert times == sorted(times)


def test_market_decimals_from_the_sim_table_and_from_cached_prices(db_rt):
    with db_rt.session() as s:
        for i in range(30):
            s.add(_candle("binance", "ETH/BTC", 1_000_000 + i * 60_000, 0.05123 + i * 1e-5))
    markets._known.clear()
    with db_rt.read() as s:
        found = markets.market_decimals(s, [("sim", "BTC/USDT"), ("binance", "ETH/BTC")])
        unknown = markets.market_decimals(s, [("kraken", "XYZ/USD")])
    assert found[("sim", "BTC/USDT")] == markets.Decimals(2, 5)
    assert found[("binance", "ETH/BTC")] == markets.Decimals(5, None)
    assert unknown[("kraken", "XYZ/USD")] == markets.Decimals(None, None)


def test_the_trades_csv_has_words_iso_times_and_no_float_noise(world):
    rt, alice = world["rt"], world["alice"]
    with rt.read() as s:
        text = trade_views.export_trades_csv(s, owner=alice, flt=trade_views.TradeFilter())
        page = trade_views.trade_page(s, owner=alice, flt=trade_views.TradeFilter())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "Trade id", "Bot", "Exchange", "Market", "Status", "Amount", "Entry time (UTC)",
        "Entry price", "Exit time (UTC)", "Exit price", "Exit reason", "Fees", "PnL",
    ]  # fmt: skip
    closed = next(r for r in rows if r["Exit reason"] == "take profit")
    entry = datetime.fromtimestamp((T0 + 60_000) / 1000, UTC)
    assert closed["Entry time (UTC)"] == entry.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert closed["Exit reason"] == "take profit"
    assert closed["Fees"] == "0.2998914784"  # 0.1 + 0.19989147840000002, 10 digits
    assert closed["PnL"] == "9.700108522"  # 10 significant digits
    still_open = next(r for r in rows if r["Status"] == "open")
    assert still_open["Exit time (UTC)"] == "" and still_open["PnL"] == ""
    assert "None" not in text and "0000000" not in text
    assert {(r["price_dp"], r["amount_dp"]) for r in page} == {(2, 5)}  # the sim's steps


def test_the_fills_csv_has_words_iso_times_and_rounded_numbers(world):
    rt, alice, bot = world["rt"], world["alice"], world["bot"]
    with rt.session() as s:
        s.add(BotOrder(bot_id=bot.id, account_id=bot.account_id, candle_ts=T0, side="buy",
                       purpose="take_profit",
                       symbol="BTC/USDT", client_order_id="sb-x", amount=0.123456789,
                       filled=0.123456789, average=57406.90391234, cost=7087.123456789123,
                       fee=NOISY_FEE, status="closed"))  # fmt: skip
    with rt.read() as s:
        text = fills.export_csv(s, owner=alice, flt=fills.FillFilter())
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["Candle time (UTC)"].endswith("Z") and row["Purpose"] == "take profit"
    assert row["Price"] == "57406.9" and row["Amount"] == "0.12346"  # sim steps 0.01, 1e-5
    assert row["Fee"] == "0.1998914784" and row["Cost"] == "7087.123457"


def test_times_in_utc_is_kept_per_person_and_not_inherited_by_a_reused_id(rt):
    with rt.session() as s:
        alice = make_user(s, username="alice")
        assert preferences.times_in_utc(s, user=alice) is False
        preferences.set_times_in_utc(s, user=alice, on=True)
    with rt.read() as s:
        assert preferences.times_in_utc(s, user=s.get(User, alice.id)) is True
        later = User(id=alice.id, username="zed", email="z@x.io", name="Z", password_hash="x",
                     created_at=alice.created_at + timedelta(days=1))  # fmt: skip
        assert preferences.times_in_utc(s, user=later) is False


def test_exchange_names_as_people_know_them_live_capable_first():
    choices = feed_choices()
    names = [exchange_name(e) for e in choices]
    assert choices[0] == "sim" and names[0] == "Simulated market"
    assert exchange_name("binance") == "Binance" and exchange_name("okx") == "OKX"
    assert exchange_name("binancecoinm") == "Binance COIN-M"
    live = len(live_exchange_ids())
    assert set(choices[1 : 1 + live]) == set(live_exchange_ids())
    assert names.index("Binance") < names.index("Binance COIN-M")  # paper-only after
    assert names[1 : 1 + live] == sorted(names[1 : 1 + live], key=str.lower)
