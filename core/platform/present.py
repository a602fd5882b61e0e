"""How numbers, times and names are shown and exported (pure functions, no Streamlit).

The counterpart of `inputs`: one rule for every screen and export. Prices are shown with the
market's price-step decimals, amounts with its amount-step decimals, money with thousands
separators and its currency, percentages signed; a missing value is "—", never "None". CSV
exports use ISO-8601 UTC times and numbers rounded to the market's steps or to 10 significant
digits (no float noise such as 0.19989147840000002). Column names are words, not identifiers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo

DASH = "—"
MAX_DECIMALS = 8
CSV_DIGITS = 10  # significant digits of a number in a CSV export without a known step

# Identifiers the screens and exports show, in words.
LABELS = {
    "id": "#",
    "bot": "Bot",
    "owner": "Owner",
    "name": "Name",
    "symbol": "Market",
    "market": "Market",
    "exchange": "Exchange",
    "status": "Status",
    "reason": "Reason",
    "strategy": "Strategy",
    "side": "Side",
    "purpose": "Purpose",
    "amount": "Amount",
    "price": "Price",
    "cost": "Cost",
    "fee": "Fee",
    "fees": "Fees",
    "pnl": "PnL",
    "entry_ts": "Entry time",
    "entry_time": "Entry time",
    "entry_price": "Entry price",
    "exit_ts": "Exit time",
    "exit_time": "Exit time",
    "exit_price": "Exit price",
    "exit_reason": "Exit reason",
    "candle_ts": "Candle time",
    "last_price": "Last price",
    "unrealised_pnl": "Unrealised PnL",
    "realised_pnl": "Realised PnL",
    "last_tick": "Last tick",
    "total_return_pct": "Total return %",
    "cagr_pct": "CAGR %",
    "max_drawdown_pct": "Max drawdown %",
    "win_rate_pct": "Win rate %",
    "exposure_pct": "Exposure %",
    "buy_and_hold_return_pct": "Buy and hold %",
    "num_trades": "Trades",
    "final_equity": "Final equity",
    "profit_factor": "Profit factor",
    "sharpe": "Sharpe",
    "sortino": "Sortino",
    # indicator lines (chart legends)
    "sma": "SMA",
    "sma_fast": "Fast SMA",
    "sma_slow": "Slow SMA",
    "bb_lower": "Lower band",
    "bb_mid": "Middle band",
    "bb_upper": "Upper band",
    "rsi": "RSI",
    "macd": "MACD",
    "macd_signal": "Signal",
    "macd_hist": "Histogram",
    "recent_high": "Recent high",
}


def label(name: str) -> str:
    """A column or field name in words: 'entry_price' -> 'Entry price', 'x_pct' -> 'X %'."""
    if name in LABELS:
        return LABELS[name]
    words = name.removesuffix("_pct").replace("_", " ").strip()
    words = " ".join("PnL" if w.lower() == "pnl" else w for w in words.split())
    text = words[:1].upper() + words[1:]
    return f"{text} %" if name.endswith("_pct") else text


def words(value: object) -> str:
    """An identifier value in words ('take_profit' -> 'take profit'); None -> '—'."""
    if value is None or value == "":
        return DASH
    return str(value).replace("_", " ")


def step_decimals(step: float | None) -> int | None:
    """Decimals of a price or amount step (0.01 -> 2, 1 -> 0, 0.00001 -> 5); None unknown."""
    if not step or not step > 0 or not math.isfinite(step):
        return None
    if step >= 1:
        return 0
    return min(MAX_DECIMALS, max(0, -math.floor(math.log10(step) + 1e-9)))


def decimals_of(values: Iterable[float | None], *, cap: int = MAX_DECIMALS) -> int | None:
    """The fewest decimals that show every value exactly (at most `cap`): the step of prices
    quoted at a market's tick size. None when there is no value."""
    numbers = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not numbers:
        return None
    for d in range(cap + 1):
        if all(abs(round(v, d) - v) <= 1e-9 * max(1.0, abs(v)) for v in numbers):
            return d
    return cap


def auto_decimals(value: float) -> int:
    """Decimals for a price whose market step is unknown: about six significant digits,
    at least 2 and at most 8."""
    size = abs(value)
    if size == 0 or not math.isfinite(size):
        return 2
    return min(MAX_DECIMALS, max(2, 5 - math.floor(math.log10(size))))


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fixed(value: float | None, decimals: int, *, signed: bool = False) -> str:
    """'1,234.56' (thousands separators, `decimals` places); '—' for None, NaN or infinity
    (a table's stand-in for a missing number: see ui.format.frame)."""
    if _missing(value):
        return DASH
    value = float(value)
    if round(value, decimals) == 0:
        value = 0.0  # no "-0.00"
    return f"{value:+,.{decimals}f}" if signed and value else f"{value:,.{decimals}f}"


