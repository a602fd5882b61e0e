"""Huey tasks: thin shells over core (scheduling, batches of ticks, account re-checks).

`WorkerApp` registers the tasks on a given Huey, so a process (or a test) can build as many
independent apps as it needs. The scheduler enqueues ticks in batches of up to `BATCH_SIZE`
(sorted by candle and market, so a batch mostly shares one signal): one task claims its ticks
in one statement, runs them (`core.trading.batch`: a few transactions per round, orders
included; only the exceptions one by one through `run_bot_tick`) and finishes them in one
executemany. A custom per-tick `runner` (the seam tests use to count executions) is called once
per claimed tick instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from huey import Huey, crontab

from core import trading
from core.models import TickOutcome
from core.platform.runtime import Runtime

log = logging.getLogger(__name__)
TickRunner = Callable[..., str]
WAIT_DELAY_S = 2.0  # a tick whose bot is busy (or has an older candle queued) retries after this
MAX_WAITS = 30  # then the scheduler's lost-tick sweep takes over (see core.trading.scheduler)
BATCH_SIZE = 100  # ticks per task at most: large enough to share the work...
MIN_BATCHES = 16  # ...and a few ticks are still spread over every worker thread and process


def default_runner(rt: Runtime, *, bot_id: int, candle_ts: int, worker_id: str) -> str:
    """The tick body: `core.trading.tick.run_bot_tick`, looked up at call time."""
    return trading.run_bot_tick(rt, bot_id=bot_id, candle_ts=candle_ts, worker_id=worker_id)


class WorkerApp:
    def __init__(
        self, rt: Runtime, huey: Huey, worker_id: str, runner: TickRunner | None = None
    ) -> None:
        self.rt, self.huey, self.worker_id = rt, huey, worker_id
        self.runner = runner or default_runner
        self.run_batch = huey.task(name="steadybot.run_ticks")(self._run_ticks)
        huey.periodic_task(crontab(minute="*/10"), name="steadybot.recheck_accounts")(
            self._recheck_accounts
        )
        huey.periodic_task(crontab(minute="*"), name="steadybot.send_notifications")(
            self.send_notifications
        )
        huey.periodic_task(crontab(minute="*"), name="steadybot.reconcile_orders")(
            self.reconcile_orders
        )
        huey.periodic_task(crontab(minute="*/15"), name="steadybot.expire_guests")(
            self.expire_guests
        )

    def _run_ticks(self, tick_ids: list[int], waits: int = 0) -> str:
        with self.rt.session() as session:
            claimed = trading.claim_ticks(session, tick_ids=tick_ids, worker_id=self.worker_id)
        if len(claimed) < len(tick_ids):
            self._retry_unclaimed(sorted(set(tick_ids) - {c[0] for c in claimed}), waits)
        if not claimed:
            return "not claimed"
        leases = {tick_id: lease for tick_id, _bot, _candle, lease in claimed}
        outcomes = self._execute([c[:3] for c in claimed], leases)
        with self.rt.session() as session:
            mine = trading.finish_ticks(
                session, outcomes=outcomes, worker_id=self.worker_id, leases=leases
            )
        if mine < len(outcomes):
            log.warning("%d tick(s) were reclaimed by another worker", len(outcomes) - mine)
        done = sum(1 for o in outcomes.values() if not TickOutcome.of(o).failed)
        log.info(
            "batch of %d tick(s): %d done, %d failed", len(outcomes), done, len(outcomes) - done
        )
        return f"{done}/{len(outcomes)} ok"

    def _execute(self, claimed: list[tuple[int, int, int]], leases: dict[int, int]) -> dict:
        if self.runner is default_runner:
            return trading.run_ticks(self.rt, claimed, worker_id=self.worker_id, leases=leases)
        outcomes = {}
        for tick_id, bot_id, candle_ts in claimed:
            try:
                outcomes[tick_id] = self.runner(
                    self.rt, bot_id=bot_id, candle_ts=candle_ts, worker_id=self.worker_id
                )
            except Exception as exc:
                log.exception("tick %s (bot %s, candle %s) crashed", tick_id, bot_id, candle_ts)
                outcomes[tick_id] = TickOutcome.ERROR.text(type(exc).__name__)
        return outcomes

    def _retry_unclaimed(self, tick_ids: list[int], waits: int) -> None:
        """Ticks still queued belong to bots that must wait: try them again shortly."""
        with self.rt.read() as session:
            statuses = trading.tick_statuses(session, tick_ids=tick_ids)
        queued = [t for t in tick_ids if statuses.get(t) == "queued"]
        if queued and waits < MAX_WAITS:
            self.run_batch.schedule(args=(queued, waits + 1), delay=WAIT_DELAY_S)

    def _recheck_accounts(self) -> None:
        from core.accounts import recheck_unverified

        recheck_unverified(self.rt)

    def expire_guests(self) -> int:
        """Guest traders of the public demo whose day is over go, with their data."""
        from core.demo import expire_guests

        return expire_guests(self.rt)

    def reconcile_orders(self) -> int:
        """Orders sent without a known outcome are looked up once a minute even when their bot
        does not tick (paused, stopped, or waiting for them); leased ticks are left alone."""
        return trading.reconcile_all(self.rt)

    def send_notifications(self) -> dict:
        """Bot events the owners asked to hear about (core.notify.outbox), once a minute,
        outside every tick."""
        from core.notify import dispatch
        from core.platform.vault import Vault

        return dispatch(self.rt, Vault.from_settings(self.rt.settings))

    def schedule_once(self, now_ms: int | None = None) -> int:
        """Create due ticks and enqueue them (plus lost ones); returns how many were enqueued."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        with self.rt.session() as session:
            created = trading.schedule_due_ticks(session, now_ms=now_ms)
            released = trading.release_dead_claims(session)
        if released:
            log.warning("re-queued %d tick(s) claimed by workers that died", released)
        with self.rt.session() as session:
            if given_up := trading.give_up_abandoned(session):
                log.warning("gave up %d tick(s) abandoned by dead workers", given_up)
        with self.rt.read() as session:
            lost = trading.lost_ticks(session)
        ids = sorted({t[0] for t in created} | {t[0] for t in lost})
        with self.rt.read() as session:
            ordered = trading.by_market(session, tick_ids=ids)
        size = min(BATCH_SIZE, max(1, -(-len(ordered) // MIN_BATCHES)))
        for start in range(0, len(ordered), size):
            self.run_batch(ordered[start : start + size])
        if ids:
            log.info("scheduled %d new tick(s), re-enqueued %d", len(created), len(lost))
        return len(ids)


class Ticker(threading.Thread):
    """Calls `schedule_once` a second after every minute boundary (and once at start), so
    ticks start within seconds of a candle close; Huey's own periodic timer is not aligned."""

    def __init__(self, app: WorkerApp, *, offset_s: float = 1.0) -> None:
        super().__init__(name="steadybot-ticker", daemon=True)
        self.app, self.offset_s = app, offset_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.app.schedule_once()
            except Exception:
                log.exception("scheduling failed; retrying at the next minute")
            now = time.time()
            self.stopped.wait(60 - now % 60 + self.offset_s)

    def stop(self) -> None:
        self.stopped.set()
