"""Overview: the signed-in user's trading at a glance (filled in by the bots issue)."""

import streamlit as st

from ui import boot
from ui.session import current_user

rt = boot.runtime()
user = current_user(rt)

st.title("Overview")
st.write(f"Welcome back, **{user.name}**.")
st.info("No bots yet. Bots, trades and charts will appear here once you create a bot.")
