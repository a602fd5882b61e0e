"""The web process starts exactly one embedded consumer, and none in external or off mode."""

from __future__ import annotations

import threading

import pytest
import streamlit as st

from core.platform.runtime import start
from tests.conftest import make_settings
from ui.worker_embed import ensure_worker
from worker.embedded import stop_embedded


def _consumer_threads() -> int:
    return sum(t.name == "steadybot-embedded-worker" for t in threading.enumerate())


@pytest.fixture(autouse=True)
def _stop_worker():
    st.cache_resource.clear()
    yield
    stop_embedded()
    st.cache_resource.clear()


def test_starting_twice_runs_one_consumer(rt):
    first, second = ensure_worker(rt), ensure_worker(rt)
    assert first is second and _consumer_threads() == 1


def test_a_cleared_cache_does_not_start_a_second_consumer(rt):
    first = ensure_worker(rt)
    st.cache_resource.clear()
    assert ensure_worker(rt) is first and _consumer_threads() == 1


@pytest.mark.parametrize("mode", ["external", "off"])
def test_no_consumer_unless_embedded(data_dir, mode):
    rt = start("test", settings=make_settings(data_dir, worker=mode))
    assert ensure_worker(rt) is None and _consumer_threads() == 0
