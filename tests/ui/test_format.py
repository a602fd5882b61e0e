"""The one presentation of numbers, times and names (ui.format over core.platform.present):
pure functions, no page."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.platform import present
from ui import format as fmt

BERLIN = ZoneInfo("Europe/Berlin")
WINTER_MS = int(datetime(2026, 12, 5, 13, 3, tzinfo=UTC).timestamp() * 1000)
SUMMER = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1234.5, "+1,234.50 USDT"), (-3.2, "-3.20 USDT"), (0.0, "0.00 USDT"),
     (-0.001, "0.00 USDT"), (None, "—")],
)  # fmt: skip
def test_pnl_money_is_signed_with_separators_and_currency(value, expected):
    assert fmt.money(value) == expected


def test_balances_are_unsigned_money_in_the_given_currency():
    assert fmt.balance(1234.56) == "1,234.56 USDT"
    assert fmt.balance(0.5, "BTC") == "0.50000000 BTC"  # not counted in cents
    assert fmt.balance(None) == "—"


def test_pnl_markdown_is_green_for_a_gain_red_for_a_loss():
    assert fmt.pnl_markdown(2.0) == ":green[+2.00 USDT]"
    assert fmt.pnl_markdown(-2.0) == ":red[-2.00 USDT]"
    assert fmt.pnl_markdown(0.0) == "0.00 USDT" and fmt.pnl_markdown(None) == "—"


def test_prices_show_the_markets_step_and_side_by_side_they_agree():
    decimals = present.step_decimals(0.01)
    shown = [fmt.price(p, decimals) for p in (57435.6, 57435.61, 57406.9039)]
    assert shown == ["57,435.60", "57,435.61", "57,406.90"]
    assert fmt.price(0.0000123456, present.step_decimals(1e-8)) == "0.00001235"
    assert fmt.price(None, 2) == "—"
    assert fmt.price(2980.123456) == "2,980.12"  # unknown step: about six digits
    assert fmt.price(0.61234567) == "0.612346"


def test_amounts_show_the_amount_step_or_drop_trailing_zeros():
    assert fmt.amount(0.00125, present.step_decimals(0.00001)) == "0.00125"
    assert fmt.amount(1.0, present.step_decimals(0.00001)) == "1.00000"
    assert fmt.amount(1.5) == "1.5" and fmt.amount(3.0) == "3"
    assert fmt.amount(12345.0) == "12,345"


def test_percentages_are_signed_with_a_space_before_the_sign():
    assert fmt.pct(1.234) == "+1.23 %" and fmt.pct(-0.5) == "-0.50 %"
    assert fmt.pct(12.0, signed=False) == "12.00 %" and fmt.pct(None) == "—"


def test_step_decimals_and_decimals_seen_in_prices():
    assert [present.step_decimals(s) for s in (0.01, 1e-5, 0.1, 1, 5, 1e-8)] == [
        2, 5, 1, 0, 0, 8,
    ]  # fmt: skip
    assert present.step_decimals(None) is None and present.step_decimals(0) is None
    assert present.decimals_of([57435.61, 57435.6, 57406.9]) == 2
    assert present.decimals_of([3000.0, 2999.0]) == 0
    assert present.decimals_of([0.19989147840000002]) == 8  # float noise: capped
    assert present.decimals_of([None]) is None


def test_one_time_format_in_the_viewers_zone():
    assert fmt.when(WINTER_MS, UTC) == "2026-12-05 13:03 UTC"
    assert fmt.when(WINTER_MS, BERLIN) == "2026-12-05 14:03 CET"
    assert fmt.when(SUMMER, BERLIN) == "2026-07-01 14:00 CEST"
    assert fmt.when(datetime(2026, 12, 5, 13, 3), BERLIN) == "2026-12-05 14:03 CET"  # naive: UTC
    assert fmt.short_when(WINTER_MS, BERLIN) == "12-05 14:03"
    assert fmt.when(None) == "—" and fmt.short_when(None) == "—"
    assert present.time_text(WINTER_MS, BERLIN) == "2026-12-05 14:03"
    assert fmt.zone_name(BERLIN) == "Europe/Berlin" and fmt.zone_name(UTC) == "UTC"


def test_outside_a_page_times_are_in_utc():
    assert fmt.display_zone() is UTC
    assert fmt.when(WINTER_MS) == "2026-12-05 13:03 UTC"


@pytest.mark.parametrize(
    ("name", "words"),
    [("entry_price", "Entry price"), ("exit_reason", "Exit reason"),
     ("total_return_pct", "Total return %"), ("realised_pnl", "Realised PnL"),
     ("entry_ts", "Entry time"), ("symbol", "Market"), ("queue_depth", "Queue depth"),
     ("some_new_pct", "Some new %"), ("sma_fast", "Fast SMA")],
)  # fmt: skip
def test_column_names_are_words(name, words):
    assert present.label(name) == words


def test_exports_have_iso_utc_times_and_no_float_noise():
    assert present.iso_utc(WINTER_MS) == "2026-12-05T13:03:00Z"
    assert present.iso_utc(datetime(2026, 12, 5, 14, 3, tzinfo=BERLIN)) == "2026-12-05T13:03:00Z"
    assert present.iso_utc(None) == ""
    assert present.csv_number(0.19989147840000002) == 0.1998914784
    assert present.csv_number(57435.610000000001, 2) == 57435.61
    assert present.csv_number(1e-12, 2) == 0.0 and present.csv_number(None) == ""
    assert present.csv_number(float("nan")) == "" and present.csv_number(7) == 7
    assert present.round_sig(123456789012.5) == 123456789000.0
    assert math.isinf(present.round_sig(float("inf")))


def test_the_quote_currency_comes_from_the_market():
    assert present.quote_of("ETH/BTC") == "BTC" and present.quote_of("BTC/USDT:USDT") == "USDT"
    assert present.quote_of("BTC/USDT 1m") == "USDT" and present.quote_of(None) == "USDT"


TRADES = [
    {"id": 2, "bot": "b", "symbol": "BTC/USDT", "status": "closed", "entry_ts": WINTER_MS,
     "entry_price": 57435.6, "amount": 0.001, "exit_ts": WINTER_MS + 60_000,
     "exit_price": 57406.9039, "exit_reason": "take_profit", "fees": 0.19989147840000002,
     "pnl": -0.5, "price_dp": 2, "amount_dp": 5},
    {"id": 1, "bot": "b", "symbol": "BTC/USDT", "status": "open", "entry_ts": WINTER_MS,
     "entry_price": 57435.61, "amount": 0.002, "exit_ts": None, "exit_price": None,
     "exit_reason": None, "fees": 0.1, "pnl": None, "price_dp": 2, "amount_dp": 5},
    {"id": 3, "bot": "c", "symbol": "ETH/BTC", "status": "closed", "entry_ts": WINTER_MS,
     "entry_price": 0.05123, "amount": 1.5, "exit_ts": WINTER_MS, "exit_price": 0.05223,
     "exit_reason": "signal", "fees": 0.0001, "pnl": 0.0015, "price_dp": 5, "amount_dp": 3},
]  # fmt: skip


def test_a_styled_table_speaks_words_never_none_and_colours_pnl():
    sty = fmt.styled(TRADES, fmt.TRADE_COLUMNS, BERLIN)
    headers = list(sty.data.columns)
    assert headers == [
        "#", "Bot", "Market", "Status", "Entry time (Europe/Berlin)", "Entry price", "Amount",
        "Exit time (Europe/Berlin)", "Exit price", "Exit reason", "Fees", "PnL",
    ]  # fmt: skip
    assert sty.data["PnL"].dtype.kind == "f"  # numbers stay numbers: they sort as numbers
    shown = sty.to_string(delimiter="|")
    assert "None" not in shown and "nan" not in shown
    lines = shown.splitlines()
    assert (
        "57,435.60|0.00100|2026-12-05 14:04|57,406.90|take profit|0.20 USDT|-0.50 USDT"
        in (lines[1])
    )
    assert "|open|" in lines[2] and lines[2].count("—") == 4  # exit time, price, reason, PnL
    # The row's own market: ETH/BTC prices to 5 decimals, its PnL in BTC as finely.
    assert "0.05123|1.500|" in lines[3] and "|+0.00150 BTC" in lines[3]
    html = sty.to_html()
    assert f"color: {fmt.LOSS}" in html and f"color: {fmt.GAIN}" in html


def _long_table_app():
    from ui.format import STYLED_ROWS, TRADE_COLUMNS, table

    row = {"id": 1, "bot": "b", "symbol": "BTC/USDT", "status": "open", "entry_ts": 0,
           "entry_price": 57435.6, "amount": 0.001, "exit_ts": None, "exit_price": None,
           "exit_reason": None, "fees": 0.1, "pnl": None, "price_dp": 2,
           "amount_dp": 5}  # fmt: skip
    table([row] * (STYLED_ROWS + 1), TRADE_COLUMNS)


def test_a_long_table_skips_the_styler_but_still_speaks_words_and_never_none():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_long_table_app).run()
    assert not at.exception
    (grid,) = at.dataframe
    assert not grid.proto.arrow_data.styler.display_values  # no Styler: ~0.1 ms a row saved
    data = grid.value
    assert list(data.columns)[:5] == ["#", "Bot", "Market", "Status", "Entry time (UTC)"]
    assert set(data["PnL"]) == {"—"} and set(data["Exit price"]) == {"—"}
    assert data["Entry price"].dtype.kind == "f"  # complete number columns stay numbers
