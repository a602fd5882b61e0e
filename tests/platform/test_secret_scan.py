"""The end-of-run scan (tests/conftest.py) that fails the run when a test secret is in a log."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.conftest import TEST_SECRETS, leaked_secrets


def test_the_scan_finds_a_secret_in_a_rotated_log_and_only_there():
    # Outside the run's temporary dirs, or the end-of-run scan would find this planted leak.
    with tempfile.TemporaryDirectory() as tmp:
        _check(Path(tmp))


def _check(tmp_path: Path) -> None:
    logs = tmp_path / "data" / "logs"
    logs.mkdir(parents=True)
    (logs / "worker.log").write_text("tick ok\nkey ***\n")
    assert leaked_secrets(tmp_path) == []
    (logs / "worker.log.1").write_text(f"oops {TEST_SECRETS[3]} in a message\n")
    assert leaked_secrets(tmp_path) == [(str(logs / "worker.log.1"), TEST_SECRETS[3][:4])]
