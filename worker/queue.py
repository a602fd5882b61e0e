"""The Huey instance, chosen by settings: SQLite file (default), Redis or PostgreSQL."""

from __future__ import annotations

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey

from core.errors import ConfigError
from core.platform.config import Settings

QUEUE_NAME = "steadybot"


def make_huey(settings: Settings, *, immediate: bool = False) -> Huey:
    """A new Huey for `settings.queue_url` (a function, so tests can make several)."""
    url = settings.queue_url.strip()
    common = {"results": False, "immediate": immediate}
    if not url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(settings.data_dir / "queue.db"), **common)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(QUEUE_NAME, url=url, **common)
    if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        dsn = "postgresql://" + url.split("://", 1)[1]
        return PostgresHuey(QUEUE_NAME, dsn=dsn, **common)
    raise ConfigError(
        "STEADYBOT_QUEUE_URL must be empty (SQLite queue file), redis://... or postgresql://..."
    )


def queue_backend(huey: Huey) -> str:
    return {SqliteHuey: "sqlite", RedisHuey: "redis", PostgresHuey: "postgresql"}.get(
        type(huey), type(huey).__name__
    )
