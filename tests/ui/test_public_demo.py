"""The public demo's screens (STEADYBOT_PUBLIC_DEMO=1): "Try it without an account" signs a
visitor in as a private guest trader; no sign-up, no first-admin form, no shared demo login; a
guest sees no live-key form, no password or notification settings."""

from __future__ import annotations

import pytest

from core import demo, users
from core.platform.config import load_settings
from core.platform.runtime import start
from tests.factories import make_user
from tests.ui.helpers import button, gate_app, messages, page
from ui.session import TOKEN_KEY, USER_KEY

TRY = "Try it without an account"


@pytest.fixture
def demo_rt(monkeypatch):
    monkeypatch.setenv("STEADYBOT_PUBLIC_DEMO", "1")
    rt = start("test", settings=load_settings())
    yield rt
    rt.engine.dispose()


def shown(at) -> str:
    kinds = ("markdown", "caption", "info", "error", "warning", "success", "subheader")
    return " ".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def test_the_sign_in_page_offers_a_guest_and_nothing_that_makes_an_admin(demo_rt):
    at = gate_app()
    assert not at.exception
    labels = [b.label for b in at.button]
    assert TRY in labels and "Create account" not in labels
    assert "Create administrator" not in labels
    text = shown(at)
    assert "setup token" not in text.lower()
    assert demo.DEMO_PASSWORD not in text  # no shared login anyone could change or lock
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_two_visitors_get_two_private_guests(demo_rt):
    first = button(gate_app(), TRY).click().run()
    second = button(gate_app(), TRY).click().run()
    homes = [
        next(m for m in messages(at)["markdown"] if m.startswith("HOME")) for at in (first, second)
    ]
    assert all(h.startswith("HOME guest-") and h.endswith(" trader") for h in homes)
    assert homes[0] != homes[1]
    assert any("Guest trader" in c.value for c in first.sidebar.caption)


def test_a_guest_sees_no_live_key_form_and_the_admin_does(demo_rt):
    guest, _ = demo.start_guest(demo_rt, address="203.0.113.5")
    at = page("exchange_accounts.py", guest.id)
    assert not at.exception and not at.error
    assert "only its administrator" in shown(at)
    assert "Exchange" not in [s.label for s in at.selectbox]
    assert "Guest paper" in at.dataframe[0].value["Label"].tolist()
    with demo_rt.session() as s:
        admin = make_user(s, username="root", role="admin")
    at = page("exchange_accounts.py", admin.id)
    assert "Exchange" in [s.label for s in at.selectbox]
    assert "only its administrator" not in shown(at)


def test_a_guest_has_no_password_or_notification_settings(demo_rt):
    guest, _ = demo.start_guest(demo_rt, address="203.0.113.5")
    at = page("account.py", guest.id)
    assert not at.exception and not at.error
    assert "guest trader of the public demo" in shown(at)
    assert "Change password" not in [b.label for b in at.button]
    assert not [t for t in at.text_area if "Notification URLs" in t.label]
    assert "Sign out everywhere" not in [b.label for b in at.button]  # Log out deletes it


def test_the_users_page_counts_guests_instead_of_listing_them(demo_rt):
    guest, _ = demo.start_guest(demo_rt, address="203.0.113.5")
    with demo_rt.session() as s:
        admin = make_user(s, username="root", role="admin")
    at = page("admin_users.py", admin.id)
    assert not at.exception and not at.error
    assert "**1** guest trader(s)" in shown(at)
    listed = " ".join(d.value.to_csv() for d in at.dataframe)
    assert "root" in listed and guest.username not in listed


def test_a_guest_who_logs_out_is_deleted_with_its_data(demo_rt):
    at = button(gate_app(), TRY).click().run()
    home = next(m for m in messages(at)["markdown"] if m.startswith("HOME"))
    username = home.split()[1]
    with demo_rt.read() as s:
        assert users.get_by_username(s, username=username).is_guest
    at = button(at, "Log out").click().run()
    assert TRY in [b.label for b in at.button]
    with demo_rt.read() as s:
        assert users.get_by_username(s, username=username) is None
        assert users.guests_alive(s) == 0


def test_a_stale_log_out_in_another_tab_deletes_nobody_else(demo_rt):
    """Tab 2 still shows a guest's Log out after tab 1 logged it out; SQLite gives the next
    visitor's guest the same id. Tab 2's click must end nothing but its own (gone) session."""
    tab1 = button(gate_app(), TRY).click().run()
    tab2 = gate_app()
    tab2.session_state[TOKEN_KEY] = tab1.session_state[TOKEN_KEY]  # the cookie, adopted
    tab2.session_state[USER_KEY] = tab1.session_state[USER_KEY]
    tab2.run()
    assert any(b.label == "Log out" for b in tab2.sidebar.button)
    first_id = tab1.session_state[USER_KEY]
    button(tab1, "Log out").click().run()
    visitor = button(gate_app(), TRY).click().run()
    assert visitor.session_state[USER_KEY] == first_id  # the id came back
    home = next(m for m in messages(visitor)["markdown"] if m.startswith("HOME"))
    button(tab2, "Log out").click().run()
    with demo_rt.read() as s:
        survivor = users.get_by_username(s, username=home.split()[1])
        assert survivor is not None and survivor.id == first_id
