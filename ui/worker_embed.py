"""Start the embedded worker once per process (STEADYBOT_WORKER=embedded)."""

from __future__ import annotations

import streamlit as st

from core.runtime import Runtime
from worker.embedded import EmbeddedWorker, start_embedded


@st.cache_resource(show_spinner=False)
def _embedded(database_url: str, _rt: Runtime) -> EmbeddedWorker:  # url: the cache key
    return start_embedded(_rt)


def ensure_worker(rt: Runtime) -> EmbeddedWorker | None:
    if rt.settings.worker != "embedded":
        return None
    return _embedded(rt.settings.resolved_database_url, rt)
