"""`python -m core.cli` as a real subprocess: doctor and create-user."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from core.models import AuditLog, User
from core.platform import db

ROOT = Path(__file__).resolve().parents[2]
GOOD = "Correct-Horse-9"


def cli(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        input=stdin,
        text=True,
        capture_output=True,
        cwd=ROOT,
        env=full_env,
        timeout=120,
        check=False,
    )


def test_doctor_before_and_after_migrate(data_dir):
    """(tests/cli/test_doctor.py checks every line; here: migrate fixes the schema line.)"""
    before = json.loads(cli("doctor", "--json").stdout)
    assert before["ok"] is False and before["schema"]["at_head"] is False
    assert cli("migrate").returncode == 0
    after = json.loads(cli("doctor", "--json").stdout)
    assert after["schema"]["ok"] is True and after["schema"]["at_head"] is True
    assert after["database"] == {"ok": True, "backend": "sqlite", "journal_mode": "wal"}
    assert after["ok"] is False and after["worker"]["alive"] == 0  # no worker runs here


def test_doctor_in_production_without_secrets_names_the_variable():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("STEADYBOT_COOKIE_KEY", "STEADYBOT_MASTER_KEYS")
    }
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "doctor"],
        text=True,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        env={**env, "STEADYBOT_ENV": "production"},
    )
    assert result.returncode == 1
    assert "STEADYBOT_COOKIE_KEY" in result.stdout + result.stderr


def _counts(data_dir: Path) -> tuple[int, int]:
    engine = db.make_engine(f"sqlite:///{(data_dir / 'steadybot.db').resolve()}")
    with Session(engine) as s:
        return (
            s.exec(select(func.count()).select_from(User)).one(),
            s.exec(select(func.count()).select_from(AuditLog)).one(),
        )


def test_create_user_reads_the_password_from_stdin(data_dir):
    result = cli(
        "create-user", "alice", "--email", "alice@example.com", "--admin", stdin=GOOD + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert GOOD not in result.stdout + result.stderr
    assert _counts(data_dir)[0] == 1


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("bob", "--email", "bob@example.com"), "Xq7!", "too short"),
        (("alice", "--email", "other@example.com"), GOOD, "taken"),
        (("bob", "--email", "alice@example.com"), GOOD, "already exists"),
        (("bob", "--email", "not-an-email"), GOOD, "not a valid"),
        (("b\x01ob", "--email", "b@example.com"), GOOD, "control"),
    ],
)
def test_create_user_bad_input_exits_2_and_writes_nothing(data_dir, args, password, message):
    assert (
        cli("create-user", "alice", "--email", "alice@example.com", stdin=GOOD + "\n").returncode
        == 0
    )
    before = _counts(data_dir)
    result = cli("create-user", *args, stdin=password + "\n")
    assert result.returncode == 2
    assert message in result.stderr
    assert password not in result.stderr
    assert _counts(data_dir) == before


def test_backtest_command_prints_json_trades_and_metrics(tmp_path):
    import pandas as pd

    from core.exchanges.sim import sim_candles

    a = sim_candles("BTC/USDT", "1h", 1_767_225_600_000, 400)
    csv = tmp_path / "btc.csv"
    pd.DataFrame(
        {
            "date": pd.to_datetime(a["ts"], unit="ms"),
            "open": a["open"],
            "high": a["high"],
            "low": a["low"],
            "close": a["close"],
        }
    ).to_csv(csv)
    result = cli(
        "backtest",
        "--strategy",
        "sma_cross",
        "--param",
        "fast=5",
        "--param",
        "slow=20",
        "--csv",
        str(csv),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["metrics"]["num_trades"] == len(data["trades"]) > 0
    assert {"entry_time", "exit_time", "entry_price", "exit_price", "amount", "pnl"} <= set(
        data["trades"][0]
    )
    assert {"total_return_pct", "max_drawdown_pct", "win_rate_pct", "final_equity"} <= set(
        data["metrics"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--strategy", "nope"), "Unknown strategy"),
        (("--param", "fast"), "KEY=VALUE"),
        (("--param", "fast=50"), "shorter than the slow"),
    ],
)
def test_backtest_bad_input_is_one_clear_line(tmp_path, args, message):
    csv = tmp_path / "c.csv"
    csv.write_text("date,open,high,low,close\n2026-01-01,1,2,0.5,1\n2026-01-02,1,2,0.5,1\n")
    base = ["backtest", "--csv", str(csv)]
    if "--strategy" not in args:
        base += ["--strategy", "sma_cross"]
    result = cli(*base, *args)
    assert result.returncode == 2 and message in result.stderr
