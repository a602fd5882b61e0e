"""Every form refuses bad input with a clear message and writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from core import users
from core.models import User
from core.platform import db
from core.platform.config import load_settings
from tests.ui.helpers import gate_app, messages, page, register, text_input

GOOD = "Correct-Horse-9"
BAD = ["", "   ", "x" * 10_000, "a\x00b", "Robert'); DROP TABLE user;--", "日本語🙂"]
BAD_PASSWORDS = ["", "   ", "x" * 10_000, "a\x00b", "日本語🙂", " padded-password "]


def _count() -> int:
    with Session(db.get_engine(load_settings().resolved_database_url)) as s:
        return s.exec(select(func.count()).select_from(User)).one()


@pytest.mark.parametrize("value", BAD)
def test_register_form_refuses_bad_usernames(value):
    at = register(gate_app(), "alice", GOOD)
    before = _count()
    at = register(at, value, GOOD, email="bob@example.com")
    assert messages(at)["error"], value
    assert not at.exception
    assert _count() == before


@pytest.mark.parametrize("value", BAD_PASSWORDS)
def test_register_form_refuses_bad_passwords_without_echoing_them(value):
    at = gate_app()
    at = register(at, "alice", value)
    errors = messages(at)["error"]
    assert errors
    assert not at.exception
    if value.strip():
        assert all(value not in e for e in errors)
    assert _count() == 0


def test_register_form_refuses_mismatched_passwords():
    at = gate_app()
    text_input(at, "New username").input("alice")
    text_input(at, "Email").input("alice@example.com")
    text_input(at, "New password").input(GOOD)
    text_input(at, "Repeat password").input(GOOD + "x")
    at = next(b for b in at.button if b.label == "Create account").click().run()
    assert "The two passwords differ." in messages(at)["error"]
    assert _count() == 0


@pytest.mark.parametrize("value", BAD)
def test_sign_in_form_survives_bad_input(value):
    register(gate_app(), "alice", GOOD)
    at = gate_app()
    text_input(at, "Username").input(value)
    text_input(at, "Password").input(value)
    at = next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception
    assert not any(m.startswith("HOME") for m in messages(at)["markdown"])


@pytest.mark.parametrize("value", BAD_PASSWORDS)
def test_change_password_form_refuses_bad_new_passwords(value):
    register(gate_app(), "alice", GOOD)
    with Session(db.get_engine(load_settings().resolved_database_url)) as s:
        user = users.get_by_username(s, username="alice")
    at = page("account.py", user.id)
    fields = {t.label: t for t in at.text_input}
    fields["Current password"].input(GOOD)
    fields["New password"].input(value)
    fields["Repeat new password"].input(value)
    at.button[0].click().run()
    assert messages(at)["error"] and not at.exception
    with Session(db.get_engine(load_settings().resolved_database_url)) as s:
        assert users.get_by_username(s, username="alice").password_hash == user.password_hash
