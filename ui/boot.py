"""The process-wide Runtime for the web app, built once per configuration."""

from __future__ import annotations

import os

import streamlit as st

from core.demo import ensure_demo
from core.errors import ConfigError
from core.platform.runtime import Runtime, start


def _secrets() -> dict:
    # Community Cloud convention: settings in .streamlit/secrets.toml (optional locally).
    if not st.secrets.load_if_toml_exists():
        return {}
    return {key: st.secrets[key] for key in st.secrets}


@st.cache_resource(show_spinner=False)
def _runtime_for(env_key: tuple) -> Runtime:  # env_key: part of the cache key
    rt = start("web", secrets=_secrets())
    ensure_demo(rt)
    return rt


def runtime() -> Runtime:
    """The Runtime for the current STEADYBOT_* environment; stops the page on bad config."""
    env_key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("STEADYBOT_")))
    try:
        return _runtime_for(env_key)
    except ConfigError as exc:
        st.error(f"Steadybot cannot start: {exc.message}")
        st.stop()
        raise  # unreachable: st.stop() raises
