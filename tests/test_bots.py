"""Bot creation refuses bad input with nothing saved (every problem at once for a form);
lifecycle transitions; stop, exit and closing a position no bot runs; isolation."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func
from sqlmodel import select

from core import bots
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Bot, BotOrder, ExchangeAccount, Trade
from core.strategy import BotState, Lot
from core.trading import tick as engine
from core.trading.fills import on_filled
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
        ({"params": {"fast": 50, "slow": 10}}, "fast average must be shorter than the slow"),
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
        ({"order_size": 1e12}, "more than the paper account"),
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


def _state(rt, bot_id: int) -> BotState:
    with rt.read() as s:
        return BotState.loads(s.get(Bot, bot_id).state)


def _set_state(rt, bot_id: int, state: BotState) -> None:
    with rt.session() as s:
        row = s.get(Bot, bot_id)
        row.state = state.dumps()
        s.add(row)


def _act(rt, world, bot_id, action, **kw) -> str:
    with rt.session() as s:
        return bots.change_status(
            s, owner=world["alice"], bot_id=bot_id, action=action, **kw
        ).status


def test_resume_after_a_drawdown_pause_clears_it_and_measures_again(rt, world):
    bot = create(rt, world, max_drawdown_pct=10.0)
    _act(rt, world, bot.id, "start")
    with rt.session() as s:
        row = s.get(Bot, bot.id)
        state = BotState(capital=1000.0, realised=-150.0, peak_equity=1000.0, paused=True)
        row.state = state.dumps()
        bots.set_status(s, bot=row, status="paused", reason="max drawdown 10% reached")
    assert _act(rt, world, bot.id, "resume") == "running"
    state = _state(rt, bot.id)
    assert state.paused is False and state.peak_equity is None  # card and state agree
    assert state.realised == -150.0  # the bot's history is kept


def _lot() -> Lot:
    return Lot(amount=0.01, entry_price=60_000.0, entry_ts=0, entry_fee=0.6, peak=60_000.0)


def test_stop_with_close_sells_first_and_stops_once_the_exit_filled(rt, world):
    bot = create(rt, world)
    _act(rt, world, bot.id, "start")
    with rt.session() as s:
        trade = Trade(bot_id=bot.id, symbol="BTC/USDT", amount=0.01, entry_ts=0,
                      entry_price=60_000.0, entry_fee=0.6)  # fmt: skip
        s.add(trade)
        s.flush()
        trade_id = trade.id
    lot = _lot()
    lot.trade_id = trade_id
    _set_state(rt, bot.id, BotState(lots=[lot]))
    assert _act(rt, world, bot.id, "stop", close_position=True) == "running"
    state = _state(rt, bot.id)
    assert state.exit_requested and state.stop_when_flat
    with rt.session() as s:  # the exit fills
        order = BotOrder(
            bot_id=bot.id, account_id=world["acc"].id, client_order_id="sb-x", candle_ts=0,
            symbol="BTC/USDT", side="sell", amount=0.01, status="closed", purpose="exit_now",
            filled=0.01, average=61_000.0, cost=610.0, fee=0.61, fee_currency="USDT",
            detail=json.dumps({"trades": [trade_id]}),
        )  # fmt: skip
        s.add(order)
        s.flush()
        on_filled(bot.id)(s, order)
    with rt.read() as s:
        assert s.get(Bot, bot.id).status == "stopped"
        assert s.get(Trade, trade_id).exit_reason == "exit_now"
    assert _state(rt, bot.id).lots == []


def test_exit_now_then_stop_never_drops_the_exit(rt, world):
    bot = create(rt, world)
    _act(rt, world, bot.id, "start")
    _set_state(rt, bot.id, BotState(lots=[_lot()]))
    with rt.session() as s:
        bots.request_exit_now(s, owner=world["alice"], bot_id=bot.id)
    assert _act(rt, world, bot.id, "stop") == "running"  # keeps running until the exit fills
    assert _state(rt, bot.id).exit_requested


def test_stop_keeping_the_position_stops_at_once(rt, world):
    bot = create(rt, world)
    _act(rt, world, bot.id, "start")
    _set_state(rt, bot.id, BotState(lots=[_lot()]))
    assert _act(rt, world, bot.id, "stop") == "stopped"
    assert len(_state(rt, bot.id).lots) == 1


def test_spec_problems_lists_every_problem_at_once_by_field_in_a_traders_words(rt, world):
    wrong = spec(
        world,
        name="",
        params={"fast": 1, "slow": "x"},
        symbol="PEPE/USDT",
        order_size=-1.0,
        stop_loss_pct=150.0,
        cooldown_minutes=-5,
    )
    with rt.read() as s:
        problems = bots.spec_problems(
            s, owner=world["alice"], spec=wrong, markets=engine.market_lookup(rt)
        )
    assert problems == [
        ("name", "Bot name is required."),
        ("params.fast", "Fast average must be between 2 and 500."),
        ("params.slow", "Slow average must be a number."),
        ("symbol", "Market 'PEPE/USDT' is not traded on sim."),
        ("order_size", "Order size must be a positive number."),
        ("stop_loss_pct", "Stop-loss % must be a number between 0 and 100 (or empty)."),
        ("cooldown_minutes", "Cooldown must be 0 to 10080 minutes (one week)."),
    ]
    assert count(rt) == 0
    with rt.read() as s:  # a valid spec: no problem, and cleaned as create_bot stores it
        good = spec(world, symbol=" btc/usdt ", params={"fast": "5"})
        assert (
            bots.spec_problems(s, owner=world["alice"], spec=good, markets=engine.market_lookup(rt))
            == []
        )
    assert good.symbol == "BTC/USDT" and good.params == {"fast": 5, "slow": 30}


def test_validate_spec_still_raises_the_first_problem_with_its_kind(rt, world):
    with pytest.raises(NotFound), rt.read() as s:
        bots.validate_spec(
            s,
            owner=world["alice"],
            spec=spec(world, account_id=world["bob_acc"].id, stop_loss_pct=500.0),
            markets=engine.market_lookup(rt),
        )
    create(rt, world, name="taken")
    with pytest.raises(Conflict, match="already have a bot named 'taken'"), rt.read() as s:
        bots.validate_spec(
            s,
            owner=world["alice"],
            spec=spec(world, name="taken"),
            markets=engine.market_lookup(rt),
        )


@pytest.mark.parametrize(
    ("strategy", "params", "field", "message"),
    [
        ("grid", {"lower": 50_000, "upper": 70_000}, "max_open_positions", "one lot per level"),
        ("grid", {"lower": 50_000, "upper": 70_000}, "take_profit_pct", "one level above"),
        ("dca", {}, "max_open_positions", "Safety orders"),
    ],
)
def test_settings_a_strategy_never_uses_are_refused_not_ignored(
    rt, world, strategy, params, field, message
):
    value = 3 if field == "max_open_positions" else 2.0
    wrong = spec(world, strategy=strategy, params=params, **{field: value})
    with rt.read() as s:
        problems = bots.spec_problems(
            s, owner=world["alice"], spec=wrong, markets=engine.market_lookup(rt)
        )
    assert len(problems) == 1 and problems[0][0] == field and message in problems[0][1]
    create(rt, world, strategy=strategy, params=params)  # left off: accepted


def test_an_edit_keeps_its_own_name_and_cannot_take_another_bots(rt, world):
    first = create(rt, world, name="first")
    create(rt, world, name="second")

    def edit(name):
        with rt.session() as s:
            return bots.update_bot(
                s,
                owner=world["alice"],
                bot_id=first.id,
                spec=spec(world, name=name, order_size=50.0),
                markets=engine.market_lookup(rt),
            )

    assert edit("first").order_size == 50.0
    with pytest.raises(Conflict, match="'second'"):
        edit("second")


def test_start_after_a_drawdown_pause_and_a_stop_clears_the_pause(rt, world):
    bot = create(rt, world, max_drawdown_pct=10.0)
    _act(rt, world, bot.id, "start")
    _set_state(rt, bot.id, BotState(capital=1000.0, peak_equity=1000.0, paused=True))
    assert _act(rt, world, bot.id, "stop") == "stopped"
    assert _act(rt, world, bot.id, "start") == "running"
    assert _state(rt, bot.id).paused is False


def _holding(rt, world, status: str, name: str = "b") -> Bot:
    bot = create(rt, world, name=name)
    _act(rt, world, bot.id, "start")
    with rt.session() as s:
        trade = Trade(bot_id=bot.id, symbol="BTC/USDT", amount=0.01, entry_ts=0,
                      entry_price=60_000.0, entry_fee=0.6)  # fmt: skip
        s.add(trade)
        s.flush()
        trade_id = trade.id
    lot = _lot()
    lot.trade_id = trade_id
    _set_state(rt, bot.id, BotState(lots=[lot]))
    if status == "paused":
        _act(rt, world, bot.id, "pause")
    elif status == "stopped":
        _act(rt, world, bot.id, "stop")
    elif status == "error":
        with rt.session() as s:
            bots.set_status(s, bot=s.get(Bot, bot.id), status="error", reason="boom")
    return bot


@pytest.mark.parametrize("status", ["stopped", "paused", "error"])
def test_close_position_sells_what_a_bot_no_longer_running_holds_then_stops(rt, world, status):
    bot = _holding(rt, world, status)
    with rt.session() as s:
        assert bots.close_position(s, owner=world["alice"], bot_id=bot.id).status == "running"
    state = _state(rt, bot.id)
    assert state.exit_requested and state.stop_when_flat and len(state.lots) == 1
    with rt.session() as s:  # the exit fills: the bot stops, flat
        trade_id = state.lots[0].trade_id
        order = BotOrder(
            bot_id=bot.id, account_id=world["acc"].id, client_order_id="sb-c", candle_ts=0,
            symbol="BTC/USDT", side="sell", amount=0.01, status="closed", purpose="exit_now",
            filled=0.01, average=61_000.0, cost=610.0, fee=0.61, fee_currency="USDT",
            detail=json.dumps({"trades": [trade_id]}),
        )  # fmt: skip
        s.add(order)
        s.flush()
        on_filled(bot.id)(s, order)
    with rt.read() as s:
        assert s.get(Bot, bot.id).status == "stopped"
    assert _state(rt, bot.id).lots == []


def test_close_position_refuses_with_the_reason(rt, world):
    def close(bot_id, owner="alice"):
        with rt.session() as s:
            return bots.close_position(s, owner=world[owner], bot_id=bot_id)

    running = _holding(rt, world, "running")
    with pytest.raises(Conflict, match="is running: use its Exit now or Stop"):
        close(running.id)
    flat = create(rt, world, name="flat")
    with pytest.raises(Conflict, match="holds no position"):
        close(flat.id)
    with pytest.raises(NotFound):
        close(running.id, owner="bob")
    archived = _holding(rt, world, "stopped", name="old")
    with rt.session() as s:
        s.get(Bot, archived.id).status = "archived"
    with pytest.raises(Conflict, match="archived and never trades again"):
        close(archived.id)
    _act(rt, world, running.id, "stop")
    with rt.session() as s:
        s.get(ExchangeAccount, world["acc"].id).status = "deleted"
    with pytest.raises(Conflict, match="was deleted"):
        close(running.id)
    with rt.session() as s:
        s.get(ExchangeAccount, world["acc"].id).status = "needs_reentry"
    with pytest.raises(Conflict, match="needs its API key entered again"):
        close(running.id)
    assert _state(rt, running.id).exit_requested is False
