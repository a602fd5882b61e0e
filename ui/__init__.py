"""Streamlit-side helpers shared by the entry file and the pages (the only UI package)."""
