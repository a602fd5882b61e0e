"""Users and All bots pages as an admin: role, disable, delete only after typing the name,
stop another user's bot."""

from __future__ import annotations

import pytest

from core.models import Bot, User
from tests.factories import two_users_and_a_bot
from tests.ui.helpers import app_runtime, messages, page


@pytest.fixture
def world():
    return two_users_and_a_bot(app_runtime(), running=True, strategy="rsi", params={})


def _pick_bob(at):
    box = next(s for s in at.selectbox if s.label == "User")
    box.set_value(next(u for u in box.options if u.startswith("bob"))).run()
    return at


def _click(at, label):
    next(b for b in at.button if b.label == label).click().run()
    return at


def _bob(world) -> User:
    with world["rt"].read() as s:
        return s.get(User, world["bob"].id)


def test_admin_changes_a_role_and_disables_a_user(world):
    at = _pick_bob(page("admin_users.py", world["alice"].id))
    _click(at, "Make admin")
    assert not at.exception and not messages(at)["error"]
    assert _bob(world).role == "admin"
    at = _pick_bob(at)
    _click(at, "Disable")
    assert _bob(world).is_active is False


def test_deleting_a_user_needs_their_name_typed(world):
    at = _pick_bob(page("admin_users.py", world["alice"].id))
    at.text_input(key=f"confirm_{world['bob'].id}").input("bobby")
    _click(at, "Delete user")
    assert messages(at)["error"], "a wrong name must be refused"
    assert _bob(world) is not None
    at.text_input(key=f"confirm_{world['bob'].id}").input("bob")
    _click(at, "Delete user")
    assert _bob(world) is None
    with world["rt"].read() as s:
        assert s.get(Bot, world["bot"].id) is None  # their data went with them


def test_admin_stops_another_users_bot(world):
    at = page("admin_bots.py", world["alice"].id)
    assert "bob" in set(at.dataframe[0].value["Owner"])
    _click(at, "Stop this bot")
    assert not at.exception and not messages(at)["error"]
    with world["rt"].read() as s:
        assert s.get(Bot, world["bot"].id).status == "stopped"
