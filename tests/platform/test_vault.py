"""The key vault: encryption, unreadable tokens, and master-key rotation (resumable)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, MultiFernet
from sqlmodel import select

from core.errors import ConfigError, SecretUnreadable
from core.models import ExchangeAccount, NotificationSetting, User
from core.platform.vault import Vault, rotate_all
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]
K1, K2, K3 = (Fernet.generate_key().decode() for _ in range(3))
SECRET = "vault-test-secret-Zq81xW"


class Interrupted(Exception):
    pass


def _seed(rt, keys_per_row: list[str]) -> list[int]:
    """One user and one account per entry, each encrypted under the given key."""
    with rt.session() as s:
        user = make_user(s, username="owner")
        ids = []
        for n, key in enumerate(keys_per_row):
            vault = Vault([key])
            account = ExchangeAccount(
                owner_id=user.id,
                label=f"acc{n}",
                exchange_id="binance",
                api_key_enc=vault.encrypt(f"key-{n}-{SECRET}"),
                secret_enc=vault.encrypt(f"secret-{n}-{SECRET}"),
            )
            s.add(account)
            s.flush()
            ids.append(account.id)
    return ids


def _tokens(rt) -> list[bytes]:
    with rt.read() as s:
        rows = s.exec(select(ExchangeAccount).order_by(ExchangeAccount.id)).all()
    return [t for a in rows for t in (a.api_key_enc, a.secret_enc)]


def test_encrypt_then_decrypt_returns_the_plaintext():
    vault = Vault([K1])
    token = vault.encrypt(SECRET)
    assert SECRET.encode() not in token
    assert vault.decrypt(token) == SECRET


def test_a_token_under_an_unknown_key_raises_secret_unreadable_without_the_token():
    token = Vault([K2]).encrypt(SECRET)
    with pytest.raises(SecretUnreadable) as caught:
        Vault([K1]).decrypt(token)
    assert token.decode() not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_corrupted_token_raises_secret_unreadable():
    token = bytearray(Vault([K1]).encrypt(SECRET))
    token[20] ^= 0x01
    with pytest.raises(SecretUnreadable):
        Vault([K1]).decrypt(bytes(token))


def test_an_invalid_master_key_is_a_config_error_that_does_not_echo_it():
    with pytest.raises(ConfigError) as caught:
        Vault([K1, "not-a-fernet-key-but-secret"])
    assert "not-a-fernet-key-but-secret" not in caught.value.message
    assert "key number 2" in caught.value.message


def test_no_master_key_is_a_config_error():
    with pytest.raises(ConfigError):
        Vault([])


def test_rotation_moves_rows_under_every_key_to_the_primary(rt):
    _seed(rt, [K1, K2, K3, K2])
    report = rotate_all(rt.engine, Vault([K3, K1, K2]))
    assert report.rotated == 3 and report.current == 1 and report.unreadable == []
    primary_only = MultiFernet([Fernet(K3)])
    plain = [primary_only.decrypt(t).decode() for t in _tokens(rt)]
    assert plain[0] == f"key-0-{SECRET}" and plain[-1] == f"secret-3-{SECRET}"


def test_rotation_interrupted_after_a_batch_then_rerun_loses_nothing(rt):
    _seed(rt, [K1, K2] * 5)
    vault = Vault([K3, K1, K2])

    def stop(_report):
        raise Interrupted

    with pytest.raises(Interrupted):
        rotate_all(rt.engine, vault, batch_size=3, after_batch=stop)
    halfway = [Vault([K3]).is_primary(t) for t in _tokens(rt)]
    assert halfway.count(True) == 6  # the first batch (3 rows, 2 tokens each) committed
    report = rotate_all(rt.engine, vault, batch_size=3)
    assert report.rotated == 7 and report.current == 3
    primary_only = MultiFernet([Fernet(K3)])
    assert all(SECRET in primary_only.decrypt(t).decode() for t in _tokens(rt))


def test_rotation_reports_and_marks_unreadable_rows_and_keeps_going(rt):
    ids = _seed(rt, [K1, K2, K1])
    with rt.session() as s:
        s.get(ExchangeAccount, ids[1]).secret_enc = b"gAAAAA-corrupted"
    report = rotate_all(rt.engine, Vault([K3, K1, K2]))
    assert report.unreadable == [f"exchangeaccount {ids[1]}"]
    assert report.rotated == 2
    with rt.read() as s:
        broken = s.get(ExchangeAccount, ids[1])
    assert broken.status == "needs_reentry" and "no longer decrypts" in broken.status_reason


def test_rotation_covers_notification_urls(rt):
    _seed(rt, [K1])
    with rt.session() as s:
        user = s.exec(select(User)).one()
        s.add(NotificationSetting(user_id=user.id, urls_enc=Vault([K1]).encrypt("json://x")))
    rotate_all(rt.engine, Vault([K2, K1]))
    with rt.read() as s:
        token = s.exec(select(NotificationSetting)).one().urls_enc
    assert Vault([K2]).is_primary(token)


def test_cli_rotate_master_key_prints_the_count_and_is_rerunnable(rt, data_dir):
    _seed(rt, [K1, K2])
    env = {
        **os.environ,
        "STEADYBOT_DATA_DIR": str(data_dir),
        "STEADYBOT_MASTER_KEYS": f"{K3},{K1},{K2}",
    }
    cmd = [sys.executable, "-m", "core.cli", "rotate-master-key"]
    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert "rotated 2 row(s)" in first.stdout
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert "rotated 0 row(s); 2 already under the primary key" in again.stdout
    assert SECRET not in first.stdout + first.stderr + again.stdout + again.stderr


def test_rotation_on_postgresql_leaves_every_row_under_the_primary(pg_rt):
    _seed(pg_rt, [K1, K2, K3])
    report = rotate_all(pg_rt.engine, Vault([K3, K1, K2]), batch_size=2)
    assert report.rotated == 2 and report.current == 1
    assert all(Vault([K3]).is_primary(t) for t in _tokens(pg_rt))
