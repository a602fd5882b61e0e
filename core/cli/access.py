"""Getting back in when nobody can sign in: `reset-password USER` (the new password from
stdin) and `unlock USER` / `unlock --address IP` (forget failed sign-ins, lift a block)."""

from __future__ import annotations

import argparse
import sys

from core.cli.commands import command, err, out, runtime


def add_commands(sub) -> None:
    reset = sub.add_parser(
        "reset-password",
        help="set a user's password (read from stdin); ends their sessions and sign-in delays",
    )
    reset.add_argument("username")
    unlock = sub.add_parser(
        "unlock", help="forget a user's failed sign-ins, or lift the block of a client address"
    )
    unlock.add_argument("username", nargs="?", default=None)
    unlock.add_argument("--address", default=None, help="a client IP address to unblock")


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("New password: ")
    return sys.stdin.readline().rstrip("\r\n")


@command("reset-password")
def cmd_reset_password(args: argparse.Namespace) -> int:
    from core import users

    password = _read_password()
    rt = runtime()
    with rt.session() as session:  # an AppError (bad password, no such user) writes nothing
        user = users.reset_password(session, username=args.username, new=password)
    out(f"password of {user.username!r} reset; their sessions ended")
    return 0


@command("unlock")
def cmd_unlock(args: argparse.Namespace) -> int:
    from core import users
    from core.errors import NotFound

    if not args.username and not args.address:
        err("error: give a USERNAME, --address IP, or both.")
        return 2
    rt = runtime()
    with rt.session() as session:
        if args.username:
            user = users.get_by_username(session, username=args.username)
            if user is None:
                raise NotFound("No such user.")
            users.forget_failures(session, username=user.username)
            out(f"{user.username!r}: failed sign-ins forgotten")
        if args.address:
            found = users.unblock_address(session, address=args.address)
            out(f"address {args.address}: {'unblocked' if found else 'was not throttled'}")
    return 0
