"""Notifications: channels (apprise URLs, encrypted per user; which events they want) and
the outbox (bot events claimed past a cursor and sent by the worker, never inside a tick)."""

from __future__ import annotations

from core.notify.channels import EVENTS, get_settings, load_urls, save_settings, send
from core.notify.outbox import dispatch

__all__ = ["EVENTS", "dispatch", "get_settings", "load_urls", "save_settings", "send"]
