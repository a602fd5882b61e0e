"""`python -m core.cli rotate-master-key`: move every stored secret to the primary master key.

Put the new key first in STEADYBOT_MASTER_KEYS (keep the old ones after it), run this, and
remove the old keys only once it reports no unreadable rows. Safe to interrupt and run again.
"""

from __future__ import annotations

import argparse

from core.cli.commands import command, out, runtime


def add_commands(sub) -> None:
    rotate = sub.add_parser(
        "rotate-master-key", help="re-encrypt every stored secret with the first master key"
    )
    rotate.add_argument(
        "--batch-size", type=int, default=50, help="rows per committed batch (default 50)"
    )


@command("rotate-master-key")
def cmd_rotate_master_key(args: argparse.Namespace) -> int:
    # Imported here, not at the top: `python -m core.cli backtest` loads no database stack.
    from core.platform.vault import Vault, rotate_all

    rt = runtime()
    vault = Vault.from_settings(rt.settings)
    report = rotate_all(rt.engine, vault, batch_size=max(1, args.batch_size))
    out(f"rotated {report.rotated} row(s); {report.current} already under the primary key")
    if report.unreadable:
        out(
            f"{len(report.unreadable)} row(s) decrypt under no configured key and were marked "
            f"needs re-entry: {', '.join(report.unreadable)}"
        )
    return 0
