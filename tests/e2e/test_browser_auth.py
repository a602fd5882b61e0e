"""A person registers, signs in, reloads (still signed in via the cookie) and signs out."""

from __future__ import annotations

from tests.e2e.conftest import register_and_sign_in, shoot

PASSWORD = "Correct-Horse-9"


def test_register_sign_in_reload_sign_out(app_server, browser_page):
    page = browser_page
    page.goto(app_server["url"])
    register_and_sign_in(page, PASSWORD, screenshot=True)
    shoot(page, "02-overview")

    page.wait_for_timeout(1500)  # let the cookie component store the re-auth cookie
    page.reload()
    page.get_by_text("You have no bots yet").wait_for()
    assert page.get_by_role("button", name="Sign in").count() == 0

    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are signed out.").wait_for()
    page.get_by_role("button", name="Sign in").wait_for()
    shoot(page, "03-signed-out")
    page.wait_for_timeout(1500)  # the cookie component deletes the cookie in the browser
    page.reload()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_text("You have no bots yet").count() == 0
