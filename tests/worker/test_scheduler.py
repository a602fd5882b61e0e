"""Scheduling is idempotent, claims are exclusive, abandoned ticks are reclaimed."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from core import scheduler
from core.models import Bot, Tick, utcnow
from tests.worker.conftest import make_running_bots

NOW = 1_767_225_600_000 + 90_000  # 00:01:30 -> the 00:00 candle has closed


def _ticks(rt) -> int:
    with rt.read() as s:
        return s.exec(select(func.count()).select_from(Tick)).one()


def test_scheduling_twice_creates_each_tick_once(rt):
    make_running_bots(rt, 10)
    with rt.session() as s:
        first = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        second = scheduler.schedule_due_ticks(s, now_ms=NOW)
    assert len(first) == 10 and second == [] and _ticks(rt) == 10
    assert {t[2] for t in first} == {NOW - 90_000}


def test_concurrent_schedulers_create_each_tick_once(rt):
    make_running_bots(rt, 50)
    created: list[int] = []

    def schedule():
        with rt.session() as s:
            created.extend(t[0] for t in scheduler.schedule_due_ticks(s, now_ms=NOW))

    threads = [threading.Thread(target=schedule) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(created) == sorted(set(created)) and len(created) == 50 == _ticks(rt)


def test_bots_that_are_not_running_get_no_ticks(rt):
    ids = make_running_bots(rt, 3)
    with rt.session() as s:
        s.get(Bot, ids[0]).status = "paused"
        s.get(Bot, ids[1]).status = "stopped"
    with rt.session() as s:
        assert [t[1] for t in scheduler.schedule_due_ticks(s, now_ms=NOW)] == [ids[2]]


def test_a_tick_is_claimed_by_one_worker_only(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((tick_id, _bot, _ts),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        assert scheduler.claim_tick(s, tick_id=tick_id, worker_id="a") is not None
    with rt.session() as s:
        assert scheduler.claim_tick(s, tick_id=tick_id, worker_id="b") is None


def test_a_bot_never_runs_two_ticks_at_once(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((first, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        ((second, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW + 60_000)
    with rt.session() as s:
        assert scheduler.claim_tick(s, tick_id=first, worker_id="a")
    with rt.session() as s:
        assert scheduler.claim_tick(s, tick_id=second, worker_id="b") is None
    with rt.session() as s:
        scheduler.finish_tick(s, tick_id=first, outcome="ok")
    with rt.session() as s:
        assert scheduler.claim_tick(s, tick_id=second, worker_id="b")


def test_an_abandoned_tick_is_reclaimed_and_listed_as_lost(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((tick_id, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    long_ago = utcnow() - timedelta(seconds=scheduler.STALE_AFTER_S + 5)
    with rt.session() as s:
        assert scheduler.claim_tick(s, tick_id=tick_id, worker_id="dead", now=long_ago)
    with rt.read() as s:
        assert [t[0] for t in scheduler.lost_ticks(s)] == [tick_id]
    with rt.session() as s:
        tick = scheduler.claim_tick(s, tick_id=tick_id, worker_id="alive")
        assert tick.claimed_by == "alive" and tick.attempts == 2


def test_failed_outcomes_are_recorded(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((tick_id, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
        scheduler.finish_tick(s, tick_id=tick_id, outcome="failed: exchange unavailable")
    with rt.read() as s:
        tick = s.get(Tick, tick_id)
    assert tick.status == "failed" and "exchange" in tick.error