def price_text(value: float | None, decimals: int | None = None) -> str:
    """A price at the market's precision ('57,435.61'); unknown precision: ~6 digits."""
    if _missing(value):
        return DASH
    return fixed(value, auto_decimals(value) if decimals is None else decimals)


def amount_text(value: float | None, decimals: int | None = None) -> str:
    """An amount at the market's amount step ('0.00125'); unknown step: up to 8 decimals,
    trailing zeros dropped."""
    if _missing(value):
        return DASH
    if decimals is not None:
        return fixed(value, decimals)
    text = fixed(value, MAX_DECIMALS)
    return text.rstrip("0").rstrip(".") if "." in text else text


# Quote currencies counted in cents; money in any other (BTC, ETH...) needs more decimals.
CENTS = {"USDT", "USDC", "USD", "EUR", "GBP", "BUSD", "FDUSD", "TUSD", "DAI", "USDE", "JPY",
         "TRY", "BRL", "AUD", "CAD", "CHF"}  # fmt: skip


def money_decimals(unit: str, price_decimals: int | None = None) -> int:
    """2 for USDT and other cent-counted currencies; else the market's price decimals (money in
    BTC is shown as finely as BTC prices), 8 when unknown."""
    if unit.upper() in CENTS:
        return 2
    return max(2, MAX_DECIMALS if price_decimals is None else price_decimals)


def money_text(
    value: float | None, unit: str = "USDT", *, signed: bool = False, decimals: int | None = None
) -> str:
    """'1,234.56 USDT'; `signed` (PnL): '+1,234.56 USDT' / '-3.20 USDT' / '0.00 USDT'.
    `decimals`: `money_decimals(unit)` unless given."""
    places = money_decimals(unit) if decimals is None else decimals
    text = fixed(value, places, signed=signed)
    return text if text == DASH else f"{text} {unit}".rstrip()


def pct_text(value: float | None, *, signed: bool = True, decimals: int = 2) -> str:
    """'+1.23 %' (signed) or '1.23 %'; '—' for None."""
    text = fixed(value, decimals, signed=signed)
    return text if text == DASH else f"{text} %"


def tone(value: float | None) -> str:
    """'green' for a gain, 'red' for a loss, '' for zero or unknown (PnL colours)."""
    if _missing(value) or value == 0:
        return ""
    return "green" if value > 0 else "red"


def quote_of(symbol: str | None, default: str = "USDT") -> str:
    """The quote currency of a market symbol ('ETH/BTC' -> 'BTC')."""
    if symbol and "/" in symbol:
        quote = symbol.split("/", 1)[1].split(":", 1)[0].split()
        return quote[0] if quote else default
    return default


def to_datetime(ms_or_dt: int | float | datetime) -> datetime:
    """An aware datetime from epoch ms or a datetime (naive ones are UTC, as stored)."""
    if isinstance(ms_or_dt, datetime):
        return ms_or_dt if ms_or_dt.tzinfo else ms_or_dt.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(ms_or_dt) / 1000, UTC)


def time_text(ms_or_dt: int | float | datetime | None, zone: tzinfo = UTC) -> str:
    """The one time format of the screens, in `zone`: '2026-12-05 14:03'."""
    if ms_or_dt is None:
        return DASH
    return to_datetime(ms_or_dt).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def zone_name(zone: tzinfo) -> str:
    """'Europe/Berlin', 'UTC'..., for a column header or a chart's hover."""
    return getattr(zone, "key", None) or ("UTC" if zone is UTC else str(zone))


def iso_utc(ms_or_dt: int | float | datetime | None) -> str:
    """ISO-8601 UTC for exports: '2026-12-05T14:03:00Z' ('' for None)."""
    if ms_or_dt is None:
        return ""
    moment = to_datetime(ms_or_dt).astimezone(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def round_sig(value: float | None, digits: int = CSV_DIGITS) -> float | None:
    """`value` to `digits` significant digits (0.19989147840000002 -> 0.1998914784)."""
    if value is None or not math.isfinite(value) or value == 0:
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def csv_number(value: float | None, decimals: int | None = None) -> float | int | str:
    """A number for a CSV cell: at `decimals` places when the step is known, else 10
    significant digits; '' for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, int):
        return value
    rounded = round(value, decimals) if decimals is not None else round_sig(float(value))
    return 0.0 if rounded == 0 else rounded
