"""Steadybot core: everything that works without Streamlit."""

__version__ = "0.1.0"
