"""Engines and sessions for SQLite (WAL) and PostgreSQL.

SQLite: every connection sets WAL, busy_timeout, synchronous=NORMAL, foreign keys and
secure_delete (erased secrets are zeroed, not left in free pages), and
transactions start with `BEGIN IMMEDIATE` — WAL plus a timeout alone still fails with
"database is locked" when a deferred transaction reads and then writes (it cannot upgrade its
read lock while another writer waits; bench/db_contention.py shows both).
Read-only work can use `read_session()`, which starts a deferred transaction so readers never
queue behind writers. PostgreSQL (psycopg 3) gets pool pre-ping.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import BigInteger, Engine, create_engine, event, literal_column, select
from sqlalchemy.engine import make_url
from sqlmodel import Session

from core.errors import ConfigError

_SQLITE_BEGIN = "steadybot_sqlite_begin"
_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def normalise_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def backend_name(engine: Engine) -> str:
    return "postgresql" if engine.dialect.name == "postgresql" else engine.dialect.name


def make_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    """A new engine for `url` (use `get_engine` for the shared per-process one)."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises several types here
        raise ConfigError(f"STEADYBOT_DATABASE_URL is not a valid database URL ({exc}).") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, busy_timeout_ms)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise ConfigError(
        f"Unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL."
    )


def _sqlite_engine(url: str, database: str | None, busy_timeout_ms: int) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        pool_pre_ping=False,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")  # first: the next may wait
        _set_wal(cur, busy_timeout_ms)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # Deleted or overwritten content is zeroed in the file, not left in free space: an
        # erased API key is gone from the database file once the WAL is checkpointed.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        mode = conn.get_execution_options().get(_SQLITE_BEGIN, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _set_wal(cur, busy_timeout_ms: int) -> None:
    """Switching a fresh file to WAL can report "locked" without waiting when another process
    switches it at the same moment: retry within the busy timeout."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def get_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    """The shared engine for `url` in this process."""
    url = normalise_url(url)
    with _engines_lock:
        if url not in _engines:
            _engines[url] = make_engine(url, busy_timeout_ms=busy_timeout_ms)
        return _engines[url]


def dispose_engines() -> None:
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A write session: commits on success, rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A read-only session (deferred BEGIN on SQLite, so it never waits for writers)."""
    bind = engine
    if engine.dialect.name == "sqlite":
        bind = engine.execution_options(**{_SQLITE_BEGIN: "DEFERRED"})
    # Closing (not rolling back) ends the transaction and keeps loaded objects usable.
    with Session(bind, expire_on_commit=False) as session:
        yield session


def journal_mode(engine: Engine) -> str | None:
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())


def now_ms(session: Session):
    """The database server's clock in epoch milliseconds, as a SQL expression: leases and
    order deadlines use one clock for every worker, whatever the hosts' clocks say."""
    if session.get_bind().dialect.name == "postgresql":
        sql = "(extract(epoch from clock_timestamp()) * 1000)::bigint"
    else:
        sql = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
    return literal_column(sql, type_=BigInteger)


def read_now_ms(session: Session) -> int:
    """The database server's clock, read once (epoch ms)."""
    return int(session.execute(select(now_ms(session))).scalar_one())
