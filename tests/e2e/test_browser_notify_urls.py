"""The server-side request attack (issue 15, item 3) in a real browser: notification URLs to
the metadata service, Redis or the database are refused on Account settings, with the reason,
and nothing is saved (so nothing can ever be sent to them)."""

from __future__ import annotations

from tests.e2e.conftest import open_page, register_and_sign_in, shoot, wait_idle

PASSWORD = "Correct-Horse-9"
ATTACKS = {
    "json://169.254.169.254/latest/meta-data": "a link-local address",
    "form://127.0.0.1:6379/": "a loopback address",
    "xml://localhost:5432/": "the server itself",
    "json://2130706433/": "a loopback address",
}


def test_internal_notification_urls_are_refused_and_nothing_is_saved(app_server, browser_page):
    page = browser_page
    page.goto(app_server["url"])
    register_and_sign_in(page, PASSWORD)
    open_page(page, "Account settings")
    box = page.get_by_label("Notification URLs (0 saved; leave empty to keep them)")
    for url, why in ATTACKS.items():
        box.fill(url)
        page.get_by_role("button", name="Save notification settings").click()
        page.get_by_text(why).first.wait_for()
        page.get_by_text("notifications go to public hosts only").first.wait_for()
        wait_idle(page)
        assert page.get_by_text("Notification settings saved.").count() == 0
        box = page.get_by_label("Notification URLs (0 saved; leave empty to keep them)")
    shoot(page, "notify-internal-url-refused")
