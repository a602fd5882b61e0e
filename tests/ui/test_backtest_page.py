"""Backtest page: renders, runs a sim backtest, refuses bad input clearly, sweeps, keeps results
across reruns, and carries its settings into the Bots page's create form."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import streamlit as st

import core.backtest
from core import bots, candles
from core.backtest import service as backtest_service
from tests.factories import make_paper_account, make_user
from tests.ui.helpers import app_runtime, messages, page, signed_in_as

TILES = [
    "Total return",
    "CAGR",
    "Max drawdown",
    "Sharpe",
    "Sortino",
    "Win rate",
    "Profit factor",
    "Exposure",
    "Trades",
    "Buy and hold",
]


@pytest.fixture
def world():
    rt = app_runtime()
    with rt.session() as s:
        carol = make_user(s, username="carol", role="admin")
        acc = make_paper_account(s, owner=carol)
    return {"rt": rt, "carol": carol, "acc": acc}


def run_backtest(at):
    return at.button(key="bt_run").click().run()


def test_page_renders_empty_states_for_a_trader(world):
    at = page("backtest.py", world["carol"].id)
    assert not at.exception and not messages(at)["error"]
    assert at.title[0].value == "Backtest"
    infos = [i.value for i in at.info]
    assert any("press **Run backtest**" in i for i in infos)
    assert any("press **Run sweep**" in i for i in infos)
    assert at.number_input(key="bt_fast").value == 10  # the bot form's schema widgets


def test_sim_backtest_shows_metrics_charts_trades_and_export(world):
    at = run_backtest(page("backtest.py", world["carol"].id))
    assert not at.exception and not messages(at)["error"]
    tiles = {m.label: m.value for m in at.metric}
    assert list(tiles) == TILES
    assert tiles["Total return"].endswith("%") and int(tiles["Trades"]) > 0
    last = at.session_state["bt_last"][1]
    assert int(tiles["Trades"]) == len(last.result.trades)
    (trades,) = at.dataframe  # the sweep tab is still empty
    assert len(trades.value) == len(last.result.trades)
    assert list(trades.value.columns[:4]) == [
        "Entry time (UTC)",
        "Entry price",
        "Amount",
        "Exit time (UTC)",
    ]
    assert len(at.get("plotly_chart")) == 2  # candles with markers, equity vs buy and hold
    assert [b.proto.label for b in at.get("download_button")] == ["Download trades (CSV)"]


def test_results_survive_reruns_without_recomputing(world, monkeypatch):
    calls = []
    real = backtest_service.run
    monkeypatch.setattr(core.backtest, "run", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = run_backtest(page("backtest.py", world["carol"].id))
    assert len(calls) == 1
    at.number_input(key="bt_cash").set_value(5_000.0).run()
    at.run()
    assert len(calls) == 1 and len(at.metric) == len(TILES)
    assert any("changed since this run" in c.value for c in at.caption)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda at, today: at.date_input(key="bt_from").set_value(today), "after the end date"),
        (lambda at, today: at.number_input(key="bt_cash").set_value(0.0), "starting cash"),
        (
            lambda at, today: [
                at.date_input(key="bt_from").set_value(today - timedelta(days=400)),
                at.selectbox(key="bt_tf").set_value("1m"),
            ],
            "at most 200,000",
        ),
    ],
    ids=["from-after-to", "no-cash", "range-too-large"],
)
def test_bad_input_shows_an_error_and_nothing_crashes(world, change, message):
    at = page("backtest.py", world["carol"].id)
    today = datetime.now(UTC).date()
    at.date_input(key="bt_to").set_value(today - timedelta(days=1))
    change(at, today)
    at = run_backtest(at.run())
    assert not at.exception
    assert any(message in e for e in messages(at)["error"]), messages(at)["error"]
    assert not at.metric and "bt_last" not in at.session_state


CSV = "Date,Open,High,Low,Close\n" + "".join(
    f"2026-03-{d:02d},{100 + d % 7},115,98,{101 + (d * 3) % 11}\n" for d in range(1, 31)
)


def test_csv_upload_runs_and_a_bad_csv_is_named(world):
    at = page("backtest.py", world["carol"].id)
    at.radio(key="bt_source").set_value("csv").run()
    at.number_input(key="bt_fast").set_value(2)
    at.number_input(key="bt_slow").set_value(5)
    at.file_uploader(key="bt_csv").set_value(("bad.csv", b"date,open\n2026-01-01,1\n", "text/csv"))
    at = run_backtest(at.run())
    assert any("missing column(s): high, low, close" in e for e in messages(at)["error"])
    at.file_uploader(key="bt_csv").set_value(("good.csv", CSV.encode(), "text/csv"))
    at = run_backtest(at.run())
    assert not at.exception and not messages(at)["error"]
    assert len(at.metric) == len(TILES)
    assert at.session_state["bt_last"][1].candles.shape[0] == 30


def test_sweep_produces_a_sorted_table_heatmap_and_row_backtest(world):
    at = page("backtest.py", world["carol"].id)
    picker = at.selectbox(key="sw_a_name")
    assert picker.options == ["Fast average", "Slow average"] and picker.value == "fast"
    at.number_input(key="sw_a_start:fast").set_value(4)
    at.number_input(key="sw_a_stop:fast").set_value(12)
    at.number_input(key="sw_a_step:fast").set_value(4)
    at.number_input(key="sw_b_start:slow").set_value(8)
    at.number_input(key="sw_b_stop:slow").set_value(24)
    at.number_input(key="sw_b_step:slow").set_value(8)
    at = at.button(key="sw_run").click().run()
    assert not at.exception and not messages(at)["error"]
    sweep = at.session_state["bt_sweep"]
    # fast 4, 8, 12 x slow 8, 16, 24: (8, 8) and (12, 8) are refused (fast must be < slow).
    assert len(sweep["result"].table) == 7 and len(sweep["result"].skipped) == 2
    table = next(d for d in at.dataframe if d.key == "sw_1_table").value
    assert len(table) == 7 and list(table.columns[:2]) == ["fast", "slow"]
    returns = table["total_return_pct"].tolist()
    assert returns == sorted(returns, reverse=True)
    assert any("7 backtest(s) run; 2 combination(s) skipped" in c.value for c in at.caption)
    assert any(c.key == "sw_1_heatmap" for c in at.get("plotly_chart"))
    at.session_state["sw_1_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at = at.run()
    assert not at.exception and not messages(at)["error"]
    best = table.iloc[0]
    heading = f"Backtest of fast = {int(best['fast'])}, slow = {int(best['slow'])}"
    assert any(h.value == heading for h in at.subheader)
    assert sweep["runs"][0].result.metrics["total_return_pct"] == pytest.approx(returns[0])


def test_create_a_bot_with_these_settings_prefills_the_bots_form(world, monkeypatch):
    targets = []

    def switch_page(target):
        targets.append(target)
        st.stop()

    monkeypatch.setattr(st, "switch_page", switch_page)
    at = page("backtest.py", world["carol"].id)
    at.number_input(key="bt_fast").set_value(6)
    at.number_input(key="bt_slow").set_value(18)
    at.number_input(key="bt_sl").set_value(3.0)
    at = run_backtest(at)
    at = at.button(key="bt_res_make_bot").click().run()
    assert targets == ["pages/bots.py"] and not messages(at)["error"]
    prefill = at.session_state["bot_prefill"]
    assert prefill["params"] == {"fast": 6, "slow": 18} and prefill["stop_loss_pct"] == 3.0

    bots_page = page("bots.py", None)
    signed_in_as(bots_page, world["carol"].id)
    bots_page.session_state["bot_prefill"] = prefill
    bots_page = bots_page.run()
    assert any("starts from your backtest" in i.value for i in bots_page.info)
    assert bots_page.number_input(key="new_fast").value == 6
    assert bots_page.number_input(key="new_sl").value == 3.0
    assert bots_page.text_input(key="new_name").value == "SMA crossover BTC/USDT 1h"
    assert bots_page.radio(key="new_stype").value == "pct"
    next(b for b in bots_page.button if b.label == "Create bot").click().run()
    assert not messages(bots_page)["error"], messages(bots_page)
    with world["rt"].read() as s:
        (bot,) = bots.list_bots(s, owner=world["carol"])
    assert (bot.strategy, bot.symbol, bot.timeframe) == ("sma_cross", "BTC/USDT", "1h")
    assert json.loads(bot.params) == {"fast": 6, "slow": 18} and bot.stop_loss_pct == 3.0
    assert (bot.order_size_type, bot.order_size) == ("pct", 100.0)
    assert "bot_prefill" not in bots_page.session_state


def test_cached_history_source_downloads_into_the_cache_then_reuses_it(world):
    at = page("backtest.py", world["carol"].id)
    at.radio(key="bt_source").set_value("cache").run()
    at.selectbox(key="bt_exchange").set_value("sim").run()
    today = datetime.now(UTC).date()
    at.date_input(key="bt_from").set_value(today - timedelta(days=10))
    at.date_input(key="bt_to").set_value(today - timedelta(days=1))
    at = run_backtest(at.run())
    assert not at.exception and not messages(at)["error"]
    assert len(at.metric) == len(TILES)
    first = at.session_state["bt_last"][1]
    assert len(first.candles) == 10 * 24
    assert [t.value for t in at.toast] == ["240 new candles downloaded into the cache."]
    with world["rt"].read() as s:
        cached = candles.read_cached(
            s, exchange="sim", symbol="BTC/USDT", timeframe="1h", start=0, end=2**62
        )
    assert len(cached) == 10 * 24
    at = run_backtest(at)  # everything is cached now: same candles, nothing downloaded
    assert at.session_state["bt_last"][1].candles.equals(first.candles)
    assert not at.toast
