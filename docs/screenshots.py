"""Regenerate the README screenshots (docs/screenshots/*.png) from a few hours of trading.

    python docs/screenshots.py [--hours 6]

Needs Debian's chromium and the dev requirements. It creates a throw-away data dir, registers
alice (admin), opens a paper account, backfills three bots (SMA crossover on BTC, RSI on ETH,
scheduled DCA on SOL) over the last hours of the simulated market with the real engine, then
starts `streamlit run` on a free port (the embedded worker keeps the bots trading) and shoots
each page of the README's table in the browser once Streamlit is idle (Backtest after a run,
then its parameter sweep; System as the admin). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from core import bots, trading, users  # noqa: E402
from core.exchanges import open_paper_account  # noqa: E402
from core.platform.config import Settings  # noqa: E402
from core.platform.runtime import start  # noqa: E402
from tests.conftest import TEST_COOKIE_KEY, TEST_MASTER_KEY  # noqa: E402
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, open_page, shoot, wait_idle  # noqa: E402
from tests.servers import free_port, stop, wait_healthy  # noqa: E402

MIN = 60_000
PASSWORD = "Correct-Horse-9"
OUT = ROOT / "docs" / "screenshots"
BOTS = [
    ("BTC trend", "BTC/USDT", "sma_cross", {"fast": 5, "slow": 20}, {"take_profit_pct": 1.0}),
    ("ETH mean reversion", "ETH/USDT", "rsi", {"period": 7}, {"stop_loss_pct": 1.5}),
    (
        "SOL DCA",
        "SOL/USDT",
        "dca",
        {"dip_pct": 0, "take_profit_pct": 0.4, "safety_orders": 6, "every_minutes": 20},
        {},
    ),
]
PAGES = ["Overview", "Bots", "Bot detail", "Trades", "Backtest", "Exchange accounts", "System"]
HEADINGS = {"Bot detail": BOTS[0][0]}  # the page opens on the first bot


def backfill(data_dir: Path, hours: float) -> None:
    settings = Settings(
        env="development",
        data_dir=data_dir,
        cookie_key=SecretStr(TEST_COOKIE_KEY),
        master_keys=SecretStr(TEST_MASTER_KEY),
        demo=False,
        log_level="WARNING",
    )
    rt = start("screenshots", settings=settings)
    with rt.session() as s:
        alice = users.register(
            s, username="alice", email="alice@example.com", name="Alice", password=PASSWORD
        )
        account = open_paper_account(s, owner_id=alice.id, label="Paper", balances={"USDT": 1e4})
    ids = []
    for name, symbol, strategy, params, risk in BOTS:
        spec = bots.BotSpec(
            name=name,
            account_id=account.id,
            symbol=symbol,
            timeframe="1m",
            strategy=strategy,
            params=params,
            order_size=1000.0,
            **risk,
        )
        with rt.session() as s:
            bot = bots.create_bot(s, owner=alice, spec=spec, markets=trading.market_lookup(rt))
            bots.change_status(s, owner=alice, bot_id=bot.id, action="start")
            ids.append(bot.id)
    now = int(time.time() * 1000)
    last = now - now % MIN - 2 * MIN
    first = last - int(hours * 60) * MIN
    for ts in range(first, last + MIN, MIN):
        for bot_id in ids:
            trading.run_bot_tick(rt, bot_id=bot_id, candle_ts=ts, clock=lambda t=ts: t + MIN + 1000)
    rt.engine.dispose()


def serve(data_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYBOT_")}
    env |= {
        "STEADYBOT_DATA_DIR": str(data_dir),
        "STEADYBOT_COOKIE_KEY": TEST_COOKIE_KEY,
        "STEADYBOT_MASTER_KEYS": TEST_MASTER_KEY,
        "STEADYBOT_DEMO": "0",
    }
    cmd = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py"]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    cmd += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    return proc, url


def shoot_pages(url: str) -> list[str]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    names = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_label("Username", exact=True).fill("alice")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Overview").first.wait_for()
        wait_idle(page)
        for title in PAGES:
            open_page(page, title, HEADINGS.get(title, title))
            if title in ("Overview", "Bot detail"):
                page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
            if title == "Backtest":
                page.get_by_role("button", name="Run backtest").click()
                page.get_by_text("Total return").first.wait_for()
                page.get_by_role("button", name="Download trades (CSV)").wait_for()
            name = title.lower().replace(" ", "-")
            shoot(page, name)
            names.append(name)
            if title == "Backtest":  # the same settings, swept over two parameters
                page.get_by_role("tab", name="Parameter sweep").click()
                page.get_by_role("button", name="Run sweep").click()
                page.get_by_text("backtest(s) run").wait_for(timeout=180_000)
                page.get_by_text("Colour by").wait_for()
                shoot(page, "backtest-sweep")
                names.append("backtest-sweep")
        browser.close()
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=6.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="steadybot-shots-") as tmp:
        data_dir = Path(tmp) / "data"
        backfill(data_dir, args.hours)
        proc, url = serve(data_dir, Path(tmp) / "streamlit.out")
        try:
            names = shoot_pages(url)
        finally:
            stop(proc)
    for name in names:
        shutil.copy(ARTIFACTS / f"{name}.png", OUT / f"{name}.png")
        print(f"docs/screenshots/{name}.png")


if __name__ == "__main__":
    main()
