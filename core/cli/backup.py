"""`python -m core.cli backup FILE` and `restore FILE`: the SQLite database as one file.

backup: SQLite's online backup API, so the web and worker keep running; the copy is checked
(`PRAGMA integrity_check`), made a single self-contained file (journal mode DELETE), mode 0600,
and moved into place only when complete. restore: refuses while a worker is alive, and over a
database that holds users, bots or accounts unless `--force`; it copies the backup in with the
same API, migrates it to this code's schema, and checks that the stored API keys decrypt with
the configured master keys. For PostgreSQL both print the pg_dump / pg_restore line instead.

The master keys are never in the database: a restored database needs the STEADYBOT_MASTER_KEYS
it was made with (the env file), or its stored API keys must be re-entered.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from core.cli.commands import command, err, out
from core.errors import InvalidInput

# Rows that make a database worth protecting from an accidental restore over it.
PRECIOUS = ("user", "bot", "exchangeaccount")
COUNTED = ("user", "bot", "trade", "exchangeaccount")
BUSY_MS = 30_000
STOP_FIRST = (
    "stop the web and worker first (`supervisorctl -c supervisord.conf stop all`; with the "
    "embedded worker: stop `streamlit run`), wait a minute, then restore"
)


def add_commands(sub) -> None:
    backup = sub.add_parser(
        "backup", help="copy the SQLite database to FILE while the app runs (online backup)"
    )
    backup.add_argument("file", type=Path)
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    restore = sub.add_parser(
        "restore", help="put a backup in place of the database (stop the web and worker first)"
    )
    restore.add_argument("file", type=Path)
    restore.add_argument(
        "--force", action="store_true", help="replace a database that holds users, bots or keys"
    )


def _masked(url: str) -> str:
    """The URL with its password replaced by $PGPASSWORD (never printed)."""
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    if parts.password is None:
        return urlunsplit(parts)
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _sqlite_path(settings) -> Path | None:
    from sqlalchemy.engine import make_url

    from core.platform import db

    url = make_url(db.normalise_url(settings.resolved_database_url))
    if url.get_backend_name() != "sqlite":
        return None
    return Path(url.database or "").resolve()


def _postgres(settings, action: str, file: Path) -> int:
    url = _masked(settings.resolved_database_url)
    if action == "backup":
        line = f"pg_dump --format=custom --no-owner --file '{file}' '{url}'"
    else:
        line = f"pg_restore --clean --if-exists --no-owner --dbname '{url}' '{file}'"
    err(
        f"The database is PostgreSQL: this command copies SQLite files only. Use (README: Backup "
        f"and restore; PGPASSWORD holds the password):\n  {line}"
    )
    return 2


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    return conn


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _counts(conn: sqlite3.Connection, names=COUNTED) -> dict[str, int]:
    tables = _tables(conn)
    return {
        n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names if n in tables
    }


def _revision(conn: sqlite3.Connection) -> str | None:
    if "alembic_version" not in _tables(conn):
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def _summary(counts: dict[str, int]) -> str:
    names = {"user": "users", "bot": "bots", "trade": "trades", "exchangeaccount": "accounts"}
    return ", ".join(f"{counts.get(k, 0)} {v}" for k, v in names.items())


def _check_copy(conn: sqlite3.Connection, what: str) -> None:
    result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise InvalidInput(f"{what} is damaged (integrity_check: {result[:200]}).")


@command("backup")
def cmd_backup(args: argparse.Namespace) -> int:
    from core.platform.config import load_settings

    settings = load_settings()
    source = _sqlite_path(settings)
    target = args.file.expanduser().resolve()
    if source is None:
        return _postgres(settings, "backup", target)
    if not source.exists():
        raise InvalidInput(f"There is no database at {source} to back up.")
    if target == source:
        raise InvalidInput("FILE is the database itself: name another file.")
    if target.exists() and not args.force:
        raise InvalidInput(f"{target} exists: choose another name or add --force to replace it.")
    if not target.parent.is_dir():
        raise InvalidInput(f"{target.parent} is not a directory.")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # password hashes inside
    os.close(fd)
    try:
        with closing(_connect(source)) as src, closing(_connect(tmp)) as dst:
            src.backup(dst)  # one consistent snapshot; writers go on meanwhile (WAL)
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            _check_copy(dst, "The copy")
            revision, counts = _revision(dst), _counts(dst)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    size_mb = target.stat().st_size / 1e6
    out(f"backed up {source} to {target} ({size_mb:.1f} MB, schema {revision}): {_summary(counts)}")
    out(
        "The master keys are not in it: keep the STEADYBOT_MASTER_KEYS of this time (the env "
        "file) to read its stored API keys after a restore."
    )
    return 0


def _live_workers(conn: sqlite3.Connection) -> int:
    if "workerheartbeat" not in _tables(conn):
        return 0
    # last_beat is stored in UTC by SQLAlchemy as "YYYY-MM-DD HH:MM:SS[.ffffff]".
    return conn.execute(
        "SELECT count(*) FROM workerheartbeat WHERE last_beat >= datetime('now', '-60 seconds')"
    ).fetchone()[0]


def _key_check(rt) -> tuple[int, int]:
    """(secrets that decrypt, secrets that do not) with the configured master keys."""
    from sqlalchemy import select

    from core.errors import SecretUnreadable
    from core.platform.vault import ENCRYPTED, Vault

    vault = Vault.from_settings(rt.settings)
    good = bad = 0
    with rt.read() as session:
        for model, _pk, columns in ENCRYPTED:
            for row in session.execute(select(*(getattr(model, c) for c in columns))):
                for token in row:
                    if token is None:
                        continue
                    try:
                        vault.decrypt(token)
                        good += 1
                    except SecretUnreadable:
                        bad += 1
    return good, bad


@command("restore")
def cmd_restore(args: argparse.Namespace) -> int:
    from core.platform import db, migrate
    from core.platform.config import load_settings
    from core.platform.runtime import start

    settings = load_settings()
    target = _sqlite_path(settings)
    source = args.file.expanduser().resolve()
    if target is None:
        return _postgres(settings, "restore", source)
    if not source.is_file():
        raise InvalidInput(f"There is no backup at {source}.")
    if source == target:
        raise InvalidInput("FILE is the database itself.")
    try:
        with closing(_connect(source, readonly=True)) as src:
            _check_copy(src, f"{source}")
            revision, counts = _revision(src), _counts(src)
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{source} is not a SQLite database ({exc}).") from None
    if revision is None or "user" not in counts:
        raise InvalidInput(f"{source} is not a Steadybot database (no schema version).")
    from alembic.script import ScriptDirectory

    known = {r.revision for r in ScriptDirectory(str(migrate.MIGRATIONS_DIR)).walk_revisions()}
    if revision not in known:
        raise InvalidInput(
            f"{source} has schema {revision}, newer than this code (head "
            f"{migrate.head_revision()}): restore it with the version of Steadybot that made it."
        )
    if target.exists():
        with closing(_connect(target)) as conn:
            if alive := _live_workers(conn):
                err(f"error: {alive} worker(s) are alive on {target}: {STOP_FIRST}.")
                return 1
            held = {k: v for k, v in _counts(conn, PRECIOUS).items() if v}
            if held and not args.force:
                err(
                    f"error: {target} is not empty ({_summary(_counts(conn))}): add --force "
                    f"to replace it (back it up first: python -m core.cli backup FILE)."
                )
                return 2
    target.parent.mkdir(parents=True, exist_ok=True)
    db.dispose_engines()
    with closing(_connect(source, readonly=True)) as src, closing(_connect(target)) as dst:
        src.backup(dst)  # page by page into the live file: other connections see it whole
    rt = start("cli")  # WAL again, and migrations bring an older backup to this code's schema
    with closing(_connect(target)) as conn:
        restored = _counts(conn)
    out(
        f"restored {source} into {target}: {_summary(restored)}; schema {revision} -> "
        f"{migrate.current_revision(rt.engine)}"
    )
    good, bad = _key_check(rt)
    if bad:
        err(
            f"warning: {bad} stored secret(s) do not decrypt with the configured master keys "
            f"({good} do): put the STEADYBOT_MASTER_KEYS of the backup's time first in the env "
            "file and restart, or those accounts need their keys re-entered."
        )
        return 1
    out(f"{good} stored secret(s) decrypt with the configured master keys.")
    out("Start the web and worker again (`supervisorctl -c supervisord.conf start all`).")
    return 0
