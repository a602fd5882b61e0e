"""The Backtest page's inputs: the same strategy widgets as the bot form, plus market, date
range, costs, sizing and risk; and the sweep's parameter ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from core.backtest import (
    MAX_FEE_PCT,
    MAX_RUNS,
    MAX_SLIPPAGE_BPS,
    BacktestSettings,
    SweepAxis,
    sim_symbols,
)
from core.candles import MAX_CSV_MB, MAX_CSV_ROWS
from core.exchanges import TIMEFRAMES, exchange_name, feed_choices
from ui.bot_form import param_inputs, risk_inputs, strategy_picker

SOURCE_LABELS = {
    "sim": "Simulated market (offline)",
    "cache": "Exchange history (cached, downloads what is missing)",
    "csv": "CSV upload",
}
NONE = "— none —"


@st.cache_data(show_spinner=False)
def _feed_ids() -> list[str]:
    return feed_choices()  # the simulated market, then live-capable exchanges, then the rest


def _market_inputs(source: str, key: str) -> dict:
    cols = st.columns(5)
    if source == "cache":
        ids = _feed_ids()
        exchange = cols[0].selectbox(
            "Exchange",
            ids,
            index=ids.index("binance") if "binance" in ids else 0,
            key=f"{key}exchange",
            format_func=exchange_name,
            help="An exchange's public candles are downloaded (no key needed) and cached.",
        )
    else:
        exchange = "sim"
        cols[0].text_input("Exchange", "sim", disabled=True, key=f"{key}exchange_sim")
    if exchange == "sim":
        symbol = cols[1].selectbox("Market", sim_symbols(), key=f"{key}symbol_sim")
    else:
        symbol = cols[1].text_input("Market", "BTC/USDT", max_chars=40, key=f"{key}symbol")
    timeframes = list(TIMEFRAMES)
    timeframe = cols[2].selectbox(
        "Timeframe", timeframes, index=timeframes.index("1h"), key=f"{key}tf"
    )
    today = datetime.now(UTC).date()
    start = cols[3].date_input("From", today - timedelta(days=60), key=f"{key}from")
    end = cols[4].date_input("To", today, key=f"{key}to")
    return {
        "exchange": exchange,
        "symbol": symbol,
        "timeframe": timeframe,
        "start": start,
        "end": end,
    }


def _csv_inputs(key: str) -> tuple[dict, bytes | None]:
    cols = st.columns([3, 1, 1, 1])
    upload = cols[0].file_uploader(
        "Candles CSV",
        type=["csv"],
        key=f"{key}csv",
        help="Columns date, open, high, low, close (volume optional); names in any case. The "
        "date column may also be named datetime, time, timestamp, open_time or ts, or be the "
        "unnamed first column (as pandas writes it); dates as text or epoch seconds / "
        "milliseconds. Binance's kline CSVs (no header) work as they are. At most "
        f"{MAX_CSV_ROWS:,} candles ({MAX_CSV_MB} MB).",
    )
    only = cols[1].checkbox("Only a date range", key=f"{key}csv_range")
    start = cols[2].date_input("From", None, key=f"{key}csv_from", disabled=not only)
    end = cols[3].date_input("To", None, key=f"{key}csv_to", disabled=not only)
    values = {"exchange": "csv", "symbol": "", "timeframe": "1h"}
    values.update({"start": start, "end": end} if only else {"start": None, "end": None})
    return values, (upload.getvalue() if upload is not None else None)


def settings_inputs(key: str) -> tuple[BacktestSettings, bytes | None]:
    """Render the inputs; the settings as entered (unchecked) and the uploaded CSV bytes."""
    top = st.columns([2, 3])
    with top[0]:
        strategy = strategy_picker(key)
    source = top[1].radio(
        "Candles from",
        list(SOURCE_LABELS),
        format_func=SOURCE_LABELS.get,
        key=f"{key}source",
    )
    csv = None
    if source == "csv":
        market, csv = _csv_inputs(key)
    else:
        market = _market_inputs(source, key)
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Strategy parameters**")
        params = param_inputs(strategy, key)
    with right:
        st.markdown("**Costs and order size**")
        cols = st.columns(3)
        fee = cols[0].number_input(
            "Fee per side (%)", 0.0, MAX_FEE_PCT, 0.1, step=0.01, format="%g", key=f"{key}fee"
        )
        slippage = cols[1].number_input(
            "Slippage (bps)", 0.0, MAX_SLIPPAGE_BPS, 0.0, step=1.0, format="%g", key=f"{key}slip"
        )
        cash = cols[2].number_input(
            "Starting cash", 0.0, 1e12, 10_000.0, step=1_000.0, format="%g", key=f"{key}cash"
        )
        cols = st.columns(2)
        size_type = cols[0].radio(
            "Order size in",
            ["pct", "quote"],
            horizontal=True,
            key=f"{key}stype",
            format_func=lambda t: "quote amount" if t == "quote" else "% of balance",
        )
        size = cols[1].number_input("Size", 0.0, 1e12, 100.0, format="%g", key=f"{key}size")
    with st.expander("Risk limits (as on a bot)"):
        risk = risk_inputs(key)
    settings = BacktestSettings(
        strategy=strategy.name,
        params=params,
        source=source,
        fee_pct=float(fee),
        slippage_bps=float(slippage),
        cash=float(cash),
        order_size_type=size_type,
        order_size=float(size),
        **risk,
        **market,
    )
    return settings, csv


def _defaults(spec) -> tuple[float, float, float]:
    """A range around the parameter's default, inside its bounds, in about 10 steps."""
    lo = spec.min if spec.min is not None else 0.0
    hi = spec.max if spec.max is not None else spec.default * 2
    start, stop = max(lo, spec.default / 2), min(hi, spec.default * 2) or 1.0
    step = float(f"{(stop - start) / 9:.2g}") or 1.0
    if spec.type is int:
        return round(start), round(stop), max(1, round(step))
    return start, stop, step


