"""call_within: the answer, the error, or TimeoutError once the deadline passed."""

from __future__ import annotations

import time

import pytest

from core.platform.deadline import call_within


def test_the_answer_or_the_error_comes_back():
    assert call_within(1, lambda: 42) == 42
    with pytest.raises(KeyError):
        call_within(1, lambda: {}["x"])


def test_a_slow_call_is_not_waited_for():
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        call_within(0.1, lambda: time.sleep(3))
    assert time.monotonic() - started < 1
