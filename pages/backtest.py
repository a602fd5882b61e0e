"""Backtest: a strategy over history with the bots' rules, and parameter sweeps.

Results are kept in session_state, so reruns (widgets, tabs, row clicks) never recompute.
"""

import streamlit as st

from core import backtest
from core.backtest import run_sweep, settings_for_row, sweep_grid, sweep_limit
from core.errors import AppError
from core.strategy import get_strategy
from ui import boot
from ui.backtest_form import settings_inputs, sweep_inputs
from ui.backtest_view import show_run, show_sweep
from ui.boundary import show_error
from ui.session import current_user

rt = boot.runtime()
user = current_user(rt)
st.title("Backtest")
st.caption(
    "The same strategies and rules as the bots: decided on a closed candle, filled at the next "
    "open plus slippage, fee on each side; a position open at the end closes at the last close."
)
raw, csv = settings_inputs("bt_")
tab_run, tab_sweep = st.tabs(["Backtest", "Parameter sweep"])


def load(settings: backtest.BacktestSettings) -> backtest.LoadedCandles:
    bar = st.progress(0.0, text="Loading candles…")

    def progress(done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar.progress(share, text=f"Downloading candles: {done:,} of {total:,}")

    loaded = backtest.load_candles(rt, settings, csv=csv, progress=progress, owner=user)
    bar.empty()
    if loaded.downloaded:
        st.toast(f"{loaded.downloaded:,} new candles downloaded into the cache.")
    return loaded


with tab_run:
    if st.button("Run backtest", type="primary", key="bt_run"):
        try:
            settings = backtest.check_settings(raw)
            loaded = load(settings)
            with st.spinner("Running the backtest…"):
                st.session_state["bt_last"] = (raw, backtest.run(settings, loaded))
        except AppError as exc:
            show_error(exc)
    last = st.session_state.get("bt_last")
    if last is None:
        st.info("Pick a strategy, a market and a date range, then press **Run backtest**.")
    else:
        if last[0] != raw:
            st.caption(":orange[The settings above changed since this run: run it again.]")
        show_run(last[1], key="bt_res_")

with tab_sweep:
    axes = sweep_inputs(get_strategy(raw.strategy), "sw_")
    if st.button("Run sweep", type="primary", key="sw_run", disabled=not axes):
        try:
            settings = backtest.check_settings(raw)
            limit = sweep_limit(user)  # fewer backtests per sweep for a guest of the demo
            sweep_grid(settings.strategy, axes, max_runs=limit)  # refused before any download
            loaded = load(settings)
            bar = st.progress(0.0, text="Sweeping…")
            result = run_sweep(
                settings,
                loaded,
                axes,
                progress=lambda d, t: bar.progress(d / t, text=f"Backtest {d} of {t}"),
                max_runs=limit,
            )
            bar.empty()
            count = st.session_state.get("sw_count", 0) + 1
            st.session_state["sw_count"] = count
            st.session_state["bt_sweep"] = {
                "id": count,
                "settings": settings,
                "loaded": loaded,
                "result": result,
                "runs": {},
            }
        except AppError as exc:
            show_error(exc)
    sweep = st.session_state.get("bt_sweep")
    if sweep is None:
        st.info("Pick one or two parameters and their ranges, then press **Run sweep**.")
    else:
        row = show_sweep(sweep["result"], key=f"sw_{sweep['id']}_")
        if row is not None:
            try:
                if row not in sweep["runs"]:
                    picked = settings_for_row(sweep["settings"], sweep["result"], row)
                    sweep["runs"][row] = backtest.run(picked, sweep["loaded"])
                chosen = sweep["runs"][row]
                st.subheader(
                    "Backtest of "
                    + ", ".join(f"{k} = {v}" for k, v in chosen.settings.params.items())
                )
                show_run(chosen, key=f"sw_res_{row}_")
            except AppError as exc:
                show_error(exc)
