"""Users service: registration rules, lockout in the database, roles, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from core import users
from core.errors import AccountLocked, Conflict, Forbidden, InvalidCredentials, InvalidInput
from core.models import AuditLog, User, utcnow

GOOD = "Correct-Horse-9"
POLICY = users.LockoutPolicy(attempts=5, minutes=15)
BAD_TEXT = [
    "",
    "   ",
    "x" * 10_000,
    "a\x00b",
    "'; DROP TABLE user; --",
    "\u202e\u0000",
    "ünïcødé\n",
]


def _make(rt, name="alice", **kw):
    with rt.session() as s:
        return users.register(
            s,
            username=name,
            email=f"{name}@example.com",
            name=name,
            password=kw.get("password", GOOD),
        )


def _counts(rt):
    with rt.read() as s:
        return (
            s.exec(select(func.count()).select_from(User)).one(),
            s.exec(select(func.count()).select_from(AuditLog)).one(),
        )


def test_first_user_is_admin_then_traders(rt):
    assert _make(rt, "alice").role == "admin"
    assert _make(rt, "bob").role == "trader"


def test_usernames_are_case_insensitive_and_unique(rt):
    _make(rt, "alice")
    with pytest.raises(Conflict), rt.session() as s:
        users.register(s, username="ALICE", email="other@example.com", name="", password=GOOD)


def test_duplicate_email_is_refused(rt):
    _make(rt, "alice")
    with pytest.raises(Conflict), rt.session() as s:
        users.register(s, username="alice2", email="ALICE@example.com", name="", password=GOOD)


@pytest.mark.parametrize("field", ["username", "email", "name", "password"])
@pytest.mark.parametrize("value", BAD_TEXT)
def test_bad_input_writes_nothing(rt, field, value):
    _make(rt, "alice")
    before = _counts(rt)
    data = {"username": "bob", "email": "bob@example.com", "name": "Bob", "password": GOOD}
    data[field] = value
    if field == "password" and "DROP" in value:
        pytest.skip("SQL-looking text is a fine password: it is only ever hashed")
    if field == "name" and value not in ("x" * 10_000, "a\x00b", "\u202e\u0000"):
        pytest.skip("an acceptable display name (empty means: use the username)")
    with pytest.raises(InvalidInput) as err, rt.session() as s:
        users.register(s, **data)
    assert GOOD not in err.value.message
    assert _counts(rt) == before


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(username=st.text(max_size=60), email=st.text(max_size=60))
def test_any_text_is_either_accepted_cleanly_or_refused_with_a_message(rt, username, email):
    try:
        with rt.session() as s:
            user = users.register(s, username=username, email=email, name="x", password=GOOD)
    except (InvalidInput, Conflict) as exc:
        assert exc.message
        return
    assert user.username == user.username.strip().lower()


def test_registration_closed_refuses_everyone_but_the_first(rt):
    admin = _make(rt, "alice")
    with rt.session() as s:
        users.set_registration_open(s, admin=admin, is_open=False)
    with pytest.raises(Forbidden), rt.session() as s:
        users.register(s, username="bob", email="bob@example.com", name="", password=GOOD)


def test_lockout_after_five_failures_holds_across_sessions(rt):
    _make(rt, "alice")
    for _ in range(5):
        with pytest.raises(InvalidCredentials), rt.session() as s:
            users.authenticate(s, username="alice", password="wrong-pass-1", policy=POLICY)
    with pytest.raises(AccountLocked), rt.session() as s:
        users.authenticate(s, username="alice", password=GOOD, policy=POLICY)


def test_lock_expires_after_the_configured_minutes(rt):
    _make(rt, "alice")
    for _ in range(5):
        with rt.session() as s:
            users.record_failed_login(s, username="alice", policy=POLICY)
    later = utcnow() + timedelta(minutes=16)
    with rt.session() as s:
        assert users.authenticate(s, username="alice", password=GOOD, policy=POLICY, now=later)


def test_success_resets_the_failure_count(rt):
    _make(rt, "alice")
    for _ in range(4):
        with rt.session() as s:
            users.record_failed_login(s, username="alice", policy=POLICY)
    with rt.session() as s:
        users.authenticate(s, username="alice", password=GOOD, policy=POLICY)
    with rt.session() as s:
        users.record_failed_login(s, username="alice", policy=POLICY)
    with rt.read() as s:
        user = users.get_by_username(s, username="alice")
    assert user.failed_logins == 1 and user.locked_until is None


def test_locked_users_get_an_unusable_hash_and_disabled_users_none(rt):
    admin = _make(rt, "alice")
    bob = _make(rt, "bob")
    carol = _make(rt, "carol")
    with rt.session() as s:
        for _ in range(5):
            users.record_failed_login(s, username="bob", policy=POLICY)
        users.set_active(s, admin=admin, user_id=carol.id, active=False)
    with rt.read() as s:
        creds = users.authenticator_book(s)["usernames"]
    assert creds["bob"]["password"] == users.UNUSABLE_HASH != bob.password_hash
    assert "carol" not in creds
    assert creds["alice"]["roles"] == ["admin"]


def test_only_admins_manage_users_and_the_last_admin_stays(rt):
    admin = _make(rt, "alice")
    bob = _make(rt, "bob")
    with pytest.raises(Forbidden), rt.session() as s:
        users.unlock(s, admin=bob, user_id=admin.id)
    with pytest.raises(Forbidden), rt.session() as s:
        users.set_role(s, admin=admin, user_id=admin.id, role="trader")
    with pytest.raises(Forbidden), rt.session() as s:
        users.set_active(s, admin=admin, user_id=admin.id, active=False)


def test_change_password_requires_the_current_one(rt):
    user = _make(rt, "alice")
    with pytest.raises(InvalidCredentials), rt.session() as s:
        users.change_password(s, user=user, current="nope-nope-1", new="Another-Pass-7")
    with rt.session() as s:
        users.change_password(s, user=user, current=GOOD, new="Another-Pass-7")
    with rt.session() as s:
        assert users.authenticate(s, username="alice", password="Another-Pass-7", policy=POLICY)


def test_audit_log_records_actions_without_passwords(rt):
    admin = _make(rt, "alice")
    with rt.session() as s:
        users.change_password(s, user=admin, current=GOOD, new="Another-Pass-7")
    with rt.read() as s:
        rows = s.exec(select(AuditLog)).all()
    assert {"user.create", "user.password_change"} <= {r.action for r in rows}
    assert not any(GOOD in (r.detail + r.target) or "Another-Pass-7" in r.detail for r in rows)


def test_sql_looking_text_is_stored_as_data(rt):
    _make(rt, "alice")
    sqlish = "Robert'); DROP TABLE user;--"
    with rt.session() as s:
        users.register(s, username="bob", email="bob@example.com", name=sqlish, password=sqlish)
    with rt.read() as s:
        bob = users.get_by_username(s, username="bob")
        assert bob.name == sqlish
        assert len(users.list_users(s)) == 2


def test_admin_deletes_a_user_with_all_their_data(rt):
    from core.models import Bot, ExchangeAccount, Trade

    admin = _make(rt, "alice")
    bob = _make(rt, "bob")
    with rt.session() as s:
        acc = ExchangeAccount(owner_id=bob.id, label="p", exchange_id="sim", kind="paper")
        s.add(acc)
        s.flush()
        bot = Bot(
            owner_id=bob.id,
            account_id=acc.id,
            name="b",
            symbol="BTC/USDT",
            timeframe="1m",
            strategy="sma_cross",
        )
        s.add(bot)
        s.flush()
        s.add(Trade(bot_id=bot.id, symbol="BTC/USDT", amount=1, entry_ts=1, entry_price=1))
    with pytest.raises(InvalidInput), rt.session() as s:
        users.delete_user(s, admin=admin, user_id=bob.id, confirm_username="wrong")
    with rt.session() as s:
        users.delete_user(s, admin=admin, user_id=bob.id, confirm_username="bob")
    with rt.read() as s:
        assert users.get_by_username(s, username="bob") is None
        assert s.exec(select(func.count()).select_from(Trade)).one() == 0
        assert s.exec(select(func.count()).select_from(ExchangeAccount)).one() == 0
