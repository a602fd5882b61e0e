"""A trader's first hour in a real browser (issue 17), what a person sees at each step.

Register: signed in at once, on Overview's welcome with its first steps. Open a paper account:
listed at once, with a toast. Create bots through the form: a DCA bot (started at once, it buys
on its first tick), an SMA crossover, an RSI and a Grid bot on the simulated market. The form
shows every problem at once under its field (a missing name, a parameter out of range, an
order size above the paper balance, with the balance), starts empty again after a create,
shows only the chosen strategy's settings, shows a grid the current price and refuses a range
that does not contain it. The cards say account, paper, order size, risk limits and the
strategy by its title. Started, the bots trade: Bot detail shows the DCA bot's order and
position, the RSI bot's oscillator in its own panel with its 30/70 band, and Overview's PnL
curve counts the open position. Last, a backtest and a bot created from it, its form filled in
from the backtest.

The AppTests (tests/ui/test_bot_trader.py, test_presentation_pages.py) hold the details; this
test holds what the browser shows. Screenshots go to test-artifacts/first-hour-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import open_page, register_and_sign_in, shoot, wait_idle

PASSWORD = "Correct-Horse-9"
TRADE_WAIT_MS = 150_000  # the worker ticks 1m bots a second after each minute closes

PLOTS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(p => ({
    traces: (p.data || []).map(t => [t.name, t.yaxis || 'y']),
    domains: Object.fromEntries(Object.keys(p._fullLayout || {})
        .filter(k => /^yaxis\\d*$/.test(k)).map(k => [k, p._fullLayout[k].domain])),
    bands: ((p.layout || {}).shapes || []).map(s => [s.y0, s.yref]),
}))"""
HAS_TRACE_JS = """name => [...document.querySelectorAll('.js-plotly-plot')]
    .some(p => (p.data || []).some(t => t.name === name))"""


def spin(page, label: str):
    return page.get_by_role("spinbutton", name=label, exact=True)


def enter(page, label: str, value, *, role: str = "spinbutton") -> None:
    """Type into a field and leave it (Streamlit takes the value on blur), then wait for the
    rerun to finish."""
    box = page.get_by_role(role, name=label, exact=True)
    box.fill(str(value))
    box.press("Tab")
    wait_idle(page)


