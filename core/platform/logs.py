"""Logging, configured once per entry point: rotating file in <data dir>/logs/ and stderr.

A redaction filter masks every configured secret (and every secret registered at run time,
such as a decrypted API secret) as a second line of defence: code must not log secrets at all.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s [pid=%(process)d %(threadName)s] %(message)s"
MASK = "***"
_lock = threading.Lock()
_handlers: dict[str, tuple[Path, logging.Handler]] = {}
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask `value` in every log line from now on (values shorter than 6 chars are ignored)."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record with secrets masked, including the formatted traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure_logging(
    log_dir: Path, process_name: str, *, level: str = "INFO", secrets: list[str] | None = None
) -> Path:
    """Set up the root logger once per process; returns the log file path.

    Each process kind (web, worker, cli) writes its own file: several processes rotating one
    file would lose lines.
    """
    for value in secrets or []:
        register_secret(value)
    log_dir.mkdir(parents=True, exist_ok=True)
    path = (log_dir / f"{process_name}.log").resolve()
    with _lock:
        if _handlers.get(process_name, (None,))[0] == path:
            return path
        root = logging.getLogger()
        root.setLevel(level)
        formatter = logging.Formatter(FORMAT)
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
        )
        new = [file_handler]
        if process_name not in _handlers:
            new.append(logging.StreamHandler(sys.stderr))
        else:  # same process, new data dir (tests): move the file handler, keep stderr
            _, old_file = _handlers[process_name]
            root.removeHandler(old_file)
            old_file.close()
        for handler in new:
            handler.setFormatter(formatter)
            handler.addFilter(RedactingFilter())
            root.addHandler(handler)
        _handlers[process_name] = (path, file_handler)
        # Chatty libraries: their debug lines can include request URLs.
        for noisy in ("urllib3", "ccxt", "huey.consumer", "watchdog"):
            logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
        # apprise logs whole notification URLs (tokens included) below WARNING: never let
        # those through, whatever the level; and mask its records at the source, so no
        # handler (the file, stderr, a test's capture) ever sees a registered secret.
        notifier = logging.getLogger("apprise")
        notifier.setLevel(max(logging.WARNING, root.level))
        if not any(isinstance(f, RedactingFilter) for f in notifier.filters):
            notifier.addFilter(RedactingFilter())
    return path


def tail(log_dir: Path, lines: int = 200) -> list[str]:
    """The last `lines` lines across this data dir's log files, oldest first."""
    collected: list[str] = []
    for path in sorted(log_dir.glob("*.log")):
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 256 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
        collected.extend(text.splitlines()[-lines:])
    collected.sort(key=lambda line: line[:23])  # lines start with the timestamp
    return [redact(line) for line in collected[-lines:]]
