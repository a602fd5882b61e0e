"""`reset-password` and `unlock`: getting back in when nobody can sign in (real subprocesses)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core import users
from core.models import AuditLog, SignInThrottle
from core.platform.config import load_settings
from core.platform.runtime import start
from tests.cli.test_main import GOOD, cli

NEW = "Battery-Staple-42"


@pytest.fixture
def rt(data_dir):
    runtime = start("test", settings=load_settings())
    with runtime.session() as s:
        users.create_user(
            s, username="alice", email="alice@example.com", name="", password=GOOD, role="admin"
        )
    return runtime


def _throttle_alice(rt) -> None:
    for i in range(12):
        users.sign_in(rt, username="alice", password="wrong-pass-1", address=f"10.2.{i}.1")
    assert "Wait" in users.sign_in(rt, username="alice", password=GOOD, address="10.3.0.1").message


def test_reset_password_reads_stdin_ends_sessions_and_delays(rt):
    _throttle_alice(rt)
    with rt.session() as s:
        token = users.start_session(
            s, user=users.get_by_username(s, username="alice"), key=_key(rt), days=1
        )
    result = cli("reset-password", "alice", stdin=NEW + "\n")
    assert result.returncode == 0, result.stderr
    assert "reset" in result.stdout and NEW not in result.stdout + result.stderr
    with rt.read() as s:
        assert users.session_user(s, token=token, key=_key(rt)) is None
        assert "user.password_reset" in {a.action for a in s.exec(select(AuditLog))}
    assert users.sign_in(rt, username="alice", password=NEW, address="10.3.0.1").ok
    assert not users.sign_in(rt, username="alice", password=GOOD, address="10.3.0.1").ok


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["alice"], "Zq1x", "too short"),
        (["alice"], "", "required"),
        (["alice"], "alice", "too short"),
        (["nobody"], NEW, "No such user"),
    ],
)
def test_reset_password_bad_input_exits_2_and_changes_nothing(rt, args, password, message):
    with rt.read() as s:
        before = users.get_by_username(s, username="alice").password_hash
    result = cli("reset-password", *args, stdin=password + "\n")
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 2 and message in last
    assert not password or password not in last  # never echoed
    with rt.read() as s:
        assert users.get_by_username(s, username="alice").password_hash == before


def test_unlock_forgets_failures_and_unblocks_an_address(rt):
    _throttle_alice(rt)
    result = cli("unlock", "alice")
    assert result.returncode == 0 and "forgotten" in result.stdout
    assert users.sign_in(rt, username="alice", password=GOOD, address="10.3.0.1").ok
    with rt.session() as s:
        s.add(SignInThrottle(key="a:10.4.0.1", address="10.4.0.1", failures=30))
    result = cli("unlock", "--address", "10.4.0.1")
    assert result.returncode == 0 and "unblocked" in result.stdout
    with rt.read() as s:
        assert s.get(SignInThrottle, "a:10.4.0.1") is None


def test_unlock_bad_input_exits_2(rt):
    assert cli("unlock").returncode == 2
    result = cli("unlock", "nobody")
    assert result.returncode == 2 and "No such user" in result.stderr


def _key(rt) -> str:
    return rt.settings.cookie_key.get_secret_value()
