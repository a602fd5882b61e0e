"""Account settings, Notifications (AppTest): internal or unknown URLs are refused with a clear
message and nothing is written; the test button obeys the same policy; and after a send whose
URL holds a token, the System page's log tail does not show it."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import select

from core.models import NotificationSetting
from core.platform.vault import Vault
from tests.factories import make_user
from tests.ui.helpers import app_runtime, button, messages, page

PAGE = "account.py"
TOKEN = "987654321:AAH-notify-token-telegram-0001"  # in tests/conftest.py TEST_SECRETS


@pytest.fixture
def people():
    rt = app_runtime()
    with rt.session() as s:
        admin = make_user(s, username="root", role="admin")
        erin = make_user(s, username="erin")
    return rt, admin, erin


def _save(at, text: str):
    next(t for t in at.text_area if t.label.startswith("Notification URLs")).input(text)
    return button(at, "Save notification settings").click().run()


def _saved(rt, user_id: int) -> NotificationSetting | None:
    with rt.read() as s:
        return s.exec(
            select(NotificationSetting).where(NotificationSetting.user_id == user_id)
        ).first()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("json://169.254.169.254/latest/meta-data", "a link-local address"),
        ("form://127.0.0.1:6379/", "a loopback address"),
        ("xml://localhost:5432/", "the server itself"),
        ("json://2130706433/", "a loopback address"),
        ("json://[::ffff:10.0.0.1]/", "a private address"),
        ("syslog://", "scheme Steadybot does not send to"),
        ("tgram://bad", "not one apprise understands"),
        ("x" * 2000, "too long"),
        ("tgram://1:A/1\n" * 11, "At most 10"),
    ],
)
def test_bad_urls_are_refused_with_a_clear_message_and_nothing_is_written(people, text, expected):
    rt, _admin, erin = people
    at = _save(page(PAGE, erin.id), text)
    assert not at.exception
    errors = messages(at)["error"]
    assert errors and expected in errors[0], errors
    assert "STEADYBOT" not in expected or "STEADYBOT_NOTIFY_ALLOW_HOSTS" in errors[0]
    assert _saved(rt, erin.id) is None


def test_a_telegram_url_is_saved_and_never_shown_again(people):
    rt, _admin, erin = people
    at = _save(page(PAGE, erin.id), f"tgram://{TOKEN}/-1001234567890")
    assert not at.exception and "Notification settings saved." in messages(at)["success"]
    assert _saved(rt, erin.id).url_count == 1
    shown = " ".join(
        str(e.value) for kind in ("markdown", "caption", "success") for e in getattr(at, kind)
    )
    assert TOKEN not in shown


def test_the_test_button_refuses_an_internal_target_and_the_system_page_hides_the_token(people):
    """A stored URL whose host is internal now (stored before the rule, or DNS changed): the
    test button sends nothing and says so; the log says why without the token; the System
    page's log tail shows no token either."""
    rt, admin, erin = people

    url = f"json://127.0.0.1:9/hook?token={TOKEN}"
    with rt.session() as s:  # as an older version stored it, without the check
        s.add(
            NotificationSetting(
                user_id=erin.id, urls_enc=Vault.from_settings(rt.settings).encrypt(url), url_count=1
            )
        )
    logging.getLogger("apprise").setLevel(logging.DEBUG)  # even if someone lowers the cap
    try:
        at = button(page(PAGE, erin.id), "Send a test notification").click().run()
    finally:
        logging.getLogger("apprise").setLevel(logging.WARNING)
    assert not at.exception
    assert any(
        "refused because it now points to an internal address" in e for e in messages(at)["error"]
    )
    log_dir = rt.settings.log_dir
    written = "".join(p.read_text() for p in log_dir.glob("*.log"))
    assert "refused: it points to '127.0.0.1', a loopback address" in written
    assert TOKEN not in written
    system = page("system.py", admin.id)
    assert not system.exception
    shown = " ".join(
        str(e.value)
        for kind in ("code", "markdown", "text", "caption")
        for e in getattr(system, kind)
    ) + " ".join(d.value.to_csv() for d in system.dataframe)
    assert "loopback address" in shown  # the tail is there ...
    assert TOKEN not in shown  # ... without the token
