"""AppTest helpers: find widgets by label, sign people in, run single pages."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import users
from core.platform.config import load_settings
from core.platform.runtime import Runtime, start
from ui.session import TOKEN_KEY, USER_KEY

ROOT = Path(__file__).resolve().parents[2]
GATE_APP = str(ROOT / "tests" / "apps" / "gate_app.py")
PAGE_APP = str(ROOT / "tests" / "apps" / "page_app.py")


def app_runtime() -> Runtime:
    """The runtime on the database the AppTest pages open (the settings from the environment
    that tests/conftest.py sets up)."""
    return start("test", settings=load_settings())


def gate_app() -> AppTest:
    return AppTest.from_file(GATE_APP, default_timeout=60).run()


def signed_in_as(at: AppTest, user_id: int) -> AppTest:
    """Give the AppTest session a real server-side session of `user_id` (as signing in does)."""
    rt = app_runtime()
    with rt.session() as session:
        token = users.start_session(
            session,
            user=users.get_user(session, user_id=user_id),
            key=rt.settings.cookie_key.get_secret_value(),
            days=1,
        )
    at.session_state[TOKEN_KEY] = token
    at.session_state[USER_KEY] = user_id
    return at


def page(name: str, user_id: int | None) -> AppTest:
    """One page file inside the error boundary, with a signed-in session (AppTest runs the
    page through tests/apps/page_app.py, as the app's router would)."""
    at = AppTest.from_file(PAGE_APP, default_timeout=60)
    at.session_state["test_page"] = name
    if user_id is not None:
        signed_in_as(at, user_id)
    return at.run()


def text_input(at: AppTest, label: str):
    return next(t for t in at.text_input if t.label == label)


def button(at: AppTest, label: str):
    for b in at.button:
        if b.label == label:
            return b
    for b in at.sidebar.button:
        if b.label == label:
            return b
    raise AssertionError(f"no button {label!r}; have {[b.label for b in at.button]}")


def signed_out(at: AppTest) -> AppTest:
    """`at` on the sign-in screen: whoever is signed in (registering signs in) logs out."""
    if TOKEN_KEY in at.session_state and any(b.label == "Log out" for b in at.sidebar.button):
        button(at, "Log out").click().run()
    return at


def register(at: AppTest, username: str, password: str, email: str | None = None) -> AppTest:
    """Create an account through the sign-up form (which signs the new account in)."""
    signed_out(at)
    text_input(at, "New username").input(username)
    text_input(at, "Email").input(email or f"{username}@example.com")
    text_input(at, "Display name").input(username.title())
    text_input(at, "New password").input(password)
    text_input(at, "Repeat password").input(password)
    return button(at, "Create account").click().run()


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    signed_out(at)
    text_input(at, "Username").input(username)
    text_input(at, "Password").input(password)
    return button(at, "Sign in").click().run()


def messages(at: AppTest) -> dict[str, list[str]]:
    return {
        "error": [e.value for e in at.error],
        "success": [e.value for e in at.success],
        "markdown": [m.value for m in at.markdown],
    }
