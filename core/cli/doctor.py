"""`python -m core.cli doctor [--json]`: one line per check, each `[ok ]` or `[FAIL]` with the
fix, and a verdict that is "healthy" exactly when every line is `[ok ]` (exit 0, else 1).

Checks, in order: settings (and the env file), data dir, database (reachable; WAL on SQLite),
schema (at head), worker (live workers, last beat, queue depth, backlog of ticks). A check that
cannot run because an earlier one failed fails too, saying which one to fix first.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from core.cli.commands import command, out
from core.errors import ConfigError
from core.platform import envfile

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from core.platform.config import Settings

# The database stack is imported inside the checks: importing core.cli (every command, such as
# a CSV backtest) loads none of it (tests/cli/test_backtest_imports.py).

SECTIONS = ("settings", "data_dir", "database", "schema", "worker")
ALIVE_WITHIN = timedelta(minutes=1)  # as the System page counts live workers
BACKLOG_LIMIT = timedelta(minutes=10)  # a queued tick older than this: the workers are behind
MIGRATE = "run `python -m core.cli migrate` (the web and worker also migrate when they start)"


def add_commands(sub) -> None:
    doctor = sub.add_parser(
        "doctor", help="check settings, data dir, database, schema and workers (exit 0: healthy)"
    )
    doctor.add_argument("--json", action="store_true", help="print one JSON object")


def _fail(info: dict, fix: str, **more) -> dict:
    return {**info, **more, "ok": False, "fix": fix}


def _settings_check() -> tuple[dict, Settings | None]:
    from core.platform.config import load_settings

    env_file = envfile.env_file_path()
    try:
        settings = load_settings()
    except ConfigError as exc:
        if env_file:
            fix = f"set the variable named above in {env_file}"
        else:
            fix = (
                "set the variable named above in the environment or .streamlit/secrets.toml; "
                "on a box made by `setup-box`: `export STEADYBOT_ENV_FILE=<repo>/steadybot.env`"
            )
        return _fail({"error": exc.message}, fix), None
    info = {"ok": True, "env": settings.env, "secrets": "present", "worker_mode": settings.worker}
    if env_file:
        info["env_file"] = str(env_file)
        if envfile.too_open(env_file):
            return _fail(
                info,
                f"`chmod 600 {env_file}`: it holds the master keys",
                error="the env file is readable by other users",
            ), settings
    return info, settings


def _data_dir_check(settings: Settings) -> dict:
    data_dir = settings.data_dir.resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        return _fail(
            {"path": str(data_dir)},
            f"make {data_dir} writable by this user, or set STEADYBOT_DATA_DIR",
            error=exc.strerror,
        )
    return {"ok": True, "path": str(data_dir)}


def _database_check(engine: Engine) -> dict:
    from core.platform import db

    backend = db.backend_name(engine)
    try:
        mode = db.journal_mode(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any driver error means "unreachable"
        return _fail(
            {"backend": backend, "journal_mode": None},
            "check STEADYBOT_DATABASE_URL and that the database server is up",
            error=f"unreachable ({type(exc).__name__})",
        )
    info = {"ok": True, "backend": backend, "journal_mode": mode}
    if backend == "sqlite" and mode != "wal":
        return _fail(
            info, "start the web or worker once (each connection sets WAL)", error="not WAL"
        )
    return info


def _schema_check(engine: Engine) -> dict:
    from alembic.script import ScriptDirectory

    from core.platform import migrate

    head = migrate.head_revision()
    current = migrate.current_revision(engine)
    info = {"ok": current == head, "version": current, "head": head, "at_head": current == head}
    if current == head:
        return info
    known = {rev.revision for rev in ScriptDirectory(str(migrate.MIGRATIONS_DIR)).walk_revisions()}
    if current is None:
        return _fail(info, MIGRATE, error=f"not migrated (empty database), head {head}")
    if current not in known:
        return _fail(
            info,
            "the database was migrated by a newer Steadybot: run that version's code (or "
            "restore a backup made by this one)",
            error=f"schema at {current}, unknown to this code (head {head})",
        )
    return _fail(info, MIGRATE, error=f"schema at {current}, head {head}")


def _age_s(moment: datetime | None, now: datetime) -> float | None:
    from core import views

    return None if moment is None else round((now - views.aware(moment)).total_seconds(), 1)


def _start_worker_fix(settings: Settings) -> str:
    if settings.worker == "embedded":
        return (
            "start the app (`streamlit run streamlit_app.py`; its embedded worker starts with "
            "the first page view) or `python -m worker`"
        )
    return (
        "start one: `supervisorctl -c supervisord.conf start worker` on a box (its output: "
        "data/logs/worker.out.log), or `python -m worker`"
    )


def _worker_check(engine: Engine, settings: Settings, schema_ok: bool) -> dict:
    from sqlalchemy import func, inspect
    from sqlmodel import Session, col, select

    from core import views
    from core.models import Tick, WorkerHeartbeat, utcnow

    info: dict = {"mode": settings.worker}
    if not inspect(engine).has_table(WorkerHeartbeat.__tablename__):
        return _fail(
            info,
            f"first: {MIGRATE}; then start a worker",
            alive=0,
            error="no heartbeat table yet (schema not migrated)",
        )
    now = utcnow()
    with Session(engine) as session:
        status = views.worker_status(session, now=now)
        counts = dict(
            session.exec(
                select(Tick.status, func.count())
                .where(col(Tick.status).in_(("queued", "running")))
                .group_by(Tick.status)
            ).all()
        )
        oldest = session.exec(
            select(func.min(Tick.created_at)).where(Tick.status == "queued")
        ).one()
    info.update(
        alive=status["alive"],
        dead=len(status["workers"]) - status["alive"],
        last_beat_age_s=_age_s(status["last_beat"], now),
        queue_depth=status["queue_depth"],
        ticks_queued=counts.get("queued", 0),
        ticks_running=counts.get("running", 0),
        oldest_queued_age_s=_age_s(oldest, now),
    )
    if not status["alive"]:
        last = info["last_beat_age_s"]
        seen = "no worker has ever beaten" if last is None else f"last beat {last:.0f} s ago"
        return _fail(info, _start_worker_fix(settings), error=f"no live worker ({seen})")
    behind = info["oldest_queued_age_s"]
    if behind is not None and behind > BACKLOG_LIMIT.total_seconds():
        return _fail(
            info,
            "the workers are not keeping up or are stuck: read data/logs/worker.log, then "
            "restart them or add workers (`python -m worker` on more cores or machines)",
            error=f"a tick has waited {behind / 60:.0f} min",
        )
    if not schema_ok:
        return _fail(info, f"first: {MIGRATE}", error="workers run on an old schema")
    return {**info, "ok": True}


def doctor_report() -> dict:
    """Every check as `{section: {"ok": bool, ..., "fix": str when not ok}}` plus `ok`: true
    exactly when every section is ok."""
    from core.platform import db

    report: dict = {"ok": False}
    settings_info, settings = _settings_check()
    report["settings"] = settings_info
    if settings is None:
        blocked = "first fix the settings"
        for section in SECTIONS[1:]:
            report[section] = _fail({}, blocked, error="not checked: the settings are invalid")
        return report
    report["data_dir"] = _data_dir_check(settings)
    engine = db.make_engine(
        settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    try:
        report["database"] = _database_check(engine)
        if report["database"]["ok"]:
            report["schema"] = _schema_check(engine)
            try:
                report["worker"] = _worker_check(engine, settings, report["schema"]["ok"])
            except Exception as exc:  # noqa: BLE001 - report, do not crash the doctor
                report["worker"] = _fail(
                    {"mode": settings.worker},
                    f"first: {MIGRATE}",
                    alive=0,
                    error=f"heartbeats unreadable ({type(exc).__name__})",
                )
        else:
            for section in ("schema", "worker"):
                report[section] = _fail(
                    {}, "first fix the database", error="not checked: the database is unreachable"
                )
    finally:
        engine.dispose()
    report["ok"] = all(report[section]["ok"] for section in SECTIONS)
    return report


def _describe(section: str, info: dict) -> str:
    if section == "settings" and "env" in info:
        text = f"env={info['env']}, secrets {info['secrets']}, worker={info['worker_mode']}"
        return text + (f", env file {info['env_file']}" if info.get("env_file") else "")
    if section == "data_dir" and "path" in info:
        return f"{info['path']} (writable)" if info["ok"] else info["path"]
    if section == "database" and "backend" in info:
        mode = f", journal_mode={info['journal_mode']}" if info["journal_mode"] else ""
        return f"{info['backend']}{mode}"
    if section == "schema" and "head" in info:
        return f"at head {info['head']}" if info["ok"] else ""
    if section == "worker" and "queue_depth" in info:
        last = info["last_beat_age_s"]
        oldest = info["oldest_queued_age_s"]
        return (
            f"{info['alive']} live ({info['dead']} gone), last beat "
            f"{'never' if last is None else f'{last:.0f} s ago'}, queue depth "
            f"{'unknown' if info['queue_depth'] is None else info['queue_depth']}, ticks "
            f"{info['ticks_queued']} queued / {info['ticks_running']} running"
            + (f" (oldest {oldest:.0f} s)" if oldest is not None else "")
        )
    return ""


def doctor_lines(report: dict) -> list[str]:
    """The text form: `[ok ] section: details` or `[FAIL] section: problem; fix: ...`."""
    lines = []
    for section in SECTIONS:
        info = report[section]
        details = _describe(section, info)
        if info["ok"]:
            lines.append(f"[ok ] {section}: {details}")
        else:
            problem = "; ".join(p for p in (info.get("error", ""), details) if p)
            lines.append(f"[FAIL] {section}: {problem} -> fix: {info['fix']}")
    failed = [s for s in SECTIONS if not report[s]["ok"]]
    verdict = f"NOT healthy ({len(failed)} failed: {', '.join(failed)})"
    lines.append("healthy" if report["ok"] else verdict)
    return lines


@command("doctor")
def cmd_doctor(args: argparse.Namespace) -> int:
    report = doctor_report()
    if args.json:
        out(json.dumps(report, default=str))
    else:
        for line in doctor_lines(report):
            out(line)
    return 0 if report["ok"] else 1
