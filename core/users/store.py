"""Users: registration (open / invite / closed), the first admin, roles, passwords.

All functions take the session explicitly and are keyword-only. Every change that should end
a user's sessions (password, disable, role, delete) ends them in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.errors import ConfigError, Conflict, Forbidden, InvalidCredentials, InvalidInput, NotFound
from core.models import AppSetting, Bot, BotOrder, ExchangeAccount, Trade, User, utcnow
from core.platform import audit
from core.platform.inputs import check_password_strength, clean_email, clean_text, clean_username
from core.platform.runtime import Runtime
from core.platform.security import check_password_hash, hash_password
from core.users.sessions import end_all_sessions
from core.users.throttle import forget_failures

log = logging.getLogger(__name__)
ROLES = ("admin", "trader")
MODES = ("open", "invite", "closed")
REGISTRATION_KEY = "registration_open"
SETUP_KEY = "setup_token"
SETUP_HOURS = 24
FIRST_ADMIN_LOCK = 0x5B_F1_25_7A  # pg_advisory_xact_lock key: one first admin at a time
CLOSED = "Registration is closed. Ask an administrator for an account."
NO_ADMIN_YET = (
    "No administrator exists yet. Create the first one with the one-time setup token from "
    "the server log, or with `python -m core.cli create-user --admin`."
)


@dataclass(frozen=True)
class Registration:
    """Who may create accounts. `mode`: open (anyone signs up), invite (admins create them
    on the Users page), closed (only `python -m core.cli create-user`). `setup_token`: the
    first admin needs the one-time token from the server log (otherwise, in development with
    open registration, the first person to register becomes admin)."""

    mode: str = "open"
    setup_token: bool = False
    # The public demo: no visitor ever becomes admin, not even with a setup token (none is
    # issued); the admin comes from STEADYBOT_ADMIN_USERNAME/_PASSWORD or the CLI.
    public_demo: bool = False

    @classmethod
    def from_settings(cls, settings) -> Registration:
        mode = settings.registration_mode
        demo = bool(getattr(settings, "public_demo", False))
        return cls(
            mode=mode,
            setup_token=settings.is_production or demo or mode != "open",
            public_demo=demo,
        )


def get_user(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def get_by_username(session: Session, *, username: str) -> User | None:
    name = username.strip().lower() if isinstance(username, str) else ""
    return session.exec(select(User).where(User.username == name)).first()


def list_users(session: Session, *, guests: bool = True) -> list[User]:
    """Every user by id; without the public demo's guest traders when `guests` is False."""
    query = select(User).order_by(col(User.id))
    if not guests:
        query = query.where(col(User.expires_at).is_(None))
    return list(session.exec(query))


def registration_open(session: Session) -> bool:
    """The admin's switch on the Users page (only matters in `open` mode)."""
    row = session.get(AppSetting, REGISTRATION_KEY)
    return row is None or row.value == "1"


def can_register(session: Session, *, rules: Registration) -> bool:
    """Whether the sign-in page offers "Create an account" to anyone."""
    if not _any_admin(session):
        return not rules.setup_token
    return rules.mode == "open" and registration_open(session)


def set_registration_open(session: Session, *, admin: User, is_open: bool) -> None:
    _require_admin(admin)
    row = session.get(AppSetting, REGISTRATION_KEY) or AppSetting(key=REGISTRATION_KEY, value="1")
    row.value = "1" if is_open else "0"
    session.add(row)
    audit.record(
        session, actor=admin, action="registration.open" if is_open else "registration.close"
    )


