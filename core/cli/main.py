"""Admin commands: `python -m core.cli COMMAND ...`.

Exit codes: 0 ok, 1 unhealthy / failed, 2 bad input (nothing written).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from core.cli import admin, backtest, market, vault
from core.cli.commands import COMMANDS, err
from core.errors import AppError, ConfigError

# Each feature owns its commands in its own module (`add_commands` + `@command`).
FEATURES = (admin, market, vault, backtest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for feature in FEATURES:
        feature.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        err(f"configuration error: {exc.message}")
        return 1
    except AppError as exc:
        err(f"error: {exc.message}")
        return 2
