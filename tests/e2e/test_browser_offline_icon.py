"""The sign-in page in a real browser asks nothing of any other host: the favicon is the app's
own file (a Material icon would be fetched from fonts.gstatic.com at every load)."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.e2e.conftest import wait_idle


def test_the_favicon_is_served_by_the_app_and_nothing_comes_from_elsewhere(
    app_server, browser_page
):
    page = browser_page
    elsewhere: list[str] = []

    def record(route):
        if urlsplit(route.request.url).hostname not in ("127.0.0.1", None):
            elsewhere.append(route.request.url)
            return route.abort()  # as on a box without internet
        return route.continue_()

    page.route("**/*", record)
    page.goto(app_server["url"])
    page.get_by_role("button", name="Sign in").wait_for()
    wait_idle(page)
    page.wait_for_function(
        "() => (document.querySelector(\"link[rel='shortcut icon']\") || {}).href"
        "?.includes('/media/')",
        timeout=15_000,
    )
    href = page.evaluate("() => document.querySelector(\"link[rel='shortcut icon']\").href")
    assert urlsplit(href).hostname == "127.0.0.1"
    answer = page.request.get(href)
    assert answer.ok and answer.body().startswith(b"\x89PNG")
    assert elsewhere == []
