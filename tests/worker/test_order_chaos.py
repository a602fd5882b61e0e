"""bench/order_chaos.py in small: live bots on the fake Binance, OKX and Bybit, two real
`python -m worker` processes on PostgreSQL + Redis (one with its clock a minute behind, when
Debian's faketime is installed), SIGKILLed and restarted while faults are injected at random;
afterwards every venue's orders are in the database exactly once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, need_service

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = "12"  # not the tests' 15 nor the benchmark's default 13: runs never share a queue


@pytest.mark.timeout(300)
def test_a_few_kills_under_chaos_leave_every_order_exactly_once(tmp_path):
    need_service("PostgreSQL", "127.0.0.1", 5432)
    need_service("Redis", "127.0.0.1", 6379)
    command = [sys.executable, str(ROOT / "bench" / "order_chaos.py")]
    command += ["--kills", "4", "--seed", "3", "--settle-s", "120", "--max-s", "90"]
    # Latency plus visibility stay under the order deadline (1.5 s timeout + 5 s + 2 s): a
    # request the venue executes later than that is the benchmark's business (see its README
    # paragraph), not this quick check's.
    command += ["--latency-s", "4", "--visibility-ms", "3000"]
    command += ["--pg-admin-url", PG_ADMIN_URL, "--redis-db", REDIS_DB, "--work-dir", str(tmp_path)]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=270, env=_clean_env()
    )
    lines = done.stdout.strip().splitlines()
    report = f"exit {done.returncode}\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert lines, report
    figures = json.loads(lines[-1])
    assert figures["kills"] == 4, report
    assert figures["venues"] == ["binance", "okx", "bybit"]
    assert figures["orders_on_exchanges"] > 0, report
    if shutil.which("faketime"):  # installed by .ci/run: worker B really ran a minute behind
        assert figures["skew_s"] == 60 and abs(figures["measured_skew_s"] - 60) < 10, report
    for metric in ("duplicates", "untracked", "unknown_left", "never_placed_but_exists"):
        assert figures[metric] == 0, f"{metric}: {figures[metric]}\n{report}"
    assert done.returncode == 0, report


def _clean_env() -> dict:
    """The child builds its own settings: none of this test run's STEADYBOT_* variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith("STEADYBOT_")}
