"""Process start-up shared by every entry point (web, worker, CLI): settings, logging,
data dir, database engine and migrations."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from core.platform import db, migrate
from core.platform.config import Settings, load_settings
from core.platform.logs import configure_logging

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine

    def session(self):
        """A write session (commits at the end of the `with` block)."""
        return db.session_scope(self.engine)

    def read(self):
        """A read-only session."""
        return db.read_session(self.engine)


def start(
    process_name: str,
    *,
    secrets: Mapping | None = None,
    settings: Settings | None = None,
    run_migrations: bool = True,
) -> Runtime:
    """Load settings, configure logging, open the database and bring its schema to head."""
    settings = settings or load_settings(secrets)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(
        settings.log_dir, process_name, level=settings.log_level, secrets=settings.secret_values()
    )
    engine = db.get_engine(
        settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    if run_migrations:
        migrate.upgrade(engine)
    log.info(
        "%s started: database=%s data_dir=%s env=%s",
        process_name,
        db.backend_name(engine),
        settings.data_dir.resolve(),
        settings.env,
    )
    return Runtime(settings=settings, engine=engine)
