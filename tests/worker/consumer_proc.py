"""A worker process for the exactly-once tests: `python -m worker` with a counting tick runner.

    python -m tests.worker.consumer_proc DATA_DIR DATABASE_URL QUEUE_URL RUNS_FILE NOW_MS...

Builds the same service as `python -m worker` (Huey by settings, heartbeat, reconciliation),
but the tick body appends "bot_id candle_ts pid" to RUNS_FILE (one O_APPEND write per run,
so lines from several processes never interleave) instead of trading. A thread runs the
scheduler once per NOW_MS when RUNS_FILE.go appears (racing the other process); the Huey
consumer runs on the main thread with its own signal handlers, so SIGINT stops it gracefully.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from huey.consumer import Consumer

from core.platform.runtime import start
from tests.conftest import make_settings
from worker.service import build_service


def counting_runner(runs_file: str):
    def run(rt, *, bot_id: int, candle_ts: int, worker_id: str) -> str:
        fd = os.open(runs_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{bot_id} {candle_ts} {os.getpid()}\n".encode())
        finally:
            os.close(fd)
        time.sleep(0.005)  # long enough for the two processes to overlap
        return "ok"

    return run


def main(argv: list[str]) -> int:
    data_dir, database_url, queue_url, runs_file, *nows = argv
    runs = Path(runs_file)
    settings = make_settings(Path(data_dir), database_url=database_url, queue_url=queue_url)
    rt = start("worker", settings=settings)
    service = build_service(rt, mode="external", runner=counting_runner(runs_file))
    service.heartbeat.start()

    def schedule() -> None:  # once the test says go, so both processes race
        while not runs.with_suffix(".go").exists():
            time.sleep(0.05)
        for now_ms in nows:
            service.app.schedule_once(int(now_ms))

    threading.Thread(target=schedule, daemon=True).start()
    runs.with_suffix(f".ready.{os.getpid()}").touch()
    try:
        service.consumer(Consumer).run()
    finally:
        service.heartbeat.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
