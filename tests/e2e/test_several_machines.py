"""Several machines, shown on one: PostgreSQL + Redis shared by two Streamlit servers (two
ports, their own data dirs, no embedded worker) and two `python -m worker` processes. A bot
created in the browser on server A is shown by server B, and its ticks run exactly once: every
(bot, candle) has one tick row, claimed once (attempts 1, fencing token 1) and done, and each
order was placed once on the paper book, with both workers scheduling every minute."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from core.models import Bot, BotOrder, PaperOrder, Tick, WorkerHeartbeat
from core.platform.runtime import start
from tests.conftest import TEST_COOKIE_KEY, TEST_MASTER_KEY, make_settings
from tests.e2e.conftest import open_page, shoot, wait_idle
from tests.factories import GOOD_PASSWORD, make_user
from tests.servers import free_port, wait_healthy

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CANDLES = 3  # candle closes to watch (1m bots: about three minutes)


def _env(pg_url: str, redis_url: str, data_dir: Path, worker: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYBOT_")}
    env.update(
        STEADYBOT_DATABASE_URL=pg_url,
        STEADYBOT_QUEUE_URL=redis_url,
        STEADYBOT_DATA_DIR=str(data_dir),
        STEADYBOT_COOKIE_KEY=TEST_COOKIE_KEY,
        STEADYBOT_MASTER_KEYS=TEST_MASTER_KEY,
        STEADYBOT_DEMO="0",
        STEADYBOT_WORKER=worker,
    )
    return env


def _sign_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(GOOD_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Bots", exact=True).wait_for()
    wait_idle(page, quiet_ms=2_000)  # signing in reloads the app once


def test_two_servers_two_workers_one_database(pg_url, redis_url, browser_page, tmp_path):
    rt = start("test", settings=make_settings(tmp_path / "test", database_url=pg_url))
    with rt.session() as s:
        make_user(s, username="alice", password=GOOD_PASSWORD)
    procs: list[subprocess.Popen] = []
    logs = []

    def spawn(name: str, args: list[str], worker: str) -> subprocess.Popen:
        out = (tmp_path / f"{name}.out").open("w")
        logs.append(out)
        env = _env(pg_url, redis_url, tmp_path / name, worker)
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        urls = {}
        for name in ("web-a", "web-b"):
            port = free_port()
            proc = spawn(
                name,
                [sys.executable, "-m", "core.cli", "run", "web", "--server.port", str(port)]
                + ["--server.address", "127.0.0.1"],
                "off",
            )
            urls[name] = (f"http://127.0.0.1:{port}", proc)
        for name in ("worker-a", "worker-b"):
            spawn(name, [sys.executable, "-m", "worker"], "external")
        for url, proc in urls.values():
            wait_healthy(url, proc, limit_s=90)

        # Server A, in the browser: a paper account and a bot buying every minute, started.
        page = browser_page
        _sign_in(page, urls["web-a"][0], "alice")
        open_page(page, "Exchange accounts")
        page.get_by_label("Label", exact=True).fill("Paper")
        page.get_by_role("button", name="Open paper account").click()
        page.get_by_text("Paper account opened.").wait_for()
        open_page(page, "Bots")
        page.get_by_role("combobox").nth(1).click()  # Exchange account, then Strategy
        page.get_by_role("option", name="DCA with safety orders").click()
        wait_idle(page)
        page.get_by_role("spinbutton", name="Scheduled buy every (minutes)").fill("1")
        page.get_by_label("Bot name").fill("Every minute")
        page.get_by_role("button", name="Create bot").click()
        page.get_by_text("Bot 'Every minute' created").wait_for()
        page.get_by_role("button", name="▶ Start").click()
        page.get_by_text("running").first.wait_for()
        with rt.read() as s:
            bot = s.exec(select(Bot).where(Bot.name == "Every minute")).one()
            assert bot.status == "running" and json.loads(bot.params)["every_minutes"] == 1

        # Server B, another browser (its own cookies): the same bot.
        other = page.context.browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            page_b = other.new_page()
            page_b.set_default_timeout(30_000)
            _sign_in(page_b, urls["web-b"][0], "alice")
            open_page(page_b, "Bots")
            page_b.get_by_text("Every minute").first.wait_for()
            page_b.get_by_text("running").first.wait_for()
            shoot(page_b, "several-machines-server-b-bots")
        finally:
            other.close()

        # The two workers beat into the shared database and share the ticks.
        def done_ticks() -> list[Tick]:
            with rt.read() as s:
                return list(
                    s.exec(select(Tick).where(Tick.bot_id == bot.id, Tick.status == "done"))
                )

        deadline = time.monotonic() + 60 * (CANDLES + 2)
        while len(done_ticks()) < CANDLES:
            assert time.monotonic() < deadline, f"only {len(done_ticks())} ticks done"
            assert all(p.poll() is None for p in procs), "a process died"
            time.sleep(2)
        with rt.read() as s:
            beats = s.exec(select(WorkerHeartbeat)).all()
        assert len({b.worker_id for b in beats}) == 2
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)  # SIGINT: workers finish their running ticks
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        for out in logs:
            out.close()

    with rt.read() as s:
        ticks = s.exec(select(Tick).where(Tick.bot_id == bot.id)).all()
        orders = s.exec(select(BotOrder).where(BotOrder.bot_id == bot.id)).all()
        paper = s.exec(select(PaperOrder).where(PaperOrder.account_id == bot.account_id)).all()
    per_candle = Counter(t.candle_ts for t in ticks)
    assert per_candle and max(per_candle.values()) == 1  # one tick row per candle
    done = [t for t in ticks if t.status == "done"]
    assert len(done) >= CANDLES
    for tick in done:
        assert (tick.attempts, tick.lease, tick.error) == (1, 1, ""), tick  # claimed once
    # A scheduled buy on every candle the bot ticked, each placed once on the paper book.
    buys = Counter(o.candle_ts for o in orders if o.side == "buy")
    assert {t.candle_ts for t in done} <= set(buys), (sorted(buys), [t.candle_ts for t in done])
    assert sorted(o.client_order_id for o in orders) == sorted(p.client_order_id for p in paper)
    assert len({o.client_order_id for o in orders}) == len(orders)
