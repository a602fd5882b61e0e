"""The sign-in gate: streamlit-authenticator over credentials built from the database.

streamlit-authenticator checks passwords and keeps the re-auth cookie; everything it would keep
in memory or a YAML file (failed attempts, lockouts, registrations, password changes) is
written to the database through core.users instead.
"""

from __future__ import annotations

import logging

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from core import users
from core.demo import DEMO_PASSWORD, DEMO_USERNAME
from core.errors import AppError
from core.models import User
from core.platform.runtime import Runtime
from ui.session import USER_KEY

log = logging.getLogger("steadybot.auth")
LOGIN_FIELDS = {
    "Form name": "Sign in",
    "Username": "Username",
    "Password": "Password",
    "Login": "Sign in",
    "Captcha": "Captcha",
}


def _policy(rt: Runtime) -> users.LockoutPolicy:
    return users.LockoutPolicy(rt.settings.lockout_attempts, rt.settings.lockout_minutes)


def _authenticator(rt: Runtime, credentials: dict) -> stauth.Authenticate:
    return stauth.Authenticate(
        credentials,
        rt.settings.cookie_name,
        rt.settings.cookie_key.get_secret_value(),
        rt.settings.cookie_expiry_days,
        auto_hash=False,
        login_sleep_time=0,
    )


def gate(rt: Runtime) -> User:
    """Return the signed-in user, or render the sign-in / register screen and stop.

    The log-out button is rendered before the login widget when the session was already
    signed in: both touch the cookie component, which may render only once per run.
    """
    with rt.read() as session:
        credentials = users.authenticator_book(session)
    authenticator = _authenticator(rt, credentials)
    who = st.sidebar.container()
    was_signed_in = bool(st.session_state.get("authentication_status"))
    if was_signed_in:
        _logout_button(authenticator)
    box = st.empty()
    with box.container():
        _login_form(rt, authenticator, credentials)
    if st.session_state.get("authentication_status"):
        user = _checked_user(rt, authenticator)
        if user is not None and not was_signed_in:
            # Signed in by this very run: the cookie component inside the form's container
            # still has to run in the browser. Keep it, then reload the app a moment later.
            st.success(f"Signed in as {user.name}. Loading your dashboard…")
            _rerun_shortly()
            st.stop()
        if user is not None:
            box.empty()
            who.caption(f"Signed in as **{user.name}** ({user.role})")
            return user
    _landing(rt)
    st.stop()
    raise RuntimeError("unreachable")  # st.stop() raises


@st.fragment(run_every=1.0)
def _rerun_shortly() -> None:
    # First call arms it (in the sign-in run); the timed rerun a second later reloads the app.
    if st.session_state.get("_steadybot_reload_armed"):
        st.session_state["_steadybot_reload_armed"] = False
        st.rerun(scope="app")
    st.session_state["_steadybot_reload_armed"] = True


def _logout_button(authenticator: stauth.Authenticate) -> None:
    def on_logout(info: dict) -> None:
        st.session_state.pop(USER_KEY, None)
        log.info("user %s signed out", info.get("username"))

    authenticator.logout("Log out", "sidebar", key="sign_out_button", callback=on_logout)
    if not st.session_state.get("authentication_status"):
        st.success("You are signed out.")


def _login_form(rt: Runtime, authenticator: stauth.Authenticate, credentials: dict) -> None:
    st.title("Steadybot")
    try:
        authenticator.login(location="main", key="login", fields=LOGIN_FIELDS)
    except LoginError:
        # A re-auth cookie for a user who is no longer allowed in (disabled or deleted).
        authenticator.cookie_controller.delete_cookie()
        st.session_state["authentication_status"] = None
        st.error("Your session has ended. Please sign in again.")
        return
    if st.session_state.get("authentication_status") is False:
        _count_failure(rt, credentials)


def _count_failure(rt: Runtime, credentials: dict) -> None:
    # streamlit-authenticator counts the failed username in the dict we gave it.
    failed = [
        name
        for name, info in credentials["usernames"].items()
        if info.get("failed_login_attempts", 0) > 0
    ]
    message = "Wrong username or password."
    for name in failed:
        with rt.session() as session:
            user = users.record_failed_login(session, username=name, policy=_policy(rt))
            reason = users.block_reason(user) if user else None
        log.info("failed sign-in for %s", name)
        message = reason or message
    st.error(message)


def _checked_user(rt: Runtime, authenticator: stauth.Authenticate) -> User | None:
    """The user the session says is signed in, if the database still lets them in."""
    username = st.session_state.get("username") or ""
    with rt.session() as session:
        user = users.get_by_username(session, username=username)
        reason = users.block_reason(user) if user else "This account no longer exists."
        if reason is None and st.session_state.get(USER_KEY) != user.id:
            users.record_login(session, user=user)  # a fresh sign-in (form or cookie)
            log.info("user %s signed in", user.username)
    if reason:
        authenticator.logout(location="unrendered")
        st.session_state.pop(USER_KEY, None)
        st.error(reason)
        return None
    st.session_state[USER_KEY] = user.id
    return user


def _landing(rt: Runtime) -> None:
    with rt.read() as session:
        first = not users.has_admin(session)
        is_open = users.registration_open(session)
        demo = users.get_by_username(session, username=DEMO_USERNAME)
    if demo is not None and demo.is_active and rt.settings.demo_enabled:
        st.info(
            f"Just looking? Sign in as **{DEMO_USERNAME}** with password "
            f"**{DEMO_PASSWORD}**: a paper bot is already trading the simulated market."
        )
    if first:
        st.info("Welcome! No account exists yet: the first account you create becomes the admin.")
    if not (first or is_open):
        st.caption("Registration is closed. Ask an administrator for an account.")
        return
    with st.expander("Create an account", expanded=first):
        register_form(rt)


def register_form(rt: Runtime) -> None:
    with st.form("register", clear_on_submit=False):
        username = st.text_input("New username", max_chars=32)
        email = st.text_input("Email", max_chars=254)
        name = st.text_input("Display name", max_chars=100)
        password = st.text_input("New password", type="password", max_chars=72)
        repeat = st.text_input("Repeat password", type="password", max_chars=72)
        submitted = st.form_submit_button("Create account")
    if not submitted:
        return
    if password != repeat:
        st.error("The two passwords differ.")
        return
    try:
        with rt.session() as session:
            user = users.register(
                session, username=username, email=email, name=name, password=password
            )
    except AppError as exc:
        st.error(exc.message)
        return
    st.success(f"Account {user.username!r} created ({user.role}). You can sign in now.")
