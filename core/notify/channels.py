"""Notifications through apprise URLs (Telegram, Discord, email, ...).

URLs hold tokens, so they are stored encrypted (the caller passes the vault's cipher) and never
shown, logged or echoed in error messages; each URL and its secret parts are registered with
the log redaction filter as soon as they are read. Where they may send is `core.notify.policy`:
checked when they are saved and again at every send. Sending never raises: a failed or refused
notification is logged (the URL redacted) and the caller (a worker task, never a bot tick
itself) goes on.
"""

from __future__ import annotations

import logging
from typing import Protocol

import apprise
from sqlmodel import Session

from core.errors import Forbidden, InvalidInput
from core.models import NotificationSetting, User, utcnow
from core.notify.guard import outbound_guard
from core.notify.policy import Policy, check_url, redact_url, secret_parts
from core.platform import audit
from core.platform.logs import register_secret

log = logging.getLogger(__name__)
GUEST_NO_NOTIFY = "Guest traders of the demo cannot send notifications."
EVENTS = {
    "fill": "Order filled",
    "bot_error": "Bot stopped by an error",
    "risk_pause": "Bot paused by a risk limit",
    "key_reentry": "API key needs to be entered again",
}
MAX_URLS, MAX_URL_LEN = 10, 1000


class Cipher(Protocol):
    def encrypt(self, plaintext: str) -> bytes: ...

    def decrypt(self, token: bytes) -> str: ...


def parse_urls(text: str, *, policy: Policy | None = None) -> list[str]:
    """One apprise URL per line; blank lines ignored. Each must pass the outbound policy
    (scheme allow-list, public hosts). Raises only InvalidInput; messages never quote a URL."""
    if not isinstance(text, str):
        raise InvalidInput("Notification URLs must be text.")
    policy = policy or Policy()
    urls = [line.strip() for line in text.splitlines() if line.strip()]
    if len(urls) > MAX_URLS:
        raise InvalidInput(f"At most {MAX_URLS} notification URLs.")
    for number, url in enumerate(urls, start=1):
        if len(url) > MAX_URL_LEN or "\x00" in url:
            raise InvalidInput(f"Notification URL on line {number} is too long or malformed.")
        try:
            check_url(url, policy)
        except InvalidInput as exc:
            raise InvalidInput(f"Notification URL on line {number} {exc.message}") from None
    for url in urls:  # they are secrets from now on (apprise is kept quiet while checking)
        protect(url)
    return urls


def protect(url: str) -> None:
    """Mask the URL, and each secret part of it, in every log line from now on."""
    for part in secret_parts(url):
        register_secret(part)


def save_settings(
    session: Session,
    *,
    user: User,
    urls_text: str | None,
    events: list[str],
    cipher: Cipher,
    policy: Policy | None = None,
) -> NotificationSetting:
    """Replace the user's events; replace the URLs when `urls_text` is given (None keeps them).
    Everything is checked before anything is written."""
    if user.is_guest:  # a public demo sends nothing on a visitor's behalf
        raise Forbidden(GUEST_NO_NOTIFY)
    if not isinstance(events, list | tuple) or not all(isinstance(e, str) for e in events):
        raise InvalidInput("Notification events must be a list of names.")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InvalidInput(f"Unknown notification events: {', '.join(map(str, unknown))}.")
    urls = parse_urls(urls_text, policy=policy) if urls_text is not None else None
    row = session.get(NotificationSetting, user.id) or NotificationSetting(user_id=user.id)
    if urls is not None:
        row.urls_enc = cipher.encrypt("\n".join(urls)) if urls else None
        row.url_count = len(urls)
    row.events = ",".join(sorted(set(events)))
    row.updated_at = utcnow()
    session.add(row)
    audit.record(
        session,
        actor=user,
        action="notify.settings",
        detail=f"{row.url_count} url(s); events {row.events}",
    )
    return row


def get_settings(session: Session, *, user_id: int) -> NotificationSetting:
    return session.get(NotificationSetting, user_id) or NotificationSetting(user_id=user_id)


def load_urls(row: NotificationSetting, cipher: Cipher) -> list[str]:
    """Decrypted URLs; an unreadable row yields none (and is logged), never an exception."""
    if not row.urls_enc:
        return []
    try:
        urls = [u for u in cipher.decrypt(row.urls_enc).splitlines() if u]
    except Exception as exc:  # noqa: BLE001 - any decrypt failure means "re-enter them"
        log.warning(
            "notification URLs of user %s are unreadable (%s)", row.user_id, type(exc).__name__
        )
        return []
    for url in urls:
        protect(url)
    return urls


def send(urls: list[str], *, title: str, body: str, policy: Policy | None = None) -> bool:
    """Send to every URL; True if all succeeded. Each URL is checked against the policy again
    (DNS may have changed since it was saved) and sent under the connect guard. Never raises."""
    if not urls:
        return False
    policy = policy or Policy()
    results = [
        _send_one(url, number, len(urls), title=title, body=body, policy=policy)
        for number, url in enumerate(urls, start=1)
    ]
    if not all(results):
        log.warning("notification failed for %d of %d target(s)", results.count(False), len(urls))
    return all(results)


def _send_one(url: str, number: int, total: int, *, title: str, body: str, policy: Policy) -> bool:
    try:
        protect(url)
        target = check_url(url, policy)
    except InvalidInput as exc:
        log.warning(
            "notification target %d of %d (%s) refused: it %s",
            number,
            total,
            redact_url(url),
            exc.message,
        )
        return False
    except Exception as exc:  # noqa: BLE001 - a notifier must never take its caller down
        log.warning("notification target %d of %d failed (%s)", number, total, type(exc).__name__)
        return False
    try:
        with outbound_guard(target.allowed_ips) as guard:
            sender = apprise.Apprise()
            sender.add(target.plugin)
            ok = bool(sender.notify(title=title[:250], body=body[:4000]))
    except Exception as exc:  # noqa: BLE001 - a notifier must never take its caller down
        log.warning("notification target %d of %d failed (%s)", number, total, type(exc).__name__)
        return False
    for why in guard.refused:
        log.warning(
            "notification target %d of %d (%s): connection refused, %s",
            number,
            total,
            redact_url(url),
            why,
        )
    return ok
