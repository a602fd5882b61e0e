"""supervisord runs web and worker from supervisord.conf and restarts each after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_COOKIE_KEY, TEST_MASTER_KEY
from tests.servers import free_port, healthy

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, port: int) -> Path:
    """The real supervisord.conf with the data dir, env file and interpreter of this test; the
    env file (as setup-box writes it) sets the port."""
    text = (ROOT / "supervisord.conf").read_text()
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    env_file = tmp_path / "steadybot.env"
    env_file.write_text(
        f"STEADYBOT_DATA_DIR={data}\nSTEADYBOT_COOKIE_KEY={TEST_COOKIE_KEY}\n"
        f"STEADYBOT_MASTER_KEYS={TEST_MASTER_KEY}\nSTEADYBOT_DEMO=0\n"
        f"STREAMLIT_SERVER_ADDRESS=127.0.0.1\nSTREAMLIT_SERVER_PORT={port}\n"
    )
    env_file.chmod(0o600)
    text = text.replace("%(here)s/steadybot.env", str(env_file))
    text = text.replace("%(here)s/data", str(data)).replace("%(here)s", str(ROOT))
    text = text.replace("command=python ", f"command={sys.executable} ")
    path = tmp_path / "supervisord.conf"
    path.write_text(text)
    return path


def _ctl(conf: Path, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(conf), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout


def _pids(conf: Path) -> dict[str, int | None]:
    pids = {}
    for line in _ctl(conf, "status").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            pids[parts[0]] = int(parts[3].rstrip(",")) if parts[1] == "RUNNING" else None
    return pids


def _wait(predicate, limit_s: float = 60.0) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_both_programs_run_and_come_back_after_kill_9(tmp_path):
    port = free_port()
    conf = _config(tmp_path, port)
    # Only the env file configures the programs (a variable in the environment would win).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEADYBOT_", "STREAMLIT_"))}
    subprocess.run(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)],
        env=env,
        check=True,
        timeout=30,
        cwd=ROOT,
    )
    try:
        assert _wait(lambda: all(_pids(conf).get(p) for p in ("web", "worker")))
        # Start-up of the web program (migrate, then Streamlit's imports) on a loaded 2-core box
        # can take tens of seconds; on a timeout the message shows what supervisord saw.
        assert _wait(lambda: healthy(f"http://127.0.0.1:{port}"), 120), _diagnosis(conf, tmp_path)
        for program in ("worker", "web"):
            old = _pids(conf)[program]
            os.kill(old, signal.SIGKILL)
            assert _wait(lambda p=program, o=old: _pids(conf).get(p) not in (None, o)), program
        assert _wait(lambda: healthy(f"http://127.0.0.1:{port}"), 120), _diagnosis(conf, tmp_path)
        heartbeat_log = (tmp_path / "data" / "logs" / "worker.log").read_text()
        assert "worker started" in heartbeat_log
    finally:
        _shutdown(conf, tmp_path / "data" / "supervisord.pid")


def _diagnosis(conf: Path, tmp_path: Path) -> str:
    logs = tmp_path / "data" / "logs"
    tails = []
    for name in ("web.out.log", "supervisord.log"):
        path = logs / name
        text = path.read_text(errors="replace") if path.exists() else "(none)"
        tails.append(f"--- {name} ---\n{text[-3000:]}")
    return f"status:\n{_ctl(conf, 'status')}\n" + "\n".join(tails)


def _shutdown(conf: Path, pidfile: Path) -> None:
    """supervisorctl shutdown (stops both programs); SIGTERM to our supervisord if that fails."""
    _ctl(conf, "shutdown")
    if _wait(lambda: not pidfile.exists(), 30):
        return
    try:
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
    except (OSError, ValueError):
        return
    _wait(lambda: not pidfile.exists(), 30)
