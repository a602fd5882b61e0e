"""Who is signed in, checked against the server-side session on every run (fragments too)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import streamlit as st

from core import users
from core.errors import Forbidden
from core.models import User
from core.platform.runtime import Runtime

USER_KEY = "steadybot_user_id"
TOKEN_KEY = "steadybot_session"  # the session token (the browser's cookie holds the same)
NOTICE_KEY = "steadybot_notice"  # (kind, text) shown once on the sign-in screen
ENDED = "Your session has ended. Please sign in again."


def cookie_key(rt: Runtime) -> str:
    return rt.settings.cookie_key.get_secret_value()


def adopt(token: str, user: User) -> None:
    """This browser session now runs as `user` under session `token`."""
    st.session_state[TOKEN_KEY] = token
    st.session_state[USER_KEY] = user.id


def forget(notice: tuple[str, str] | None = None) -> None:
    """Drop the signed-in state of this browser session (the server side is the caller's)."""
    st.session_state.pop(TOKEN_KEY, None)
    st.session_state.pop(USER_KEY, None)
    if notice:
        st.session_state[NOTICE_KEY] = notice


def signed_in(rt: Runtime) -> User | None:
    """The user of this browser session's server-side session, checked now: None (and the
    local state dropped) once it was logged out, revoked, expired, or its user disabled or
    deleted."""
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        return None
    with rt.read() as session:
        user = users.session_user(session, token=token, key=cookie_key(rt))
    if user is None or user.id != st.session_state.get(USER_KEY):
        forget(("warning", ENDED))
        return None
    return user


def current_user(rt: Runtime) -> User:
    """The signed-in user, fresh from the database (pages call this first)."""
    user = signed_in(rt)
    if user is None:
        raise Forbidden("Please sign in.")
    return user


def require_admin(rt: Runtime) -> User:
    user = current_user(rt)
    if user.role != "admin":
        raise Forbidden("This page is for administrators.")
    return user


def checked_fragment(rt: Runtime, *, run_every: float | None = None):
    """`st.fragment` whose every run (timed refreshes included, which skip the app script and
    so the gate) first checks the session: once it has ended, the whole app reruns and shows
    the sign-in screen. Use this instead of `st.fragment` (tests/ui/test_sessions.py checks)."""

    def decorate(body: Callable[..., None]) -> Callable[..., None]:
        @st.fragment(run_every=run_every)
        @functools.wraps(body)
        def run(*args, **kwargs) -> None:
            if signed_in(rt) is None:
                st.rerun(scope="app")
            body(*args, **kwargs)

        return run

    return decorate
