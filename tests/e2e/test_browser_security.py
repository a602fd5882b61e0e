"""Issue 15's attacks on sessions, sign-in and navigation, tried in a real browser: each must
fail. Other client addresses come from X-Forwarded-For, which the server trusts from its own
loopback only (uvicorn's proxy-headers default: a reverse proxy on the same host)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core import users
from core.models import SignInThrottle, utcnow
from core.platform.config import load_settings
from core.platform.runtime import start
from tests.e2e.conftest import open_page, register_and_sign_in, shoot, wait_idle
from tests.factories import make_bot, make_paper_account

PASSWORD = "Correct-Horse-9"
NEW_PASSWORD = "Battery-Staple-42"
CRASH = "This app has encountered an error"
ELSEWHERE = "203.0.113.66"
BLOCKED = "203.0.113.77"


@pytest.fixture
def browser(browser_page):
    """The browser of `browser_page` (its first context is the admin's), for more contexts."""
    return browser_page.context.browser


def _context(browser, cookies=None, address=None):
    headers = {"X-Forwarded-For": address} if address else {}
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, extra_http_headers=headers)
    if cookies:
        ctx.add_cookies(cookies)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    return page


def _wait_for_cookie(page, *, changed_from: str | None = None) -> list[dict]:
    for _ in range(50):
        cookies = [c for c in page.context.cookies() if c["name"] == load_settings().cookie_name]
        if cookies and cookies[0]["value"] != changed_from:
            return cookies
        page.wait_for_timeout(200)
    raise AssertionError("the sign-in cookie was not (re)written")


def _signed_out(page, *, note: str | None = None) -> None:
    """The sign-in screen, no crash, no page list anywhere."""
    page.get_by_role("button", name="Sign in").wait_for()
    wait_idle(page)
    assert page.get_by_text(CRASH).count() == 0
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    for title in ("System", "Users", "All bots", "admin users"):
        assert page.get_by_role("link", name=title).count() == 0
    if note:
        page.get_by_text(note).wait_for()


def _sign_in(page, username: str, password: str) -> None:
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def _alert(page) -> str:
    wait_idle(page)
    return page.locator('[data-testid="stAlert"]').first.inner_text()


def test_deep_links_go_through_the_sign_in_gate(app_server, browser_page, browser):
    url, page = app_server["url"], browser_page
    # The very first request of a fresh server is a deep link to an admin page.
    for path in ("/admin_users", "/system", "/bot_detail?bot=3"):
        page.goto(url + path)
        _signed_out(page)
    shoot(page, "security-01-deep-link-signed-out")

    page.goto(url + "/admin_users")
    page.get_by_text("the first account you create becomes the admin").wait_for()
    page.get_by_label("New username").fill("alice")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_text("You have no bots yet").wait_for()  # registering signs in: Overview
    _wait_for_cookie(page)
    page.goto(url + "/admin_users")  # the page asked for, now signed in (the cookie)
    page.get_by_role("heading", name="Users").first.wait_for()

    # Signed in (the cookie), a deep link lands on that page, not on Overview.
    page.goto(url + "/bot_detail")
    page.get_by_role("heading", name="Bot detail").first.wait_for()
    assert page.get_by_role("heading", name="Overview").count() == 0
    page.goto(url + "/system")
    page.get_by_text("Journal mode").wait_for()

    # A trader's deep link to an admin page: a clear refusal, never the page.
    trader = _context(browser)
    trader.goto(url + "/")
    trader.get_by_text("Create an account").click()
    trader.get_by_label("New username").fill("bob")
    trader.get_by_label("Email").fill("bob@example.com")
    trader.get_by_label("New password", exact=True).fill(PASSWORD)
    trader.get_by_label("Repeat password").fill(PASSWORD)
    trader.get_by_role("button", name="Create account").click()
    trader.get_by_text("You have no bots yet").wait_for()  # signed in at once
    _wait_for_cookie(trader)
    for path in ("/system", "/admin_users", "/admin_bots"):
        trader.goto(url + path)
        trader.get_by_text("This page is for administrators.").wait_for()
        wait_idle(trader)
        assert trader.get_by_text("Journal mode").count() == 0
        assert trader.get_by_text(CRASH).count() == 0
        assert trader.get_by_role("link", name="System").count() == 0
    shoot(trader, "security-02-trader-deep-link")
    trader.context.close()


