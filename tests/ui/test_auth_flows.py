"""Sign-in flows through the real gate (server-side sessions and throttling, core.users)."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from core import users
from core.models import User
from core.platform import db
from tests.conftest import TEST_COOKIE_KEY
from tests.ui.helpers import GATE_APP, gate_app, messages, page, register, sign_in
from ui.session import TOKEN_KEY

PASSWORD = "Correct-Horse-9"


def _engine(settings):
    return db.get_engine(settings.resolved_database_url)


@pytest.fixture
def settings():
    from core.platform.config import load_settings

    return load_settings()


def _user(settings, username: str) -> User:
    with Session(_engine(settings)) as session:
        return users.get_by_username(session, username=username)


def test_first_registered_user_becomes_admin(settings):
    at = register(gate_app(), "alice", PASSWORD)
    assert "HOME alice admin" in messages(at)["markdown"]
    at = register(at, "bob", PASSWORD)
    assert _user(settings, "alice").role == "admin"
    assert _user(settings, "bob").role == "trader"


def test_sign_in_shows_the_app(settings):
    at = register(gate_app(), "alice", PASSWORD)
    at = sign_in(at, "alice", PASSWORD)
    assert "HOME alice admin" in messages(at)["markdown"]
    assert _user(settings, "alice").last_login_at is not None


def test_wrong_password_and_unknown_user_get_one_message(settings):
    at = register(gate_app(), "alice", PASSWORD)
    wrong = messages(sign_in(at, "alice", "Wrong-Password-1"))["error"]
    unknown = messages(sign_in(gate_app(), "nobody", "Wrong-Password-1"))["error"]
    assert wrong == unknown == ["Wrong username or password."]
    assert not any(m.startswith("HOME") for m in messages(at)["markdown"])


def test_five_wrong_passwords_do_not_stop_the_right_one(settings):
    at = register(gate_app(), "alice", PASSWORD)
    for _ in range(5):
        at = sign_in(at, "alice", "Wrong-Password-1")
    fresh = sign_in(gate_app(), "alice", PASSWORD)  # a new session, e.g. another tab
    assert "HOME alice admin" in messages(fresh)["markdown"]


def test_more_wrong_passwords_are_slowed_down_and_an_admin_unlocks(settings, monkeypatch):
    # The delays' lengths are core.users' (tests/test_users.py, on a given clock); here a delay
    # lasts an hour, so a slow machine cannot outwait it between two steps of the test.
    monkeypatch.setattr(
        users.ThrottlePolicy, "delay_s", lambda self, failures, free: 3600.0 * (failures > free)
    )
    at = register(gate_app(), "alice", PASSWORD)
    at = register(at, "bob", PASSWORD)
    for _ in range(7):
        at = sign_in(at, "bob", "Wrong-Password-1")
    assert any("Wait" in e for e in messages(at)["error"])
    assert not any(
        m.startswith("HOME") for m in messages(sign_in(gate_app(), "bob", PASSWORD))["markdown"]
    )
    with db.session_scope(_engine(settings)) as session:
        admin = users.get_by_username(session, username="alice")
        bob = users.get_by_username(session, username="bob")
        users.unlock(session, admin=admin, user_id=bob.id)
    at = sign_in(gate_app(), "bob", PASSWORD)
    assert "HOME bob trader" in messages(at)["markdown"]


def test_disabled_user_cannot_sign_in(settings):
    at = register(gate_app(), "alice", PASSWORD)
    at = register(at, "bob", PASSWORD)
    with db.session_scope(_engine(settings)) as session:
        admin = users.get_by_username(session, username="alice")
        bob = users.get_by_username(session, username="bob")
        users.set_active(session, admin=admin, user_id=bob.id, active=False)
    at = sign_in(gate_app(), "bob", PASSWORD)
    assert not any(m.startswith("HOME") for m in messages(at)["markdown"])
    assert messages(at)["error"]


def test_user_disabled_while_signed_in_is_signed_out(settings):
    at = register(gate_app(), "alice", PASSWORD)
    at = register(at, "bob", PASSWORD)
    at = sign_in(at, "bob", PASSWORD)
    assert "HOME bob trader" in messages(at)["markdown"]
    bob_id = _user(settings, "bob").id
    with db.session_scope(_engine(settings)) as session:
        admin = users.get_by_username(session, username="alice")
        users.set_active(session, admin=admin, user_id=bob_id, active=False)
    at.run()
    assert not any(m.startswith("HOME") for m in messages(at)["markdown"])
    assert any("session has ended" in w.value for w in at.warning)


def test_log_out_returns_to_the_sign_in_form_and_ends_the_session(settings):
    at = sign_in(register(gate_app(), "alice", PASSWORD), "alice", PASSWORD)
    token = at.session_state[TOKEN_KEY]
    at.sidebar.button[0].click().run()
    assert not any(m.startswith("HOME") for m in messages(at)["markdown"])
    assert any(t.label == "Password" for t in at.text_input)
    assert "You are signed out." in messages(at)["success"]
    assert TOKEN_KEY not in at.session_state
    with Session(_engine(settings)) as session:  # the server side ended it: copies are void
        assert users.session_user(session, token=token, key=TEST_COOKIE_KEY) is None


def test_closed_registration_refuses_new_accounts(settings):
    at = register(gate_app(), "alice", PASSWORD)
    with db.session_scope(_engine(settings)) as session:
        admin = users.get_by_username(session, username="alice")
        users.set_registration_open(session, admin=admin, is_open=False)
    at = gate_app()
    assert not any(t.label == "New username" for t in at.text_input)
    assert _user(settings, "bob") is None


def test_trader_is_refused_on_the_system_page(settings):
    at = register(gate_app(), "alice", PASSWORD)
    register(at, "bob", PASSWORD)
    result = page("system.py", _user(settings, "bob").id)
    assert "This page is for administrators." in messages(result)["error"]
    assert not result.metric


def test_admin_sees_the_system_page(settings):
    register(gate_app(), "alice", PASSWORD)
    result = page("system.py", _user(settings, "alice").id)
    assert not result.exception
    assert any(m.label == "Journal mode" and m.value == "wal" for m in result.metric)


def test_change_password_page(settings):
    register(gate_app(), "alice", PASSWORD)
    at = page("account.py", _user(settings, "alice").id)
    fields = {t.label: t for t in at.text_input}
    fields["Current password"].input(PASSWORD)
    fields["New password"].input("Another-Pass-7")
    fields["Repeat new password"].input("Another-Pass-7")
    at.button[0].click().run()
    assert any("Password changed" in s for s in messages(at)["success"])
    at = sign_in(gate_app(), "alice", "Another-Pass-7")
    assert "HOME alice admin" in messages(at)["markdown"]


def _audited(settings, action: str, actor: str = "alice") -> int:
    from sqlmodel import func, select

    from core.models import AuditLog

    with Session(_engine(settings)) as session:
        query = select(func.count()).where(AuditLog.action == action, AuditLog.actor == actor)
        return session.exec(query.select_from(AuditLog)).one()


def test_registering_signs_in_at_once_audited_as_a_registration_only(settings):
    at = register(gate_app(), "alice", PASSWORD)
    assert "HOME alice admin" in messages(at)["markdown"]  # no second typing of credentials
    assert not any(t.label == "Password" for t in at.text_input)
    assert at.session_state[TOKEN_KEY]
    assert _audited(settings, "user.create") == 1
    assert _audited(settings, "user.login") == 0


def test_a_reload_with_the_cookie_is_signed_in_quietly_and_not_audited(settings, monkeypatch):
    import streamlit as st

    token = register(gate_app(), "alice", PASSWORD).session_state[TOKEN_KEY]
    at = sign_in(gate_app(), "alice", PASSWORD)  # one real sign-in
    assert _audited(settings, "user.login") == 1
    # A reload: a new browser session that only has the cookie (AppTest cannot seed cookies).
    jar = {settings.cookie_name: token}
    monkeypatch.setattr(type(st.context), "cookies", property(lambda self: jar))
    for _ in range(3):
        at = AppTest.from_file(GATE_APP, default_timeout=60).run()
        assert "HOME alice admin" in messages(at)["markdown"]
        shown = [e.value for e in (*at.info, *at.warning, *at.markdown, *at.caption)]
        assert not any("Loading" in str(v) for v in shown), shown
    assert _audited(settings, "user.login") == 1  # reloads are not sign-ins
