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
from core.models import User, UserSession, utcnow
from core.platform import audit
from core.platform.limits import GUEST_HOURS, GUESTS_MAX, GUESTS_PER_ADDRESS_HOUR
from core.platform.security import hash_password
from core.users.store import delete_with_data
from core.users.throttle import LOCAL

log = logging.getLogger(__name__)
FULL = "The demo is full right now. Please come back in a little while."
TOO_MANY = "Too many guest traders from your address in the last hour. Please try again later."


def _count(session: Session, query) -> int:
    return session.exec(query).one()


def create_guest(
    session: Session, *, address: str = "", now: datetime | None = None, hours: float = GUEST_HOURS
) -> User:
    """A new guest trader that expires `hours` from now. Refused (Forbidden, nothing written)
    when GUESTS_MAX guests are alive, or when GUESTS_PER_ADDRESS_HOUR guests were made from
    this client address within the hour (an address the server cannot see is not counted)."""
    now = now or utcnow()
    alive = select(func.count()).select_from(User).where(col(User.expires_at) > now)
    if _count(session, alive) >= GUESTS_MAX:
        raise Forbidden(FULL)
    if address and address != LOCAL:
        recent = (
            select(func.count())
            .select_from(UserSession)
            .join(User, col(User.id) == col(UserSession.user_id))
            .where(
                col(User.expires_at).is_not(None),
                UserSession.address == address[:64],
                col(UserSession.created_at) > now - timedelta(hours=1),
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
    audit.record(session, actor=user, action="user.guest", detail=f"expires {user.expires_at}")
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
