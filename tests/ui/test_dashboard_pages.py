"""Overview and Trades pages: empty states, totals, owner isolation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.models import Bot, ExchangeAccount, Trade, WorkerHeartbeat
from tests.factories import make_user
from tests.ui.helpers import app_runtime, messages, page


@pytest.fixture
def world():
    rt = app_runtime()
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    with rt.session() as s:
        alice = make_user(s, username="alice", role="admin")
        bob = make_user(s, username="bob")
        carol = make_user(s, username="carol")
        acc = ExchangeAccount(owner_id=bob.id, label="paper", exchange_id="sim", kind="paper")
        s.add(acc)
        s.flush()
        bot = Bot(
            owner_id=bob.id,
            account_id=acc.id,
            name="bobs-secret-bot",
            symbol="BTC/USDT",
            timeframe="1m",
            strategy="sma_cross",
            status="running",
        )
        s.add(bot)
        s.flush()
        s.add(
            Trade(
                bot_id=bot.id,
                symbol="BTC/USDT",
                status="closed",
                amount=1,
                entry_ts=now_ms,
                entry_price=100,
                exit_ts=now_ms,
                exit_price=110,
                pnl=9.8,
                exit_reason="signal",
            )
        )
    return {"alice": alice, "bob": bob, "carol": carol, "rt": rt}


def test_overview_empty_state_says_what_to_do_next(world):
    at = page("overview.py", world["carol"].id)
    assert not at.exception and not messages(at)["error"]
    assert any(h.value == "Welcome, Carol" for h in at.subheader), [h.value for h in at.subheader]
    labels = {b.label for b in at.button}
    assert {"Open a paper account", "Create a bot", "Try a backtest"} <= labels
    assert not at.metric  # a welcome, not six zero tiles
    assert any("No worker has reported" in w.value for w in at.warning)


def test_overview_shows_bot_cards_and_pnl(world):
    with world["rt"].session() as s:
        s.add(WorkerHeartbeat(worker_id="h:1:1", host="h", pid=1, version="0.1.0"))
    at = page("overview.py", world["bob"].id)
    assert not at.exception
    assert not at.warning
    assert any("bobs-secret-bot" in m.value for m in at.markdown)
    assert any(m.label == "PnL all time" and "+9.80" in m.value for m in at.metric)


def test_trades_page_lists_filters_and_exports(world):
    at = page("trades.py", world["bob"].id)
    assert not at.exception
    assert any(m.label == "Trades" and m.value == "1" for m in at.metric)
    assert at.get("download_button")


def test_trades_page_empty_state_and_isolation(world):
    at = page("trades.py", world["carol"].id)
    assert not at.exception
    assert any("No trades yet" in i.value for i in at.info)
    assert not any("bobs-secret-bot" in str(e.value) for e in at.markdown)
