"""A person's first trading session in a real browser: register, open a paper account, create a
fast bot on the simulated market, start it, and see its first order on the Bot detail page
(the embedded worker runs it). Screenshots of every page go to test-artifacts/."""

from __future__ import annotations

from tests.e2e.conftest import open_page, register_and_sign_in, shoot

PASSWORD = "Correct-Horse-9"
PAGES = [
    "Overview",
    "Bots",
    "Bot detail",
    "Trades",
    "Exchange accounts",
    "Account settings",
    "Users",
    "All bots",
    "System",
]


HEADINGS = {"Bot detail": "Fast DCA", "Users": "Users"}


def go(page, title: str) -> None:
    open_page(page, title, HEADINGS.get(title, title))


def test_first_bot_places_an_order_and_every_page_renders(app_server, browser_page):
    page = browser_page
    page.goto(app_server["url"])
    register_and_sign_in(page, PASSWORD)

    go(page, "Exchange accounts")
    page.get_by_label("Label", exact=True).fill("Paper")
    page.get_by_role("button", name="Open paper account").click()
    page.get_by_text("Paper account opened.").wait_for()

    go(page, "Bots")
    page.get_by_role("combobox").nth(1).click()  # Exchange account, then Strategy
    page.get_by_role("option", name="DCA with safety orders").click()
    page.get_by_label("Bot name").fill("Fast DCA")
    page.get_by_role("button", name="Create bot").click()
    page.get_by_text("Bot 'Fast DCA' created").wait_for()
    page.get_by_role("button", name="▶ Start").click()
    page.get_by_text("running").first.wait_for()
    page.get_by_role("button", name="Details →").click()
    # The embedded worker ticks 1m bots a second after each minute closes.
    page.get_by_text("entries").first.wait_for(timeout=150_000)
    page.get_by_role("tab", name="Orders").click()
    page.get_by_text("closed").first.wait_for(state="attached")  # a filled order in the grid
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    shoot(page, "bot-detail")

    for title in PAGES:
        go(page, title)
        if title == "Trades":
            page.get_by_text("Download CSV").wait_for()
        shoot(page, title.lower().replace(" ", "-"))
    assert not page.get_by_text("Something went wrong").count()
