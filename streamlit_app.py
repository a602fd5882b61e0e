"""Steadybot entry point: settings, logging, sign-in gate, navigation, error boundary.

Run with `streamlit run streamlit_app.py`. Pages are registered here, in one place.
"""

import streamlit as st

from ui import auth, boot
from ui.boundary import guard
from ui.worker_embed import ensure_worker

st.set_page_config(page_title="Steadybot", page_icon=":material/smart_toy:", layout="wide")

rt = boot.runtime()
ensure_worker(rt)  # embedded mode: one consumer thread per process, started once
user = auth.gate(rt)

pages = {
    "Trading": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/bots.py", title="Bots", icon=":material/smart_toy:"),
        st.Page("pages/bot_detail.py", title="Bot detail", icon=":material/candlestick_chart:"),
        st.Page("pages/trades.py", title="Trades", icon=":material/receipt_long:"),
        st.Page("pages/backtest.py", title="Backtest", icon=":material/query_stats:"),
        st.Page("pages/exchange_accounts.py", title="Exchange accounts", icon=":material/key:"),
    ],
    "You": [
        st.Page("pages/account.py", title="Account settings", icon=":material/person:"),
    ],
}
if user.role == "admin":
    pages["Administration"] = [
        st.Page("pages/admin_users.py", title="Users", icon=":material/group:"),
        st.Page("pages/admin_bots.py", title="All bots", icon=":material/precision_manufacturing:"),
        st.Page("pages/system.py", title="System", icon=":material/monitor_heart:"),
    ]

guard(st.navigation(pages).run)
