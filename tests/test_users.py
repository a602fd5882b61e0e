"""Users service: registration rules and modes, the first admin (one, even racing), roles,
server-side sessions and their revocation, sign-in throttling, bad input."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from core import users
from core.errors import AppError, Conflict, Forbidden, InvalidCredentials, InvalidInput, NotFound
from core.models import AppSetting, AuditLog, SignInThrottle, User, UserSession
from tests.conftest import TEST_COOKIE_KEY, make_settings

GOOD = "Correct-Horse-9"
BAD_TEXT = [
    "",
    "   ",
    "x" * 10_000,
    "a\x00b",
    "'; DROP TABLE user; --",
    "\u202e\u0000",
    "ünïcødé\n",
]


@pytest.fixture
def settings_factory(data_dir):
    return lambda **kw: make_settings(data_dir, **kw)


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
    assert users.sign_in(rt, username="alice", password="Another-Pass-7", address=None).ok
    assert not users.sign_in(rt, username="alice", password=GOOD, address=None).ok


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


# --- registration modes and the first admin ---------------------------------------------------

INVITE = users.Registration(mode="invite", setup_token=True)
CLOSED = users.Registration(mode="closed", setup_token=True)
PROD_OPEN = users.Registration(mode="open", setup_token=True)


def _register(rt, name, rules=users.Registration()):
    with rt.session() as s:
        return users.register(
            s, username=name, email=f"{name}@example.com", name=name, password=GOOD, rules=rules
        )


def _admins(rt) -> int:
    with rt.read() as s:
        return s.exec(select(func.count()).select_from(User).where(User.role == "admin")).one()


def test_settings_decide_the_registration_mode(settings_factory):
    dev, prod = settings_factory(env="development"), settings_factory(env="production")
    assert dev.registration_mode == "open" and prod.registration_mode == "closed"
    assert users.Registration.from_settings(dev) == users.Registration("open", False)
    assert users.Registration.from_settings(prod) == users.Registration("closed", True)
    explicit = settings_factory(env="production", registration="OPEN ")
    assert users.Registration.from_settings(explicit) == users.Registration("open", True)
    assert settings_factory(env="development", registration="invite").registration_mode == "invite"


def test_a_bad_registration_setting_is_refused(monkeypatch):
    from core.errors import ConfigError
    from core.platform.config import load_settings

    monkeypatch.setenv("STEADYBOT_REGISTRATION", "everyone")
    with pytest.raises(ConfigError, match="STEADYBOT_REGISTRATION"):
        load_settings()


@pytest.mark.parametrize("rules", [INVITE, CLOSED, PROD_OPEN])
def test_without_an_admin_the_first_account_needs_the_setup_token(rt, rules):
    with pytest.raises(Forbidden, match="setup token"):
        _register(rt, "mallory", rules)
    assert _counts(rt)[0] == 0


def test_invite_and_closed_refuse_sign_ups_and_only_invite_lets_admins_create(rt):
    admin = _make(rt, "alice")
    for rules in (INVITE, CLOSED):
        with pytest.raises(Forbidden, match="closed"):
            _register(rt, "bob", rules)
    with pytest.raises(Forbidden, match="create-user"), rt.session() as s:
        users.admin_create_user(
            s, admin=admin, rules=CLOSED, username="bob", email="b@x.io", name="", password=GOOD
        )
    with rt.session() as s:
        bob = users.admin_create_user(
            s, admin=admin, rules=INVITE, username="bob", email="b@x.io", name="", password=GOOD
        )
    assert bob.role == "trader"
    with pytest.raises(Forbidden), rt.session() as s:  # a trader cannot invite
        users.admin_create_user(
            s, admin=bob, rules=INVITE, username="eve", email="e@x.io", name="", password=GOOD
        )
    assert _register(rt, "carol", PROD_OPEN).role == "trader"  # open, and an admin exists


def _setup(rt, token, name="root", **kw):
    with rt.session() as s:
        return users.create_first_admin(
            s,
            token=token,
            username=kw.get("username", name),
            email=kw.get("email", f"{name}@example.com"),
            name=name,
            password=kw.get("password", GOOD),
        )


def test_the_setup_token_makes_one_first_admin_once(rt):
    with rt.session() as s:
        token = users.issue_setup_token(s)
    with rt.read() as s:  # only a hash is stored
        assert token not in str(s.exec(select(func.group_concat(AppSetting.value))).one())
    for wrong in ("", "nope", token + "x", token[:-1]):
        with pytest.raises(InvalidInput, match="setup token"):
            _setup(rt, wrong)
    with pytest.raises(InvalidInput):  # bad input is refused before the token is looked at
        _setup(rt, token, username="x")
    assert _counts(rt)[0] == 0
    admin = _setup(rt, token)
    assert admin.role == "admin"
    with pytest.raises(Forbidden, match="already exists"):
        _setup(rt, token, "second")
    with rt.session() as s:
        assert users.issue_setup_token(s) is None  # an admin exists: no token any more
    assert _admins(rt) == 1


def test_an_expired_setup_token_is_refused(rt):
    from datetime import timedelta

    from core.models import utcnow

    with rt.session() as s:
        token = users.issue_setup_token(s, now=utcnow() - timedelta(hours=25))
    with pytest.raises(InvalidInput, match="expired"):
        _setup(rt, token)


def test_the_setup_token_is_printed_in_the_log_on_a_production_start(data_dir, caplog):
    from core.platform.runtime import start
    from tests.conftest import make_settings

    rt = start("test", settings=make_settings(data_dir, env="production"))
    with caplog.at_level("WARNING", logger="core.users.store"):
        token = users.announce_setup_token(rt)
    assert token and token in caplog.text
    assert users.announce_setup_token(start("test", settings=make_settings(data_dir))) is None


def _race(rt, make, n=8):
    """n threads call make(session, i) at the same moment; each returns a role or an error."""
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait()
        try:
            with rt.session() as s:
                return make(s, i).role
        except AppError as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def _sign_up(s, i):
    return users.register(
        s, username=f"user{i}", email=f"user{i}@example.com", name="", password=GOOD
    )


def test_exactly_one_first_admin_when_registrations_race_sqlite(rt):
    roles = _race(rt, _sign_up)
    assert sorted(roles) == ["admin"] + ["trader"] * 7
    assert _admins(rt) == 1


def test_exactly_one_first_admin_when_registrations_race_postgresql(pg_rt):
    roles = _race(pg_rt, _sign_up)
    assert sorted(roles) == ["admin"] + ["trader"] * 7
    assert _admins(pg_rt) == 1


def test_exactly_one_first_admin_when_setup_tokens_race_postgresql(pg_rt):
    with pg_rt.session() as s:
        token = users.issue_setup_token(s)

    def first_admin(s, i):
        return users.create_first_admin(
            s, token=token, username=f"root{i}", email=f"r{i}@x.io", name="", password=GOOD
        )

    outcomes = _race(pg_rt, first_admin)
    assert outcomes.count("admin") == 1 and set(outcomes) == {"admin", "Forbidden"}
    assert _admins(pg_rt) == 1


# --- sessions -----------------------------------------------------------------------------------

KEY = TEST_COOKIE_KEY


def _session(rt, user, **kw):
    with rt.session() as s:
        return users.start_session(
            s, user=s.get(User, user.id), key=KEY, days=kw.get("days", 7), now=kw.get("now")
        )


def _who(rt, token, now=None):
    with rt.read() as s:
        user = users.session_user(s, token=token, key=KEY, now=now)
        return user.username if user else None


def test_a_session_token_is_random_stored_hashed_and_checked(rt):
    alice = _make(rt, "alice")
    one, two = _session(rt, alice), _session(rt, alice)
    assert one != two and len(one) >= 40
    assert _who(rt, one) == _who(rt, two) == "alice"
    with rt.read() as s:
        stored = [r.token_hash for r in s.exec(select(UserSession))]
    assert one not in stored and two not in stored
    with rt.read() as s:  # another cookie key (rotated): no session is valid any more
        assert users.session_user(s, token=one, key=KEY + "-rotated") is None


def test_log_out_ends_only_that_session(rt):
    alice = _make(rt, "alice")
    here, there = _session(rt, alice), _session(rt, alice)
    with rt.session() as s:
        assert users.end_session(s, token=here, key=KEY) == 1
    assert _who(rt, here) is None  # a copy of this cookie no longer works
    assert _who(rt, there) == "alice"


def test_sessions_expire(rt):
    from datetime import timedelta

    from core.models import utcnow

    token = _session(rt, _make(rt, "alice"), days=1)
    assert _who(rt, token, now=utcnow() + timedelta(hours=23)) == "alice"
    assert _who(rt, token, now=utcnow() + timedelta(hours=25)) is None


@pytest.mark.parametrize("how", ["password", "everywhere", "disable", "role", "reset"])
def test_these_end_every_session_of_the_user(rt, how):
    admin = _make(rt, "alice")
    bob = _make(rt, "bob")
    tokens = [_session(rt, bob), _session(rt, bob)]
    admin_token = _session(rt, admin)
    with rt.session() as s:
        target = s.get(User, bob.id)
        if how == "password":
            users.change_password(s, user=target, current=GOOD, new="Another-Pass-7")
        elif how == "everywhere":
            assert users.sign_out_everywhere(s, user=target) == 2
        elif how == "disable":
            users.set_active(s, admin=admin, user_id=bob.id, active=False)
        elif how == "role":
            users.set_role(s, admin=admin, user_id=bob.id, role="admin")
        else:
            users.reset_password(s, username="bob", new="Another-Pass-7")
    assert [_who(rt, t) for t in tokens] == [None, None]
    assert _who(rt, admin_token) == "alice"  # nobody else's
    with rt.read() as s:
        assert users.live_sessions(s, user_id=bob.id) == 0


def test_a_deleted_users_cookie_never_signs_in_a_namesake(rt):
    admin = _make(rt, "alice")
    token = _session(rt, _make(rt, "bob"))
    with rt.session() as s:
        users.delete_user(
            s,
            admin=admin,
            user_id=users.get_by_username(s, username="bob").id,
            confirm_username="bob",
        )
    _make(rt, "bob")  # a new person takes the name
    assert _who(rt, token) is None
    with rt.read() as s:
        assert s.exec(select(func.count()).select_from(UserSession)).one() == 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token=st.one_of(st.none(), st.integers(), st.text(max_size=300), st.binary(max_size=64)))
def test_any_value_as_a_token_is_simply_not_a_session(rt, token):
    with rt.read() as s:
        assert users.session_user(s, token=token, key=KEY) is None
    with rt.session() as s:
        assert users.end_session(s, token=token, key=KEY) == 0


# --- sign-in throttling -----------------------------------------------------------------------

HOME, EVIL, NEW = "198.51.100.7", "203.0.113.66", "192.0.2.9"


def _try(rt, name, password, address, t):
    return users.sign_in(rt, username=name, password=password, address=address, now=t)


@pytest.fixture
def t0():
    from core.models import utcnow

    return utcnow()


def test_unknown_users_and_wrong_passwords_get_the_same_answers(rt, t0):
    from datetime import timedelta

    _make(rt, "alice")
    answers = {}
    for name, address in (("alice", EVIL), ("nobody", NEW)):
        t, seen = t0, []
        for i in range(9):
            result = _try(rt, name, f"guess-{i}", address, t)
            seen.append((result.ok, result.message, round(result.wait_s, 3)))
            t += timedelta(milliseconds=500)
        answers[name] = seen
    assert answers["alice"] == answers["nobody"]
    assert answers["alice"][0] == (False, "Wrong username or password.", 0)


def test_delays_grow_after_the_free_attempts(rt, t0):
    from datetime import timedelta

    _make(rt, "alice")
    messages = [_try(rt, "alice", "wrong-pass-1", EVIL, t0).message for _ in range(7)]
    assert messages[:6] == [users.WRONG] * 6 and "Wait 1 second" in messages[6]
    t = t0 + timedelta(seconds=1)
    assert _try(rt, "alice", "wrong-pass-1", EVIL, t).message == users.WRONG
    assert "Wait 2 second" in _try(rt, "alice", GOOD, EVIL, t).message  # not even checked
    assert _try(rt, "alice", GOOD, EVIL, t + timedelta(seconds=2)).ok


def test_five_wrong_passwords_do_not_stop_the_right_one(rt, t0):
    _make(rt, "alice")
    for _ in range(5):
        assert _try(rt, "alice", "wrong-pass-1", HOME, t0).message == users.WRONG
    assert _try(rt, "alice", GOOD, HOME, t0).ok


def test_an_attacker_elsewhere_never_locks_the_admin_out(rt, t0):
    from datetime import timedelta

    assert _make(rt, "alice").role == "admin"
    assert _try(rt, "alice", GOOD, HOME, t0).ok  # HOME is now one of alice's addresses
    t, answers = t0, []
    for i in range(25):  # the attacker even waits out every delay
        t += timedelta(seconds=61)
        answers.append(_try(rt, "alice", f"guess-{i}", EVIL, t).message)
    assert answers.count(users.WRONG) == 20
    assert "network address" in answers[-1]  # EVIL is blocked
    assert not _try(rt, "alice", GOOD, EVIL, t).ok  # blocked even with the right password
    # alice, from her own address, at the same moment: straight in, as often as she likes
    for _ in range(3):
        assert _try(rt, "alice", GOOD, HOME, t).ok
    # the block is temporary
    later = t + timedelta(minutes=16)
    assert _try(rt, "alice", GOOD, EVIL, later).ok


def test_a_distributed_attack_only_slows_new_addresses(rt, t0):
    from datetime import timedelta

    _make(rt, "alice")
    assert _try(rt, "alice", GOOD, HOME, t0).ok
    for i in range(30):  # one guess from each of 30 addresses
        assert _try(rt, "alice", "wrong-pass-1", f"10.0.{i}.1", t0).message == users.WRONG or i
    slowed = _try(rt, "alice", GOOD, NEW, t0)
    assert not slowed.ok and 0 < slowed.wait_s <= 60 and "Wait" in slowed.message
    assert _try(rt, "alice", GOOD, HOME, t0).ok  # her own address: not slowed
    assert _try(rt, "alice", GOOD, NEW, t0 + timedelta(seconds=61)).ok  # never a lock


def test_unlock_ends_the_delays(rt, t0):
    admin = _make(rt, "alice")
    bob = _make(rt, "bob")
    for i in range(12):
        _try(rt, "bob", "wrong-pass-1", f"10.1.{i}.1", t0)
    assert "Wait" in _try(rt, "bob", GOOD, NEW, t0).message
    with rt.read() as s:
        policy = users.ThrottlePolicy.from_settings(rt.settings)
        assert "bob" in {r.username for r in users.throttled(s, policy=policy, now=t0)}
    with pytest.raises(Forbidden), rt.session() as s:
        users.unlock(s, admin=bob, user_id=bob.id)
    with rt.session() as s:
        users.unlock(s, admin=admin, user_id=bob.id)
    assert _try(rt, "bob", GOOD, NEW, t0).ok


def test_unblock_address(rt, t0):
    from datetime import timedelta

    _make(rt, "alice")
    t = t0
    for i in range(20):  # one guess for each of 20 names, waiting out the address's delays
        t += timedelta(seconds=61)
        assert _try(rt, f"user{i}", "wrong-pass-1", EVIL, t).message == users.WRONG
    assert "network address" in _try(rt, "alice", GOOD, EVIL, t).message
    with rt.session() as s:
        assert users.unblock_address(s, address=EVIL) == 1
    assert _try(rt, "alice", GOOD, EVIL, t).ok


def test_parallel_guesses_cannot_share_a_free_slot(rt, t0):
    _make(rt, "alice")
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda i: _try(rt, "alice", f"wrong-{i}", EVIL, t0), range(12)))
    # five free failures, then the sixth goes through (delay after 5 = 0); the rest must wait
    assert sum(r.message == users.WRONG for r in results) == 6
    assert all("Wait" in r.message for r in results if r.message != users.WRONG)


def test_a_disabled_user_is_told_only_with_the_right_password(rt, t0):
    admin = _make(rt, "alice")
    bob = _make(rt, "bob")
    with rt.session() as s:
        users.set_active(s, admin=admin, user_id=bob.id, active=False)
    assert _try(rt, "bob", "wrong-pass-1", NEW, t0).message == users.WRONG
    assert "disabled" in _try(rt, "bob", GOOD, NEW, t0).message


def test_client_addresses_are_normalised():
    assert users.client_address(None) == users.client_address("127.0.0.1") == "local"
    assert users.client_address("::1") == "local"
    assert users.client_address("::ffff:203.0.113.5") == "203.0.113.5"
    assert users.client_address("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert users.client_address("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert users.client_address("not an address") == users.client_address(7) == "unknown"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    username=st.one_of(st.none(), st.integers(), st.text(max_size=80)),
    password=st.one_of(st.none(), st.binary(max_size=20), st.text(max_size=120)),
    address=st.one_of(st.none(), st.text(max_size=60), st.ip_addresses().map(str)),
)
def test_any_sign_in_input_is_refused_with_a_message(rt, username, password, address):
    result = users.sign_in(rt, username=username, password=password, address=address)
    assert not result.ok and result.token is None and result.message
    with rt.read() as s:
        assert s.exec(select(func.count()).select_from(UserSession)).one() == 0
        keys = [r.key for r in s.exec(select(SignInThrottle))]
    assert all(len(k) <= 160 and k.isprintable() for k in keys)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(new=st.one_of(st.none(), st.text(max_size=100)))
def test_reset_password_accepts_a_good_password_or_changes_nothing(rt, new):
    with rt.session() as s:
        if users.get_by_username(s, username="alice") is None:
            users.register(s, username="alice", email="a@x.io", name="", password=GOOD)
    with rt.read() as s:
        before = users.get_by_username(s, username="alice").password_hash
    try:
        with rt.session() as s:
            users.reset_password(s, username="alice", new=new)
    except InvalidInput as exc:
        assert exc.message and (not new or len(new) < 4 or new not in exc.message)
        with rt.read() as s:
            assert users.get_by_username(s, username="alice").password_hash == before
    with pytest.raises(NotFound), rt.session() as s:
        users.reset_password(s, username="nobody", new=GOOD)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    token=st.one_of(st.none(), st.text(max_size=60)),
    username=st.text(max_size=40),
    email=st.text(max_size=40),
)
def test_the_first_admin_form_refuses_any_bad_input_and_writes_nothing(rt, token, username, email):
    with rt.session() as s:
        users.issue_setup_token(s)  # a real one exists; the typed one is something else
    before = _counts(rt)
    with pytest.raises(InvalidInput) as err, rt.session() as s:
        users.create_first_admin(
            s, token=token, username=username, email=email, name="", password=GOOD
        )
    assert err.value.message and GOOD not in err.value.message
    assert _counts(rt)[0] == before[0] == 0
