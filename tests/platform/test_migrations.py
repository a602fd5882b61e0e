"""Migrations keep data, are idempotent, safe to run from two processes, and match the models."""

from __future__ import annotations

import multiprocessing as mp

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from core.platform import db, migrate


def _rows_survive_upgrade(url: str) -> None:
    engine = db.make_engine(url)
    migrate.upgrade(engine, "0001")
    assert migrate.current_revision(engine) == "0001"
    with db.session_scope(engine) as s:
        s.execute(
            text(
                'INSERT INTO "user" (username, email, name, password_hash, role, is_active, '
                "failed_logins, created_at, password_changed_at) VALUES ('old', 'o@x.io', 'Old', "
                "'h', 'admin', true, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        s.execute(
            text(
                "INSERT INTO auditlog (ts, actor, action, target, detail) VALUES "
                "('2026-01-01 00:00:00', 'old', 'user.create', 'old', '')"
            )
        )
    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    with engine.connect() as conn:
        assert conn.execute(text('SELECT username FROM "user"')).scalar() == "old"
        assert conn.execute(text("SELECT count(*) FROM auditlog")).scalar() == 1
    engine.dispose()


def test_first_revision_rows_survive_the_upgrade_sqlite(tmp_path):
    _rows_survive_upgrade(f"sqlite:///{tmp_path / 'm.db'}")


def test_first_revision_rows_survive_the_upgrade_postgresql(pg_url):
    _rows_survive_upgrade(pg_url)


def test_upgrading_twice_is_a_no_op(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'twice.db'}")
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def _migrate(url: str, barrier) -> None:
    barrier.wait()
    migrate.upgrade(db.make_engine(url))


def test_two_processes_migrating_one_fresh_file_both_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_migrate, args=(url, barrier)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert migrate.is_at_head(db.make_engine(url))


def test_the_models_match_the_migrations(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cmp.db'}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diffs == []
