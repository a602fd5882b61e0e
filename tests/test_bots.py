"""Bot creation refuses bad input with nothing saved; lifecycle transitions; isolation."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from core import bots
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Bot
from core.trading import tick as engine
from tests.factories import make_paper_account, make_user


@pytest.fixture
def world(rt):
    with rt.session() as s:
        alice = make_user(s, username="alice", role="admin")
        bob = make_user(s, username="bob")
        acc = make_paper_account(s, owner=alice)
        bob_acc = make_paper_account(s, owner=bob)
    return {"alice": alice, "bob": bob, "acc": acc, "bob_acc": bob_acc}


def spec(world, **kw) -> bots.BotSpec:
    base = {
        "name": "b",
        "account_id": world["acc"].id,
        "symbol": "BTC/USDT",
        "timeframe": "1m",
        "strategy": "sma_cross",
        "params": {},
        "order_size": 100.0,
    }
    base.update(kw)
    return bots.BotSpec(**base)


def create(rt, world, owner="alice", **kw):
    with rt.session() as s:
        return bots.create_bot(
            s, owner=world[owner], spec=spec(world, **kw), markets=engine.market_lookup(rt)
        )


def count(rt) -> int:
    with rt.read() as s:
        return s.exec(select(func.count()).select_from(Bot)).one()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"strategy": "moonshot"}, "Unknown strategy"),
        ({"params": {"fast": 50, "slow": 10}}, "smaller"),
        ({"params": {"fast": "x"}}, "number"),
        ({"symbol": "PEPE/USDT"}, "not traded"),
        ({"timeframe": "2w"}, "timeframe"),
        ({"order_size": 1.0}, "under the market minimum"),
        ({"order_size": -5}, "positive"),
        ({"order_size_type": "pct", "order_size": 150}, "at most 100"),
        ({"stop_loss_pct": 0}, "Stop-loss"),
        ({"take_profit_pct": float("nan")}, "Take-profit"),
        ({"name": ""}, "Bot name"),
        ({"name": "x" * 10_000}, "too long"),
        ({"name": "a\x00b"}, "control"),
        ({"max_open_positions": 0}, "Max open positions"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(rt, world, kw, message):
    with pytest.raises(InvalidInput, match=message):
        create(rt, world, **kw)
    assert count(rt) == 0


def test_another_users_account_is_not_found(rt, world):
    with pytest.raises(NotFound):
        create(rt, world, account_id=world["bob_acc"].id)
    assert count(rt) == 0


def test_lifecycle_transitions(rt, world):
    bot = create(rt, world)
    owner = world["alice"]

    def act(action):
        with rt.session() as s:
            return bots.change_status(s, owner=owner, bot_id=bot.id, action=action).status

    assert act("start") == "running"
    assert act("pause") == "paused"
    with pytest.raises(Conflict):
        act("pause")
    assert act("resume") == "running"
    with pytest.raises(Conflict, match="Stop the bot"), rt.session() as s:
        bots.update_bot(
            s,
            owner=owner,
            bot_id=bot.id,
            spec=spec(world, name="c"),
            markets=engine.market_lookup(rt),
        )
    assert act("stop") == "stopped"
    assert act("archive") == "archived"
    with rt.read() as s:
        kinds = [e.message for e in bots.events(s, owner=owner, bot_id=bot.id)]
    assert any("paused by user" in k for k in kinds)


def test_other_users_cannot_see_or_control_a_bot(rt, world):
    bot = create(rt, world)
    with pytest.raises(NotFound), rt.session() as s:
        bots.change_status(s, owner=world["bob"], bot_id=bot.id, action="start")
    with pytest.raises(NotFound), rt.read() as s:
        bots.get_bot(s, owner=world["bob"], bot_id=bot.id)
    with rt.read() as s:
        assert bots.list_bots(s, owner=world["bob"]) == []


def test_duplicate_names_are_refused(rt, world):
    create(rt, world)
    with pytest.raises(Conflict):
        create(rt, world)


def test_exit_now_keeps_a_fill_committed_meanwhile_on_postgresql(pg_rt):
    """ "Exit now" rewrites the bot's state: it must read it under the row lock, or a fill
    committed while it ran disappears from the state (PostgreSQL; SQLite writers queue)."""
    import threading

    from core.strategy import BotState, Lot
    from tests.factories import make_bot

    rt = pg_rt
    with rt.session() as s:
        owner = make_user(s, username="alice")
        account = make_paper_account(s, owner=owner)
        bot = make_bot(s, owner=owner, account_id=account.id)
    filled, proceed = threading.Event(), threading.Event()

    def fill_in_flight():
        with rt.session() as s:  # as core.trading.fills does: lock, add a lot, commit later
            row = s.exec(select(Bot).where(Bot.id == bot.id).with_for_update()).one()
            state = BotState.loads(row.state)
            state.lots.append(
                Lot(amount=1.0, entry_price=100.0, entry_ts=0, entry_fee=0.1, peak=100.0)
            )
            row.state = state.dumps()
            s.add(row)
            filled.set()
            proceed.wait(10)

    worker = threading.Thread(target=fill_in_flight)
    worker.start()
    assert filled.wait(10)
    timer = threading.Timer(0.5, proceed.set)  # the fill commits while exit-now waits
    timer.start()
    with rt.session() as s:
        bots.request_exit_now(s, owner=owner, bot_id=bot.id)
    worker.join(10)
    with rt.read() as s:
        state = BotState.loads(s.get(Bot, bot.id).state)
    assert state.exit_requested and len(state.lots) == 1
