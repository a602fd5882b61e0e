"""The audit log: who did what, when. Callers pass descriptions, never secrets."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from core.models import AuditLog, User
from core.platform.logs import redact


def record(
    session: Session, *, actor: User | None, action: str, target: str = "", detail: str = ""
) -> AuditLog:
    """Add an audit row in the caller's transaction (so it commits or rolls back with it)."""
    entry = AuditLog(
        actor_id=actor.id if actor else None,
        actor=actor.username if actor else "system",
        action=action[:64],
        target=redact(target)[:200],
        detail=redact(detail)[:2000],
    )
    session.add(entry)
    return entry


def recent(
    session: Session,
    *,
    limit: int = 200,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
) -> list[AuditLog]:
    query = select(AuditLog).order_by(col(AuditLog.id).desc()).limit(limit)
    if action:
        query = query.where(AuditLog.action == action)
    if actor:
        query = query.where(AuditLog.actor == actor)
    if since:
        query = query.where(AuditLog.ts >= since)
    return list(session.exec(query))


def filter_choices(session: Session) -> tuple[list[str], list[str]]:
    """The distinct actions and actors in the log (for the System page's filters)."""
    actions = session.exec(select(AuditLog.action).distinct().order_by(AuditLog.action)).all()
    actors = session.exec(select(AuditLog.actor).distinct().order_by(AuditLog.actor)).all()
    return list(actions), list(actors)
