"""The command registry shared by every `python -m core.cli` module.

A feature module adds its parsers in `add_commands(sub)` and registers each handler with
`@command(name)`; handlers return the exit code (0 ok, 1 unhealthy / failed, 2 bad input).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.platform.runtime import Runtime

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    """Register the decorated function as the handler of command `name`."""

    def register(fn):
        COMMANDS[name] = fn
        return fn

    return register


def out(text: str) -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


def runtime() -> Runtime:
    """The CLI's runtime: settings, logging and a migrated database (imported on first use:
    a CSV backtest needs none of it)."""
    from core.platform.runtime import start

    return start("cli")
