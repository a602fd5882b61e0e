"""The README's box section, run as written on a fresh copy of the tree (the working tree as it
is, without data/ or .git): `python -m core.cli setup-box`, `supervisord -c supervisord.conf`,
`supervisorctl ... status` shows web and worker RUNNING, `python -m core.cli doctor` is healthy
with a live worker, `create-user` makes the admin, and the sign-in page (in chromium) offers no
demo login: production, from the env file setup-box wrote."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.platform import envfile
from tests.e2e.conftest import shoot, wait_idle
from tests.servers import free_port, healthy

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# What a fresh clone does not have: local state, caches, and a box's own settings.
NOT_IN_A_CLONE = {
    ".git",
    "data",
    "test-artifacts",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".import_linter_cache",
    ".benchmarks",
    envfile.BOX_ENV_FILE.name,
}
PASSWORD = "Correct-Horse-9"


def fresh_checkout(dest: Path) -> Path:
    shutil.copytree(
        ROOT, dest, ignore=lambda _dir, names: [n for n in names if n in NOT_IN_A_CLONE]
    )
    return dest


def box_env() -> dict[str, str]:
    """An operator's shell: the project's interpreter first on PATH (virtualenv active), no
    STEADYBOT_* or STREAMLIT_* variables of the test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEADYBOT_", "STREAMLIT_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def sh(checkout: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        list(args),
        cwd=checkout,
        env=box_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def status(checkout: Path) -> dict[str, str]:
    result = sh(checkout, str(BIN / "supervisorctl"), "-c", "supervisord.conf", "status")
    return {p[0]: p[1] for p in (line.split() for line in result.stdout.splitlines()) if len(p) > 1}


def wait_for(predicate, limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def shutdown(checkout: Path) -> None:
    sh(checkout, str(BIN / "supervisorctl"), "-c", "supervisord.conf", "shutdown")
    pidfile = checkout / "data" / "supervisord.pid"
    deadline = time.monotonic() + 60
    while pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    if pidfile.exists():
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)


def test_the_readme_box_commands_from_a_fresh_clone(tmp_path, browser_page):
    if not (BIN / "supervisord").exists():
        pytest.fail(f"supervisord is not in {BIN}: pip install -r requirements.txt")
    checkout = fresh_checkout(tmp_path / "steadybot")
    port = free_port()

    made = sh(checkout, sys.executable, "-m", "core.cli", "setup-box", "--port", str(port))
    assert made.returncode == 0, made.stderr
    env_file = checkout / envfile.BOX_ENV_FILE.name
    assert f"settings  {env_file}" in made.stdout and "Back up:" in made.stdout
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    first = env_file.read_bytes()
    values = envfile.read_env_file(env_file)
    assert values["STEADYBOT_ENV"] == "production"
    unit = (checkout / "data" / "steadybot.service").read_text()
    assert f"ExecStart={BIN}/supervisord -n -c {checkout}/supervisord.conf" in unit

    started = sh(checkout, str(BIN / "supervisord"), "-c", "supervisord.conf")
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: status(checkout) == {"web": "RUNNING", "worker": "RUNNING"}, 60, "RUNNING")
        wait_for(lambda: healthy(url), 60, "the web server")
        time.sleep(4)  # past startsecs: neither program is crash-looping
        assert status(checkout) == {"web": "RUNNING", "worker": "RUNNING"}

        def doctor_healthy() -> bool:
            return sh(checkout, sys.executable, "-m", "core.cli", "doctor").returncode == 0

        wait_for(doctor_healthy, 30, "a healthy doctor")  # the worker's first beat
        doctor = sh(checkout, sys.executable, "-m", "core.cli", "doctor", "--json")
        report = json.loads(doctor.stdout)
        assert report["ok"] is True and report["worker"]["alive"] >= 1
        assert report["settings"]["env"] == "production"
        assert report["settings"]["env_file"] == str(env_file)
        assert report["data_dir"]["path"] == str(checkout / "data")

        created = sh(
            checkout,
            sys.executable,
            "-m",
            "core.cli",
            "create-user",
            "admin",
            "--email",
            "admin@example.com",
            "--admin",
            stdin=PASSWORD + "\n",
        )
        assert created.returncode == 0, created.stderr

        page = browser_page
        page.goto(url)
        page.get_by_role("button", name="Sign in").wait_for()
        wait_idle(page, quiet_ms=1_000)  # the landing notes render after the form
        shoot(page, "box-sign-in")
        body = page.inner_text("body")
        assert "demo-trader-2026" not in body and "Just looking?" not in body
        with sqlite3.connect(checkout / "data" / "steadybot.db") as conn:
            names = [r[0] for r in conn.execute('SELECT username FROM "user"')]
        assert names == ["admin"]  # no demo trader in production

        # Safe to run twice: the secrets stay.
        again = sh(checkout, sys.executable, "-m", "core.cli", "setup-box", "--port", str(port))
        assert again.returncode == 0 and env_file.read_bytes() == first
    finally:
        shutdown(checkout)
    logs = checkout / "data" / "logs"
    assert "env=production" in (logs / "web.log").read_text()
    assert "env=production" in (logs / "worker.log").read_text()