def pick(page, label: str, option: str) -> None:
    """Choose `option` in the select box `label`, scrolled into view first as a person would:
    a box clicked below the fold scrolls the page, and that scroll closes the list it opened.
    Should a re-layout (a refresh of the cards above) scroll it anyway, open it again."""
    box = page.get_by_role("combobox", name=label)
    choice = page.get_by_role("option", name=option, exact=True)
    for attempt in range(3):
        box.scroll_into_view_if_needed()
        wait_idle(page)
        if box.get_attribute("aria-expanded") != "true":
            box.click()
        try:
            choice.click(timeout=5_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def choose_strategy(page, title: str, shows: str) -> None:
    """Pick a strategy on the create form and wait until its field `shows` is there."""
    pick(page, "Strategy", title)
    spin(page, shows).wait_for()
    wait_idle(page)


def absent(page, *labels: str) -> None:
    for label in labels:
        assert spin(page, label).count() == 0, f"{label!r} is shown"


def create(page, name: str) -> None:
    """Press Create bot; the toast says it was created and the form starts empty again."""
    page.get_by_role("button", name="Create bot").click()
    page.get_by_text(f"Bot '{name}' created").wait_for()
    wait_idle(page)
    assert page.get_by_role("textbox", name="Bot name").input_value() == ""


def card(page, name: str):
    """The bordered container of one bot's card on the Bots page."""
    heading = page.locator('[data-testid="stMarkdownContainer"]').filter(
        has=page.locator("strong", has_text=re.compile(f"^{re.escape(name)}$"))
    )
    return (
        page.locator('[data-testid="stVerticalBlock"]')
        .filter(has=heading)
        .filter(has=page.get_by_role("button", name="Details →"))
        .last  # the innermost: the outer blocks hold every card
    )


def start(page, name: str) -> None:
    card(page, name).get_by_role("button", name="▶ Start").click()
    page.get_by_text(f"'{name}' started.").wait_for()
    card(page, name).get_by_role("button", name="❚❚ Pause").wait_for()
    wait_idle(page)


def below(upper, lower) -> bool:
    """Whether element `lower` starts where element `upper` ends, or further down."""
    return lower.bounding_box()["y"] >= upper.bounding_box()["y"] + upper.bounding_box()["height"]


@pytest.mark.slow
def test_a_traders_first_hour(app_server, browser_page):
    page = browser_page
    page.goto(app_server["url"])

    # Registering signs in: Overview's welcome, no second sign-in.
    register_and_sign_in(page, PASSWORD)
    page.get_by_role("heading", name="Welcome, Alice").wait_for()
    for step in ("Open a paper account", "Create a bot", "Try a backtest"):
        page.get_by_role("button", name=step).wait_for()
    assert page.get_by_role("textbox", name="Password", exact=True).count() == 0
    assert page.locator('[data-testid="stMetric"]').count() == 0  # no row of zero tiles
    shoot(page, "first-hour-welcome")

    # The welcome's first button: a paper account, listed as soon as it is opened.
    page.get_by_role("button", name="Open a paper account").click()
    page.get_by_role("heading", name="Exchange accounts").wait_for()
    page.get_by_text("No exchange accounts yet").wait_for()
    wait_idle(page)
    page.get_by_role("textbox", name="Label", exact=True).fill("Paper")
    page.get_by_role("button", name="Open paper account").click()
    page.get_by_text("Paper account 'Paper' opened.").wait_for()  # the toast
    page.get_by_text("Paper · Simulated market").wait_for()  # the list, in the same click
    wait_idle(page)
    assert page.get_by_text("No exchange accounts yet").count() == 0

    # A DCA bot first, started at once: it buys on its first tick while the others are made.
    open_page(page, "Bots")
    page.get_by_text("No bots yet").wait_for()
    choose_strategy(page, "DCA with safety orders", shows="Safety orders")
    enter(page, "Bot name", "Fast DCA", role="textbox")
    create(page, "Fast DCA")
    start(page, "Fast DCA")

    # SMA crossover (the form's default): its own fields only; every problem at once.
    spin(page, "Fast average").wait_for()
    spin(page, "Max open positions").wait_for()
    absent(page, "Lower price", "Safety orders", "RSI length")
    enter(page, "Fast average", 1)
    enter(page, "Size (USDT)", 1_000_000_000_000)
    page.get_by_role("button", name="Create bot").click()
    page.get_by_text("Nothing was saved: fix the 3 problems marked above.").wait_for()
    wait_idle(page)
    missing_name = page.get_by_text("Bot name is required.")
    bad_fast = page.get_by_text("Fast average must be between 2 and 500.")
    # The balance: 10,000 USDT, less what Fast DCA may have bought by now.
    held = r"more than the paper account 'Paper' holds \((10,000|9,\d{3})\.\d\d USDT\)"
    too_big = page.get_by_text(re.compile(held))
    for error in (missing_name, bad_fast, too_big):
        error.wait_for()
        assert error.count() == 1
    assert page.get_by_text("Parameter '").count() == 0  # words, not internal names
    assert below(page.get_by_role("textbox", name="Bot name"), missing_name)
    assert below(spin(page, "Fast average"), bad_fast)
    assert below(bad_fast, spin(page, "Slow average"))  # right under its own field
    assert below(spin(page, "Size (USDT)"), too_big)
    shoot(page, "first-hour-form-problems")
    enter(page, "Bot name", "SMA fast", role="textbox")
    enter(page, "Fast average", 5)
    enter(page, "Slow average", 20)
    enter(page, "Size (USDT)", 250)
    enter(page, "Take-profit % (0 = off)", 3)
    enter(page, "Stop-loss % (0 = off)", 2)
    create(page, "SMA fast")
    assert page.get_by_text("Nothing was saved").count() == 0
    assert spin(page, "Fast average").input_value() == "10"  # the defaults again

    # RSI: its fields, not the SMA's.
    choose_strategy(page, "RSI mean reversion", shows="RSI length")
    absent(page, "Fast average", "Lower price")
    spin(page, "Oversold level").wait_for()
    enter(page, "Bot name", "RSI swing", role="textbox")
    create(page, "RSI swing")

    # Grid: the current price, no setting a grid ignores, a range beside the price refused.
    choose_strategy(page, "Grid", shows="Lower price")
    absent(page, "Max open positions", "Take-profit % (0 = off)", "Fast average", "RSI length")
    caption = page.get_by_text(re.compile(r"^Current price of BTC/USDT: [\d,.]+ USDT$"))
    caption.wait_for()
    price = float(caption.inner_text().split(": ")[1].split()[0].replace(",", ""))
    enter(page, "Bot name", "Dip grid", role="textbox")
    enter(page, "Lower price", 100)
    enter(page, "Upper price", 200)
    page.get_by_text("is above the grid (100–200): it buys nothing until").wait_for()
    page.get_by_role("button", name="Create bot").click()
    refused = page.get_by_text(re.compile(r"The current price \([\d,.]+ USDT\) is outside"))
    refused.wait_for()
    wait_idle(page)
    assert below(spin(page, "Upper price"), refused) and below(refused, spin(page, "Levels"))
    assert page.get_by_text("fix the 1 problem marked above").count() == 1
    shoot(page, "first-hour-grid-refused")
    enter(page, "Lower price", int(price * 0.97))
    enter(page, "Upper price", int(price * 1.03) + 1)
    enter(page, "Levels", 30)
    assert page.get_by_text("is outside").count() == 0  # fixed: the message goes at once
    create(page, "Dip grid")

    # The cards: account, paper, order size, risk limits and the strategy by its title.
    for name, heading, line in (
        ("Fast DCA", "DCA with safety orders", "Paper · 100 USDT per order"),
        (
            "SMA fast",
            "SMA crossover",
            "Paper · 250 USDT per order · take-profit 3 % · stop-loss 2 %",
        ),
        ("RSI swing", "RSI mean reversion", "Paper · 100 USDT per order"),
        ("Dip grid", "Grid", "Paper · 100 USDT per order"),
    ):
        box = card(page, name)
        box.get_by_text(f"{name} · BTC/USDT · 1m · {heading}", exact=True).wait_for()
        settings = box.locator('[data-testid="stMarkdownContainer"]', has_text=line)
        settings.wait_for()
        assert settings.inner_text() == f"paper {line}"  # the badge, then the settings
    assert page.get_by_text("sma_cross").count() == 0
    for name in ("SMA fast", "RSI swing", "Dip grid"):
        start(page, name)
    shoot(page, "first-hour-bots")

    # Bot detail: the DCA bot's first order, filled, and its open position.
    card(page, "Fast DCA").get_by_role("button", name="Details →").click()
    page.get_by_role("heading", name="Fast DCA").wait_for()
    page.get_by_text("entries").first.wait_for(timeout=TRADE_WAIT_MS)  # on the chart
    page.get_by_text("Flat: no open position.").wait_for(state="detached")
    page.get_by_role("tab", name="Orders").click()
    page.get_by_text("closed").first.wait_for(state="attached")  # a filled order in the grid
    wait_idle(page)

    # The RSI bot: RSI in a panel of its own under the candles, with its 30 / 70 band.
    pick(page, "Bot", "RSI swing · BTC/USDT 1m · RSI mean reversion")
    page.get_by_role("heading", name="RSI swing").wait_for()
    page.wait_for_function(HAS_TRACE_JS, arg="RSI")
    wait_idle(page)
    (chart,) = [p for p in page.evaluate(PLOTS_JS) if ["RSI", "y2"] in p["traces"]]
    assert ["price", "y"] in chart["traces"]  # the candles on the first axis
    assert chart["domains"]["yaxis2"][1] < chart["domains"]["yaxis"][0]  # a panel below
    assert sorted(chart["bands"]) == [[30, "y2"], [70, "y2"]]
    shoot(page, "first-hour-rsi-detail")

    # Overview: the PnL curve counts the open position; the cards are there too.
    open_page(page, "Overview")
    page.wait_for_function(HAS_TRACE_JS, arg="Realised + open positions")
    wait_idle(page)
    names = [t[0] for p in page.evaluate(PLOTS_JS) for t in p["traces"]]
    assert names == ["Realised", "Realised + open positions"]
    page.get_by_text("Fast DCA · BTC/USDT · 1m · DCA with safety orders").wait_for()
    shoot(page, "first-hour-overview")

    # A backtest, then a bot from it: the form starts from the backtest's settings.
    open_page(page, "Backtest")
    enter(page, "Fast average", 7)
    page.get_by_role("button", name="Run backtest").click()
    page.get_by_text("Profit factor").wait_for(timeout=60_000)
    create_from = page.get_by_role("button", name="Create a bot with these settings")
    create_from.wait_for()
    wait_idle(page)
    create_from.click()
    page.get_by_text("The form below starts from your backtest's settings.").wait_for()
    wait_idle(page)
    name = page.get_by_role("textbox", name="Bot name")
    assert name.input_value() == "SMA crossover BTC/USDT 1h"
    assert spin(page, "Fast average").input_value() == "7"  # not the default 10
    assert page.get_by_role("combobox", name="Timeframe").input_value() == "1h"
    create(page, "SMA crossover BTC/USDT 1h")
    page.get_by_text("SMA crossover BTC/USDT 1h · BTC/USDT · 1h · SMA crossover").wait_for()
    assert page.get_by_text("starts from your backtest").count() == 0
    assert page.get_by_text("Something went wrong").count() == 0
