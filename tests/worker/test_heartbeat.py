"""Each worker writes a heartbeat row (host, pid, version, mode, queue depth) and refreshes it;
rows of workers gone for more than a day are pruned."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import core
from core.models import WorkerHeartbeat, utcnow
from worker.heartbeat import Heartbeat, beat
from worker.queue import make_huey


def _row(rt, worker_id: str) -> WorkerHeartbeat | None:
    with rt.read() as s:
        return s.get(WorkerHeartbeat, worker_id)


def test_heartbeat_row_is_written_and_refreshed(rt):
    huey = make_huey(rt.settings)
    now = utcnow()
    beat(rt, huey, worker_id="h:1:1", mode="external", started=now)
    first = _row(rt, "h:1:1").last_beat
    time.sleep(0.01)
    beat(rt, huey, worker_id="h:1:1", mode="external", started=now)
    row = _row(rt, "h:1:1")
    assert row.last_beat > first and row.queue_depth == 0
    assert (row.pid, row.version, row.mode) == (os.getpid(), core.__version__, "external")


def test_queue_depth_counts_pending_tasks(rt):
    huey = make_huey(rt.settings)
    noop = huey.task(name="noop")(lambda: None)
    for _ in range(3):
        noop()
    beat(rt, huey, worker_id="h:1:2", mode="embedded", started=utcnow())
    assert _row(rt, "h:1:2").queue_depth == 3


def test_heartbeats_older_than_a_day_are_pruned(rt):
    with rt.session() as s:
        gone = utcnow() - timedelta(days=2)
        s.add(
            WorkerHeartbeat(
                worker_id="old:1:1", host="old", pid=1, version="0", started_at=gone, last_beat=gone
            )
        )
    beat(rt, make_huey(rt.settings), worker_id="h:1:3", mode="external", started=utcnow())
    assert _row(rt, "old:1:1") is None and _row(rt, "h:1:3") is not None


def test_the_heartbeat_thread_keeps_beating(rt):
    thread = Heartbeat(
        rt, make_huey(rt.settings), worker_id="t:1:1", mode="embedded", interval_s=0.05
    )
    thread.start()
    try:
        seen: set = set()
        deadline = time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:
            row = _row(rt, "t:1:1")
            if row is not None:
                seen.add(row.last_beat)
            time.sleep(0.02)
    finally:
        thread.stop()
        thread.join(10)
    assert len(seen) >= 3
