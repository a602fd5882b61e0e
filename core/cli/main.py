"""Admin commands: `python -m core.cli COMMAND ...`.

Exit codes: 0 ok, 1 unhealthy / failed, 2 bad input (nothing written).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from core.cli import access, admin, backtest, backup, box, doctor, market, vault
from core.cli.commands import COMMANDS, err
from core.errors import AppError, ConfigError
from core.platform import envfile

# Each feature owns its commands in its own module (`add_commands` + `@command`).
FEATURES = (admin, access, doctor, box, backup, market, vault, backtest)
# Commands that do not read the env file first: setup-box writes it.
NO_ENV_FILE = {"setup-box"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.cli", description=__doc__)
    parser.add_argument(
        "--env-file",
        default=None,
        help="read settings from this KEY=value file first (default: $STEADYBOT_ENV_FILE, "
        "which supervisord.conf sets; variables already in the environment win)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for feature in FEATURES:
        feature.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command not in NO_ENV_FILE:
            envfile.load_env_file(args.env_file, fallback=envfile.BOX_ENV_FILE)
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        err(f"configuration error: {exc.message}")
        return 1
    except AppError as exc:
        err(f"error: {exc.message}")
        return 2
