"""Read models for the administration pages and the worker warning: heartbeats, queue,
every bot on the platform. Aggregated queries, like core.views.dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from core.models import Bot, BotStatus, Trade, User, WorkerHeartbeat, utcnow
from core.platform.config import Settings
from core.strategy import list_strategies


def worker_status(session: Session, *, now: datetime | None = None) -> dict:
    """Every worker's heartbeat (newest first), how many beat within the last minute, and the
    queue depth the newest live one reported."""
    now = now or utcnow()
    beats = list(
        session.exec(select(WorkerHeartbeat).order_by(col(WorkerHeartbeat.last_beat).desc()))
    )
    alive = [b for b in beats if now - aware(b.last_beat) <= timedelta(minutes=1)]
    return {
        "workers": beats,
        "alive": len(alive),
        "last_beat": beats[0].last_beat if beats else None,
        "healthy": bool(alive),
        "queue_depth": next((b.queue_depth for b in alive if b.queue_depth is not None), None),
    }


def aware(dt: datetime) -> datetime:
    # SQLite hands datetimes back without their zone; they are stored in UTC.
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def queue_backend(settings: Settings) -> str:
    """Which queue the workers use, without credentials: 'SQLite file', 'Redis host:port'..."""
    url = settings.queue_url.strip()
    if not url:
        return "SQLite file (queue.db in the data dir)"
    parsed = urlsplit(url)
    kind = "Redis" if parsed.scheme.startswith(("redis", "unix")) else "PostgreSQL"
    where = f"{parsed.hostname}:{parsed.port}" if parsed.port else (parsed.hostname or "")
    return f"{kind} {where}".strip()


def admin_bots(session: Session) -> list[dict]:
    """Every bot on the platform with its owner, status, realised PnL and last error (the
    strategy by its title)."""
    titles = {s.name: s.title for s in list_strategies()}
    realised = func.coalesce(func.sum(case((Trade.status == "closed", Trade.pnl), else_=0.0)), 0.0)
    rows = session.exec(
        select(Bot, User.username, realised)
        .join(User, User.id == Bot.owner_id)
        .join(Trade, Trade.bot_id == Bot.id, isouter=True)
        .where(Bot.status != BotStatus.ARCHIVED)
        .group_by(col(Bot.id), col(User.username))
        .order_by(col(Bot.id))
    ).all()
    return [
        {
            "id": bot.id,
            "owner": owner,
            "name": bot.name,
            "market": f"{bot.symbol} {bot.timeframe}",
            "strategy": titles.get(bot.strategy, bot.strategy),
            "status": bot.status,
            "reason": bot.status_reason,
            "realised_pnl": float(pnl),
            "last_tick": bot.last_tick_at,
        }
        for bot, owner, pnl in rows
    ]
