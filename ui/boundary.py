"""The error boundary every page runs inside.

Expected errors (`AppError`) are shown as their friendly message. Anything else is logged with
its traceback under a short incident id, and the user sees that id; the app keeps serving.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import streamlit as st

from core.errors import AppError

log = logging.getLogger("steadybot.ui")


def new_incident_id() -> str:
    return uuid.uuid4().hex[:8]


def guard(render: Callable[[], object]) -> None:
    """Run `render`; never let an exception escape to Streamlit's traceback page."""
    try:
        render()
    except AppError as exc:
        st.error(exc.message)
    except Exception:
        incident = new_incident_id()
        log.exception("incident %s: unhandled error while rendering a page", incident)
        st.error(
            f"Something went wrong on this page (incident **{incident}**). It has been logged; "
            "the rest of Steadybot keeps working — pick another page or try again."
        )


def show_error(exc: AppError) -> None:
    st.error(exc.message)
