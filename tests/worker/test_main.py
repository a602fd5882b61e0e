"""`python -m worker` runs the consumer with the project's settings and logging, beats, and
stops gracefully on SIGINT (what supervisord sends it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import select

from core.models import WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[2]


def _beating(rt, pid: int) -> bool:
    with rt.read() as s:
        return s.exec(select(WorkerHeartbeat).where(WorkerHeartbeat.pid == pid)).first() is not None


def test_python_m_worker_beats_and_stops_on_sigint(rt, data_dir):
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _beating(rt, proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _beating(rt, proc.pid)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    log = (data_dir / "logs" / "worker.log").read_text()
    assert "worker started" in log and "Consumer exiting" in log


def test_python_m_worker_help_prints_usage_and_starts_nothing(tmp_path):
    data_dir = tmp_path / "help-data"
    result = subprocess.run(
        [sys.executable, "-m", "worker", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "STEADYBOT_DATA_DIR": str(data_dir)},
    )
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m worker")
    assert "STEADYBOT_ENV_FILE" in result.stdout and "SIGINT" in result.stdout
    assert not data_dir.exists()  # no settings, logs or database: nothing started
