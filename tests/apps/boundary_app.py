"""Navigation with one page that raises, inside the real error boundary (for AppTest)."""

import streamlit as st

from core.errors import InvalidInput
from ui.boundary import guard


def broken() -> None:
    st.write("about to fail")
    raise RuntimeError("boom: the page has a bug")


def expected() -> None:
    raise InvalidInput("That symbol is not traded here.")


def healthy() -> None:
    st.markdown("HEALTHY PAGE")


which = st.session_state.get("which", "broken")
page = {"broken": broken, "expected": expected, "healthy": healthy}[which]
guard(st.navigation([st.Page(page, title=which)]).run)
st.markdown("APP STILL SERVING")
