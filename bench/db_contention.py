"""SQLite under several writer processes: core/platform/db.py (BEGIN IMMEDIATE) vs deferred BEGIN.

N processes run read-then-write transactions (read a counter, then update it and insert a row:
the pattern that fails with "database is locked" under deferred transactions) on ONE SQLite
file for a fixed time. Then the same against PostgreSQL when reachable. Prints a table, then
one JSON line: python bench/db_contention.py [--workers 8] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sqlalchemy import text

from core.platform import db


def schema(url: str) -> tuple[str, ...]:
    serial = "SERIAL" if url.startswith("postgres") else "INTEGER"
    return (
        "CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS entry (id {serial} PRIMARY KEY, worker INT, value INT)",
    )


def _engine(url: str, mode: str):
    engine = db.make_engine(url, busy_timeout_ms=5000)
    if mode == "deferred":
        engine = engine.execution_options(steadybot_sqlite_begin="DEFERRED")
    return engine


def worker(url: str, mode: str, seconds: float, ident: int, barrier, out) -> None:
    engine = _engine(url, mode)
    commits, errors, latencies = 0, 0, []
    # PostgreSQL needs the row lock for read-then-write (core.users does the same).
    lock = " FOR UPDATE" if url.startswith("postgres") else ""
    barrier.wait()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.perf_counter()
        try:
            with engine.begin() as conn:
                value = conn.execute(text(f"SELECT value FROM counter WHERE id = 1{lock}")).scalar()
                conn.execute(text("UPDATE counter SET value = :v WHERE id = 1"), {"v": value + 1})
                conn.execute(
                    text("INSERT INTO entry (worker, value) VALUES (:w, :v)"),
                    {"w": ident, "v": value + 1},
                )
            commits += 1
            latencies.append((time.perf_counter() - start) * 1000)
        except Exception as exc:  # noqa: BLE001 - counting failed transactions is the point
            errors += 1  # "database is locked" (or any failed transaction)
            if "locked" not in str(exc):
                print(f"worker {ident}: {type(exc).__name__}", file=sys.stderr)
    out.put((commits, errors, latencies))


def run(url: str, mode: str, workers: int, seconds: float) -> dict:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        for stmt in schema(url):
            conn.execute(text(stmt))
        conn.execute(text("DELETE FROM counter"))
        conn.execute(text("DELETE FROM entry"))
        conn.execute(text("INSERT INTO counter (id, value) VALUES (1, 0)"))
    engine.dispose()
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(url, mode, seconds, i, barrier, out))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    commits = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    engine = db.make_engine(url)
    with engine.connect() as conn:
        final = conn.execute(text("SELECT value FROM counter WHERE id = 1")).scalar()
    engine.dispose()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else None
    return {
        "commits": commits,
        "lock_errors": sum(r[1] for r in results),
        "commits_per_s": commits / seconds,
        "p99_commit_ms": p99,
        "p50_commit_ms": statistics.median(latencies) if latencies else None,
        "lost_updates": commits - final,
    }


def _pg_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def run_pg(workers: int, seconds: float) -> dict | None:
    if not _pg_available():
        return None
    import psycopg

    name = f"sbbench_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        return run(url, "immediate", workers, seconds)
    finally:
        db.dispose_engines()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        ours = run(url, "immediate", args.workers, args.seconds)
        control = run(f"sqlite:///{tmp}/control.db", "deferred", args.workers, args.seconds)
    pg = run_pg(args.workers, args.seconds)
    print(f"{'run':<34}{'commits/s':>11}{'lock errors':>13}{'p99 ms':>9}{'lost':>6}")
    for name, r in (
        ("SQLite, core/platform/db.py (IMMEDIATE)", ours),
        ("SQLite, deferred BEGIN", control),
        ("PostgreSQL, core/platform/db.py", pg),
    ):
        if r is None:
            print(f"{name:<34}{'(not reachable)':>24}")
            continue
        print(
            f"{name:<34}{r['commits_per_s']:>11.0f}{r['lock_errors']:>13}"
            f"{r['p99_commit_ms'] or 0:>9.1f}{r['lost_updates']:>6}"
        )
    print(
        json.dumps(
            {
                "workers": args.workers,
                "seconds": args.seconds,
                "lock_errors": ours["lock_errors"],
                "commits_per_s": round(ours["commits_per_s"], 1),
                "p99_commit_ms": round(ours["p99_commit_ms"], 2),
                "lost_updates": ours["lost_updates"],
                "control_lock_errors": control["lock_errors"],
                "control_commits_per_s": round(control["commits_per_s"], 1),
                "control_lost_updates": control["lost_updates"],
                "pg_commits_per_s": round(pg["commits_per_s"], 1) if pg else None,
                "pg_p99_commit_ms": round(pg["p99_commit_ms"], 2) if pg else None,
                "pg_errors": pg["lock_errors"] if pg else None,
                "pg_lost_updates": pg["lost_updates"] if pg else None,
            }
        )
    )


if __name__ == "__main__":
    main()
