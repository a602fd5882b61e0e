"""Everything a worker process runs besides the consumer loop: the app, the ticker, the
heartbeat and reconciliation at start. Shared by `python -m worker` and the embedded mode."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from huey import Huey
from huey.consumer import Consumer

from core import trading
from core.platform.runtime import Runtime
from worker.heartbeat import Heartbeat, new_worker_id
from worker.queue import make_huey
from worker.tasks import Ticker, TickRunner, WorkerApp

log = logging.getLogger(__name__)


@dataclass
class WorkerService:
    rt: Runtime
    huey: Huey
    app: WorkerApp
    ticker: Ticker
    heartbeat: Heartbeat

    def consumer(self, consumer_class: type[Consumer] = Consumer) -> Consumer:
        return consumer_class(
            self.huey,
            workers=self.rt.settings.worker_threads,
            worker_type="thread",
            initial_delay=0.1,
            backoff=1.15,
            max_delay=1.0,
            periodic=True,
            flush_locks=True,
        )

    def start_background(self) -> None:
        self.heartbeat.start()
        if self.rt.settings.worker_scheduler:
            self.ticker.start()

    def stop_background(self) -> None:
        self.ticker.stop()
        self.heartbeat.stop()


def build_service(
    rt: Runtime, *, mode: str, runner: TickRunner | None = None, huey: Huey | None = None
) -> WorkerService:
    worker_id = new_worker_id()
    huey = huey or make_huey(rt.settings)
    app = WorkerApp(rt, huey, worker_id, runner=runner)
    try:
        settled = trading.reconcile_all(rt)
        if settled:
            log.info("reconciled %d pending order(s) at start", settled)
    except Exception:
        log.exception("reconciliation at start failed")
    return WorkerService(
        rt, huey, app, Ticker(app), Heartbeat(rt, huey, worker_id=worker_id, mode=mode)
    )
