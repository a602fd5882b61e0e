"""Operator commands, run as `python -m core.cli COMMAND` (see `main`).

Face: `main(argv)` and `doctor_report()`. One module per feature adds its commands.
"""

from core.cli.doctor import doctor_report
from core.cli.main import main

__all__ = ["doctor_report", "main"]
