"""Operator commands: `migrate`, `create-user` (`doctor` is in core.cli.doctor)."""

from __future__ import annotations

import argparse
import sys

from core.cli.commands import command, err, out, runtime
from core.errors import AppError


def add_commands(sub) -> None:
    sub.add_parser("migrate", help="bring the database schema to the latest version")
    create = sub.add_parser("create-user", help="create a user; the password is read from stdin")
    create.add_argument("username")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="")
    create.add_argument("--admin", action="store_true", help="give the admin role")


@command("migrate")
def cmd_migrate(args: argparse.Namespace) -> int:
    from core.platform import migrate

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
    from core import users

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
