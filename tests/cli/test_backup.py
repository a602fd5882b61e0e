"""`python -m core.cli backup FILE` / `restore FILE`: a round trip (backup, wipe, restore) gives
back the same users, bots, trades and accounts, and the stored keys decrypt with the same
master keys; restore refuses a live worker, a non-empty database without --force, a damaged or
foreign file, and says what to do with PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from core.models import Bot, ExchangeAccount, Trade, User, WorkerHeartbeat, utcnow
from core.platform import db, migrate
from core.platform.vault import Vault
from tests.conftest import TEST_MASTER_KEY
from tests.factories import GOOD_PASSWORD, make_bot, make_paper_account, make_user

ROOT = Path(__file__).resolve().parents[2]
OTHER_KEY = "b3RoZXItdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLSE="  # another valid Fernet key
API_SECRET = "vault-test-secret-Zq81xW"


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


def _world(rt) -> None:
    """Two people, a paper and a live account (encrypted key), bots and trades."""
    vault = Vault([TEST_MASTER_KEY])
    with rt.session() as s:
        alice = make_user(s, username="alice", password=GOOD_PASSWORD, role="admin")
        bob = make_user(s, username="bob")
        paper = make_paper_account(s, owner=alice)
        s.add(
            ExchangeAccount(
                owner_id=bob.id,
                label="binance main",
                exchange_id="binance",
                api_key_enc=vault.encrypt("api-key-0123456789"),
                secret_enc=vault.encrypt(API_SECRET),
                api_key_hint="api-…6789",
            )
        )
        bots = [make_bot(s, owner=alice, account_id=paper.id, name=f"b{n}") for n in range(3)]
        for n in range(5):
            s.add(
                Trade(
                    bot_id=bots[n % 3].id,
                    symbol="BTC/USDT",
                    status="closed",
                    amount=0.01 * (n + 1),
                    entry_ts=60_000 * n,
                    entry_price=100.0 + n,
                    exit_ts=60_000 * (n + 1),
                    exit_price=101.5 + n,
                    exit_reason="signal",
                    pnl=0.0123 * n,
                )
            )


def _snapshot(engine) -> dict:
    def rows(model, *skip: str):
        with db.read_session(engine) as s:
            return sorted(
                (
                    tuple(v for k, v in r.model_dump().items() if k not in skip)
                    for r in s.exec(select(model))
                ),
                key=repr,
            )

    return {
        "users": rows(User),
        "bots": rows(Bot),
        "trades": rows(Trade),
        "accounts": rows(ExchangeAccount),
    }


def _secrets(engine, keys: list[str]) -> list[str]:
    vault = Vault(keys)
    with db.read_session(engine) as s:
        live = s.exec(select(ExchangeAccount).where(ExchangeAccount.kind == "live")).all()
        return [vault.decrypt(a.secret_enc) for a in live]


def _wipe(data_dir: Path) -> None:
    db.dispose_engines()
    for name in ("steadybot.db", "steadybot.db-wal", "steadybot.db-shm"):
        (data_dir / name).unlink(missing_ok=True)


def test_backup_wipe_restore_gives_back_everything(rt, data_dir, tmp_path):
    _world(rt)
    before = _snapshot(rt.engine)
    assert len(before["users"]) == 2 and len(before["bots"]) == 3 and len(before["trades"]) == 5
    backup = tmp_path / "backups" / "steadybot.db"
    backup.parent.mkdir()

    made = cli("backup", str(backup))
    assert made.returncode == 0, made.stderr
    assert "2 users, 3 bots, 5 trades, 2 accounts" in made.stdout
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert not Path(f"{backup}-wal").exists()  # one self-contained file
    assert API_SECRET not in backup.read_bytes().decode("latin-1")  # encrypted inside

    _wipe(data_dir)
    restored = cli("restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "2 stored secret(s) decrypt with the configured master keys" in restored.stdout

    engine = db.make_engine(f"sqlite:///{data_dir / 'steadybot.db'}")
    try:
        assert _snapshot(engine) == before
        assert _secrets(engine, [TEST_MASTER_KEY]) == [API_SECRET]
        assert migrate.is_at_head(engine) and db.journal_mode(engine) == "wal"
    finally:
        engine.dispose()


def test_backup_is_online_and_takes_only_committed_rows(rt, tmp_path):
    _world(rt)
    backup = tmp_path / "b.db"
    with rt.session() as s:  # a writer holds the write lock while the backup runs
        s.add(User(username="carol", email="c@x.io", name="C", password_hash="x"))
        s.flush()
        made = cli("backup", str(backup))
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(backup) as conn:
        assert conn.execute('SELECT count(*) FROM "user"').fetchone()[0] == 2  # carol: later


def test_backup_does_not_replace_a_file_without_force(rt, tmp_path):
    backup = tmp_path / "b.db"
    backup.write_text("precious")
    refused = cli("backup", str(backup))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert backup.read_text() == "precious"
    assert cli("backup", str(backup), "--force").returncode == 0
    assert backup.read_bytes().startswith(b"SQLite format 3")


def test_restore_refuses_a_database_with_data_unless_forced(rt, tmp_path):
    _world(rt)
    backup = tmp_path / "b.db"
    assert cli("backup", str(backup)).returncode == 0
    with rt.session() as s:
        make_user(s, username="dora")
    refused = cli("restore", str(backup))
    assert refused.returncode == 2 and "not empty" in refused.stderr and "--force" in refused.stderr
    with rt.read() as s:
        assert s.exec(select(User).where(User.username == "dora")).first() is not None
    forced = cli("restore", str(backup), "--force")
    assert forced.returncode == 0, forced.stderr
    with rt.read() as s:
        assert s.exec(select(User).where(User.username == "dora")).first() is None


def test_restore_refuses_while_a_worker_is_alive(rt, tmp_path):
    backup = tmp_path / "b.db"
    assert cli("backup", str(backup)).returncode == 0
    with rt.session() as s:
        s.add(WorkerHeartbeat(worker_id="w", host="h", pid=1, version="t", last_beat=utcnow()))
    refused = cli("restore", str(backup), "--force")
    assert refused.returncode == 1 and "worker(s) are alive" in refused.stderr
    assert "supervisorctl" in refused.stderr
    with rt.session() as s:
        s.get(WorkerHeartbeat, "w").last_beat = utcnow() - timedelta(minutes=5)
    assert cli("restore", str(backup), "--force").returncode == 0


def test_restore_with_other_master_keys_says_the_keys_do_not_decrypt(rt, data_dir, tmp_path):
    _world(rt)
    backup = tmp_path / "b.db"
    assert cli("backup", str(backup)).returncode == 0
    _wipe(data_dir)
    result = cli("restore", str(backup), STEADYBOT_MASTER_KEYS=OTHER_KEY)
    assert result.returncode == 1
    assert "2 stored secret(s) do not decrypt" in result.stderr
    assert "STEADYBOT_MASTER_KEYS" in result.stderr


def test_an_older_backup_is_migrated_to_this_code(data_dir, tmp_path):
    old = tmp_path / "old.db"
    engine = db.make_engine(f"sqlite:///{old}")
    migrate.upgrade(engine, "0005")
    engine.dispose()
    result = cli("restore", str(old))
    assert result.returncode == 0, result.stderr
    assert f"schema 0005 -> {migrate.head_revision()}" in result.stdout


@pytest.mark.parametrize("kind", ["missing", "not sqlite", "foreign sqlite"])
def test_restore_refuses_what_is_not_a_steadybot_backup(data_dir, tmp_path, kind):
    source = tmp_path / "x.db"
    if kind == "not sqlite":
        source.write_text("hello " * 1000)
    elif kind == "foreign sqlite":
        with sqlite3.connect(source) as conn:
            conn.execute("CREATE TABLE t (x)")
    result = cli("restore", str(source))
    assert result.returncode == 2 and result.stderr.startswith("error:")
    assert not (data_dir / "steadybot.db").exists()


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_postgresql_gets_the_pg_dump_line_without_the_password(tmp_path, command):
    url = "postgresql://steadybot:hunter2-secret@db.example:5432/steadybot"
    result = cli(command, str(tmp_path / "x.dump"), STEADYBOT_DATABASE_URL=url)
    assert result.returncode == 2
    tool = "pg_dump --format=custom" if command == "backup" else "pg_restore --clean"
    assert tool in result.stderr and "steadybot@db.example:5432/steadybot" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
