"""The public demo as Streamlit Community Cloud runs it: a fresh copy of the tree, a fresh
virtualenv with only `requirements.txt`, the README's secrets template filled in as
`.streamlit/secrets.toml`, no STEADYBOT_* or STREAMLIT_* environment variables, then
`streamlit run streamlit_app.py`. In chromium: two visitors press "Try it without an account";
each sees only their own guest trader's bot, neither reaches the admin pages or a live-key
form; the administrator from the secrets signs in and does."""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.e2e.conftest import CHROMIUM, open_page, shoot, wait_idle
from tests.e2e.test_box import fresh_checkout
from tests.servers import free_port, stop, wait_healthy

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "community-cloud-secrets.toml"
ADMIN_PASSWORD = "Owner-Password-2026"
TRY = "Try it without an account"


def filled_secrets() -> str:
    """The template with every "change-me" replaced, as an operator pastes it."""
    values = {
        "STEADYBOT_COOKIE_KEY": secrets.token_urlsafe(48),
        "STEADYBOT_MASTER_KEYS": Fernet.generate_key().decode(),
        "STEADYBOT_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text, count = re.subn(rf'^{name} = "change-me"', f'{name} = "{value}"', text, flags=re.M)
        assert count == 1, f"{name} is not in the template as a placeholder"
    assert not re.search(r'^[A-Z_]+ = "change-me"', text, flags=re.M)
    return text


def test_the_readme_shows_the_template_as_it_is():
    readme = (ROOT / "README.md").read_text()
    assert TEMPLATE.read_text().strip() in readme


@pytest.fixture
def cloud_app(tmp_path: Path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    app = fresh_checkout(tmp_path / "app")
    (app / ".streamlit" / "secrets.toml").write_text(filled_secrets())
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STEADYBOT_", "STREAMLIT_"))}
    clean.pop("VIRTUAL_ENV", None)
    clean["PATH"] = f"{venv / 'bin'}{os.pathsep}{clean.get('PATH', '')}"
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "-r", "requirements.txt"],
        cwd=app,
        env={**clean, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    port = free_port()
    log = (tmp_path / "streamlit.out").open("w")
    proc = subprocess.Popen(
        [str(venv / "bin" / "streamlit"), "run", "streamlit_app.py",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=app, env=clean, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, limit_s=120)
        yield {"url": url, "app": app, "log": tmp_path / "streamlit.out"}
    finally:
        stop(proc)
        log.close()


def bots_of(app: Path) -> dict[str, list[int]]:
    with sqlite3.connect(app / "data" / "steadybot.db") as db:
        rows = db.execute(
            'SELECT u.username, b.id FROM bot b JOIN "user" u ON u.id = b.owner_id'
        ).fetchall()
    found: dict[str, list[int]] = {}
    for username, bot_id in rows:
        found.setdefault(username, []).append(bot_id)
    return found


def become_guest(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_role("button", name=TRY).click()
    page.get_by_text("Guest trader").first.wait_for(timeout=120_000)  # the sidebar says so
    wait_idle(page, quiet_ms=2_000)  # the session cookie is written
    caption = page.get_by_text(re.compile(r"Guest trader Guest [0-9a-f]{4}")).first.inner_text()
    return context, page, re.search(r"Guest trader Guest ([0-9a-f]{4})", caption).group(1)


def test_two_guests_on_the_cloud_demo_are_private_and_powerless(cloud_app):
    from playwright.sync_api import sync_playwright

    url, app = cloud_app["url"], cloud_app["app"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            signed_out = browser.new_page()
            signed_out.goto(url)
            signed_out.get_by_role("button", name=TRY).wait_for()
            text = signed_out.locator('[data-testid="stMain"]').inner_text()
            assert "Create account" not in text and "setup token" not in text.lower()
            assert "demo-trader" not in text  # no shared demo password
            shoot(signed_out, "cloud-sign-in")

            ctx_a, page_a, name_a = become_guest(browser, url)
            ctx_b, page_b, name_b = become_guest(browser, url)
            assert name_a != name_b
            owners = bots_of(app)
            guests = {u: ids for u, ids in owners.items() if u.startswith("guest-")}
            assert len(guests) == 2 and all(len(ids) == 1 for ids in guests.values()), owners
            tag_b = name_b  # "Guest 1a2b" in the sidebar: its username is guest-1a2b...
            ((user_b, (mine_b,)),) = [
                (u, ids) for u, ids in guests.items() if u.startswith(f"guest-{tag_b}")
            ]
            ((theirs,),) = [ids for u, ids in guests.items() if u != user_b]

            for page in (page_a, page_b):
                open_page(page, "Bots")
                page.get_by_text("Demo SMA 3/8").first.wait_for()
                assert page.get_by_role("button", name="Details →").count() == 1  # one bot only
                # Admin pages: not in the menu, and a typed URL is refused.
                assert page.get_by_role("link", name="Users", exact=True).count() == 0
                page.goto(f"{url}/admin_users")
                page.get_by_text("This page is for administrators.").wait_for()
                # No live key can be added.
                page.goto(f"{url}/exchange_accounts")
                page.get_by_text(
                    "only its administrator can add a live exchange account"
                ).wait_for()
                assert page.get_by_role("button", name="Check and save").count() == 0
                assert page.get_by_text("Guest paper").count() >= 1
            shoot(page_a, "cloud-guest-accounts")

            # A link to the other guest's bot shows one's own bot, never the other's.
            page_b.goto(f"{url}/bot_detail?bot={theirs}")
            page_b.get_by_text("Candles on the chart").wait_for()
            wait_idle(page_b)
            assert page_b.url.endswith(f"bot={mine_b}"), page_b.url

            # The administrator comes from the secrets and sees what guests do not.
            admin = browser.new_page()
            admin.goto(url)
            admin.get_by_label("Username").fill("owner")
            admin.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
            admin.get_by_role("button", name="Sign in").click()
            admin.get_by_role("link", name="Users", exact=True).wait_for()
            wait_idle(admin, quiet_ms=2_000)  # the session cookie is written
            admin.goto(f"{url}/exchange_accounts")
            admin.get_by_text("Connect an exchange").wait_for()
            wait_idle(admin)
            assert admin.get_by_text("only its administrator").count() == 0
            ctx_a.close()
            ctx_b.close()
        finally:
            browser.close()
    out = cloud_app["log"].read_text()
    assert "Traceback" not in out
    secrets_toml = (app / ".streamlit" / "secrets.toml").read_text()
    values = re.findall(
        r'^STEADYBOT_(?:COOKIE_KEY|MASTER_KEYS|ADMIN_PASSWORD) = "([^"]+)"',
        secrets_toml,
        flags=re.M,
    )
    assert len(values) == 3
    logs = [out] + [p.read_text() for p in (app / "data" / "logs").glob("*.log")]
    assert len(logs) > 1 and any("guest trader" in text for text in logs)
    for value in values:  # no secret of the secrets in any log
        assert not any(value in text for text in logs)
