"""Notifications through apprise URLs (Telegram, Discord, email, ...).

URLs hold tokens, so they are stored encrypted (the caller passes the vault's cipher) and never
shown, logged or echoed in error messages. Sending never raises: a failed notification is
logged and the caller (a worker task, never a bot tick itself) goes on.
"""

from __future__ import annotations

import logging
from typing import Protocol

import apprise
from sqlmodel import Session

from core.errors import InvalidInput
from core.models import NotificationSetting, User, utcnow
from core.platform import audit

log = logging.getLogger(__name__)
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


def parse_urls(text: str) -> list[str]:
    """One apprise URL per line; blank lines ignored. Messages never quote a URL."""
    if not isinstance(text, str):
        raise InvalidInput("Notification URLs must be text.")
    urls = [line.strip() for line in text.splitlines() if line.strip()]
    if len(urls) > MAX_URLS:
        raise InvalidInput(f"At most {MAX_URLS} notification URLs.")
    for number, url in enumerate(urls, start=1):
        if len(url) > MAX_URL_LEN or "\x00" in url:
            raise InvalidInput(f"Notification URL on line {number} is too long or malformed.")
        if not apprise.Apprise().add(url):
            raise InvalidInput(
                f"Notification URL on line {number} is not one apprise understands "
                "(see the apprise documentation for the formats)."
            )
    return urls


def save_settings(
    session: Session, *, user: User, urls_text: str | None, events: list[str], cipher: Cipher
) -> NotificationSetting:
    """Replace the user's events; replace the URLs when `urls_text` is given (None keeps them)."""
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InvalidInput(f"Unknown notification events: {', '.join(map(str, unknown))}.")
    row = session.get(NotificationSetting, user.id) or NotificationSetting(user_id=user.id)
    if urls_text is not None:
        urls = parse_urls(urls_text)
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
        return [u for u in cipher.decrypt(row.urls_enc).splitlines() if u]
    except Exception as exc:  # noqa: BLE001 - any decrypt failure means "re-enter them"
        log.warning(
            "notification URLs of user %s are unreadable (%s)", row.user_id, type(exc).__name__
        )
        return []


def send(urls: list[str], *, title: str, body: str) -> bool:
    """Send to every URL; True if all succeeded. Never raises."""
    if not urls:
        return False
    try:
        sender = apprise.Apprise()
        for url in urls:
            sender.add(url)
        ok = bool(sender.notify(title=title[:250], body=body[:4000]))
    except Exception as exc:  # noqa: BLE001 - a notifier must never take its caller down
        log.warning("notification failed (%s)", type(exc).__name__)
        return False
    if not ok:
        log.warning("notification failed for at least one of %d target(s)", len(urls))
    return ok
