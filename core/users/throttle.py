"""Sign-in: password check with throttling instead of a lock anyone could trigger.

Failed sign-ins are counted under three keys: the username (`u:`), the client address (`a:`)
and the pair (`p:`). Past `free` failures a key asks for a growing wait before the next
attempt (1 s, 2 s, 4 s ... up to `max_delay_s`); an address with `block_after` failures is
blocked for `minutes`. Failures are forgotten after `minutes` without one.

The owner is never locked out from their own address: from an address the user has signed
in from before (core.users.sessions.is_known_address), only that pair's own failures count,
so failures elsewhere (a botnet, another office) neither delay nor block them. Unknown
usernames are counted and answered exactly like wrong passwords (a dummy bcrypt check keeps
the timing too), so sign-in reveals no usernames.

An attempt is counted BEFORE the password is checked (in its own write transaction), so
parallel attempts cannot all slip through one free slot; a success takes it back.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import delete, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from core.errors import AccountDisabled, InvalidCredentials
from core.models import SignInThrottle, User, utcnow
from core.platform import audit
from core.platform.inputs import USERNAME_RE
from core.platform.runtime import Runtime
from core.platform.security import check_password_hash, hash_password
from core.users.sessions import is_known_address, start_session

log = logging.getLogger(__name__)
WRONG = InvalidCredentials.__doc__  # "Wrong username or password."
LOCAL = "local"  # loopback, or no address (Streamlit gives none for localhost)


@dataclass(frozen=True)
class ThrottlePolicy:
    free: int = 5  # failures per username (and per pair) before delays start
    block_after: int = 20  # failures from one address before it is blocked
    minutes: float = 15.0  # block length, and how long failures are remembered
    max_delay_s: float = 60.0

    @classmethod
    def from_settings(cls, settings) -> ThrottlePolicy:
        attempts = settings.lockout_attempts
        return cls(free=attempts, block_after=4 * attempts, minutes=settings.lockout_minutes)

    def delay_s(self, failures: int, free: int) -> float:
        """The wait after `failures` failures: none up to `free`, then 1, 2, 4 ... seconds."""
        if failures <= free:
            return 0.0
        return min(self.max_delay_s, 2.0 ** min(failures - free - 1, 30))


@dataclass(frozen=True)
class SignInResult:
    user: User | None = None
    token: str | None = None  # the new session's token, for the cookie
    message: str = ""  # why not, fit for the form (never says whether the username exists)
    wait_s: float = 0.0  # throttled: seconds until the next attempt is taken

    @property
    def ok(self) -> bool:
        return self.user is not None and self.token is not None


def client_address(raw: object) -> str:
    """A throttling key for a client address: IPv4 as is, IPv6 as its /64 (one subscriber
    has a whole /64), loopback or none as "local", anything unparsable as "unknown"."""
    if raw is None or raw == "":
        return LOCAL
    if not isinstance(raw, str) or len(raw) > 100:
        return "unknown"
    try:
        ip = ipaddress.ip_address(raw.strip().split("%", 1)[0])
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return LOCAL
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def username_key(raw: object) -> str:
    """The typed username as a key: a valid name as is (lower case), anything else hashed
    (keys never hold control characters or unbounded text)."""
    name = raw.strip().lower() if isinstance(raw, str) else ""
    if USERNAME_RE.fullmatch(name):
        return name
    digest = hashlib.sha256(repr(raw).encode("utf-8", "backslashreplace")).hexdigest()
    return "?" + digest[:31]


@cache
def _dummy_hash() -> str:
    return hash_password("no-such-user-0123456789")


def _keys(name: str, address: str) -> dict[str, tuple[str, str, str]]:
    return {
        "pair": (f"p:{name}|{address}", name, address),
        "user": (f"u:{name}", name, ""),
        "addr": (f"a:{address}", "", address),
    }


def _rows(session: Session, keys: dict, now: datetime) -> dict[str, SignInThrottle]:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    values = [
        {"key": k, "username": u, "address": a, "failures": 0, "last_at": now}
        for k, u, a in keys.values()
    ]
    session.execute(insert(SignInThrottle).values(values).on_conflict_do_nothing())
    found = {
        row.key: row
        for row in session.exec(
            select(SignInThrottle)
            .where(col(SignInThrottle.key).in_([k for k, _, _ in keys.values()]))
            .with_for_update()
        )
    }
    return {role: found[k] for role, (k, _, _) in keys.items()}


def _reserve(
    session: Session, *, name: str, address: str, policy: ThrottlePolicy, now: datetime
) -> SignInResult | None:
    """Count this attempt as a failure, or say why it must wait (None: go ahead)."""
    window = timedelta(minutes=policy.minutes)
    rows = _rows(session, _keys(name, address), now)
    for row in rows.values():
        if row.last_at < now - window:
            row.failures = 0
    user_id = session.exec(select(User.id).where(User.username == name)).first()
    own = user_id is not None and is_known_address(
        session, user_id=user_id, address=address, now=now
    )
    addr = rows["addr"]
    if not own and addr.blocked_until is not None and addr.blocked_until > now:
        minutes = max(1, math.ceil((addr.blocked_until - now).total_seconds() / 60))
        return SignInResult(
            message=(
                "Too many failed sign-ins from your network address. Try again in "
                f"{minutes} minute(s), or ask an administrator."
            ),
            wait_s=(addr.blocked_until - now).total_seconds(),
        )
    checks = [(rows["pair"], policy.free)]
    if not own:
        checks += [(rows["user"], policy.free), (addr, 2 * policy.free)]
    wait = max(
        (row.last_at + timedelta(seconds=policy.delay_s(row.failures, free)) - now).total_seconds()
        for row, free in checks
    )
    if wait > 0:
        return SignInResult(
            message=f"Too many failed sign-ins. Wait {math.ceil(wait)} second(s) and try again.",
            wait_s=wait,
        )
    for row in rows.values():
        row.failures += 1
        row.last_at = now
        session.add(row)
    if addr.failures >= policy.block_after and not (
        addr.blocked_until is not None and addr.blocked_until > now
    ):
        addr.blocked_until = now + window
        audit.record(session, actor=None, action="signin.address_blocked", target=address)
        log.warning("sign-in: address %s blocked for %s minutes", address, policy.minutes)
    session.execute(
        delete(SignInThrottle).where(
            col(SignInThrottle.last_at) < now - window,
            or_(
                col(SignInThrottle.blocked_until).is_(None),
                col(SignInThrottle.blocked_until) < now,
            ),
        )
    )
    return None


def _forgive(session: Session, *, name: str, address: str) -> None:
    """After a success: the username's and the pair's failures go; the address keeps its
    other failures (an attacker with an account of their own cannot reset their address)."""
    keys = _keys(name, address)
    session.execute(
        delete(SignInThrottle).where(
            col(SignInThrottle.key).in_([keys["pair"][0], keys["user"][0]])
        )
    )
    addr = session.get(SignInThrottle, keys["addr"][0])
    if addr is not None and addr.failures > 0:
        addr.failures -= 1
        session.add(addr)


def sign_in(
    rt: Runtime,
    *,
    username: object,
    password: object,
    address: object,
    now: datetime | None = None,
) -> SignInResult:
    """Check a sign-in and open a session. Any input is safe: a refusal has a message."""
    now = now or utcnow()
    policy = ThrottlePolicy.from_settings(rt.settings)
    name, addr = username_key(username), client_address(address)
    with rt.session() as session:
        refused = _reserve(session, name=name, address=addr, policy=policy, now=now)
    if refused is not None:
        log.info("sign-in from %s refused: throttled (%.0f s)", addr, refused.wait_s)
        return refused
    with rt.read() as session:
        user = session.exec(select(User).where(User.username == name)).first()
    secret = password if isinstance(password, str) else ""
    matches = check_password_hash(secret, user.password_hash if user else _dummy_hash())
    if user is None or not matches:
        who = user.username if user else "an unknown username"
        log.info("sign-in failed for %s from %s", who, addr)
        return SignInResult(message=WRONG)
    if not user.is_active:  # said only to someone who knows the password
        return SignInResult(message=AccountDisabled.__doc__)
    with rt.session() as session:
        _forgive(session, name=name, address=addr)
        user = session.get(User, user.id)
        if user is None or not user.is_active:  # deleted or disabled meanwhile
            return SignInResult(message=WRONG)
        user.last_login_at = now
        session.add(user)
        token = start_session(
            session,
            user=user,
            key=rt.settings.cookie_key.get_secret_value(),
            days=rt.settings.cookie_expiry_days,
            address=addr,
            now=now,
        )
        audit.record(session, actor=user, action="user.login", detail=addr)
    log.info("user %s signed in from %s", user.username, addr)
    return SignInResult(user=user, token=token)


def forget_failures(session: Session, *, username: str) -> int:
    """Drop a username's failure counts and its pairs' (unlock)."""
    name = username_key(username)
    result = session.execute(delete(SignInThrottle).where(SignInThrottle.username == name))
    return result.rowcount or 0


def unblock_address(session: Session, *, address: str) -> int:
    """Lift a block (and the failure count) of one client address."""
    key = f"a:{client_address(address)}"
    result = session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))
    return result.rowcount or 0


def throttled(
    session: Session, *, policy: ThrottlePolicy, now: datetime | None = None
) -> list[SignInThrottle]:
    """Keys that currently delay or block sign-ins (for the Users page)."""
    now = now or utcnow()
    since = now - timedelta(minutes=policy.minutes)
    rows = session.exec(
        select(SignInThrottle)
        .where(
            or_(
                col(SignInThrottle.blocked_until) > now,
                (col(SignInThrottle.failures) > policy.free)
                & (col(SignInThrottle.last_at) >= since),
            )
        )
        .order_by(col(SignInThrottle.last_at).desc())
        .limit(200)
    )
    return list(rows)
