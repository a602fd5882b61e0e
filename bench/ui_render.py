"""Dashboard render time at real volumes: Overview, Bot detail and Trades under AppTest.

A fresh SQLite database (temporary data dir) gets one user with 20 paper bots on the simulated
market, 100,000 trades (each with its entry and exit order; one lot per bot still open),
1,000,000 cached 1m candles (8 markets x 125,000, ending at the last closed minute) and an
event log, all by bulk inserts. Each page then runs server-side under Streamlit's AppTest:
warm-up runs first, then timed reruns of the same session (what a user's click costs).
Prints a table, then one JSON line: python bench/ui_render.py [--runs 20] [--warmup 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cryptography.fernet import Fernet
from streamlit import logger as st_logger
from streamlit.testing.v1 import AppTest

from core import users
from core.exchanges import SIM_SYMBOLS as SYMBOLS
from core.exchanges import open_paper_account
from core.models import WorkerHeartbeat, utcnow
from core.platform.runtime import start

ROOT = Path(__file__).resolve().parents[1]
PAGE_APP = str(ROOT / "tests" / "apps" / "page_app.py")
PAGES = {"overview": "overview.py", "bot_detail": "bot_detail.py", "trades": "trades.py"}
MIN = 60_000
BOTS, TRADES, CANDLES, EVENTS_PER_BOT = 20, 100_000, 1_000_000, 500
STRATEGIES = [("sma_cross", '{"fast": 10, "slow": 30}'), ("rsi", "{}"), ("dca", "{}")]


def environment(data_dir: Path) -> None:
    """What boot.runtime() reads: this data dir, keys, no demo, no embedded worker."""
    for key in [k for k in os.environ if k.startswith("STEADYBOT_")]:
        del os.environ[key]
    os.environ.update(
        {
            "STEADYBOT_DATA_DIR": str(data_dir),
            "STEADYBOT_COOKIE_KEY": "bench-cookie-key-0123456789abcdef012345",
            "STEADYBOT_MASTER_KEYS": Fernet.generate_key().decode(),
            "STEADYBOT_DEMO": "0",
            "STEADYBOT_WORKER": "off",
            "STEADYBOT_LOG_LEVEL": "WARNING",
        }
    )


def create_owner(rt) -> tuple[int, int]:
    with rt.session() as s:
        owner = users.create_user(
            s, username="bench", email="bench@example.com", name="Bench", password="Bench-Pass-9"
        )
        account = open_paper_account(s, owner_id=owner.id, label="paper", balances={"USDT": 1e6})
        s.add(WorkerHeartbeat(worker_id="bench:1:1", host="bench", pid=1, version="bench"))
        return owner.id, account.id


def fill(db_path: Path, owner_id: int, account_id: int, newest: int) -> dict:
    """Bulk inserts straight through sqlite3 (one transaction per table)."""
    rng = random.Random(7)
    symbols = list(SYMBOLS)
    per_market = CANDLES // len(symbols)
    first = newest - (per_market - 1) * MIN
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA synchronous=OFF")
    started = time.perf_counter()
    with conn:
        for symbol in symbols:
            level = SYMBOLS[symbol][0]
            conn.executemany(
                "INSERT INTO candle VALUES ('sim', ?, '1m', ?, ?, ?, ?, ?, ?)",
                (_candle(symbol, first + i * MIN, level, i) for i in range(per_market)),
            )
    candles_s = time.perf_counter() - started
    now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
    bots = []
    with conn:
        for i in range(BOTS):
            strategy, params = STRATEGIES[i % len(STRATEGIES)]
            cur = conn.execute(
                "INSERT INTO bot (owner_id, account_id, name, symbol, timeframe, strategy, params,"
                " order_size_type, order_size, max_open_positions, cooldown_minutes, status,"
                " status_reason, state, consecutive_failures, created_at, updated_at,"
                " last_tick_at, last_candle_ts) VALUES (?, ?, ?, ?, '1m', ?, ?, 'quote', 100,"
                " 1, 0, 'running', '', '{}', 0, ?, ?, ?, ?)",
                (owner_id, account_id, f"bot-{i:02d}", symbols[i % len(symbols)], strategy,
                 params, now, now, now, newest),
            )  # fmt: skip
            bots.append((cur.lastrowid, symbols[i % len(symbols)]))
    started = time.perf_counter()
    with conn:
        _trades_and_orders(conn, rng, bots, account_id, first, newest, now)
        conn.executemany(
            "INSERT INTO botevent (bot_id, ts, kind, message, data) VALUES (?, ?, ?, ?, '')",
            (
                (bot_id, now, "fill", f"filled order {n}")
                for bot_id, _ in bots
                for n in range(EVENTS_PER_BOT)
            ),
        )
    trades_s = time.perf_counter() - started
    conn.execute("ANALYZE")
    conn.close()
    return {"candles_insert_s": candles_s, "trades_insert_s": trades_s}


def _candle(symbol: str, ts: int, level: float, i: int) -> tuple:
    wave = level * (1 + 0.05 * ((i % 2000) / 1000 - 1))
    return (symbol, ts, wave, wave * 1.001, wave * 0.999, wave * 1.0005, 10.0)


def _trades_and_orders(conn, rng, bots, account_id, first, newest, now) -> None:
    per_bot = TRADES // len(bots)
    span = (newest - first) // per_bot
    order_id = 0
    orders, trades = [], []
    for bot_id, symbol in bots:
        for n in range(per_bot):
            entry_ts = first + n * span
            price = 100.0 * (1 + rng.uniform(-0.05, 0.05))
            is_open = n == per_bot - 1
            exit_price = None if is_open else price * (1 + rng.uniform(-0.02, 0.021))
            exit_ts = None if is_open else entry_ts + span // 2
            amount = 1.0
            for side, ts, px in (("buy", entry_ts, price), ("sell", exit_ts, exit_price)):
                if ts is None:
                    continue
                order_id += 1
                orders.append(
                    (order_id, bot_id, account_id, f"b{bot_id}-{ts}-{side}", ts, symbol, side,
                     amount, "closed", "entry" if side == "buy" else "exit", f"ex{order_id}",
                     amount, px, amount * px, amount * px * 0.001, "USDT", now, now)
                )  # fmt: skip
            pnl = None if is_open else (exit_price - price) * amount - 0.002 * price
            trades.append(
                (bot_id, symbol, "open" if is_open else "closed", amount, entry_ts, price,
                 0.001 * price, exit_ts, exit_price, 0.0 if is_open else 0.001 * price,
                 "" if is_open else "signal", pnl, order_id - (0 if is_open else 1),
                 None if is_open else order_id)
            )  # fmt: skip
    conn.executemany(
        "INSERT INTO botorder (id, bot_id, account_id, client_order_id, candle_ts, seq, symbol,"
        " side, type, amount, status, purpose, detail, exchange_order_id, filled, average, cost,"
        " fee, fee_currency, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?,"
        " 'market', ?, ?, ?, '', ?, ?, ?, ?, ?, ?, '', ?, ?)",
        orders,
    )
    conn.executemany(
        "INSERT INTO trade (bot_id, symbol, status, amount, entry_ts, entry_price, entry_fee,"
        " exit_ts, exit_price, exit_fee, exit_reason, pnl, entry_order_id, exit_order_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        trades,
    )


def time_page(name: str, owner_id: int, runs: int, warmup: int) -> list[float]:
    at = AppTest.from_file(PAGE_APP, default_timeout=120)
    at.session_state["test_page"] = name
    rt = start("bench")  # a real server-side session, as signing in gives (ui.session)
    with rt.session() as session:
        at.session_state["steadybot_session"] = users.start_session(
            session,
            user=users.get_user(session, user_id=owner_id),
            key=rt.settings.cookie_key.get_secret_value(),
            days=1,
        )
    at.session_state["steadybot_user_id"] = owner_id
    for _ in range(warmup):
        at.run()
    if at.exception or at.error:
        raise SystemExit(f"{name} failed: {[e.value for e in at.exception or at.error]}")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    st_logger.set_log_level("error")  # AppTest's bare-mode warnings would bury the table
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        environment(data_dir)
        rt = start("bench")
        owner_id, account_id = create_owner(rt)
        newest = int(time.time() * 1000) // MIN * MIN - MIN
        db_path = Path(rt.engine.url.database)
        seeded = fill(db_path, owner_id, account_id, newest)
        results = {
            key: time_page(page, owner_id, args.runs, args.warmup) for key, page in PAGES.items()
        }
        size_mb = db_path.stat().st_size / 1e6
    print(f"database: {size_mb:.0f} MB; {BOTS} bots, {TRADES:,} trades, {CANDLES:,} candles")
    print(f"{'page':<12}{'runs':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for key, times in results.items():
        print(
            f"{key:<12}{len(times):>6}{statistics.median(times):>10.1f}"
            f"{p95(times):>10.1f}{max(times):>10.1f}"
        )
    figures = {"trades": TRADES, "candles": CANDLES, "bots": BOTS, "runs": args.runs}
    for key, times in results.items():
        figures[f"{key}_p50_ms"] = round(statistics.median(times), 1)
        figures[f"{key}_p95_ms"] = round(p95(times), 1)
    figures["db_mb"] = round(size_mb, 1)
    figures.update({k: round(v, 2) for k, v in seeded.items()})
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
