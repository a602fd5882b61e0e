"""Issue 17 on the Bots, Bot detail and Overview pages: Stop asks close or keep, positions no
running bot manages are listed with a close button, the grid form shows the price and refuses a
range beside it unless the trader means it,
every problem is shown at once next to its field with nothing saved, the form resets after a
create and on a strategy switch, cards show a bot's settings, a live order size above the
balance is warned about, and every action refreshes what it changed with a toast."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from core import accounts, trading, views
from core.exchanges import SimExchange
from core.models import Bot, Candle, Trade
from core.strategy import BotState, Lot, get_strategy
from tests.accounts.test_onboarding import StubExchange, add, catalogue  # noqa: F401
from tests.factories import two_users_and_a_bot
from tests.ui.helpers import app_runtime, messages, page


@pytest.fixture
def world():
    return two_users_and_a_bot(app_runtime(), running=True)


def _button(at, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r}; have {[b.label for b in at.button]}"
    return found[0]


def _labels(at) -> list[str]:
    return [b.label for b in at.button]


def _text(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption") for e in getattr(at, kind))


def _toasts(at) -> list[str]:
    return [t.value for t in at.toast]


def _hold(rt, bot_id: int, *, amount: float = 0.01, price: float = 60_000.0) -> None:
    """Give the bot one open lot (its Trade row and its state), as a filled buy would."""
    with rt.session() as s:
        bot = s.get(Bot, bot_id)
        trade = Trade(bot_id=bot_id, symbol=bot.symbol, amount=amount, entry_ts=0,
                      entry_price=price, entry_fee=0.6)  # fmt: skip
        s.add(trade)
        s.flush()
        lot = Lot(amount=amount, entry_price=price, entry_ts=0, entry_fee=0.6, peak=price,
                  trade_id=trade.id)  # fmt: skip
        state = BotState.loads(bot.state)
        state.lots.append(lot)
        bot.state = state.dumps()
        s.add(bot)


def _bot(rt, bot_id: int) -> tuple[Bot, BotState]:
    with rt.read() as s:
        bot = s.get(Bot, bot_id)
        return bot, BotState.loads(bot.state)


def _bot_count(rt) -> int:
    with rt.read() as s:
        return s.exec(select(func.count()).select_from(Bot)).one()


# --- Stop: close or keep -------------------------------------------------------------------


def test_stop_with_close_sells_first_and_the_card_says_stopping(world):
    rt, bot_id = world["rt"], world["bot"].id
    _hold(rt, bot_id)
    at = page("bots.py", world["bob"].id)
    assert {"Close the position at market", "Keep it"} <= set(_labels(at))
    at = _button(at, "Close the position at market").click().run()
    assert not at.exception and not messages(at)["error"]
    bot, state = _bot(rt, bot_id)
    assert bot.status == "running" and state.exit_requested and state.stop_when_flat
    assert any("selling its position" in t for t in _toasts(at))
    assert views.STOPPING in _text(at)  # the card says so at once
    assert "❚❚ Pause" not in _labels(at) and "Keep it" not in _labels(at)


def test_stop_keeping_the_position_stops_and_overview_offers_to_close_it(world):
    rt, bot_id, bob = world["rt"], world["bot"].id, world["bob"]
    _hold(rt, bot_id)
    with rt.session() as s:  # a cached price: 61,000 -> (61,000 - 60,000) * 0.01 - 0.6 = 9.40
        s.add(Candle(exchange="sim", symbol="BTC/USDT", timeframe="1m", ts=0, open=61_000.0,
                     high=61_000.0, low=61_000.0, close=61_000.0, volume=1.0))  # fmt: skip
    at = _button(page("bots.py", bob.id), "Keep it").click().run()
    bot, state = _bot(rt, bot_id)
    assert bot.status == "stopped" and len(state.lots) == 1 and not state.exit_requested
    assert any("stopped" in t for t in _toasts(at))
    assert "nothing sells while it is stopped" in _text(at)
    assert any("nothing here can sell it" in w.value for w in at.warning)  # archive warns

    overview = page("overview.py", bob.id)
    assert not overview.exception
    assert any(h.value == "Positions no bot manages" for h in overview.subheader)
    row = next(m.value for m in overview.markdown if "**bobs-bot** (stopped)" in m.value)
    assert "0.01" in row and "9.40" in row
    overview = _button(overview, "Yes, sell at market").click().run()
    assert not overview.exception and not messages(overview)["error"]
    bot, state = _bot(rt, bot_id)
    assert bot.status == "running" and state.exit_requested and state.stop_when_flat
    assert any("selling its position" in t for t in _toasts(overview))
    assert not any(h.value == "Positions no bot manages" for h in overview.subheader)


def test_a_bot_holding_nothing_stops_at_once(world):
    at = _button(page("bots.py", world["bob"].id), "■ Stop").click().run()
    assert _bot(world["rt"], world["bot"].id)[0].status == "stopped"
    assert "▶ Start" in _labels(at)  # the card shows the new state right away


def test_exit_now_makes_the_card_say_exit_pending_and_stop_keeps_the_exit(world):
    rt, bot_id = world["rt"], world["bot"].id
    _hold(rt, bot_id)
    at = _button(page("bots.py", world["bob"].id), "Yes, exit now").click().run()
    assert views.EXIT_PENDING in _text(at)
    assert any("exit requested" in t for t in _toasts(at))
    assert "Keep it" not in _labels(at) and "Yes, exit now" not in _labels(at)
    at = _button(at, "Stop after the exit").click().run()
    bot, state = _bot(rt, bot_id)
    assert bot.status == "running" and state.exit_requested and state.stop_when_flat


def test_bot_detail_offers_the_same_choice_and_shows_the_settings(world):
    rt, bot_id = world["rt"], world["bot"].id
    _hold(rt, bot_id)
    at = page("bot_detail.py", world["bob"].id)
    assert not at.exception
    assert "SMA crossover" in _text(at) and ":blue-badge[paper]" in _text(at)
    at = _button(at, "Keep it").click().run()
    assert not at.exception
    assert _bot(rt, bot_id)[0].status == "stopped"
    assert any("stopped" in t for t in _toasts(at))


# --- cards ----------------------------------------------------------------------------------


def test_cards_show_account_mode_size_limits_and_strategy_title():
    world = two_users_and_a_bot(
        app_runtime(), order_size=50.0, take_profit_pct=3.0, stop_loss_pct=2.0, cooldown_minutes=30
    )
    at = page("bots.py", world["bob"].id)
    text = _text(at)
    assert "SMA crossover" in text and "sma_cross" not in text
    line = next(m.value for m in at.markdown if m.value.startswith(":blue-badge[paper]"))
    assert line == (
        ":blue-badge[paper] paper · 50 USDT per order · take-profit 3 % · stop-loss 2 % · "
        "cooldown 30 min after a loss"
    )
    overview = page("overview.py", world["bob"].id)
    assert line in [m.value for m in overview.markdown]


# --- the form -------------------------------------------------------------------------------


def _choose(at, strategy: str):
    return at.selectbox(key="new_strategy").set_value(get_strategy(strategy)).run()


def test_grid_form_shows_the_price_hides_what_grid_ignores_and_refuses_a_range_beside_it(world):
    at = _choose(page("bots.py", world["bob"].id), "grid")
    assert any(c.value.startswith("Current price of BTC/USDT: **") for c in at.caption)
    inputs = [n.label for n in at.number_input]
    assert "Max open positions" not in inputs and "Take-profit % (0 = off)" not in inputs
    lower, upper = at.number_input(key="new_lower").value, at.number_input(key="new_upper").value
    assert lower < 60_000 * 1.5 and upper > 60_000 * 0.5  # a range around the sim's price
    assert not at.warning and not at.checkbox  # the default range contains the price
    at.text_input(key="new_name").input("dip grid")
    at.number_input(key="new_lower").set_value(100.0)
    at = at.number_input(key="new_upper").set_value(200.0).run()
    assert any("is above the grid (100–200)" in w.value for w in at.warning)
    at = _button(at, "Create bot").click().run()  # refused, the reason under the range
    order = _flat(at)
    i = next(i for i, el in enumerate(order) if getattr(el, "key", None) == "new_upper")
    assert order[i + 1].type == "error" and "is outside this range" in order[i + 1].value
    assert "Trade this range anyway" in order[i + 1].value
    assert any("fix the 1 problem" in e for e in messages(at)["error"])
    assert _bot_count(world["rt"]) == 1
    at = at.checkbox(key="new_grid_outside").check().run()  # meant: the problem goes
    assert not messages(at)["error"]
    at = _button(at, "Create bot").click().run()
    assert any("'dip grid' created" in t for t in _toasts(at))
    assert _bot_count(world["rt"]) == 2
    at = _choose(page("bots.py", world["bob"].id), "dca")
    inputs = [n.label for n in at.number_input]
    assert "Max open positions" not in inputs and "Take-profit % (0 = off)" in inputs
    assert "Max open positions" in [n.label for n in _choose(at, "sma_cross").number_input]


def test_every_problem_is_shown_at_once_next_to_its_field_and_nothing_is_saved(world):
    at = page("bots.py", world["bob"].id)
    at.number_input(key="new_fast").set_value(1)  # below the minimum: submitted, not blocked
    at.number_input(key="new_sl").set_value(150.0)
    at.number_input(key="new_cd").set_value(-5)
    at.number_input(key="new_size").set_value(1e12)
    at = _button(at, "Create bot").click().run()
    assert not at.exception
    errors = messages(at)["error"]
    expected = {
        "new_name": "Bot name is required.",
        "new_fast": "Fast average must be between 2 and 500.",
        "new_sl": "Stop-loss % must be a number between 0 and 100 (or empty).",
        "new_cd": "Cooldown must be 0 to 10080 minutes (one week).",
        "new_size": "more than the paper account 'paper' holds (10,000.00 USDT)",
    }
    for want in expected.values():
        assert any(want in e for e in errors), (want, errors)
    assert any("fix the 5 problems" in e for e in errors)
    assert not any("Parameter '" in e for e in errors)
    order = _flat(at)
    for key, want in expected.items():  # each message right under its own field
        i = next(i for i, el in enumerate(order) if getattr(el, "key", None) == key)
        assert order[i + 1].type == "error" and want in order[i + 1].value, key
    assert _bot_count(world["rt"]) == 1

    at.text_input(key="new_name").input("fixed")  # fixing a field clears its message
    at = at.number_input(key="new_fast").set_value(5).run()
    errors = messages(at)["error"]
    assert not any("Bot name" in e or "Fast average" in e for e in errors)
    assert any("Stop-loss" in e for e in errors)


def _flat(at) -> list:
    out = []

    def walk(node):
        children = getattr(node, "children", None)
        if children is None:
            out.append(node)
            return
        for child in children.values():
            walk(child)

    walk(at.main)
    return out


def test_the_create_form_starts_empty_again_after_a_create(world):
    at = page("bots.py", world["bob"].id)
    at.text_input(key="new_name").input("first")
    at.number_input(key="new_fast").set_value(5)
    at = _button(at, "Create bot").click().run()
    assert any("'first' created" in t for t in _toasts(at))
    assert at.text_input(key="new1_name").value == ""
    assert at.number_input(key="new1_fast").value == 10
    assert any("**first**" in m.value for m in at.markdown)  # the list shows it at once
    assert _bot_count(world["rt"]) == 2


def test_switching_strategy_starts_its_fields_from_their_defaults(world):
    at = page("bots.py", world["bob"].id)
    at = at.number_input(key="new_fast").set_value(5).run()
    at = _choose(at, "macd")
    assert at.number_input(key="new_fast").value == 12  # MACD's default, not the SMA's 5
    at = _choose(at, "sma_cross")
    assert at.number_input(key="new_fast").value == 10


def test_a_live_order_size_above_the_balance_is_warned_with_the_balance(world, monkeypatch):
    rt, bob = world["rt"], world["bob"]
    stub = StubExchange()  # holds 100 USDT
    add(rt, bob, stub, label="real")
    # The live account's exchange is never reached: the sim feed's markets and a fixed price.
    monkeypatch.setattr(trading, "market_lookup", lambda rt: lambda a: SimExchange().load_markets())
    monkeypatch.setattr(views, "current_price", lambda rt, **kw: 60_000.0)
    monkeypatch.setattr("core.accounts.holdings.live_connector", stub)
    at = page("bots.py", bob.id)
    with rt.read() as s:
        real = next(a for a in accounts.list_accounts(s, owner=bob) if a.label == "real")
    at = at.selectbox(key="new_account").set_value(real).run()
    assert not at.warning
    at = at.number_input(key="new_size").set_value(500.0).run()
    assert any("more than 'real' holds now: 100.00 USDT free" in w.value for w in at.warning)
    at = at.number_input(key="new_size").set_value(50.0).run()
    assert not at.warning
