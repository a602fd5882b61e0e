"""Bots, Bot detail and All bots pages: render, create from the schema, act, isolation."""

from __future__ import annotations

import pytest

from core import bots
from core.trading import tick as engine
from tests.factories import two_users_and_a_bot
from tests.ui.helpers import app_runtime, messages, page


@pytest.fixture
def world():
    return two_users_and_a_bot(app_runtime())


def test_bots_page_lists_and_starts_a_bot(world):
    at = page("bots.py", world["bob"].id)
    assert not at.exception and not messages(at)["error"]
    assert any("bobs-bot" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "▶ Start").click().run()
    with world["rt"].read() as s:
        assert bots.get_bot(s, owner=world["bob"], bot_id=world["bot"].id).status == "running"


def test_bots_page_creates_a_bot_from_the_strategy_schema(world):
    at = page("bots.py", world["bob"].id)
    at.text_input(key="new_name").input("second")
    at.number_input(key="new_fast").set_value(5)
    next(b for b in at.button if b.label == "Create bot").click().run()
    assert any("second" in t.value for t in at.toast), messages(at)
    with world["rt"].read() as s:
        names = {b.name for b in bots.list_bots(s, owner=world["bob"])}
    assert names == {"bobs-bot", "second"}


def test_bots_page_refuses_bad_parameters_clearly(world):
    at = page("bots.py", world["bob"].id)
    at.text_input(key="new_name").input("bad")
    at.number_input(key="new_fast").set_value(50)  # fast must be < slow (30)
    next(b for b in at.button if b.label == "Create bot").click().run()
    assert any("fast average must be shorter" in e for e in messages(at)["error"])
    with world["rt"].read() as s:
        assert len(bots.list_bots(s, owner=world["bob"])) == 1


def test_empty_states_for_a_new_trader(world):
    at = page("bots.py", world["alice"].id)
    assert not at.exception
    assert any("Add an exchange account first" in i.value for i in at.info)
    at = page("bot_detail.py", world["alice"].id)
    assert any("No bots yet" in i.value for i in at.info)


def test_bot_detail_renders_chart_trades_and_events(world):
    import time

    rt, bob, bot = world["rt"], world["bob"], world["bot"]
    with rt.session() as s:
        bots.change_status(s, owner=bob, bot_id=bot.id, action="start")
    now = int(time.time() * 1000) // 60_000 * 60_000
    for i in range(150, 1, -1):  # the last 150 minutes, as the worker would have run them
        ts = now - i * 60_000
        engine.run_bot_tick(rt, bot_id=bot.id, candle_ts=ts, clock=lambda t=ts: t + 61_000)
    at = page("bot_detail.py", bob.id)
    assert not at.exception and not messages(at)["error"]
    trades = next(m for m in at.metric if m.label == "Trades")
    assert int(trades.value) > 0
    chart = at.get("plotly_chart")[0]
    assert '"entries"' in chart.proto.spec


def test_a_trader_never_sees_another_users_bots(world):
    at = page("bots.py", world["alice"].id)
    assert not any("bobs-bot" in m.value for m in at.markdown)


def test_all_bots_page_is_for_admins(world):
    at = page("admin_bots.py", world["bob"].id)
    assert "This page is for administrators." in messages(at)["error"]
    at = page("admin_bots.py", world["alice"].id)
    assert not at.exception
    assert at.dataframe


def test_bot_detail_warns_about_an_order_sent_without_an_answer(world):
    from core.trading import orders

    rt, bob, bot = world["rt"], world["bob"], world["bot"]
    with rt.session() as s:
        order = orders.prepare(
            s,
            bot_id=bot.id,
            account_id=bot.account_id,
            candle_ts=1_767_225_600_000,
            seq=0,
            symbol=bot.symbol,
            side="buy",
            amount=0.01,
            purpose="entry",
        )
        order.status = "unknown"
    at = page("bot_detail.py", bob.id)
    assert not at.exception
    (warning,) = [w.value for w in at.warning]
    assert order.client_order_id in warning and "places no other order" in warning
