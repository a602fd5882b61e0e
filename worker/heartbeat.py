"""A heartbeat row per worker process, refreshed every few seconds."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from huey import Huey
from sqlalchemy import delete

import core
from core import trading
from core.models import WorkerHeartbeat, utcnow
from core.platform.runtime import Runtime

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{int(utcnow().timestamp())}"


def beat(rt: Runtime, huey: Huey, *, worker_id: str, mode: str, started) -> None:
    try:
        depth = huey.pending_count()
    except Exception:  # noqa: BLE001 - a queue hiccup must not stop the heartbeat
        depth = None
    with rt.session() as session:
        row = session.get(WorkerHeartbeat, worker_id) or WorkerHeartbeat(
            worker_id=worker_id,
            host=socket.gethostname()[:64],
            pid=os.getpid(),
            started_at=started,
            version=core.__version__,
            mode=mode,
        )
        row.last_beat, row.queue_depth = utcnow(), depth
        session.add(row)
        trading.extend_leases(session, worker_id=worker_id)  # the ticks it runs stay its own
        session.execute(
            delete(WorkerHeartbeat).where(WorkerHeartbeat.last_beat < utcnow() - timedelta(days=1))
        )


class Heartbeat(threading.Thread):
    def __init__(
        self, rt: Runtime, huey: Huey, *, worker_id: str, mode: str, interval_s: float = 5.0
    ) -> None:
        super().__init__(name="steadybot-heartbeat", daemon=True)
        self.rt, self.huey, self.worker_id, self.mode = rt, huey, worker_id, mode
        self.interval_s = interval_s
        self.started = utcnow()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                beat(
                    self.rt,
                    self.huey,
                    worker_id=self.worker_id,
                    mode=self.mode,
                    started=self.started,
                )
            except Exception:
                log.exception("heartbeat failed")
            self.stopped.wait(self.interval_s)

    def stop(self) -> None:
        self.stopped.set()
