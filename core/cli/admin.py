"""Operator commands: `doctor`, `migrate`, `create-user`."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

from core import users
from core.cli.commands import command, err, out, runtime
from core.errors import AppError, ConfigError
from core.platform import db, migrate
from core.platform.config import load_settings


def add_commands(sub) -> None:
    doctor = sub.add_parser("doctor", help="check settings, database, schema and data dir")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    sub.add_parser("migrate", help="bring the database schema to the latest version")
    create = sub.add_parser("create-user", help="create a user; the password is read from stdin")
    create.add_argument("username")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="")
    create.add_argument("--admin", action="store_true", help="give the admin role")


def doctor_report() -> dict:
    """Health of settings, secrets, database, schema and data dir as one dict."""
    report: dict = {"ok": False, "settings": {"ok": False}, "database": {}, "data_dir": {}}
    try:
        settings = load_settings()
    except ConfigError as exc:
        report["settings"] = {"ok": False, "error": exc.message}
        return report
    report["settings"] = {"ok": True, "env": settings.env, "secrets": "present"}
    data_dir = settings.data_dir.resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir):
            pass
        report["data_dir"] = {"ok": True, "path": str(data_dir)}
    except OSError as exc:
        report["data_dir"] = {"ok": False, "path": str(data_dir), "error": exc.strerror}
    engine = db.make_engine(settings.resolved_database_url)
    try:
        at_head = migrate.is_at_head(engine)
        report["database"] = {
            "ok": True,
            "backend": db.backend_name(engine),
            "journal_mode": db.journal_mode(engine),
            "schema_version": migrate.current_revision(engine),
            "schema_head": migrate.head_revision(),
            "schema_at_head": at_head,
        }
    except Exception as exc:  # noqa: BLE001 - any driver error means "unreachable"
        report["database"] = {
            "ok": False,
            "backend": db.backend_name(engine),
            "journal_mode": None,
            "schema_at_head": False,
            "error": type(exc).__name__,
        }
    finally:
        engine.dispose()
    dbinfo = report["database"]
    wal_ok = dbinfo.get("backend") != "sqlite" or dbinfo.get("journal_mode") == "wal"
    report["ok"] = bool(
        dbinfo.get("ok") and dbinfo.get("schema_at_head") and wal_ok and report["data_dir"]["ok"]
    )
    return report


@command("doctor")
def cmd_doctor(args: argparse.Namespace) -> int:
    report = doctor_report()
    if args.json:
        out(json.dumps(report, default=str))
    else:
        for section in ("settings", "data_dir", "database"):
            info = report[section]
            mark = "ok " if info.get("ok") else "BAD"
            details = ", ".join(f"{k}={v}" for k, v in info.items() if k != "ok")
            out(f"[{mark}] {section}: {details}")
        out("healthy" if report["ok"] else "NOT healthy")
    return 0 if report["ok"] else 1


@command("migrate")
def cmd_migrate(args: argparse.Namespace) -> int:
    rt = runtime()
    out(f"schema at {migrate.current_revision(rt.engine)}")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\r\n")


@command("create-user")
def cmd_create_user(args: argparse.Namespace) -> int:
    password = _read_password()
    rt = runtime()
    try:
        with rt.session() as session:
            user = users.create_user(
                session,
                username=args.username,
                email=args.email,
                name=args.name or args.username,
                password=password,
                role="admin" if args.admin else "trader",
            )
    except AppError as exc:
        err(f"error: {exc.message}")
        return 2
    out(f"created {user.role} {user.username!r} (id {user.id})")
    return 0
