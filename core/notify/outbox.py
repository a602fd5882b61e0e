"""Notifications for bot events, sent by the worker after the fact, never inside a tick.

The bot event log is the outbox: a tick only writes its events, those of a notifying kind
flagged `notify`. A periodic worker task claims flagged rows (clears the flag in one UPDATE ...
RETURNING; on PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED, so two workers never
claim the same event and an event committed late is claimed on the next run, which a max-id
cursor would skip), then sends what each owner asked for through apprise, outside any
transaction. Delivery is at most once: a worker that dies between the claim and the send loses
those notifications rather than sending them twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from core.models import Bot, BotEvent, EventKind
from core.notify import channels as notify
from core.notify.policy import Policy

log = logging.getLogger(__name__)
BATCH = 500


@dataclass(frozen=True)
class Pending:
    user_id: int
    event: str  # a key of notify.EVENTS
    title: str
    body: str


def event_kind(kind: str) -> str | None:
    """The notification event (a key of channels.EVENTS, named as the kind) a bot event of
    this kind is sent as, or None. Chosen by the kind (`EventKind.notifies`), never the text."""
    return (
        str(kind) if kind in EventKind.__members__.values() and EventKind(kind).notifies else None
    )


def claim(session: Session, *, limit: int = BATCH) -> list[Pending]:
    """Claim the oldest flagged events (at most `limit`) and return them. Run it in a write
    session (BEGIN IMMEDIATE on SQLite; row locks, skipping locked rows, on PostgreSQL)."""
    oldest = select(BotEvent.id).where(col(BotEvent.notify)).order_by(col(BotEvent.id)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        oldest = oldest.with_for_update(skip_locked=True)
    claimed = session.execute(
        update(BotEvent)
        .where(col(BotEvent.id).in_(oldest.scalar_subquery()))
        .values(notify=False)
        .returning(BotEvent.id)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(claimed.scalars().all())
    if not ids:
        return []
    found = session.exec(
        select(BotEvent.kind, BotEvent.message, Bot.owner_id, Bot.name)
        .join(Bot, col(Bot.id) == col(BotEvent.bot_id))
        .where(col(BotEvent.id).in_(ids))
        .order_by(col(BotEvent.id))
    ).all()
    out = []
    for kind, message, owner_id, bot_name in found:
        event = event_kind(kind)
        if event is None:  # flagged under another rule; never sent
            continue
        title = f"Steadybot · {bot_name}: {notify.EVENTS[event].lower()}"
        out.append(Pending(owner_id, event, title, message))
    return out


def dispatch(
    rt, cipher: notify.Cipher, *, limit: int = BATCH, policy: Policy | None = None
) -> dict:
    """Claim every pending event and send what each owner chose, each URL checked again
    against the outbound policy (`rt.settings`' allowed hosts unless `policy` is given). Never
    raises for a failed or refused send."""
    policy = policy or Policy.from_settings(rt.settings)
    pending: list[Pending] = []
    while True:  # drain: a burst of fills is sent in one run, a batch per transaction
        with rt.session() as session:
            batch = claim(session, limit=limit)
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
            if notify.send(urls, title=item.title, body=item.body, policy=policy):
                sent += 1
            else:
                failed += 1
    if sent or failed:
        log.info("notifications: %d sent, %d failed", sent, failed)
    return {"claimed": len(pending), "sent": sent, "failed": failed}
