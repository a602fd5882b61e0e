"""core.notify.channels."""

from __future__ import annotations

from core.notify.channels import EVENTS, get_settings, load_urls, save_settings, send
from core.notify.outbox import dispatch

__all__ = ["EVENTS", "dispatch", "get_settings", "load_urls", "save_settings", "send"]
