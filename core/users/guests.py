"""Guest traders of the public demo (STEADYBOT_PUBLIC_DEMO): a private trader made for one
visitor, with no password anyone knows, signed in by its session only, and deleted with
everything it owns (accounts, bots, orders, trades, sessions: cascaded) once it expires.

A guest is a `User` with `expires_at` set. Guests never become admins, never get a password
and never store a live key (`core.accounts`); their bots and sweeps are capped
(`core.platform.limits`).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.errors import Forbidden
from core.models import AuditLog, User, utcnow
from core.platform import audit
from core.platform.limits import GUEST_HOURS, GUESTS_MAX, GUESTS_PER_ADDRESS_HOUR
from core.platform.security import hash_password
from core.users.store import delete_with_data
from core.users.throttle import LOCAL

log = logging.getLogger(__name__)
GUEST_ACTION = "user.guest"  # the audit entry of a new guest, with the client address
FULL = "The demo is full right now. Please come back in a little while."
TOO_MANY = "Too many guest traders from your address in the last hour. Please try again later."


def _count(session: Session, query) -> int:
    return session.exec(query).one()


def create_guest(
    session: Session, *, address: str = "", now: datetime | None = None, hours: float = GUEST_HOURS
) -> User:
    """A new guest trader that expires `hours` from now. Refused (Forbidden, nothing written)
    when GUESTS_MAX guests are alive, or when GUESTS_PER_ADDRESS_HOUR guests were made from
    this client address within the hour (an address the server cannot see is not counted;
    a guest deleted since still counts)."""
    now = now or utcnow()
    alive = select(func.count()).select_from(User).where(col(User.expires_at) > now)
    if _count(session, alive) >= GUESTS_MAX:
        raise Forbidden(FULL)
    counted = bool(address) and address != LOCAL
    if counted:  # from the audit log, which deleting a guest (log out, expiry) leaves alone
        recent = (
            select(func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.action == GUEST_ACTION,
                AuditLog.target == address[:64],
                col(AuditLog.ts) > now - timedelta(hours=1),
            )
        )
        if _count(session, recent) >= GUESTS_PER_ADDRESS_HOUR:
            raise Forbidden(TOO_MANY)
    tag = secrets.token_hex(4)
    user = User(
        username=f"guest-{tag}",
        email=f"guest-{tag}@guest.invalid",
        name=f"Guest {tag[:4]}",
        # Nobody knows this password (it is not kept): a guest signs in by its session only.
        password_hash=hash_password(secrets.token_urlsafe(32)),
        role="trader",
        created_at=now,
        password_changed_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(user)
    session.flush()
    entry = audit.record(
        session,
        actor=user,
        action=GUEST_ACTION,
        target=address[:64] if counted else "",
        detail=f"expires {user.expires_at}",
    )
    entry.ts = now
    return user


def expire_guests(session: Session, *, now: datetime | None = None) -> int:
    """Delete every expired guest with everything it owns; returns how many."""
    now = now or utcnow()
    expired = session.exec(select(User).where(col(User.expires_at) <= now)).all()
    for user in expired:
        delete_with_data(session, user=user)
    if expired:
        log.info("%d expired guest trader(s) deleted with their data", len(expired))
    return len(expired)


def guests_alive(session: Session, *, now: datetime | None = None) -> int:
    now = now or utcnow()
    return _count(session, select(func.count()).select_from(User).where(col(User.expires_at) > now))
