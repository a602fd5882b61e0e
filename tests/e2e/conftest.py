"""Browser tests: a real `streamlit run` on a free port, driven by Playwright in Debian's
chromium (no browser download). Skipped with a reason where chromium is missing; failing
instead under STEADYBOT_REQUIRE_SERVICES=1 (CI installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_COOKIE_KEY, TEST_MASTER_KEY, services_required
from tests.servers import free_port, stop, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[dict]:
    """`streamlit run streamlit_app.py` with a temporary data dir; yields url and paths."""
    port = free_port()
    data_dir = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STEADYBOT_")},
        "STEADYBOT_DATA_DIR": str(data_dir),
        "STEADYBOT_COOKIE_KEY": TEST_COOKIE_KEY,
        "STEADYBOT_MASTER_KEYS": TEST_MASTER_KEY,
        "STEADYBOT_DEMO": os.environ.get("E2E_DEMO", "0"),
    }
    log = (tmp_path / "streamlit.out").open("w")
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield {"url": url, "data_dir": data_dir, "proc": proc}
    finally:
        stop(proc)
        log.close()


@pytest.fixture
def browser_page() -> Iterator:
    if not Path(CHROMIUM).exists():
        if services_required():
            pytest.fail("chromium is not installed and STEADYBOT_REQUIRE_SERVICES=1")
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def register_and_sign_in(page, password: str, *, screenshot: bool = False) -> None:
    """The first visit of a person: create the (admin) account, which signs it in."""
    page.get_by_text("the first account you create becomes the admin").wait_for()
    if screenshot:
        shoot(page, "01-welcome")
    page.get_by_label("New username").fill("alice")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Display name").fill("Alice")
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("Repeat password").fill(password)
    page.get_by_role("button", name="Create account").click()
    page.get_by_text("You have no bots yet").wait_for()  # signed in, on Overview's welcome
    assert page.get_by_role("button", name="Sign in").count() == 0
    wait_idle(page, quiet_ms=2_000)  # the cookie component writes the session cookie


def open_page(page, title: str, heading: str | None = None, *, attempts: int = 3) -> None:
    """Click `title` in the sidebar and wait for the page's heading, clicking again if a rerun
    in flight swallowed the click; then wait until Streamlit is idle."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(1, attempts + 1):
        page.get_by_role("link", name=title, exact=True).click()
        try:
            page.get_by_role("heading", name=heading or title).first.wait_for(timeout=15_000)
            break
        except PlaywrightTimeout:
            if attempt == attempts:
                raise
            wait_idle(page)
    wait_idle(page)


IDLE_JS = """quietMs => {
    const app = document.querySelector('[data-testid="stApp"]');
    const idle = app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
        && !document.querySelector('[data-stale="true"]')
        && !document.querySelector('[data-testid="stSpinner"]');
    if (!idle) { window.__sbIdleSince = null; return false; }
    window.__sbIdleSince = window.__sbIdleSince || performance.now();
    return performance.now() - window.__sbIdleSince >= quietMs;
}"""


def wait_idle(page, *, timeout_ms: int = 30_000, quiet_ms: int = 500) -> None:
    """Wait until Streamlit has finished running the script: not running, no "Running" icon,
    no stale (greyed) elements, no spinner, for `quiet_ms` in a row (a fragment's refresh may
    start again at any time; a quiet window between two is enough for a screenshot)."""
    page.evaluate("() => { window.__sbIdleSince = null; }")
    page.wait_for_function(IDLE_JS, arg=quiet_ms, polling=100, timeout=timeout_ms)


def shoot(page, name: str, *, max_height: int = 3200) -> None:
    """Screenshot the whole page to test-artifacts/<name>.png once Streamlit is idle.

    Streamlit scrolls inside its own container, so the window is made as tall as the content
    (bounded) for the shot and put back afterwards."""
    wait_idle(page)
    height = page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]');
            const block = document.querySelector('[data-testid="stMainBlockContainer"]');
            return Math.max(main ? main.scrollHeight : 0, block ? block.scrollHeight + 120 : 0);
        }"""
    )
    size = page.viewport_size or {"width": 1400, "height": 900}
    page.set_viewport_size({"width": size["width"], "height": min(max(900, height), max_height)})
    try:
        page.wait_for_timeout(300)  # charts redraw for the new size; no script run happens
        wait_idle(page)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        page.set_viewport_size(size)
