"""Overview equity, Trades (fills, side filter, pages), System (queue, workers, audit filters)
and the admin pages: rendered as a trader and as an admin; nobody sees another user's data."""

from __future__ import annotations

import time

import pytest

from core.models import Bot, BotOrder, ExchangeAccount, PaperBalance, Trade, WorkerHeartbeat
from core.platform import audit
from tests.factories import make_user
from tests.ui.helpers import app_runtime, messages, page

HOUR = 3_600_000


@pytest.fixture
def world():
    """alice (admin, no bots); bob (trader): a paper account, a bot, 230 trades, 3 fills;
    carol (trader): her own bot and nothing else."""
    rt = app_runtime()
    now = int(time.time() * 1000)
    with rt.session() as s:
        alice = make_user(s, username="alice", role="admin")
        bob = make_user(s, username="bob")
        carol = make_user(s, username="carol")
        acc = ExchangeAccount(owner_id=bob.id, label="paper", exchange_id="sim", kind="paper")
        acc_c = ExchangeAccount(owner_id=carol.id, label="c", exchange_id="sim", kind="paper")
        s.add_all([acc, acc_c])
        s.flush()
        s.add(PaperBalance(account_id=acc.id, asset="USDT", free=1234.5))
        bot = Bot(owner_id=bob.id, account_id=acc.id, name="bobs-secret-bot", symbol="ETH/USDT",
                  timeframe="1m", strategy="sma_cross", status="running")  # fmt: skip
        carols = Bot(owner_id=carol.id, account_id=acc_c.id, name="carols-bot",
                     symbol="BTC/USDT", timeframe="1m", strategy="rsi")  # fmt: skip
        s.add_all([bot, carols])
        s.flush()
        for i in range(230):
            exit_ts = now - i * HOUR
            s.add(Trade(bot_id=bot.id, symbol="ETH/USDT", status="closed", amount=1.0,
                        entry_ts=exit_ts - 60_000, entry_price=100.0, exit_ts=exit_ts,
                        exit_price=101.0, pnl=1.0, exit_reason="signal"))  # fmt: skip
        for i, side in enumerate(["buy", "sell", "buy"]):
            s.add(BotOrder(bot_id=bot.id, account_id=acc.id, client_order_id=f"o{i}",
                           candle_ts=now - i * HOUR, symbol="ETH/USDT", side=side, amount=1.0,
                           status="closed", filled=1.0, average=100.0, cost=100.0,
                           fee=0.1))  # fmt: skip
        s.add(WorkerHeartbeat(worker_id="h:1:1", host="h", pid=1, version="t", queue_depth=7))
        audit.record(s, actor=alice, action="user.role", target="user bob")
        audit.record(s, actor=bob, action="bot.create", target="bot 1")
    return {"rt": rt, "alice": alice, "bob": bob, "carol": carol}


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_overview_shows_total_paper_equity(world):
    at = page("overview.py", world["bob"].id)
    assert not at.exception and not messages(at)["error"]
    assert _metric(at, "Total equity") == "1,234.50 USDT"
    assert _metric(at, "PnL all time") == "+230.00 USDT"


def test_trades_page_pages_rows_and_totals_the_whole_filter(world):
    at = page("trades.py", world["bob"].id)
    assert not at.exception
    assert _metric(at, "Trades") == "230"  # all within the default 30 days
    pager = next(n for n in at.number_input if n.label.startswith("Page"))
    assert pager.label == "Page (of 3)"
    assert len(at.dataframe[0].value) == 100
    pager.set_value(3).run()
    assert len(at.dataframe[0].value) == 30
    assert _metric(at, "Trades") == "230"
    assert at.get("download_button")


def test_trades_page_fills_view_filters_by_side(world):
    at = page("trades.py", world["bob"].id)
    at.radio[0].set_value("Fills").run()
    assert _metric(at, "Fills") == "3"
    next(s for s in at.selectbox if s.label == "Side").set_value("sell").run()
    assert not at.exception
    assert _metric(at, "Fills") == "1"
    assert list(at.dataframe[0].value["Side"]) == ["sell"]


def test_a_trader_never_sees_another_users_trades_or_bots(world):
    for name in ("trades.py", "bot_detail.py", "overview.py"):
        at = page(name, world["carol"].id)
        assert not at.exception
        options = [o for s in at.selectbox for o in s.options]
        assert not any("bobs-secret-bot" in str(o) for o in options), name
        assert not any("bobs-secret-bot" in m.value for m in at.markdown), name
    at = page("trades.py", world["carol"].id)
    assert _metric(at, "Trades") == "0"
    at.radio[0].set_value("Fills").run()
    assert _metric(at, "Fills") == "0"


def test_system_page_shows_queue_workers_and_filters_the_audit_log(world):
    at = page("system.py", world["alice"].id)
    assert not at.exception and not messages(at)["error"]
    assert _metric(at, "Queue") == "SQLite"
    assert _metric(at, "Queue depth") == "7"
    assert _metric(at, "Live workers") == "1"
    assert "h:1:1" in list(at.dataframe[0].value["Worker"])
    audit_log = at.dataframe[1].value
    assert {"user.role", "bot.create"} <= set(audit_log["Action"])
    next(s for s in at.selectbox if s.label == "Who").set_value("bob").run()
    assert set(at.dataframe[1].value["Action"]) == {"bot.create"}


@pytest.mark.parametrize("name", ["system.py", "admin_users.py", "admin_bots.py"])
def test_admin_pages_refuse_traders_and_render_for_admins(world, name):
    at = page(name, world["bob"].id)
    assert "This page is for administrators." in messages(at)["error"]
    at = page(name, world["alice"].id)
    assert not at.exception and not messages(at)["error"]


def test_all_bots_page_lists_every_owner_for_the_admin(world):
    at = page("admin_bots.py", world["alice"].id)
    table = at.dataframe[0].value
    assert set(table["Owner"]) == {"bob", "carol"}
    assert "Reason" in table.columns and "Realised PnL" in table.columns
