"""Notifications: channels (apprise URLs, encrypted per user; which events they want), the
outbound policy (which schemes and hosts a URL may reach, checked on save and at every send)
and the outbox (bot events claimed past a cursor and sent by the worker, never inside a tick)."""

from __future__ import annotations

from core.notify.channels import EVENTS, get_settings, load_urls, save_settings, send
from core.notify.outbox import dispatch
from core.notify.policy import SCHEMES, Policy, redact_url

__all__ = [
    "EVENTS",
    "SCHEMES",
    "Policy",
    "dispatch",
    "get_settings",
    "load_urls",
    "redact_url",
    "save_settings",
    "send",
]
