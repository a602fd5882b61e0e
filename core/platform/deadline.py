"""Bound the wall time of a blocking call made while a page renders (an exchange request that
may hang): the answer within the deadline, or `TimeoutError` and the call is left to finish
on its daemon thread (its own request timeout ends it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def call_within(seconds: float, fn: Callable[[], T]) -> T:
    """`fn()`'s result or exception if it returns within `seconds`; else `TimeoutError`."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["error"] = exc

    worker = threading.Thread(target=run, name="deadline-call", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
