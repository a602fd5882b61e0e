"""The send-time connection guard of notifications: while a notification is sent, a
process-wide audit hook (`socket.connect`) refuses, for the sending thread and the threads
apprise starts with a copy of its context, any connection to an internal address (the rules
of `core.notify.policy.address_problem`) other than the ones the URL's check allowed. So a
DNS answer that changed between check and connect, a redirect, or a service's own discovery
request cannot reach inside."""

from __future__ import annotations

import contextvars
import ipaddress
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from core.notify.policy import IPAddress, address_problem


class RefusedConnection(ConnectionRefusedError):
    """A notification tried to connect to an internal address (refused by Steadybot)."""


@dataclass
class Guard:
    allowed: frozenset[IPAddress]
    refused: list[str] = field(default_factory=list)


_current: contextvars.ContextVar[Guard | None] = contextvars.ContextVar(
    "steadybot_outbound_guard", default=None
)
_hook_lock = threading.Lock()
_hook_installed = False


def _on_audit(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    guard = _current.get()
    if guard is None:
        return
    why = _connect_problem(args[1], guard)
    if why:
        guard.refused.append(why)
        raise RefusedConnection(f"Steadybot refused a notification connection: {why}")


def _connect_problem(address: object, guard: Guard) -> str | None:
    if not isinstance(address, tuple) or not address:
        return "not an internet address"
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
    except ValueError:
        return "a connection by name"  # every client here connects to resolved addresses
    if ip in guard.allowed:
        return None
    why = address_problem(ip)
    return f"{ip} is a {why} address" if why else None


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_on_audit)
            _hook_installed = True


@contextmanager
def outbound_guard(allowed: Iterable[IPAddress] = ()) -> Iterator[Guard]:
    """While inside, connections made by this context (and the threads apprise starts with a
    copy of it) to internal addresses other than `allowed` fail with RefusedConnection."""
    _install_hook()
    guard = Guard(allowed=frozenset(allowed))
    token = _current.set(guard)
    try:
        yield guard
    finally:
        _current.reset(token)
