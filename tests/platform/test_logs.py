"""Logging: format fields, redaction of secrets (messages and tracebacks), tail."""

from __future__ import annotations

import logging

from core.platform.logs import configure_logging, register_secret, tail


def test_log_lines_have_time_level_logger_process_thread(data_dir):
    path = configure_logging(data_dir / "logs", "unit")
    logging.getLogger("steadybot.test").warning("hello %s", "world")
    line = path.read_text().strip().splitlines()[-1]
    assert " WARNING steadybot.test [pid=" in line
    assert "MainThread" in line
    assert line.endswith("hello world")


def test_registered_secret_is_masked_in_messages_and_tracebacks(data_dir):
    path = configure_logging(data_dir / "logs", "unit")
    secret = "sk_live_9f8e7d6c5b4a"
    register_secret(secret)
    log = logging.getLogger("steadybot.test")
    log.info("calling with key %s", secret)
    try:
        raise ValueError(f"bad key {secret}")
    except ValueError:
        log.exception("failed")
    text = path.read_text()
    assert secret not in text
    assert "calling with key ***" in text
    assert "ValueError: bad key ***" in text


def test_tail_returns_the_last_lines_across_files(data_dir):
    configure_logging(data_dir / "logs", "unit")
    log = logging.getLogger("steadybot.test")
    for i in range(300):
        log.info("line %d", i)
    lines = tail(data_dir / "logs", 200)
    assert len(lines) == 200
    assert lines[-1].endswith("line 299")
