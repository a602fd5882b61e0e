"""`python -m worker`: the Huey consumer with the project's settings and logging.

SIGINT stops gracefully (running ticks finish); use it from supervisord (stopsignal=INT).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core.errors import ConfigError
from core.platform import envfile

DESCRIPTION = """\
Run one Steadybot worker: a Huey consumer that schedules the bots' ticks (unless
STEADYBOT_WORKER_SCHEDULER=0), runs them, sends notifications and beats every 5 s
(`python -m core.cli doctor` counts live workers). Settings come from STEADYBOT_*
variables, read first from the env file named by STEADYBOT_ENV_FILE (supervisord.conf
sets it); STEADYBOT_DATABASE_URL and STEADYBOT_QUEUE_URL choose the shared database and
queue, STEADYBOT_WORKER_THREADS the threads. Run as many as you like, on as many machines:
each tick is claimed in the database and runs once. Stop with SIGINT (Ctrl-C): running
ticks finish first."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m worker",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--env-file",
        default=None,
        help="read settings from this KEY=value file first (default: $STEADYBOT_ENV_FILE; "
        "variables already in the environment win)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)  # --help prints the usage and exits 0 before anything starts
    try:
        envfile.load_env_file(args.env_file, fallback=envfile.BOX_ENV_FILE)
        from core.platform.runtime import start

        rt = start("worker")
    except ConfigError as exc:
        sys.stderr.write(f"configuration error: {exc.message}\n")
        return 1
    from worker.service import build_service

    service = build_service(rt, mode="external")
    service.start_background()
    try:
        service.consumer().run()
    finally:
        service.stop_background()
    return 0


if __name__ == "__main__":
    sys.exit(main())
