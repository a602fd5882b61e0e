"""Notifications for bot events, sent by the worker after the fact, never inside a tick.

The bot event log is the outbox: a tick only writes its events (fills, state changes). A
periodic worker task claims the events written since a cursor (one `AppSetting` row, advanced
in the same write transaction that reads the events, so two workers never claim the same
events), then sends what each owner asked for through apprise, outside any transaction.
Delivery is at most once: a worker that dies between the claim and the send loses those
notifications rather than sending them twice. On the first run the cursor starts at the
newest event, so history is never replayed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from core.models import AppSetting, Bot, BotEvent, EventKind
from core.notify import channels as notify

log = logging.getLogger(__name__)
CURSOR_KEY = "notify.last_event_id"
BATCH = 500


@dataclass(frozen=True)
class Pending:
    user_id: int
    event: str  # a key of notify.EVENTS
    title: str
    body: str


# The one definition of which bot events notify, and as which notification event
# (a key of channels.EVENTS). Chosen by the event's kind, never by its text.
NOTIFYING = {
    EventKind.FILL: "fill",
    EventKind.BOT_ERROR: "bot_error",
    EventKind.RISK_PAUSE: "risk_pause",
    EventKind.KEY_REENTRY: "key_reentry",
}


def event_kind(kind: str) -> str | None:
    """The notification event a bot event of this kind belongs to, or None."""
    return NOTIFYING.get(kind)


def _notifying():
    return col(BotEvent.kind).in_(list(NOTIFYING))


def _cursor(session: Session) -> AppSetting | None:
    return session.exec(
        select(AppSetting).where(AppSetting.key == CURSOR_KEY).with_for_update()
    ).first()


def claim(session: Session, *, limit: int = BATCH) -> list[Pending]:
    """Advance the cursor past the next events that notify (at most `limit` of them; the
    others are skipped in the query) and return them. Run it in a write session (BEGIN
    IMMEDIATE on SQLite, a row lock on PostgreSQL)."""
    row = _cursor(session)
    if row is None:
        newest = session.exec(select(func.max(BotEvent.id))).one() or 0
        session.add(AppSetting(key=CURSOR_KEY, value=str(newest)))
        return []
    after = int(row.value)
    newest = session.exec(select(func.max(BotEvent.id))).one() or after
    found = session.exec(
        select(BotEvent, Bot.owner_id, Bot.name)
        .join(Bot, col(Bot.id) == col(BotEvent.bot_id))
        .where(col(BotEvent.id) > after, col(BotEvent.id) <= newest, _notifying())
        .order_by(col(BotEvent.id))
        .limit(limit)
    ).all()
    # Past every event up to the newest, unless the limit cut the batch short.
    row.value = str(found[-1][0].id if len(found) == limit else newest)
    session.add(row)
    out = []
    for event, owner_id, bot_name in found:
        kind = event_kind(event.kind)
        title = f"Steadybot · {bot_name}: {notify.EVENTS[kind].lower()}"
        out.append(Pending(owner_id, kind, title, event.message))
    return out


def dispatch(rt, cipher: notify.Cipher, *, limit: int = BATCH) -> dict:
    """Claim every pending event and send what each owner chose. Never raises for a failed
    send."""
    pending: list[Pending] = []
    while True:  # drain: a burst of fills is sent in one run, a batch per transaction
        try:
            with rt.session() as session:
                batch = claim(session, limit=limit)
        except IntegrityError:  # another worker created the cursor at the same moment
            break
        pending += batch
        if len(batch) < limit:
            break
    sent = failed = 0
    by_user: dict[int, list[Pending]] = {}
    for item in pending:
        by_user.setdefault(item.user_id, []).append(item)
    for user_id, items in by_user.items():
        with rt.read() as session:
            row = notify.get_settings(session, user_id=user_id)
        wanted = set(row.events.split(",")) if row.events else set()
        chosen = [i for i in items if i.event in wanted]
        urls = notify.load_urls(row, cipher) if chosen else []
        if not urls:
            continue
        for item in chosen:
            if notify.send(urls, title=item.title, body=item.body):
                sent += 1
            else:
                failed += 1
    if sent or failed:
        log.info("notifications: %d sent, %d failed", sent, failed)
    return {"claimed": len(pending), "sent": sent, "failed": failed}
