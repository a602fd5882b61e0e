"""The demo trader's bot comes with a few hours of history, traded by the real engine."""

from __future__ import annotations

from sqlmodel import select

from core import demo, users
from core.models import Bot, BotStatus, Trade
from core.platform.runtime import start
from tests.conftest import make_settings


def test_the_demo_bot_has_closed_trades_at_once(data_dir):
    rt = start("test", settings=make_settings(data_dir, demo=True))
    assert demo.ensure_demo(rt) is True
    assert demo.ensure_demo(rt) is False  # once
    with rt.read() as session:
        user = users.get_by_username(session, username=demo.DEMO_USERNAME)
        bot = session.exec(select(Bot).where(Bot.owner_id == user.id)).one()
        trades = session.exec(select(Trade).where(Trade.bot_id == bot.id)).all()
    assert bot.status == BotStatus.RUNNING  # and the worker goes on from here
    assert bot.last_candle_ts is not None
    closed = [t for t in trades if t.status == "closed"]
    assert len(closed) >= 3, trades
    span_ms = max(t.exit_ts for t in closed) - min(t.entry_ts for t in trades)  # epoch ms
    assert span_ms > 3_600_000  # spread over the past hours, not all in the last minute
    rt.engine.dispose()
