"""Bots page: a stopped bot can be edited from its card; a running one cannot."""

from __future__ import annotations

import pytest

from core import bots
from tests.factories import two_users_and_a_bot
from tests.ui.helpers import app_runtime, messages, page


@pytest.fixture
def world():
    return two_users_and_a_bot(
        app_runtime(), symbol="ETH/USDT", timeframe="5m", order_size=50.0, stop_loss_pct=2.0
    )


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_editing_a_stopped_bot_starts_from_its_settings_and_saves(world):
    bot_id = world["bot"].id
    at = page("bots.py", world["bob"].id)
    _button(at, "✎ Edit").click().run()
    prefix = f"edit{bot_id}_"
    assert at.text_input(key=f"{prefix}name").value == "bobs-bot"
    assert at.selectbox(key=f"{prefix}symbol").value == "ETH/USDT"
    assert at.selectbox(key=f"{prefix}tf").value == "5m"
    assert at.number_input(key=f"{prefix}slow").value == 8
    assert at.number_input(key=f"{prefix}sl").value == 2.0
    at.text_input(key=f"{prefix}name").input("renamed")
    at.number_input(key=f"{prefix}fast").set_value(5)
    _button(at, "Save changes").click().run()
    assert not at.exception and not messages(at)["error"], messages(at)
    assert any("saved" in t.value for t in at.toast)
    with world["rt"].read() as s:
        saved = bots.get_bot(s, owner=world["bob"], bot_id=bot_id)
    assert saved.name == "renamed"
    assert bots.spec_values(saved)["params"] == {"fast": 5, "slow": 8}
    assert (saved.symbol, saved.timeframe, saved.stop_loss_pct) == ("ETH/USDT", "5m", 2.0)


def test_a_bad_edit_is_refused_and_changes_nothing(world):
    bot_id = world["bot"].id
    at = page("bots.py", world["bob"].id)
    _button(at, "✎ Edit").click().run()
    at.number_input(key=f"edit{bot_id}_fast").set_value(20)  # fast must be < slow (8)
    _button(at, "Save changes").click().run()
    assert any("fast average must be shorter" in e for e in messages(at)["error"])
    with world["rt"].read() as s:
        assert bots.get_bot(s, owner=world["bob"], bot_id=bot_id).params == '{"fast": 3, "slow": 8}'


def test_a_running_bot_offers_no_edit(world):
    with world["rt"].session() as s:
        bots.change_status(s, owner=world["bob"], bot_id=world["bot"].id, action="start")
    at = page("bots.py", world["bob"].id)
    assert not any(b.label == "✎ Edit" for b in at.button)
