"""Runs one page file inside the real error boundary, as the entry file does (for AppTest)."""

import runpy
from pathlib import Path

import streamlit as st

from ui.boundary import guard

PAGES = Path(__file__).resolve().parents[2] / "pages"
guard(lambda: runpy.run_path(str(PAGES / st.session_state["test_page"]), run_name="__page__"))
