"""Scheduling is idempotent, claims are exclusive, abandoned ticks are reclaimed."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from core.models import Bot, Tick, utcnow
from core.trading import scheduler
from tests.factories import make_running_bots

NOW = 1_767_225_600_000 + 90_000  # 00:01:30 -> the 00:00 candle has closed


def _claim(s, tick_id: int, worker_id: str, **kwargs) -> Tick | None:
    """The tick if `worker_id` claimed it, else None."""
    claimed = scheduler.claim_ticks(s, tick_ids=[tick_id], worker_id=worker_id, **kwargs)
    return s.get(Tick, tick_id) if claimed else None


def _finish(s, tick_id: int, outcome: str, worker_id: str) -> bool:
    return scheduler.finish_ticks(s, outcomes={tick_id: outcome}, worker_id=worker_id) == 1


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
        assert _claim(s, tick_id, "a") is not None
    with rt.session() as s:
        assert _claim(s, tick_id, "b") is None


def test_a_bot_never_runs_two_ticks_at_once(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((first, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        ((second, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW + 60_000)
    with rt.session() as s:
        assert _claim(s, first, "a")
    with rt.session() as s:
        assert _claim(s, second, "b") is None
    with rt.session() as s:
        _finish(s, first, "ok", worker_id="a")
    with rt.session() as s:
        assert _claim(s, second, "b")


EXPIRED = -1_000  # a lease that ran out a second ago: its worker died or hung


def test_an_abandoned_tick_is_reclaimed_and_listed_as_lost(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((tick_id, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        assert _claim(s, tick_id, "dead", lease_ms=EXPIRED)
    with rt.read() as s:
        assert [t[0] for t in scheduler.lost_ticks(s)] == [tick_id]
    with rt.session() as s:
        tick = _claim(s, tick_id, "alive")
        assert tick.claimed_by == "alive" and tick.attempts == 2 and tick.lease == 2


def test_a_live_lease_is_never_claimed_again_however_old_the_claim(rt):
    """A claim made long ago whose holder still beats keeps its tick: only the lease counts
    (before, a claim older than 300 s was taken from a live worker)."""
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((tick_id, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        assert _claim(s, tick_id, "slow")
        s.get(Tick, tick_id).claimed_at = utcnow() - timedelta(hours=1)
    with rt.session() as s:
        assert scheduler.extend_leases(s, worker_id="slow") == 1
    with rt.session() as s:
        assert _claim(s, tick_id, "other") is None
        assert scheduler.release_dead_claims(s) == 0
        assert scheduler.lost_ticks(s) == []


def test_leases_use_the_database_clock_not_the_hosts(rt, monkeypatch):
    """A worker whose clock runs a minute fast (or slow) neither steals nor loses a tick:
    claim times and lease expiries are the database server's."""
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((tick_id, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        assert _claim(s, tick_id, "holder")
    skewed = utcnow() + timedelta(minutes=10)
    monkeypatch.setattr(scheduler, "utcnow", lambda: skewed)
    with rt.session() as s:
        assert _claim(s, tick_id, "skewed") is None
        assert scheduler.release_dead_claims(s) == 0


def test_an_expired_lease_is_not_revived_by_a_late_heartbeat(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((tick_id, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        assert _claim(s, tick_id, "hung", lease_ms=EXPIRED)
    with rt.session() as s:
        assert scheduler.extend_leases(s, worker_id="hung") == 0
        assert _claim(s, tick_id, "next")


def test_held_names_only_the_ticks_still_under_our_token(rt):
    make_running_bots(rt, 2)
    with rt.session() as s:
        ticks = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        claims = scheduler.claim_ticks(s, tick_ids=[t[0] for t in ticks], worker_id="me")
    ours = {c[0]: c[3] for c in claims}
    first, second = sorted(ours)
    with rt.session() as s:
        s.get(Tick, second).lease_until_ms = 0  # expired: another worker may take it
    with rt.session() as s:
        assert scheduler.held(s, ours) == {first}
        assert scheduler.held(s, {first: ours[first] + 1}) == set()  # a stale token


def test_failed_outcomes_are_recorded(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((tick_id, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        assert _claim(s, tick_id, "w")
        assert _finish(s, tick_id, "failed: exchange unavailable", worker_id="w")
    with rt.read() as s:
        tick = s.get(Tick, tick_id)
    assert tick.status == "failed" and "exchange" in tick.error


def test_a_bots_older_candle_is_claimed_before_a_newer_one(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((older, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        ((newer, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW + 60_000)
    with rt.session() as s:
        assert _claim(s, newer, "a") is None
    with rt.session() as s:
        assert _claim(s, older, "a")


def test_a_tick_that_keeps_losing_its_worker_is_given_up(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((tick_id, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    for attempt in range(scheduler.MAX_ATTEMPTS):  # each holder dies with its lease
        with rt.session() as s:
            assert _claim(s, tick_id, f"w{attempt}", lease_ms=EXPIRED)
    with rt.session() as s:
        assert _claim(s, tick_id, "next") is None
        assert scheduler.give_up_abandoned(s) == 1
    with rt.read() as s:
        tick = s.get(Tick, tick_id)
        assert scheduler.lost_ticks(s) == []
    assert tick.status == "failed" and "abandoned" in tick.error


def test_only_the_current_claimant_finishes_a_reclaimed_tick(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((tick_id, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        (slow,) = scheduler.claim_ticks(s, tick_ids=[tick_id], worker_id="w", lease_ms=EXPIRED)
    with rt.session() as s:
        (alive,) = scheduler.claim_ticks(s, tick_ids=[tick_id], worker_id="w")  # same name
    with rt.session() as s:
        stale = scheduler.finish_ticks(
            s, outcomes={tick_id: "ok"}, worker_id="w", leases={tick_id: slow[3]}
        )
        assert stale == 0  # the fencing token, not the worker's name, decides
    with rt.read() as s:
        assert s.get(Tick, tick_id).status == "running"
    with rt.session() as s:
        assert scheduler.finish_ticks(
            s, outcomes={tick_id: "ok"}, worker_id="w", leases={tick_id: alive[3]}
        )


def test_a_tick_whose_lease_expired_is_released(rt):
    make_running_bots(rt, 1)
    with rt.session() as s:
        ((tick_id, _b, _t),) = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        assert _claim(s, tick_id, "dead:1:1", lease_ms=EXPIRED)
    with rt.session() as s:
        assert scheduler.release_dead_claims(s) == 1
    with rt.read() as s:
        assert s.get(Tick, tick_id).status == "queued"
        assert [t[0] for t in scheduler.lost_ticks(s)] == [tick_id]


def test_a_batch_claim_takes_each_bots_older_candle_and_leaves_claimed_ticks(rt):
    ids = make_running_bots(rt, 3)
    with rt.session() as s:
        older = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.session() as s:
        newer = scheduler.schedule_due_ticks(s, now_ms=NOW + 60_000)
    with rt.session() as s:  # another worker holds the first bot's older tick
        assert _claim(s, older[0][0], "other")
    every = [t[0] for t in older + newer]
    with rt.session() as s:
        claimed = scheduler.claim_ticks(s, tick_ids=every, worker_id="me")
    assert [c[:3] for c in claimed] == sorted(older[1:], key=lambda t: (t[2], t[1]))
    assert [t[1] for t in claimed] == ids[1:] and {t[3] for t in claimed} == {1}
    with rt.session() as s:
        assert scheduler.claim_ticks(s, tick_ids=every, worker_id="third") == []
    with rt.read() as s:
        statuses = scheduler.tick_statuses(s, tick_ids=every)
    assert [statuses[t[0]] for t in newer] == ["queued"] * 3


def test_a_batch_finish_records_outcomes_only_for_our_claims(rt):
    make_running_bots(rt, 3)
    with rt.session() as s:
        ticks = [t[0] for t in scheduler.schedule_due_ticks(s, now_ms=NOW)]
    with rt.session() as s:
        scheduler.claim_ticks(s, tick_ids=ticks[:2], worker_id="me")
        scheduler.claim_ticks(s, tick_ids=ticks[2:], worker_id="other")
    outcomes = {ticks[0]: "ok: 0 order(s)", ticks[1]: "failed: no candle", ticks[2]: "ok"}
    with rt.session() as s:
        assert scheduler.finish_ticks(s, outcomes=outcomes, worker_id="me") == 2
    with rt.read() as s:
        rows = [s.get(Tick, t) for t in ticks]
    assert [r.status for r in rows] == ["done", "failed", "running"]
    assert rows[1].error == "failed: no candle" and rows[0].finished_at is not None


def test_ticks_are_batched_by_candle_and_market(rt):
    make_running_bots(rt, 4)
    with rt.session() as s:
        bots = s.exec(select(Bot).order_by(Bot.id)).all()
        for bot, symbol in zip(bots, ["ETH/USDT", "BTC/USDT", "ETH/USDT", "BTC/USDT"], strict=True):
            bot.symbol = symbol
            s.add(bot)
    with rt.session() as s:
        ticks = scheduler.schedule_due_ticks(s, now_ms=NOW)
    with rt.read() as s:
        ordered = scheduler.by_market(s, tick_ids=[t[0] for t in ticks])
    bot_of = {t[0]: t[1] for t in ticks}
    assert [bot_of[t] for t in ordered] == [bots[1].id, bots[3].id, bots[0].id, bots[2].id]
