"""`python -m core.cli backtest --csv` loads no database stack, settings or exchange library:
a fresh process stays fast (bench/backtest_speed.py: fresh_cli_200k_s, goal <= 0.8 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from core.exchanges.sim import sim_candles

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "ccxt",
    "pydantic",
    "pydantic_settings",
    "huey",
    "redis",
    "psycopg",
    "cryptography",
    "core.models",
    "core.platform.db",
)
PROBE = """
import json, sys
from core.cli.main import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m in {heavy!r})
print(json.dumps({{"code": code, "loaded": loaded}}), file=sys.stderr)
"""


def test_a_csv_backtest_imports_no_database_stack(tmp_path):
    a = sim_candles("BTC/USDT", "1h", 1_767_225_600_000, 300)
    csv = tmp_path / "btc.csv"
    pd.DataFrame(
        {"date": pd.to_datetime(a["ts"], unit="ms"), **{k: a[k] for k in ("open", "close")}}
    ).assign(high=lambda f: f[["open", "close"]].max(axis=1) + 1).assign(
        low=lambda f: f[["open", "close"]].min(axis=1) - 1
    ).to_csv(csv, index=False)
    args = ["backtest", "--strategy", "sma_cross", "--csv", str(csv), "--stop-loss", "2"]
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=set(HEAVY)), *args, "--json"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "loaded": []}, result.stderr
    assert json.loads(result.stdout)["metrics"]["num_trades"] > 0


def test_the_faces_still_give_their_database_names():
    """The names loaded on first use are the modules' own objects."""
    import core.backtest
    import core.candles
    import core.exchanges
    from core.backtest import service
    from core.candles import cache
    from core.exchanges import factory, paper_bulk

    assert core.backtest.run_sweep.__module__ == "core.backtest.sweep"
    assert core.backtest.load_candles is service.load_candles
    assert core.candles.closed_candles is cache.closed_candles
    assert core.exchanges.market_feed is factory.market_feed
    assert core.exchanges.place_market_orders is paper_bulk.place_market_orders
    for face in (core.backtest, core.candles, core.exchanges):
        assert all(hasattr(face, name) for name in face.__all__)
