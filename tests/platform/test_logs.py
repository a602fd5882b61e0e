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


def test_apprise_is_capped_at_warning_and_masked_at_the_source(data_dir):
    """apprise logs notification URLs below WARNING: capped whatever the level; and its own
    records are masked before any handler (file, stderr, a test's capture) sees them."""
    path = configure_logging(data_dir / "logs", "apprise-cap", level="DEBUG")
    notifier = logging.getLogger("apprise")
    seen: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    capture = Capture()
    notifier.addHandler(capture)  # before the root's handlers and their filters
    try:
        assert notifier.getEffectiveLevel() == logging.WARNING
        register_secret("tgram-token-0123456789")
        notifier.debug("POST https://api.telegram.org/bottgram-token-0123456789/sendMessage")
        notifier.warning("failed: https://api.telegram.org/bottgram-token-0123456789/x")
    finally:
        notifier.removeHandler(capture)
        logging.getLogger().setLevel(logging.INFO)
    assert seen == ["failed: https://api.telegram.org/bot***/x"]
    assert "tgram-token-0123456789" not in path.read_text()
