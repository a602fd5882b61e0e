"""A page that raises shows an incident id, logs the traceback under it, and the app goes on."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.platform.config import load_settings
from core.platform.logs import configure_logging

APP = str(Path(__file__).resolve().parents[1] / "apps" / "boundary_app.py")


def _run(which: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["which"] = which
    return at.run()


def test_unexpected_error_shows_incident_id_and_logs_traceback():
    settings = load_settings()
    log_file = configure_logging(settings.log_dir, "web")
    at = _run("broken")
    assert not at.exception
    message = at.error[0].value
    incident = re.search(r"incident \*\*([0-9a-f]{8})\*\*", message).group(1)
    assert "boom" not in message  # no internals shown to the user
    assert "APP STILL SERVING" in [m.value for m in at.markdown]
    logged = log_file.read_text()
    assert f"incident {incident}" in logged
    assert "RuntimeError: boom: the page has a bug" in logged
    assert "Traceback" in logged


def test_expected_error_is_a_friendly_message_without_incident():
    at = _run("expected")
    assert [e.value for e in at.error] == ["That symbol is not traded here."]
    assert not at.exception


def test_other_sessions_keep_working_after_a_failure():
    _run("broken")
    at = _run("healthy")
    assert "HEALTHY PAGE" in [m.value for m in at.markdown]
    assert not at.error
