"""Crash test: a real `python -m worker` is SIGKILLed at random moments (20+ times, restarted
each time) while live bots trade on the fake exchange with "response lost" faults. Afterwards
every order the exchange holds is in the database exactly once, no signal produced two orders,
balances agree and the SQLite file is intact."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from core.accounts import onboarding as account_checks
from core.models import BotOrder, Tick, WorkerHeartbeat
from core.platform.runtime import start
from core.trading import tick as engine
from tests.conftest import TEST_COOKIE_KEY, TEST_MASTER_KEY, make_settings
from tests.factories import make_bot, make_user
from tests.fakes.exchange import FakeExchange
from worker.service import build_service

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "crash-test-key-000000000001", "crash-test-secret-0000000001"
MIN = 60_000
START_USDT = 100_000.0


def _worker_env(data_dir: Path, fake_url: str) -> dict:
    return {
        **os.environ,
        "STEADYBOT_DATA_DIR": str(data_dir),
        "STEADYBOT_COOKIE_KEY": TEST_COOKIE_KEY,
        "STEADYBOT_MASTER_KEYS": TEST_MASTER_KEY,
        "STEADYBOT_DEMO": "0",
        "STEADYBOT_EXCHANGE_API_URL": fake_url,
        "STEADYBOT_EXCHANGE_TIMEOUT_MS": "1500",
        "STEADYBOT_WORKER_SCHEDULER": "0",
        "STEADYBOT_LOG_LEVEL": "WARNING",
    }


def _spawn(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_until_up(rt, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Block until `proc` has written its heartbeat: the kill then lands while it works, not
    while Python is still importing (on a loaded machine that alone can take seconds)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with rt.read() as s:
            if s.exec(select(WorkerHeartbeat).where(WorkerHeartbeat.pid == proc.pid)).first():
                return
        assert proc.poll() is None, "the worker exited on its own"
        time.sleep(0.05)
    raise AssertionError("the worker did not start within a minute")


def test_sigkilled_workers_never_lose_or_double_an_order(data_dir):
    fake = FakeExchange()
    fake.start()
    fake.add_key(KEY, SECRET, balances={"USDT": START_USDT, "ETH": 0.0})
    settings = make_settings(
        data_dir, exchange_api_url=fake.url, exchange_timeout_ms=1500, worker_scheduler=False
    )
    rt = start("test", settings=settings)
    with rt.session() as s:
        owner = make_user(s, username="alice", role="admin")
    outcome = account_checks.add_live_account(
        rt, owner=owner, exchange_id="binance", label="fake", api_key=KEY, secret=SECRET
    )
    assert outcome.result == "saved", outcome.message
    bot_ids = []
    with rt.session() as s:
        for i in range(4):  # buy at once, sell 0.1 % up: orders on most candles
            bot = make_bot(
                s,
                owner=owner,
                account_id=outcome.account.id,
                name=f"b{i}",
                symbol="ETH/USDT",
                strategy="dca",
                params={"dip_pct": 0, "take_profit_pct": 0.1},
                order_size=50.0,
                start=True,
                markets=engine.market_lookup(rt),
            )
            bot_ids.append(bot.id)
    producer = build_service(rt, mode="external")  # same queue file: enqueues run_tick tasks
    env = _worker_env(data_dir, fake.url)
    rng = random.Random(7)
    now = int(time.time() * 1000)
    first = now - now % MIN - 200 * MIN
    kills = 0
    try:
        for round_no in range(22):
            proc = _spawn(env)
            _wait_until_up(rt, proc)
            for step in range(3):  # three candles per round
                candle = first + (round_no * 3 + step) * MIN
                producer.app.schedule_once(now_ms=candle + MIN + 1_000)
            if round_no % 2 == 0:
                fake.inject("lost", path="/api/v3/order", count=1)
            time.sleep(rng.uniform(0.5, 3.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
        fake.clear_faults()
        proc = _spawn(env)  # a last, undisturbed worker: reconciles and drains the queue

        def settled() -> bool:
            producer.app.schedule_once(now_ms=first + 70 * MIN)  # re-enqueues lost ticks
            with rt.read() as s:
                open_ticks = s.exec(
                    select(Tick).where(Tick.status.in_(("queued", "running")))
                ).all()
                pending = s.exec(
                    select(BotOrder).where(
                        col(BotOrder.status).in_(("pending_submit", "sending", "unknown", "open"))
                    )
                ).all()
            return not open_ticks and not pending

        deadline = time.monotonic() + 240
        while not settled() and time.monotonic() < deadline:
            time.sleep(2)
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    finally:
        fake.stop()
    assert kills >= 20
    assert settled()
    with rt.read() as s:
        records = s.exec(select(BotOrder)).all()
        integrity = s.execute(text("PRAGMA integrity_check")).scalar()
    at_exchange = {o["clientOrderId"]: o for o in fake.orders(KEY)}
    mine = {o.client_order_id: o for o in records if o.status == "closed"}
    assert len(at_exchange) > 20
    assert set(at_exchange) == set(mine)  # every exchange order recorded, exactly once
    assert all(o.status in ("closed", "never_placed", "rejected") for o in records)
    per_candle = {}
    for o in records:
        per_candle.setdefault((o.bot_id, o.candle_ts), []).append(o)
    assert all(len(v) == 1 for v in per_candle.values())  # one intent per candle: one order
    spent = sum((o.cost + o.fee) if o.side == "buy" else -(o.cost - o.fee) for o in mine.values())
    bal = fake.book.keys[KEY].balances
    assert bal["USDT"] == pytest.approx(START_USDT - spent, abs=1e-6)
    eth = sum(o.filled if o.side == "buy" else -o.filled for o in mine.values())
    assert bal["ETH"] == pytest.approx(eth, abs=1e-9)
    assert integrity == "ok"
