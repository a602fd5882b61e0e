"""Server-side sign-in sessions.

The browser's cookie holds a random token; the database holds only its HMAC under the cookie
key (so a copy of the table signs nobody in, and rotating STEADYBOT_COOKIE_KEY ends every
session). A session is checked on every script run: revoked, expired, disabled or deleted
users are signed out at once, and a token can never point to a later user of the same name
(the row points to the user's id and is deleted with it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from core.models import User, UserSession, utcnow

TOKEN_MIN, TOKEN_MAX = 32, 128  # a token_urlsafe(32) is 43 characters
TRUST_DAYS = 90  # an address a user signed in from within this many days is "theirs"


def _digest(token: str, key: str) -> str:
    return hmac.new(key.encode(), token.encode(), hashlib.sha256).hexdigest()


def _usable(token: object) -> bool:
    return isinstance(token, str) and TOKEN_MIN <= len(token) <= TOKEN_MAX and token.isascii()


def start_session(
    session: Session,
    *,
    user: User,
    key: str,
    days: float,
    address: str = "",
    now: datetime | None = None,
) -> str:
    """A new session for `user`; returns the token for the cookie (never stored as is)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=_digest(token, key),
            address=(address or "")[:64],
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    # Old rows are kept TRUST_DAYS (they say which addresses are a user's own), then dropped.
    session.execute(
        delete(UserSession).where(
            col(UserSession.created_at) < now - timedelta(days=TRUST_DAYS),
            or_(col(UserSession.revoked_at).is_not(None), col(UserSession.expires_at) < now),
        )
    )
    session.flush()
    return token


def session_user(
    session: Session, *, token: object, key: str, now: datetime | None = None
) -> User | None:
    """The active user whose live session `token` is, else None (any text is safe here)."""
    if not _usable(token):
        return None
    now = now or utcnow()
    query = (
        select(User)
        .join(UserSession, col(UserSession.user_id) == col(User.id))
        .where(
            UserSession.token_hash == _digest(token, key),
            col(UserSession.revoked_at).is_(None),
            col(UserSession.expires_at) > now,
            User.is_active == True,  # noqa: E712
            or_(col(User.expires_at).is_(None), col(User.expires_at) > now),  # a guest's day
        )
    )
    return session.exec(query).first()


def end_session(session: Session, *, token: object, key: str, now: datetime | None = None) -> int:
    """Revoke one session (Log out). Returns how many were live (0 or 1)."""
    if not _usable(token):
        return 0
    result = session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _digest(token, key), col(UserSession.revoked_at).is_(None))
        .values(revoked_at=now or utcnow())
    )
    return result.rowcount or 0


def end_all_sessions(session: Session, *, user_id: int, now: datetime | None = None) -> int:
    """Revoke every session of a user (password change, sign out everywhere, disable, role)."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, col(UserSession.revoked_at).is_(None))
        .values(revoked_at=now or utcnow())
    )
    return result.rowcount or 0


def live_sessions(session: Session, *, user_id: int, now: datetime | None = None) -> int:
    now = now or utcnow()
    query = (
        select(func.count())
        .select_from(UserSession)
        .where(
            UserSession.user_id == user_id,
            col(UserSession.revoked_at).is_(None),
            col(UserSession.expires_at) > now,
        )
    )
    return session.exec(query).one()


def is_known_address(
    session: Session, *, user_id: int, address: str, now: datetime | None = None
) -> bool:
    """Whether the user signed in from `address` within TRUST_DAYS (revoked sessions count:
    signing out does not make one's own address a stranger's)."""
    since = (now or utcnow()) - timedelta(days=TRUST_DAYS)
    query = select(UserSession.id).where(
        UserSession.user_id == user_id,
        UserSession.address == address,
        col(UserSession.created_at) >= since,
    )
    return session.exec(query.limit(1)).first() is not None
