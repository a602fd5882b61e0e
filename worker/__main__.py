"""`python -m worker`: the Huey consumer with the project's settings and logging.

SIGINT stops gracefully (running ticks finish); use it from supervisord (stopsignal=INT).
"""

from __future__ import annotations

import sys

from core.errors import ConfigError
from core.platform.runtime import start
from worker.service import build_service


def main() -> int:
    try:
        rt = start("worker")
    except ConfigError as exc:
        sys.stderr.write(f"configuration error: {exc.message}\n")
        return 1
    service = build_service(rt, mode="external")
    service.start_background()
    try:
        service.consumer().run()
    finally:
        service.stop_background()
    return 0


if __name__ == "__main__":
    sys.exit(main())
