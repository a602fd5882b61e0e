"""Notification tokens never reach the log: apprise's logger is capped at WARNING, each stored
URL and its secret parts are masked on their own, and apprise's own records are masked at the
source, even when apprise is let log at DEBUG and logs the Telegram request URL with the token.
The end-of-run scan (tests/conftest.py TEST_SECRETS) checks every log file again."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from core.notify import channels as notify
from core.notify.policy import Policy
from core.platform.logs import configure_logging
from tests.fakes.receiver import json_receiver
from tests.notify.conftest import ALLOW_LOCAL, no_dns

TG_TOKEN = "987654321:AAH-notify-token-telegram-0001"
TG_URL = f"tgram://{TG_TOKEN}/-1001234567890"
JSON_TOKEN = "notify-token-json-0002"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(
            f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in self.records
        )


@pytest.fixture
def loud_log(data_dir: Path):
    """Logging at DEBUG, apprise too (as if someone lowered its cap), every record captured."""
    path = configure_logging(data_dir / "logs", "notifylog", level="DEBUG")
    notifier = logging.getLogger("apprise")
    capped = notifier.level
    capture = Records()
    logging.getLogger().addHandler(capture)
    notifier.setLevel(logging.DEBUG)
    try:
        yield path, capture
    finally:
        notifier.setLevel(capped)
        logging.getLogger().removeHandler(capture)
        logging.getLogger().setLevel(logging.INFO)


def test_apprise_is_capped_at_warning_even_when_everything_else_logs_debug(data_dir):
    configure_logging(data_dir / "logs", "notifycap", level="DEBUG")
    try:
        assert logging.getLogger().level == logging.DEBUG
        assert logging.getLogger("apprise").getEffectiveLevel() == logging.WARNING
    finally:
        logging.getLogger().setLevel(logging.INFO)


def test_a_telegram_token_is_in_no_record_and_not_in_the_file(loud_log, monkeypatch):
    """apprise posts to https://api.telegram.org/bot<TOKEN>/sendMessage and logs that URL at
    DEBUG. No internet here: api.telegram.org is made to resolve to 127.0.0.1, where the
    connect guard refuses it (fast, and a proof of the guard too)."""
    path, capture = loud_log
    real = socket.getaddrinfo

    def local(host, *args, **kwargs):
        if host == "api.telegram.org":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 9))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local)
    assert notify.send([TG_URL], title="t", body="b", policy=Policy(resolver=no_dns)) is False
    text = capture.text()
    apprise_lines = [r.getMessage() for r in capture.records if r.name == "apprise"]
    assert any("api.telegram.org/bot***" in line for line in apprise_lines), apprise_lines
    assert "connection refused, 127.0.0.1 is a loopback address" in text
    for secret in (TG_TOKEN, TG_URL, TG_TOKEN.split(":")[1]):
        assert secret not in text
        assert secret not in path.read_text()


def test_a_json_token_is_in_no_record_and_not_in_the_file(loud_log):
    path, capture = loud_log
    with json_receiver() as (url, received):
        target = url.replace("s3cr3t-token", JSON_TOKEN)
        assert notify.send([target], title="t", body="b", policy=ALLOW_LOCAL)
    assert len(received) == 1
    text = capture.text()
    assert any(r.name == "apprise" for r in capture.records)  # apprise did log
    assert JSON_TOKEN not in text and JSON_TOKEN not in path.read_text()


def test_a_mistyped_url_is_not_logged_by_apprise_while_it_is_checked(loud_log):
    """On a typo apprise logs the whole URL at ERROR ("Could not load Discord URL: ..."); the
    check keeps it quiet and the user gets a message naming the line only."""
    path, capture = loud_log
    typo = "discord://notify-token-typo-0003"
    with pytest.raises(Exception, match="line 1"):
        notify.parse_urls(typo, policy=Policy(resolver=no_dns))
    assert "notify-token-typo-0003" not in capture.text()
    assert "notify-token-typo-0003" not in path.read_text()


def test_each_stored_url_is_masked_on_its_own_once_loaded(loud_log, rt):
    """The vault registers the joined list it decrypts; apprise and error messages see one
    URL, or a part of it: each is masked on its own."""
    from core.platform.vault import Vault

    path, _capture = loud_log
    vault = Vault.from_settings(rt.settings)
    second = "json://127.0.0.1:9/x?token=notify-token-json-0004"
    with rt.session() as s:
        from tests.factories import make_user

        user = make_user(s, username="dora")
        notify.save_settings(
            s,
            user=user,
            urls_text=f"{TG_URL}\n{second}",
            events=["fill"],
            cipher=vault,
            policy=ALLOW_LOCAL,
        )
    with rt.read() as s:
        urls = notify.load_urls(notify.get_settings(s, user_id=user.id), vault)
    log = logging.getLogger("steadybot.test")
    log.warning(
        "one url %s, a token %s, a query value %s", second, TG_TOKEN, "notify-token-json-0004"
    )
    written = path.read_text()
    assert urls == [TG_URL, second]
    assert "one url ***, a token ***, a query value ***" in written
