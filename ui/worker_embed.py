"""Start the embedded worker once per process (STEADYBOT_WORKER=embedded).

st.cache_resource makes the call cheap on every script run; worker.embedded keeps it to one
consumer per process even when that cache is cleared."""

from __future__ import annotations

import streamlit as st

from core.platform.runtime import Runtime
from worker.embedded import EmbeddedWorker, start_embedded


@st.cache_resource(show_spinner=False)
def _embedded(database_url: str, queue_url: str, _rt: Runtime) -> EmbeddedWorker:  # cache key
    return start_embedded(_rt)


def ensure_worker(rt: Runtime) -> EmbeddedWorker | None:
    """The embedded worker in embedded mode; None when the worker runs elsewhere or is off."""
    if rt.settings.worker != "embedded":
        return None
    return _embedded(rt.settings.resolved_database_url, rt.settings.queue_url, rt)
