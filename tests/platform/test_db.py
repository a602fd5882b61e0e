"""core.platform.db: pragmas, BEGIN IMMEDIATE under several writer processes, sessions,
PostgreSQL."""

from __future__ import annotations

import multiprocessing as mp
import threading

import pytest
from sqlalchemy import text

from core.errors import ConfigError
from core.platform import db


def _writer(url: str, rounds: int, barrier, out) -> None:
    engine = db.make_engine(url)
    errors = commits = 0
    barrier.wait()
    for _ in range(rounds):
        try:
            with db.session_scope(engine) as s:
                value = s.execute(text("SELECT value FROM counter WHERE id = 1")).scalar()
                s.execute(text("UPDATE counter SET value = :v WHERE id = 1"), {"v": value + 1})
            commits += 1
        except Exception as exc:  # noqa: BLE001 - the test counts these
            errors += 1 if "locked" in str(exc) else 1000
    out.put((commits, errors))


def test_four_processes_reading_then_writing_get_no_lock_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = db.make_engine(url)
    with db.session_scope(engine) as s:
        s.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))
        s.execute(text("INSERT INTO counter VALUES (1, 0)"))
    ctx = mp.get_context("spawn")
    workers, rounds = 5, 150
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, rounds, barrier, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    assert sum(e for _c, e in results) == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM counter")).scalar() == workers * rounds


def test_every_connection_gets_the_pragmas(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'p.db'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        values = [
            conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in (
                "journal_mode",
                "busy_timeout",
                "synchronous",
                "foreign_keys",
                "secure_delete",
            )
        ]
    assert values == ["wal", 1234, 1, 1, 1]  # secure_delete: erased secrets are zeroed


def test_readers_do_not_wait_for_an_open_write_transaction(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    with db.session_scope(engine) as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
        s.execute(text("INSERT INTO t VALUES (1)"))
    writing, done = threading.Event(), threading.Event()

    def writer():
        with db.session_scope(engine) as s:
            s.execute(text("INSERT INTO t VALUES (2)"))
            writing.set()
            done.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    writing.wait(10)
    with db.read_session(engine) as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 1
    done.set()
    thread.join()


def test_a_failed_transaction_writes_nothing(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'f.db'}")
    with db.session_scope(engine) as s:
        s.execute(text("CREATE TABLE t (x INTEGER NOT NULL)"))
    with pytest.raises(RuntimeError), db.session_scope(engine) as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("half-way")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_postgresql_engine_with_the_same_sessions(pg_url):
    engine = db.make_engine(pg_url)
    assert db.backend_name(engine) == "postgresql" and engine.pool._pre_ping
    with db.session_scope(engine) as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
        s.execute(text("INSERT INTO t VALUES (1)"))
    with db.read_session(engine) as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 1
    assert db.journal_mode(engine) is None
    engine.dispose()


@pytest.mark.parametrize("url", ["mysql://x@localhost/db", "not a url at all"])
def test_unsupported_or_invalid_urls_are_config_errors(url):
    with pytest.raises(ConfigError):
        db.make_engine(url)
