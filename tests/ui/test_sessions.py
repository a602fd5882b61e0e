"""Sessions, registration modes and the first admin through the real pages (AppTest)."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from core import users
from core.models import User
from tests.ui.helpers import (
    app_runtime,
    gate_app,
    messages,
    page,
    register,
    sign_in,
    text_input,
)
from ui.auth import COOKIE_SET
from ui.session import TOKEN_KEY

PASSWORD = "Correct-Horse-9"
BAD = ["", "   ", "x" * 10_000, "a\x00b", "Robert'); DROP TABLE user;--", "日本語🙂"]


def _user(name: str) -> User | None:
    with app_runtime().read() as s:
        return users.get_by_username(s, username=name)


def _count(model=User) -> int:
    with app_runtime().read() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _live(user_id: int) -> int:
    with app_runtime().read() as s:
        return users.live_sessions(s, user_id=user_id)


def _click(at, label):
    next(b for b in at.button if b.label == label).click().run()
    return at


def test_password_change_ends_other_sessions_and_renews_this_one():
    register(gate_app(), "alice", PASSWORD)
    alice = _user("alice")
    elsewhere = sign_in(gate_app(), "alice", PASSWORD).session_state[TOKEN_KEY]
    at = page("account.py", alice.id)
    old = at.session_state[TOKEN_KEY]
    fields = {t.label: t for t in at.text_input}
    fields["Current password"].input(PASSWORD)
    fields["New password"].input("Another-Pass-7")
    fields["Repeat new password"].input("Another-Pass-7")
    at = _click(at, "Change password")
    assert any("Password changed" in s for s in messages(at)["success"]), messages(at)
    new = at.session_state[TOKEN_KEY]
    assert new != old and at.session_state[COOKIE_SET][0] == new  # this browser: new cookie
    with app_runtime().read() as s:
        key = app_runtime().settings.cookie_key.get_secret_value()
        assert users.session_user(s, token=old, key=key) is None
        assert users.session_user(s, token=elsewhere, key=key) is None
        assert users.session_user(s, token=new, key=key).id == alice.id
    assert _live(alice.id) == 1


def test_sign_out_everywhere_ends_every_session_this_one_too():
    register(gate_app(), "alice", PASSWORD)
    alice = _user("alice")
    sign_in(gate_app(), "alice", PASSWORD)
    at = page("account.py", alice.id)
    assert _live(alice.id) == 3  # registering signed in too
    at = _click(at, "Sign out everywhere")
    assert _live(alice.id) == 0
    assert TOKEN_KEY not in at.session_state
    assert "Please sign in." in messages(at)["error"]  # the page alone; the app shows sign-in


def test_a_revoked_session_is_noticed_on_the_next_run():
    register(gate_app(), "alice", PASSWORD)
    at = sign_in(gate_app(), "alice", PASSWORD)
    assert "HOME alice admin" in messages(at)["markdown"]
    with app_runtime().session() as s:
        users.end_all_sessions(s, user_id=_user("alice").id)
    at.run()
    assert not any(m.startswith("HOME") for m in messages(at)["markdown"])
    assert any("session has ended" in w.value for w in at.warning)


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("STEADYBOT_ENV", "production")


def _setup_form(at, token, username="root", password=PASSWORD, email=None):
    text_input(at, "Setup token (from the server log)").input(token)
    text_input(at, "New username").input(username)
    text_input(at, "Email").input("root@example.com" if email is None else email)
    text_input(at, "Display name").input("Root")
    text_input(at, "New password").input(password)
    text_input(at, "Repeat password").input(password)
    return _click(at, "Create administrator")


def test_production_asks_for_the_setup_token_for_the_first_admin(production):
    at = gate_app()
    assert any("setup token" in i.value for i in at.info)
    assert not any(b.label == "Create account" for b in at.button)  # nobody just signs up
    with app_runtime().session() as s:
        token = users.issue_setup_token(s)
    at = _setup_form(at, "not-the-token")
    assert any("setup token is wrong" in e for e in messages(at)["error"])
    assert _count() == 0
    at = _setup_form(at, token)
    assert "HOME root admin" in messages(at)["markdown"]  # signed in at once
    at = gate_app()  # registration is closed by default in production
    assert not any(t.label == "New username" for t in at.text_input)
    assert "HOME root admin" in messages(sign_in(at, "root", PASSWORD))["markdown"]


@pytest.mark.parametrize("value", BAD, ids=range(len(BAD)))
def test_the_setup_form_refuses_bad_input_and_writes_nothing(production, value):
    at = gate_app()
    with app_runtime().session() as s:
        token = users.issue_setup_token(s)
    at = _setup_form(at, token, username=value)
    assert messages(at)["error"] and not at.exception, ("username", messages(at))
    if len(value) <= 254:  # longer than the field's max_chars: no browser can send it
        at = _setup_form(at, token, email=value)
        assert messages(at)["error"] and not at.exception, ("email", messages(at))
    if len(value) <= 200:
        at = _setup_form(at, value)
        assert messages(at)["error"] and not at.exception, ("token", messages(at))
    assert _count() == 0


def _create(at, username, password=PASSWORD, email=None, role="trader"):
    form = {t.label: t for t in at.text_input}
    form["Username"].input(username)
    form["Email"].input(f"{username}@example.com"[:254] if email is None else email)
    form["Display name"].input(username.title() if isinstance(username, str) else "")
    form["Initial password"].input(password)
    next(s for s in at.selectbox if s.label == "Role").set_value(role)
    return _click(at, "Create user")


def test_invite_mode_admins_create_the_accounts(monkeypatch):
    monkeypatch.setenv("STEADYBOT_REGISTRATION", "invite")
    with pytest.raises(Exception, match="setup token"), app_runtime().session() as s:
        users.register(
            s,
            username="alice",
            email="a@x.io",
            name="",
            password=PASSWORD,
            rules=users.Registration.from_settings(app_runtime().settings),
        )
    with app_runtime().session() as s:
        users.create_user(
            s, username="alice", email="a@x.io", name="", password=PASSWORD, role="admin"
        )
    at = gate_app()
    assert not any(t.label == "New username" for t in at.text_input)
    at = page("admin_users.py", _user("alice").id)
    at = _create(at, "bob")
    assert "Account 'bob' created (trader)." in messages(at)["success"]
    assert "HOME bob trader" in messages(sign_in(gate_app(), "bob", PASSWORD))["markdown"]


@pytest.mark.parametrize("value", BAD, ids=range(len(BAD)))
def test_the_create_user_form_refuses_bad_input_and_writes_nothing(value):
    register(gate_app(), "alice", PASSWORD)
    at = page("admin_users.py", _user("alice").id)
    before = _count()
    at = _create(at, value)
    assert messages(at)["error"] and not at.exception, ("username", messages(at))
    if len(value) <= 72 and "DROP" not in value:  # max_chars; SQL-looking text is a fine one
        at = _create(at, "bob", password=value)
        assert messages(at)["error"] and not at.exception, ("password", messages(at))
    assert _count() == before


def test_closed_mode_has_no_create_form(monkeypatch):
    register(gate_app(), "alice", PASSWORD)
    monkeypatch.setenv("STEADYBOT_REGISTRATION", "closed")
    at = page("admin_users.py", _user("alice").id)
    assert not any(b.label == "Create user" for b in at.button)
    assert any("create-user" in c.value for c in at.caption)


def test_admin_unlocks_a_user_and_unblocks_an_address():
    register(register(gate_app(), "alice", PASSWORD), "bob", PASSWORD)
    rt = app_runtime()
    from datetime import timedelta

    from core.models import utcnow

    t = utcnow() - timedelta(minutes=5)
    for i in range(20):  # twenty names guessed from one address, a minute apart
        users.sign_in(rt, username=f"user{i}", password="x", address="203.0.113.9", now=t)
        t += timedelta(seconds=13)
    for i in range(12):  # bob's name from many addresses
        users.sign_in(rt, username="bob", password="x", address=f"10.9.{i}.1", now=t)
    at = page("admin_users.py", _user("alice").id)
    table = at.dataframe[0].value
    assert table.loc[table["Username"] == "bob", "Sign-in throttled"].iloc[0] == "yes"
    assert table.loc[table["Username"] == "alice", "Sign-in throttled"].iloc[0] == "no"
    assert "None" not in table.to_csv()  # never signed in: a dash
    assert "203.0.113.9" in list(at.dataframe[1].value["Address"])
    box = next(s for s in at.selectbox if s.label == "User")
    box.set_value(next(u for u in box.options if u.startswith("bob"))).run()
    at = _click(at, "Unlock")
    assert not messages(at)["error"]
    assert users.sign_in(rt, username="bob", password=PASSWORD, address="192.0.2.1").ok
    at = _click(at, "Unblock this address")
    assert users.sign_in(rt, username="bob", password=PASSWORD, address="203.0.113.9").ok
    assert _live(_user("bob").id) == 3  # and the one registering opened
