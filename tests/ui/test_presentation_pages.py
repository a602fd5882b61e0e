"""Screens that tell the truth (AppTest): tables in words at the market's precision with
coloured PnL and never "None", times in the viewer's zone (or UTC when they chose so),
oscillators under the candles, PnL curves with the open positions, exchange names as people
know them."""

from __future__ import annotations

import base64
import time

import numpy as np
import plotly.io as pio
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from core.models import BotOrder, Candle, Trade
from tests.factories import two_users_and_a_bot
from tests.ui.helpers import PAGE_APP, app_runtime, button, messages, page, signed_in_as
from ui.format import GAIN, LOSS

HOUR = 3_600_000
NOW_MS = int(time.time() * 1000)
ENTRY = NOW_MS - NOW_MS % 60_000 - 3 * HOUR  # three hours ago, on the minute
NOISY = 0.19989147840000002


@pytest.fixture
def world():
    """bob's RSI bot (oversold 25, overbought 75) on the sim BTC/USDT with a closed losing
    lot (a noisy fee and fill price), a closed winning one and an open one; one filled
    order."""
    params = {"period": 14, "oversold": 25.0, "overbought": 75.0}
    made = two_users_and_a_bot(app_runtime(), strategy="rsi", params=params)
    rt, bot = made["rt"], made["bot"]
    with rt.session() as s:
        s.add_all(
            [
                Trade(bot_id=bot.id, symbol="BTC/USDT", status="closed", amount=0.00123,
                      entry_ts=ENTRY, entry_price=57435.61, entry_fee=0.07,
                      exit_ts=ENTRY + HOUR, exit_price=57406.9039, exit_fee=NOISY,
                      pnl=-0.3, exit_reason="stop_loss"),
                Trade(bot_id=bot.id, symbol="BTC/USDT", status="closed", amount=0.001,
                      entry_ts=ENTRY, entry_price=57000.0, exit_ts=ENTRY + HOUR,
                      exit_price=58000.0, pnl=1.0, exit_reason="signal"),
                Trade(bot_id=bot.id, symbol="BTC/USDT", status="open", amount=0.002,
                      entry_ts=ENTRY + 2 * HOUR, entry_price=57435.6, entry_fee=0.1),
                BotOrder(bot_id=bot.id, account_id=bot.account_id, candle_ts=ENTRY,
                         client_order_id="sb-1-1", symbol="BTC/USDT", side="buy",
                         purpose="take_profit", amount=0.00123, filled=0.00123,
                         average=57435.6123456, cost=70.6, fee=NOISY, status="closed"),
            ]
        )  # fmt: skip
    return made


def zoned_page(name: str, user_id: int, timezone: str) -> AppTest:
    """`page`, in a browser that says it is in `timezone`."""
    at = AppTest.from_file(PAGE_APP, default_timeout=60)
    at.session_state["test_page"] = name
    at.context["timezone"] = timezone
    return signed_in_as(at, user_id).run()


def values(y) -> list[float]:
    """A trace's y values, as plotly may send them (base64 of a typed array)."""
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
    return list(y)


def shown(table) -> list[dict]:
    """What the person sees in an st.dataframe: the Styler's display values."""
    values = table.proto.arrow_data.styler.display_values
    return dataframe_util.convert_arrow_bytes_to_pandas_df(values).to_dict("records")


def test_trades_page_speaks_words_at_the_markets_precision_and_colours_pnl(world):
    at = page("trades.py", world["bob"].id)
    assert not at.exception and not messages(at)["error"]
    (grid,) = at.dataframe
    assert list(grid.value.columns) == [
        "#", "Bot", "Market", "Status", "Entry time (UTC)", "Entry price", "Amount",
        "Exit time (UTC)", "Exit price", "Exit reason", "Fees", "PnL",
    ]  # fmt: skip
    rows = shown(grid)
    assert "None" not in str(rows) and "nan" not in str(rows)
    still_open = next(r for r in rows if r["Status"] == "open")
    assert still_open["PnL"] == "—" and still_open["Exit price"] == "—"
    loss = next(r for r in rows if r["Exit reason"] == "stop loss")
    assert (loss["Entry price"], loss["Exit price"]) == ("57,435.61", "57,406.90")
    assert loss["Amount"] == "0.00123" and loss["PnL"] == "-0.30 USDT"
    assert loss["Fees"] == "0.27 USDT"
    styles = grid.proto.arrow_data.styler.styles
    assert f"color: {LOSS}" in styles and f"color: {GAIN}" in styles
    assert any(m.label == "Fees" and m.value.endswith(" USDT") for m in at.metric)