def _axis(strategy, names: list[str], column, key: str, *, second: bool) -> SweepAxis | None:
    options = [NONE, *names] if second else names
    titles = {p.name: p.label for p in strategy.params}
    name = column.selectbox(
        "Second parameter" if second else "Parameter",
        options,
        index=2 if second and len(names) > 1 else 0,
        key=f"{key}name",
        format_func=lambda n: titles.get(n, n),  # "Fast average", not "fast"
    )
    if name == NONE:
        return None
    spec = next(p for p in strategy.params if p.name == name)
    is_int = spec.type is int
    cols = column.columns(3)
    values = [
        cols[i].number_input(
            label,
            value=int(default) if is_int else float(default),
            step=1 if is_int else None,
            format=None if is_int else "%g",
            key=f"{key}{label.lower()}:{name}",
        )
        for i, (label, default) in enumerate(
            zip(("Start", "Stop", "Step"), _defaults(spec), strict=True)
        )
    ]
    return SweepAxis(name, *(float(v) for v in values))


def sweep_inputs(strategy, key: str) -> list[SweepAxis]:
    """One or two parameter ranges for a sweep of `strategy`."""
    names = [p.name for p in strategy.params if p.type is not bool]
    if not names:
        st.info(f"{strategy.title} has no numeric parameter to sweep.")
        return []
    st.caption(
        f"Every combination runs the backtest above with that parameter swapped in "
        f"(at most {MAX_RUNS} runs); combinations the strategy refuses are skipped."
    )
    cols = st.columns(2)
    axes = [_axis(strategy, names, cols[0], f"{key}a_", second=False)]
    if len(names) > 1:
        axes.append(_axis(strategy, names, cols[1], f"{key}b_", second=True))
    return [a for a in axes if a is not None]
