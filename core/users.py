"""Users: registration, sign-in bookkeeping (lockout), roles and the registration switch.

All functions take the session explicitly and are keyword-only. Lockout counters live in the
database so they hold across processes and restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.errors import (
    AccountDisabled,
    AccountLocked,
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    NotFound,
)
from core.models import AppSetting, User, utcnow
from core.platform import audit
from core.platform.inputs import check_password_strength, clean_email, clean_text, clean_username
from core.platform.security import check_password_hash, hash_password

ROLES = ("admin", "trader")
REGISTRATION_KEY = "registration_open"
# A bcrypt-shaped value no password matches: locked users get it in the login credentials.
UNUSABLE_HASH = "$2b$12$" + "." * 53


@dataclass(frozen=True)
class LockoutPolicy:
    attempts: int = 5
    minutes: float = 15.0


def get_user(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def get_by_username(session: Session, *, username: str) -> User | None:
    name = username.strip().lower() if isinstance(username, str) else ""
    return session.exec(select(User).where(User.username == name)).first()


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.id))))


def registration_open(session: Session) -> bool:
    row = session.get(AppSetting, REGISTRATION_KEY)
    return row is None or row.value == "1"


def set_registration_open(session: Session, *, admin: User, is_open: bool) -> None:
    _require_admin(admin)
    row = session.get(AppSetting, REGISTRATION_KEY) or AppSetting(key=REGISTRATION_KEY, value="1")
    row.value = "1" if is_open else "0"
    session.add(row)
    audit.record(
        session, actor=admin, action="registration.open" if is_open else "registration.close"
    )


def register(session: Session, *, username: str, email: str, name: str, password: str) -> User:
    """Self-service sign-up. The first person to register becomes admin (the demo trader does
    not count); later ones need registration open."""
    first = not _any_admin(session)
    if not first and not registration_open(session):
        raise Forbidden("Registration is closed. Ask an administrator for an account.")
    return create_user(
        session,
        username=username,
        email=email,
        name=name,
        password=password,
        role="admin" if first else "trader",
        actor=None,
    )


def create_user(
    session: Session,
    *,
    username: str,
    email: str,
    name: str,
    password: str,
    role: str = "trader",
    actor: User | None = None,
) -> User:
    """Validate everything first, then write one row (nothing is written on bad input)."""
    username = clean_username(username)
    email = clean_email(email)
    name = clean_text(name, "Name", max_len=100, required=False) or username
    check_password_strength(password, username=username)
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.")
    if get_by_username(session, username=username):
        raise Conflict(f"The username {username!r} is taken.")
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict("An account with that email already exists.")
    user = User(
        username=username, email=email, name=name, password_hash=hash_password(password), role=role
    )
    session.add(user)
    session.flush()
    audit.record(session, actor=actor or user, action="user.create", target=username, detail=role)
    return user


def block_reason(user: User, *, now: datetime | None = None) -> str | None:
    """Why `user` cannot sign in right now, or None."""
    now = now or utcnow()
    if not user.is_active:
        return AccountDisabled.__doc__
    if user.locked_until and user.locked_until > now:
        minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
        return f"{AccountLocked.__doc__} Try again in {minutes} minute(s) or ask an administrator."
    return None


def record_failed_login(
    session: Session, *, username: str, policy: LockoutPolicy, now: datetime | None = None
) -> User | None:
    """Count a wrong password; lock the account when the count reaches the policy."""
    now = now or utcnow()
    name = username.strip().lower() if isinstance(username, str) else ""
    user = session.exec(select(User).where(User.username == name).with_for_update()).first()
    if user is None or (user.locked_until and user.locked_until > now):
        return user
    user.failed_logins += 1
    if user.failed_logins >= policy.attempts:
        user.locked_until = now + timedelta(minutes=policy.minutes)
        user.failed_logins = 0
        audit.record(session, actor=None, action="user.locked", target=user.username)
    session.add(user)
    return user


def record_login(session: Session, *, user: User, now: datetime | None = None) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now or utcnow()
    session.add(user)
    audit.record(session, actor=user, action="user.login")


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    policy: LockoutPolicy,
    now: datetime | None = None,
) -> User:
    """Check a password with lockout bookkeeping (used by the CLI and the login bridge)."""
    now = now or utcnow()
    user = get_by_username(session, username=username)
    if user is not None and (reason := block_reason(user, now=now)):
        raise (AccountDisabled if not user.is_active else AccountLocked)(reason)
    if user is None or not check_password_hash(password, user.password_hash):
        record_failed_login(session, username=username, policy=policy, now=now)
        session.commit()  # the count must survive the rollback our exception will cause
        raise InvalidCredentials()
    record_login(session, user=user, now=now)
    return user


def authenticator_book(session: Session, *, now: datetime | None = None) -> dict:
    """The dict streamlit-authenticator checks logins against, built fresh from the database.

    Disabled users are left out; locked users get a hash no password matches.
    """
    now = now or utcnow()
    usernames = {}
    for user in session.exec(select(User).where(User.is_active == True)):  # noqa: E712
        locked = user.locked_until is not None and user.locked_until > now
        usernames[user.username] = {
            "email": user.email,
            "first_name": user.name,
            "last_name": "",
            "password": UNUSABLE_HASH if locked else user.password_hash,
            "roles": [user.role],
            "failed_login_attempts": 0,
        }
    return {"usernames": usernames}


def change_password(session: Session, *, user: User, current: str, new: str) -> None:
    if not check_password_hash(current or "", user.password_hash):
        raise InvalidCredentials("The current password is wrong.")
    check_password_strength(new, username=user.username)
    if check_password_hash(new, user.password_hash):
        raise InvalidInput("The new password must differ from the current one.")
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    session.add(user)
    audit.record(session, actor=user, action="user.password_change")


def _require_admin(actor: User) -> None:
    if actor.role != "admin" or not actor.is_active:
        raise Forbidden("Only administrators can do that.")


def _active_admins(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == "admin", User.is_active)
    return session.exec(query).one()


def has_admin(session: Session) -> bool:
    return _any_admin(session)


def _any_admin(session: Session) -> bool:
    return session.exec(select(User.id).where(User.role == "admin")).first() is not None


def set_active(session: Session, *, admin: User, user_id: int, active: bool) -> User:
    _require_admin(admin)
    user = get_user(session, user_id=user_id)
    if not active and user.role == "admin" and user.is_active and _active_admins(session) <= 1:
        raise Forbidden("The last active administrator cannot be disabled.")
    user.is_active = active
    session.add(user)
    audit.record(
        session,
        actor=admin,
        action="user.enable" if active else "user.disable",
        target=user.username,
    )
    return user


def set_role(session: Session, *, admin: User, user_id: int, role: str) -> User:
    _require_admin(admin)
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.")
    user = get_user(session, user_id=user_id)
    if user.role == "admin" and role != "admin" and _active_admins(session) <= 1:
        raise Forbidden("The last administrator cannot lose the admin role.")
    user.role = role
    session.add(user)
    audit.record(session, actor=admin, action="user.role", target=user.username, detail=role)
    return user


def unlock(session: Session, *, admin: User, user_id: int) -> User:
    _require_admin(admin)
    user = get_user(session, user_id=user_id)
    user.locked_until = None
    user.failed_logins = 0
    session.add(user)
    audit.record(session, actor=admin, action="user.unlock", target=user.username)
    return user


def delete_user(session: Session, *, admin: User, user_id: int, confirm_username: str) -> None:
    """Delete a user and everything they own (accounts, bots, trades: cascaded)."""
    _require_admin(admin)
    user = get_user(session, user_id=user_id)
    if user.id == admin.id:
        raise Forbidden("You cannot delete your own account.")
    if (confirm_username or "").strip().lower() != user.username:
        raise InvalidInput("Type the username to confirm the deletion.")
    if user.role == "admin" and user.is_active and _active_admins(session) <= 1:
        raise Forbidden("The last active administrator cannot be deleted.")
    name = user.username
    session.delete(user)
    session.flush()
    audit.record(session, actor=admin, action="user.delete", target=name)