def _lock_first_admin(session: Session) -> None:
    """Serialise everything that may create the first admin. SQLite: write transactions
    already begin IMMEDIATE (one writer); PostgreSQL: a transaction-scoped advisory lock, so a
    second transaction re-reads the admin rows only after the first has committed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FIRST_ADMIN_LOCK})


def register(
    session: Session,
    *,
    username: str,
    email: str,
    name: str,
    password: str,
    rules: Registration = Registration(),
) -> User:
    """Self-service sign-up. Without any admin, the first account becomes admin only when
    `rules` allow it without the setup token; later ones need open registration."""
    _lock_first_admin(session)
    first = not _any_admin(session)
    if first and rules.setup_token:
        raise Forbidden(NO_ADMIN_YET)
    if not first and (rules.mode != "open" or not registration_open(session)):
        raise Forbidden(CLOSED)
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
    try:
        session.flush()
    except IntegrityError:  # the same name or email committed by someone else a moment ago
        raise Conflict("That username or email was just taken.") from None
    forget_failures(session, username=username)  # a deleted namesake's counts are not theirs
    audit.record(session, actor=actor or user, action="user.create", target=username, detail=role)
    return user


def admin_create_user(
    session: Session,
    *,
    admin: User,
    rules: Registration,
    username: str,
    email: str,
    name: str,
    password: str,
    role: str = "trader",
) -> User:
    """An admin creates an account on the Users page (`open` and `invite` modes)."""
    _require_admin(admin)
    if rules.mode == "closed":
        raise Forbidden(
            "Accounts are created with `python -m core.cli create-user` "
            "(STEADYBOT_REGISTRATION=closed)."
        )
    return create_user(
        session,
        username=username,
        email=email,
        name=name,
        password=password,
        role=role,
        actor=admin,
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_setup_token(session: Session, *, now: datetime | None = None) -> str | None:
    """A fresh one-time token for creating the first admin (replacing any earlier one), or
    None when an admin exists. Only its hash is stored; it expires after SETUP_HOURS."""
    row = session.get(AppSetting, SETUP_KEY)
    if _any_admin(session):
        if row is not None:
            session.delete(row)
        return None
    token = secrets.token_urlsafe(24)
    expires = (now or utcnow()) + timedelta(hours=SETUP_HOURS)
    row = row or AppSetting(key=SETUP_KEY, value="")
    row.value = f"{_token_hash(token)}:{int(expires.timestamp())}"
    session.add(row)
    return token


def announce_setup_token(rt: Runtime) -> str | None:
    """At web start: when the first admin needs the setup token and there is no admin yet,
    issue one and print it in the server log (each start issues a new one)."""
    rules = Registration.from_settings(rt.settings)
    if not rules.setup_token or rules.public_demo:
        return None
    with rt.session() as session:
        token = issue_setup_token(session)
    if token:
        log.warning(
            "No administrator exists yet. One-time setup token (valid %d hours, until the first "
            "admin exists; a restart issues a new one): %s  Enter it on the sign-in page to "
            "create the first administrator, or run `python -m core.cli create-user --admin`.",
            SETUP_HOURS,
            token,
        )
    return token


def ensure_admin(session: Session, *, username: str, password: str, email: str = "") -> User | None:
    """The administrator named in the settings (STEADYBOT_ADMIN_USERNAME and _PASSWORD, e.g.
    in the Community Cloud's secrets): created once if no user has that name; an existing
    user is left as it is (its password is changed in the app or with `reset-password`).
    Returns the user created, else None. Bad input raises InvalidInput, nothing written."""
    name = clean_username(username)
    check_password_strength(password, username=name)
    _lock_first_admin(session)
    if get_by_username(session, username=name) is not None:
        return None
    user = create_user(
        session,
        username=name,
        email=email or f"{name}@steadybot.invalid",
        name=name,
        password=password,
        role="admin",
    )
    audit.record(session, actor=None, action="user.admin_from_settings", target=user.username)
    return user


def admin_from_settings(rt: Runtime) -> User | None:
    """At web start: create the admin the settings name (see `ensure_admin`). A weak password
    or a bad name stops start-up with one line naming the setting (never quoting it)."""
    pair = rt.settings.admin_from_settings
    if pair is None:
        return None
    try:
        with rt.session() as session:
            user = ensure_admin(
                session, username=pair[0], password=pair[1], email=rt.settings.admin_email
            )
    except InvalidInput as exc:
        raise ConfigError(
            f"STEADYBOT_ADMIN_USERNAME/STEADYBOT_ADMIN_PASSWORD: {exc.message}"
        ) from None
    if user is not None:
        log.info("administrator %r created from the settings", user.username)
    return user


def create_first_admin(
    session: Session,
    *,
    token: str,
    username: str,
    email: str,
    name: str,
    password: str,
    now: datetime | None = None,
) -> User:
    """The first admin, with the setup token. Exactly one, whatever runs concurrently."""
    clean_username(username)  # bad input is refused before anything else
    clean_email(email)
    check_password_strength(password, username=username.strip() if username else "")
    _lock_first_admin(session)
    if _any_admin(session):
        raise Forbidden("An administrator already exists: sign in, or ask them for an account.")
    row = session.get(AppSetting, SETUP_KEY)
    stored, _, expires = (row.value if row else "").partition(":")
    typed = token.strip() if isinstance(token, str) else ""
    fresh = expires.isdigit() and int(expires) > (now or utcnow()).timestamp()
    if not (typed and stored and fresh and hmac.compare_digest(_token_hash(typed), stored)):
        raise InvalidInput(
            "The setup token is wrong or has expired. Copy it from the server log (a restart "
            "prints a new one), or run `python -m core.cli create-user --admin`."
        )
    user = create_user(
        session, username=username, email=email, name=name, password=password, role="admin"
    )
    session.delete(row)
    audit.record(session, actor=user, action="user.first_admin", target=user.username)
    return user


def change_password(session: Session, *, user: User, current: str, new: str) -> None:
    """Change one's own password; every session of the user ends (start a new one after)."""
    if not check_password_hash(current if isinstance(current, str) else "", user.password_hash):
        raise InvalidCredentials("The current password is wrong.")
    check_password_strength(new, username=user.username)
    if check_password_hash(new, user.password_hash):
        raise InvalidInput("The new password must differ from the current one.")
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    session.add(user)
    end_all_sessions(session, user_id=user.id)
    audit.record(session, actor=user, action="user.password_change")


def reset_password(session: Session, *, username: str, new: str, actor: User | None = None) -> User:
    """Set a user's password without the old one (operator command): ends their sessions
    and forgets their failed sign-ins."""
    user = get_by_username(session, username=username)
    if user is None:
        raise NotFound("No such user.")
    check_password_strength(new, username=user.username)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    session.add(user)
    end_all_sessions(session, user_id=user.id)
    forget_failures(session, username=user.username)
    audit.record(session, actor=actor, action="user.password_reset", target=user.username)
    return user


def sign_out_everywhere(session: Session, *, user: User) -> int:
    """End every session of `user` (this browser's too). Returns how many were live."""
    ended = end_all_sessions(session, user_id=user.id)
    audit.record(session, actor=user, action="user.sign_out_everywhere", detail=str(ended))
    return ended


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
    if not active:
        end_all_sessions(session, user_id=user.id)
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
    if user.is_guest and role == "admin":
        raise Forbidden("A guest trader of the demo cannot become an administrator.")
    if user.role == "admin" and role != "admin" and _active_admins(session) <= 1:
        raise Forbidden("The last administrator cannot lose the admin role.")
    if user.role != role:
        end_all_sessions(session, user_id=user.id)  # they sign in again under the new role
    user.role = role
    session.add(user)
    audit.record(session, actor=admin, action="user.role", target=user.username, detail=role)
    return user


def unlock(session: Session, *, admin: User, user_id: int) -> User:
    """Forget a user's failed sign-ins (their delays end at once)."""
    _require_admin(admin)
    user = get_user(session, user_id=user_id)
    forget_failures(session, username=user.username)
    audit.record(session, actor=admin, action="user.unlock", target=user.username)
    return user


def delete_with_data(session: Session, *, user: User) -> None:
    """Delete `user` and everything it owns. Trades, then orders, then bots, then accounts,
    then the user: the rest follows by ON DELETE CASCADE (sessions, balances, events, ticks),
    but PostgreSQL checks the links between a user's own rows (a trade's orders, an order's
    account) while one cascade is still under way, so the owned rows go first, in order."""
    bots = select(Bot.id).where(Bot.owner_id == user.id)
    accounts = select(ExchangeAccount.id).where(ExchangeAccount.owner_id == user.id)
    session.execute(delete(Trade).where(col(Trade.bot_id).in_(bots)))
    session.execute(
        delete(BotOrder).where(
            or_(col(BotOrder.bot_id).in_(bots), col(BotOrder.account_id).in_(accounts))
        )
    )
    session.execute(delete(Bot).where(Bot.owner_id == user.id))
    session.execute(delete(ExchangeAccount).where(ExchangeAccount.owner_id == user.id))
    session.delete(user)
    session.flush()


def delete_user(session: Session, *, admin: User, user_id: int, confirm_username: str) -> None:
    """Delete a user and everything they own (sessions, accounts, bots, trades: cascaded)."""
    _require_admin(admin)
    user = get_user(session, user_id=user_id)
    if user.id == admin.id:
        raise Forbidden("You cannot delete your own account.")
    if (confirm_username or "").strip().lower() != user.username:
        raise InvalidInput("Type the username to confirm the deletion.")
    if user.role == "admin" and user.is_active and _active_admins(session) <= 1:
        raise Forbidden("The last active administrator cannot be deleted.")
    name = user.username
    end_all_sessions(session, user_id=user.id)
    delete_with_data(session, user=user)
    forget_failures(session, username=name)
    audit.record(session, actor=admin, action="user.delete", target=name)