def test_a_copied_cookie_dies_with_a_password_change_and_with_log_out(
    app_server, browser_page, browser
):
    url, page = app_server["url"], browser_page
    page.goto(url)
    register_and_sign_in(page, PASSWORD)
    stolen = _wait_for_cookie(page)

    thief = _context(browser, cookies=stolen)  # a copy of the cookie, another browser
    thief.goto(url + "/account")
    thief.get_by_role("heading", name="Account settings").wait_for()  # the copy works...

    open_page(page, "Account settings")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Password changed.").wait_for()
    renewed = _wait_for_cookie(page, changed_from=stolen[0]["value"])

    thief.reload()  # ...until the password changes
    _signed_out(thief, note="Your session has ended")
    thief.goto(url + "/system")
    _signed_out(thief)
    shoot(thief, "security-03-old-cookie-refused")

    page.reload()  # the owner's own browser got a new session and stays in
    page.get_by_role("heading", name="Account settings").first.wait_for()
    copy = _context(browser, cookies=renewed)
    copy.goto(url + "/account")
    copy.get_by_role("heading", name="Account settings").wait_for()

    page.get_by_role("button", name="Log out").click()  # Log out ends it server-side
    page.get_by_text("You are signed out.").wait_for()
    copy.reload()
    _signed_out(copy, note="Your session has ended")
    page.reload()
    _signed_out(page)
    for p in (thief, copy):
        p.context.close()


def test_the_bot_detail_refresh_checks_the_session(app_server, browser_page):
    url, page = app_server["url"], browser_page
    page.goto(url)
    register_and_sign_in(page, PASSWORD)
    rt = start("test", settings=load_settings())
    with rt.session() as session:
        alice = users.get_by_username(session, username="alice")
        account = make_paper_account(session, owner=alice)
        bot = make_bot(session, owner=alice, account_id=account.id, name="Watched bot")
    page.goto(f"{url}/bot_detail?bot={bot.id}")
    page.get_by_role("heading", name="Watched bot").first.wait_for()
    wait_idle(page)
    with rt.session() as session:  # e.g. "sign out everywhere" from another browser
        users.end_all_sessions(session, user_id=alice.id)
    # Nobody touches the page: its 5-second refresh alone must notice.
    page.get_by_role("button", name="Sign in").wait_for(timeout=20_000)
    _signed_out(page, note="Your session has ended")
    assert page.get_by_role("heading", name="Watched bot").count() == 0


def test_guesses_from_elsewhere_never_lock_the_admin_out(app_server, browser_page, browser):
    url, page = app_server["url"], browser_page
    page.goto(url)
    register_and_sign_in(page, PASSWORD)  # alice (admin) signs in from her own address
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are signed out.").wait_for()

    attacker = _context(browser, address=ELSEWHERE)
    attacker.goto(url)
    answers = []
    for i in range(10):
        _sign_in(attacker, "alice", f"Guess-number-{i}")
        answers.append(_alert(attacker))
        _sign_in(attacker, "nobody-here", f"Guess-number-{i}")
        answers.append(_alert(attacker))
    assert set(answers[:2]) == {"Wrong username or password."}  # no username enumeration
    assert any("Too many failed sign-ins" in a for a in answers)  # slowed down
    shoot(attacker, "security-04-attacker-throttled")
    rt = start("test", settings=load_settings())
    with rt.read() as session:  # the server saw the attacker's own address
        keys = {r.key: r.failures for r in session.exec(select(SignInThrottle))}
    assert keys.get(f"a:{ELSEWHERE}", 0) >= 10 and "u:alice" in keys

    # Twenty minutes of patient guessing from another address (one name a minute, every wait
    # honoured), replayed through the same sign-in code with past clock times: that address
    # is now blocked, for every name, even with alice's right password...
    start_at = utcnow() - timedelta(seconds=20 * 61)
    for i in range(20):
        at = start_at + timedelta(seconds=61 * (i + 1))
        result = users.sign_in(
            rt, username=f"admin{i}", password="Guess-1", address=BLOCKED, now=at
        )
        assert result.message == users.WRONG
    patient = _context(browser, address=BLOCKED)
    patient.goto(url)
    _sign_in(patient, "alice", PASSWORD)
    assert "from your network address" in _alert(patient)
    shoot(patient, "security-05-attacker-address-blocked")

    # From her own address: five wrong passwords (her typos), then the right one, at once.
    for i in range(5):
        _sign_in(page, "alice", f"Typo-number-{i}")
        assert _alert(page) == "Wrong username or password."
    _sign_in(page, "alice", PASSWORD)
    page.get_by_text("You have no bots yet").wait_for()
    assert page.get_by_text("Too many").count() == 0
    for p in (attacker, patient):
        p.context.close()
