"""A minimal app around the real sign-in gate, for AppTest (and st.navigation on every run)."""

import streamlit as st

from ui import auth, boot

rt = boot.runtime()
user = auth.gate(rt)
st.markdown(f"HOME {user.username} {user.role}")