def test_fills_view_speaks_words_too(world):
    at = page("trades.py", world["bob"].id)
    at.radio[0].set_value("Fills").run()
    (grid,) = at.dataframe
    assert list(grid.value.columns) == [
        "#", "Bot", "Market", "Side", "Purpose", "Candle time (UTC)", "Amount", "Price",
        "Cost", "Fee",
    ]  # fmt: skip
    (row,) = shown(grid)
    assert row["Purpose"] == "take profit" and row["Price"] == "57,435.61"
    assert row["Fee"] == "0.20 USDT" and row["Cost"] == "70.60 USDT"
    assert any(m.label == "Bought" and m.value == "70.60 USDT" for m in at.metric)


def test_times_follow_the_browsers_zone_until_the_person_asks_for_utc(world):
    bob = world["bob"]
    at = zoned_page("trades.py", bob.id, "Asia/Kolkata")  # UTC+5:30, no daylight saving
    headers = list(at.dataframe[0].value.columns)
    assert "Entry time (Asia/Kolkata)" in headers
    local = time.strftime("%Y-%m-%d %H:%M", time.gmtime(ENTRY / 1000 + 5.5 * 3600))
    assert local in {r["Entry time (Asia/Kolkata)"] for r in shown(at.dataframe[0])}

    account = zoned_page("account.py", bob.id, "Asia/Kolkata")
    assert not account.exception
    assert any("Asia/Kolkata" in c.value for c in account.caption)
    switch = next(t for t in account.toggle if t.label == "Show times in UTC")
    account = switch.set_value(True).run()
    assert any("UTC" in t.value for t in account.toast)

    at = zoned_page("trades.py", bob.id, "Asia/Kolkata")
    assert "Entry time (UTC)" in list(at.dataframe[0].value.columns)
    assert page("trades.py", world["alice"].id).exception == []  # alice is not affected


def test_bot_detail_draws_rsi_under_the_candles_and_pnl_with_open_positions(world):
    at = page("bot_detail.py", world["bob"].id)
    assert not at.exception and not messages(at)["error"]
    candles, pnl = (pio.from_json(c.proto.spec) for c in at.get("plotly_chart")[:2])
    layout = candles.layout
    assert layout.yaxis2.domain[1] < layout.yaxis.domain[0]  # a second row, under the candles
    assert {t.name: t.yaxis for t in candles.data}["RSI"] == "y2"
    assert sorted(s.y0 for s in layout.shapes) == [25, 75]  # the bot's own bands
    assert [t.name for t in pnl.data] == ["Realised", "Realised + open positions"]
    realised, total = (values(t.y) for t in pnl.data)
    assert realised[0] == 0.0 and realised[-1] == pytest.approx(0.7)  # -0.3 + 1.0
    assert total[-1] != pytest.approx(0.7)  # the open lot at the last price
    position, trades, orders, _events = at.dataframe
    (lot,) = shown(position)
    assert lot["Entry price"] == "57,435.60" and lot["Amount"] == "0.00200"
    assert lot["Unrealised PnL"].endswith(" USDT") and "Since (UTC)" in lot
    assert "Bot" not in trades.value.columns and "Exit reason" in trades.value.columns
    assert "None" not in str(shown(trades))
    (order,) = shown(orders)
    assert order["Average price"] == "57,435.61" and order["Purpose"] == "take profit"
    assert order["Error"] == "—"


