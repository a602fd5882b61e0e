"""The page icon ships with the app: a file in the repository, never a Material or emoji icon
(which the browser fetches from a font CDN at every load)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui import favicon

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_icon_is_the_drawn_one():
    data = favicon.FAVICON.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) < 10_000
    assert data == favicon.draw()  # regenerate with `python -m ui.favicon`
    assert favicon.FAVICON.resolve().is_relative_to(ROOT)


def test_the_app_sets_the_local_file_as_page_icon(monkeypatch):
    """Run the real entry file (signed out) and catch its set_page_config call."""
    seen: list[dict] = []
    original = st.set_page_config

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(st, "set_page_config", spy)
    monkeypatch.setenv("STEADYBOT_WORKER", "off")
    AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert seen, "streamlit_app.py did not call st.set_page_config"
    icon = seen[0].get("page_icon")
    assert isinstance(icon, str | Path) and not str(icon).startswith(":"), icon
    path = Path(icon)
    assert path.is_file() and path.resolve() == favicon.FAVICON
    assert path.suffix in (".png", ".svg", ".ico")


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "pages").glob("*.py")))
def test_no_page_sets_its_own_icon(page):
    assert "set_page_config" not in (ROOT / "pages" / page).read_text()
