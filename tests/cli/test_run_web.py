"""`python -m core.cli run web` (what supervisord runs) reads the env file, migrates the schema
and only then becomes the Streamlit server (the same process): a fresh database is at head as
soon as the server answers, before any browser has opened a page."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.platform import db, migrate
from tests.conftest import TEST_COOKIE_KEY, TEST_MASTER_KEY
from tests.servers import free_port, healthy, stop

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_the_schema_is_at_head_when_the_server_first_answers(tmp_path):
    port = free_port()
    data_dir = tmp_path / "data"
    env_file = tmp_path / "steadybot.env"
    env_file.write_text(
        "STEADYBOT_ENV=production\n"
        f"STEADYBOT_DATA_DIR={data_dir}\n"
        f"STEADYBOT_COOKIE_KEY={TEST_COOKIE_KEY}\n"
        f"STEADYBOT_MASTER_KEYS={TEST_MASTER_KEY}\n"
        "STEADYBOT_WORKER=off\n"
        "STREAMLIT_SERVER_ADDRESS=127.0.0.1\n"
    )
    env_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYBOT_")}
    env["STEADYBOT_ENV_FILE"] = str(env_file)
    out = (tmp_path / "web.out").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "run", "web", "--server.port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not healthy(url):
            assert proc.poll() is None, (tmp_path / "web.out").read_text()
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.2)
        engine = db.make_engine(f"sqlite:///{data_dir / 'steadybot.db'}")
        try:
            assert migrate.is_at_head(engine)  # nobody has opened a page yet
        finally:
            engine.dispose()
        # The server is the process supervisord started (exec, not a child it would orphan).
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"streamlit" in cmdline and b"run" in cmdline
    finally:
        stop(proc)
        out.close()
    log = (data_dir / "logs" / "web.log").read_text()
    assert "starting the web server" in log
    # One start: the wrapper's (production settings, schema migrated); no page ran a script.
    assert log.count("web started") == 1 and "env=production" in log
    assert "schema upgraded from empty" in log
