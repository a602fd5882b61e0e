"""Who is signed in, for pages."""

from __future__ import annotations

import streamlit as st

from core import users
from core.errors import Forbidden
from core.models import User
from core.platform.runtime import Runtime

USER_KEY = "steadybot_user_id"


def current_user(rt: Runtime) -> User:
    """The signed-in user, fresh from the database (the gate has already checked them)."""
    user_id = st.session_state.get(USER_KEY)
    if user_id is None:
        raise Forbidden("Please sign in.")
    with rt.read() as session:
        return users.get_user(session, user_id=user_id)


def require_admin(rt: Runtime) -> User:
    user = current_user(rt)
    if user.role != "admin":
        raise Forbidden("This page is for administrators.")
    return user
