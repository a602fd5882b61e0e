"""A person registers, signs in, reloads (still signed in via the cookie) and signs out."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, register_and_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "Correct-Horse-9"


def test_register_sign_in_reload_sign_out(app_server, browser_page):
    page = browser_page
    page.goto(app_server["url"])
    register_and_sign_in(page, PASSWORD, shoot=True)
    page.screenshot(path=str(ARTIFACTS / "02-overview.png"), full_page=True)

    page.wait_for_timeout(1500)  # let the cookie component store the re-auth cookie
    page.reload()
    page.get_by_text("You have no bots yet").wait_for()
    assert page.get_by_role("button", name="Sign in").count() == 0

    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are signed out.").wait_for()
    page.get_by_role("button", name="Sign in").wait_for()
    page.screenshot(path=str(ARTIFACTS / "03-signed-out.png"), full_page=True)
    page.wait_for_timeout(1500)  # the cookie component deletes the cookie in the browser
    page.reload()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_text("You have no bots yet").count() == 0
