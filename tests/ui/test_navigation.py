"""The real entry file under AppTest: st.navigation on every run, so a page file never runs
without the sign-in gate; deep links land on the page asked for, or a clear refusal."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from tests.ui.helpers import messages, register, sign_in

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Correct-Horse-9"


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    monkeypatch.setenv("STEADYBOT_WORKER", "off")


@pytest.fixture(autouse=True)
def _one_server_process(monkeypatch):
    """AppTest turns Streamlit's folder mode back on before EVERY run; a server process is in
    it for its very first run only (st.navigation turns it off for good). So: the first run
    of a test is a fresh process's, later ones are not (else every click would be lost to the
    guard's rerun, which no real browser session sees)."""
    from streamlit.runtime.pages_manager import PagesManager

    original, runs = PagesManager.__init__, []

    def init(self, *args, **kwargs):
        if runs:
            PagesManager.uses_pages_directory = False
        runs.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(PagesManager, "__init__", init)


def app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    if page:
        at.switch_page(page)  # as opening /<page> in the browser
    return at.run()


def _signed_out(at: AppTest) -> None:
    assert not at.exception
    assert not messages(at)["error"], messages(at)
    assert any(b.label == "Sign in" for b in at.button)
    assert not at.metric  # no page content (System shows metrics)


@pytest.mark.parametrize("page", ["pages/system.py", "pages/admin_users.py", "pages/bot_detail.py"])
def test_a_signed_out_deep_link_shows_the_sign_in_screen(page):
    at = app(page)
    _signed_out(at)
    from streamlit.runtime.pages_manager import PagesManager

    assert PagesManager.uses_pages_directory is False  # folder mode is off for good


def test_without_the_guard_folder_mode_would_run_the_page_file_ungated(monkeypatch):
    """What ui.boot._leave_folder_mode prevents, on this Streamlit: the first run of a process
    with a pages/ folder runs the deep-linked file directly, without the entry file. When this
    fails, Streamlit changed: check whether the guard is still needed."""
    monkeypatch.setattr("ui.boot._leave_folder_mode", lambda: None)
    at = app("pages/system.py")
    ran_ungated = bool(at.exception) or "Please sign in." in messages(at)["error"]
    assert ran_ungated
    assert not any(b.label == "Sign in" for b in at.button)


def test_after_signing_in_the_deep_linked_page_runs():
    at = register(app("pages/system.py"), "alice", PASSWORD)
    at = sign_in(at, "alice", PASSWORD)
    assert not at.exception
    assert any(m.label == "Journal mode" for m in at.metric)  # the System page, not Overview


def test_a_trader_deep_link_to_an_admin_page_is_a_clear_refusal():
    at = register(register(app(), "alice", PASSWORD), "bob", PASSWORD)
    at = sign_in(at, "bob", PASSWORD)
    assert any(t.value == "Overview" for t in at.title)
    for page in ("system", "admin_users", "admin_bots"):
        # What opening /system does: a trader's navigation registers these URL paths only as
        # a refusal, which AppTest.switch_page cannot name (a callable, not a file).
        at._page_hash = calc_hash(page)
        at.run()
        assert "This page is for administrators." in messages(at)["error"]
        assert not at.metric and not at.exception
        assert not any(s.label == "User" for s in at.selectbox)  # not the Users page either


def test_every_page_calls_boot_runtime_first():
    """The folder-mode guard lives in boot.runtime(): each page must call it before anything
    else that renders or reads."""
    for path in sorted((ROOT / "pages").glob("*.py")):
        body = [
            n
            for n in ast.parse(path.read_text()).body
            if not isinstance(n, ast.Import | ast.ImportFrom)
            and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
            and not isinstance(n, ast.Assign | ast.AnnAssign)
            or (isinstance(n, ast.Assign) and "boot.runtime" in ast.unparse(n))
        ]
        assert body and "boot.runtime()" in ast.unparse(body[0]), path.name


def test_every_fragment_checks_the_session():
    """A fragment's own reruns (run_every) skip the entry file and its gate: each must be a
    ui.session.checked_fragment, which checks the session on every run."""
    offenders = []
    for folder in ("pages", "ui"):
        for path in sorted((ROOT / folder).glob("*.py")):
            if path.name == "session.py":
                continue
            if "st.fragment" in path.read_text() or "fragment(" in path.read_text().replace(
                "checked_fragment(", ""
            ):
                offenders.append(path.name)
    assert offenders == []
    assert "checked_fragment(rt, run_every=" in (ROOT / "pages" / "bot_detail.py").read_text()


@pytest.mark.parametrize("page", [None, "pages/system.py"])
def test_registering_lands_signed_in_on_overview(page):
    at = register(app(page), "alice", PASSWORD)
    assert not at.exception
    assert any(t.value == "Overview" for t in at.title), [t.value for t in at.title]
    assert any(b.label == "Log out" for b in at.sidebar.button)
    assert not any(b.label == "Sign in" for b in at.button)
    assert not any(m.label == "Journal mode" for m in at.metric)  # not the deep-linked page


@pytest.mark.parametrize(
    ("label", "title"),
    [
        ("Open a paper account", "Exchange accounts"),
        ("Create a bot", "Bots"),
        ("Try a backtest", "Backtest"),
    ],
)
def test_a_newcomers_overview_is_a_welcome_with_first_steps(label, title):
    at = register(app(), "alice", PASSWORD)
    assert any(t.value == "Overview" for t in at.title)
    assert any(h.value.startswith("Welcome") for h in at.subheader)
    assert not at.metric  # no row of zero tiles
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception
    assert any(t.value.startswith(title) for t in at.title), [t.value for t in at.title]
