"""The process-wide Runtime for the web app, built once per configuration."""

from __future__ import annotations

import os

import streamlit as st

from core import users
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
    users.admin_from_settings(rt)  # STEADYBOT_ADMIN_USERNAME/_PASSWORD (e.g. Cloud secrets)
    ensure_demo(rt)
    users.announce_setup_token(rt)  # no admin yet (production): a one-time token in the log
    return rt


def _leave_folder_mode() -> None:
    """Never run a file of pages/ on its own. Until some run has called st.navigation, a
    Streamlit process with a pages/ folder is in the old folder mode, where a deep link such
    as /system runs pages/system.py directly, without the entry file and its sign-in gate (and
    lists every file in the sidebar). Only the very first run of a process can be in it: this,
    the first call of every page, turns it off and reruns through the entry file, which
    calls st.navigation on every run. (Streamlit internals, pinned in requirements.txt;
    tests/ui/test_navigation.py fails if they change.)"""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def runtime() -> Runtime:
    """The Runtime for the current STEADYBOT_* environment; stops the page on bad config."""
    _leave_folder_mode()
    env_key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("STEADYBOT_")))
    try:
        return _runtime_for(env_key)
    except ConfigError as exc:
        st.error(f"Steadybot cannot start: {exc.message}")
        st.stop()
        raise  # unreachable: st.stop() raises