def test_overview_draws_pnl_with_open_positions_ending_where_the_tiles_are(world):
    """Overview's curve is `pnl_curves` too: its last point counts the open lot at the last
    cached price (here 60,000), as the Unrealised tile does; its positions table speaks words
    at the market's precision."""
    minute = NOW_MS - NOW_MS % 60_000 - 60_000
    with app_runtime().session() as s:
        last = 60_000.0
        s.add(Candle(exchange="sim", symbol="BTC/USDT", timeframe="1m", ts=minute,
                     open=last, high=last, low=last, close=last, volume=1))  # fmt: skip
    at = page("overview.py", world["bob"].id)
    assert not at.exception and not messages(at)["error"]
    (pnl,) = (pio.from_json(c.proto.spec) for c in at.get("plotly_chart"))
    assert [t.name for t in pnl.data] == ["Realised", "Realised + open positions"]
    realised, total = (values(t.y) for t in pnl.data)
    unrealised = (60_000.0 - 57435.6) * 0.002 - 0.1  # the open lot, its entry fee included
    assert realised[0] == total[0] == 0.0
    assert realised[-1] == pytest.approx(0.7)  # -0.3 + 1.0
    assert total[-1] == pytest.approx(0.7 + unrealised)
    assert any(m.label == "Unrealised" and m.value == f"+{unrealised:.2f} USDT" for m in at.metric)
    (lot,) = shown(at.dataframe[0])  # the open positions, in words at the market's precision
    assert lot["Bot"] == world["bot"].name and lot["Market"] == "BTC/USDT"
    assert (lot["Entry price"], lot["Last price"]) == ("57,435.60", "60,000.00")
    assert lot["Amount"] == "0.00200" and lot["Unrealised PnL"] == f"+{unrealised:.2f} USDT"
    assert "Since (UTC)" in lot


def test_the_exchange_pickers_use_names_live_capable_first(world):
    at = page("exchange_accounts.py", world["bob"].id)
    assert not at.exception
    prices = next(s for s in at.selectbox if s.label == "Prices").options
    assert prices[0] == "Simulated market"
    assert prices.index("Binance") < prices.index("Binance COIN-M")  # paper-only after
    assert prices.index("OKX") < prices.index("Alpaca")
    assert "binancecoinm" not in prices
    live = next(s for s in at.selectbox if s.label == "Exchange").options
    assert {"Binance", "OKX", "Bybit"} <= set(live)


def test_backtest_trades_table_and_csv_speak_words_with_iso_times(world):
    from core import backtest

    at = page("backtest.py", world["bob"].id)
    at = at.button(key="bt_run").click().run()
    assert not at.exception and not messages(at)["error"]
    (grid,) = at.dataframe
    assert list(grid.value.columns)[:3] == ["Entry time (UTC)", "Entry price", "Amount"]
    rows = shown(grid)
    assert rows and "None" not in str(rows) and rows[0]["PnL"].endswith(" USDT")
    last = at.session_state["bt_last"][1]
    text = backtest.trades_csv(last.result.trades, last.market).decode()  # the download's
    header, first = text.splitlines()[:2]
    assert header.startswith("Entry time (UTC),Exit time (UTC),Entry price")
    assert first[:20].endswith("Z") and first[10] == "T"
    numbers = [c for c in first.split(",")[2:7]]
    assert all(len(c.split(".")[-1]) <= 10 for c in numbers)  # no float noise


def test_a_failed_test_notification_does_not_point_a_trader_at_the_log(world):
    from core.models import NotificationSetting
    from core.platform.vault import Vault

    rt, bob = world["rt"], world["bob"]
    with rt.session() as s:
        s.add(NotificationSetting(user_id=bob.id, url_count=1, urls_enc=Vault.from_settings(
            rt.settings).encrypt("json://127.0.0.1:9/hook")))  # fmt: skip
    at = button(page("account.py", bob.id), "Send a test notification").click().run()
    (error,) = messages(at)["error"]
    assert "Sending failed" in error and "log" not in error
