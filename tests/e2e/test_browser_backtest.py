"""Backtest in a real browser: a sim backtest with its metrics and charts, a two-parameter sweep
with its heatmap, and "Create a bot with these settings" landing on a prefilled Bots form.
Screenshots backtest.png and backtest-sweep.png go to test-artifacts/."""

from __future__ import annotations

from tests.e2e.conftest import ARTIFACTS, open_page, register_and_sign_in

PASSWORD = "Correct-Horse-9"


def shot(page, name: str) -> None:
    # Streamlit scrolls inside its own container: a tall window shows the whole page.
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.wait_for_timeout(2000)  # let plotly finish drawing
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})


def test_sim_backtest_sweep_and_bot_prefill_in_the_browser(app_server, browser_page):
    page = browser_page
    page.goto(app_server["url"])
    register_and_sign_in(page, PASSWORD)
    open_page(page, "Exchange accounts")
    page.get_by_label("Label", exact=True).fill("Paper")
    page.get_by_role("button", name="Open paper account").click()
    page.get_by_text("Paper account opened.").wait_for()

    open_page(page, "Backtest")
    page.get_by_role("button", name="Run backtest").click()
    page.get_by_text("Profit factor").wait_for(timeout=60_000)
    page.get_by_text("Equity vs buy and hold").first.wait_for()
    # Rendered after the trades table, a moment after the charts: wait for it, then count.
    page.get_by_role("button", name="Download trades (CSV)").wait_for()
    assert page.get_by_role("button", name="Download trades (CSV)").count() == 1
    shot(page, "backtest")

    page.get_by_role("tab", name="Parameter sweep").click()
    page.get_by_role("button", name="Run sweep").click()
    page.get_by_text("backtest(s) run").wait_for(timeout=120_000)
    page.get_by_text("Colour by").wait_for()
    shot(page, "backtest-sweep")

    page.get_by_role("tab", name="Backtest", exact=True).click()
    page.get_by_role("button", name="Create a bot with these settings").first.click()
    page.get_by_text("starts from your backtest").wait_for()
    assert page.get_by_label("Bot name").input_value() == "SMA crossover BTC/USDT 1h"
    assert not page.get_by_text("Something went wrong").count()
