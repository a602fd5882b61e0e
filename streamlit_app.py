"""Steadybot entry point: settings, logging, sign-in gate, navigation, error boundary.

Run with `streamlit run streamlit_app.py`. Pages are registered here, in one place.
"""

import streamlit as st

from ui import auth, boot
from ui.boundary import guard
from ui.favicon import FAVICON
from ui.worker_embed import ensure_worker

# The icon is a file served by the app itself (a Material or emoji icon is fetched from a CDN).
st.set_page_config(page_title="Steadybot", page_icon=str(FAVICON), layout="wide")

rt = boot.runtime()
ensure_worker(rt)  # embedded mode: one consumer thread per process, started once
user = auth.signed_in_user(rt)  # the server-side session, checked on every run

# (section, file, title, icon, admins only). A page's URL path is its file name.
PAGES = [
    ("Trading", "overview", "Overview", ":material/dashboard:", False),
    ("Trading", "bots", "Bots", ":material/smart_toy:", False),
    ("Trading", "bot_detail", "Bot detail", ":material/candlestick_chart:", False),
    ("Trading", "trades", "Trades", ":material/receipt_long:", False),
    ("Trading", "backtest", "Backtest", ":material/query_stats:", False),
    ("Trading", "exchange_accounts", "Exchange accounts", ":material/key:", False),
    ("You", "account", "Account settings", ":material/person:", False),
    ("Administration", "admin_users", "Users", ":material/group:", True),
    ("Administration", "admin_bots", "All bots", ":material/precision_manufacturing:", True),
    ("Administration", "system", "System", ":material/monitor_heart:", True),
]


def sign_in() -> None:
    auth.sign_in_screen(rt)


def not_allowed() -> None:
    st.error("This page is for administrators.")
    st.page_link("pages/overview.py", label="Back to Overview", icon=":material/dashboard:")


# st.navigation runs on EVERY run, signed in or not, so Streamlit never falls back to running
# files of pages/ on its own. Signed out, every page's URL shows the sign-in screen (nothing
# else is listed); after signing in, the same URL is the page that was asked for.
if user is None:
    nav = st.navigation(
        [
            st.Page(sign_in, title="Sign in", url_path=name, default=name == "overview")
            for _, name, _, _, _ in PAGES
        ],
        position="hidden",
    )
else:
    sections: dict[str, list] = {}
    for section, name, title, icon, admin_only in PAGES:
        if admin_only and user.role != "admin":  # a trader's deep link: a clear refusal
            page = st.Page(not_allowed, title=title, url_path=name, visibility="hidden")
            sections.setdefault("You", []).append(page)
            continue
        page = st.Page(f"pages/{name}.py", title=title, icon=icon, default=name == "overview")
        sections.setdefault(section, []).append(page)
    nav = st.navigation(sections)
    if st.session_state.pop(auth.LANDING_KEY, None) == auth.OVERVIEW:  # just registered
        st.switch_page(auth.OVERVIEW)
    auth.sidebar(rt, user)

guard(nav.run)
