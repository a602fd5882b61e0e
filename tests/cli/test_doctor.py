"""`python -m core.cli doctor` tells the truth: every line `[ok ]` or `[FAIL]`, a fix on every
`[FAIL]`, the verdict "healthy" exactly when no line fails (exit 0, else 1), and a worker line
(live workers, last beat, queue depth, tick backlog) in text and JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from core.models import Tick, WorkerHeartbeat, utcnow
from core.platform import db, migrate
from core.platform.runtime import start
from tests.conftest import make_settings
from tests.factories import make_bot, make_paper_account, make_user

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("settings", "data_dir", "database", "schema", "worker")


def doctor(*args: str, **env: str) -> tuple[int, dict, list[str]]:
    """Exit code, the JSON report and the text lines of one report each."""
    full_env = {**os.environ, **env}
    run = [sys.executable, "-m", "core.cli", "doctor"]
    as_json = subprocess.run(
        [*run, "--json", *args], capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=120
    )
    text = subprocess.run(
        [*run, *args], capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=120
    )
    assert as_json.returncode == text.returncode, (as_json.stderr, text.stderr)
    return as_json.returncode, json.loads(as_json.stdout), text.stdout.splitlines()


def assert_consistent(code: int, report: dict, lines: list[str]) -> None:
    """Lines, verdict, JSON and exit code all say the same thing."""
    *checks, verdict = lines
    assert [line.split("]", 1)[1].split(":", 1)[0].strip() for line in checks] == list(SECTIONS)
    for section, line in zip(SECTIONS, checks, strict=True):
        ok = report[section]["ok"]
        assert line.startswith("[ok ] " if ok else "[FAIL] "), line
        if not ok:
            assert report[section]["fix"] and "fix: " + report[section]["fix"] in line
    healthy = all(report[s]["ok"] for s in SECTIONS)
    assert report["ok"] is healthy
    assert (verdict == "healthy") is healthy and (code == 0) is healthy
    if not healthy:
        assert verdict.startswith("NOT healthy")


def _beat(rt, *, ago_s: float = 0.0, depth: int | None = 0) -> None:
    with rt.session() as s:
        s.add(
            WorkerHeartbeat(
                worker_id=f"test:{ago_s}",
                host="test",
                pid=1,
                version="t",
                mode="external",
                last_beat=utcnow() - timedelta(seconds=ago_s),
                queue_depth=depth,
            )
        )


def test_fresh_install_fails_on_schema_and_worker_with_the_fixes(data_dir):
    code, report, lines = doctor()
    assert_consistent(code, report, lines)
    assert code == 1
    assert [s for s in SECTIONS if not report[s]["ok"]] == ["schema", "worker"]
    assert "python -m core.cli migrate" in report["schema"]["fix"]
    assert report["schema"]["version"] is None and report["schema"]["head"]
    assert report["worker"]["alive"] == 0
    assert lines[-1] == "NOT healthy (2 failed: schema, worker)"


def test_an_old_schema_names_both_versions_and_the_command(data_dir):
    engine = db.make_engine(f"sqlite:///{data_dir / 'steadybot.db'}")
    migrate.upgrade(engine, "0005")
    engine.dispose()
    code, report, lines = doctor()
    assert_consistent(code, report, lines)
    head = migrate.head_revision()
    schema_line = next(line for line in lines if "] schema:" in line)
    assert f"schema at 0005, head {head}" in schema_line
    assert "run `python -m core.cli migrate`" in schema_line


def test_migrated_without_a_live_worker_says_how_to_start_one(rt):
    _beat(rt, ago_s=300)  # a worker that died five minutes ago
    code, report, lines = doctor()
    assert_consistent(code, report, lines)
    assert [s for s in SECTIONS if not report[s]["ok"]] == ["worker"]
    worker = report["worker"]
    assert worker["alive"] == 0 and worker["dead"] == 1
    assert 290 <= worker["last_beat_age_s"] <= 400
    assert "python -m worker" in worker["fix"]
    assert "last beat 3" in worker["error"] or "last beat 4" in worker["error"]


def test_healthy_with_a_live_worker_reports_its_figures(rt):
    _beat(rt, depth=3)
    with rt.session() as s:
        user = make_user(s)
        account = make_paper_account(s, owner=user)
        bot = make_bot(s, owner=user, account_id=account.id)
        s.add(Tick(bot_id=bot.id, candle_ts=60_000, status="queued"))
        s.add(Tick(bot_id=bot.id, candle_ts=120_000, status="running"))
    code, report, lines = doctor()
    assert_consistent(code, report, lines)
    assert code == 0 and lines[-1] == "healthy"
    worker = report["worker"]
    assert worker["alive"] == 1 and worker["queue_depth"] == 3
    assert worker["ticks_queued"] == 1 and worker["ticks_running"] == 1
    assert 0 <= worker["last_beat_age_s"] < 60
    assert worker["oldest_queued_age_s"] is not None
    line = next(line for line in lines if "] worker:" in line)
    assert "1 live" in line and "queue depth 3" in line and "1 queued / 1 running" in line


def test_a_backlog_of_old_ticks_fails_even_with_live_workers(rt):
    _beat(rt)
    with rt.session() as s:
        user = make_user(s)
        account = make_paper_account(s, owner=user)
        bot = make_bot(s, owner=user, account_id=account.id)
        s.add(
            Tick(
                bot_id=bot.id,
                candle_ts=60_000,
                status="queued",
                created_at=utcnow() - timedelta(minutes=25),
            )
        )
    code, report, lines = doctor()
    assert_consistent(code, report, lines)
    assert [s for s in SECTIONS if not report[s]["ok"]] == ["worker"]
    assert "waited 25 min" in report["worker"]["error"]


def test_invalid_settings_fail_every_line_that_depends_on_them(data_dir):
    env = {k: v for k, v in os.environ.items() if k != "STEADYBOT_COOKIE_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "doctor"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**env, "STEADYBOT_ENV": "production"},
        timeout=60,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert all(line.startswith("[FAIL] ") for line in lines[:-1]) and len(lines) == 6
    assert "STEADYBOT_COOKIE_KEY" in lines[0] and "fix: " in lines[0]
    assert lines[-1].startswith("NOT healthy (5 failed")


def test_an_env_file_readable_by_others_fails_with_chmod(rt, tmp_path):
    _beat(rt)
    env_file = tmp_path / "steadybot.env"
    env_file.write_text("STEADYBOT_LOG_LEVEL=INFO\n")
    env_file.chmod(0o644)
    code, report, lines = doctor(STEADYBOT_ENV_FILE=str(env_file))
    assert_consistent(code, report, lines)
    assert report["settings"]["ok"] is False
    assert f"chmod 600 {env_file}" in report["settings"]["fix"]
    env_file.chmod(0o600)
    code, report, lines = doctor(STEADYBOT_ENV_FILE=str(env_file))
    assert code == 0 and report["settings"]["env_file"] == str(env_file)


@pytest.mark.parametrize("kind", ["missing", "bad line"])
def test_a_broken_env_file_is_one_clear_line(data_dir, tmp_path, kind):
    env_file = tmp_path / "steadybot.env"
    if kind == "bad line":
        env_file.write_text("STEADYBOT_ENV=production\nthis is not a setting\n")
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "doctor"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "STEADYBOT_ENV_FILE": str(env_file)},
        timeout=60,
    )
    assert result.returncode == 1
    expected = "setup-box" if kind == "missing" else "line 2 is not KEY=value"
    assert result.stderr.startswith("configuration error:") and expected in result.stderr


def test_doctor_on_postgresql_with_a_live_worker(pg_url, data_dir):
    rt = start("test", settings=make_settings(data_dir, database_url=pg_url))
    _beat(rt)
    code, report, lines = doctor(STEADYBOT_DATABASE_URL=pg_url)
    assert_consistent(code, report, lines)
    assert code == 0
    assert report["database"] == {"ok": True, "backend": "postgresql", "journal_mode": None}
    with rt.read() as s:
        assert len(s.exec(select(WorkerHeartbeat)).all()) == 1
