"""Shared fixtures: a fresh data dir and SQLite database per test, and the real PostgreSQL /
Redis servers where present (skipped with a reason on a laptop without them, failing instead
when STEADYBOT_REQUIRE_SERVICES=1, as in CI)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.platform.config import Settings
from core.platform.runtime import Runtime, start

PG_ADMIN_URL = os.environ.get("STEADYBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("STEADYBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_COOKIE_KEY = "test-cookie-key-0123456789abcdef0123456789"
TEST_MASTER_KEY = "bXktdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmc="  # Fernet: 32 bytes b64


# A test that uses one of these fixtures (directly or through another fixture, e.g. pg_rt ->
# pg_url) gets the marker; see pytest_collection_modifyitems. A fixture picked at run time
# with request.getfixturevalue is invisible here: mark its param (tests/views).
FIXTURE_MARKERS = {
    "pg_url": "postgres",
    "redis_url": "redis",
    "browser_page": "browser",
    "app_server": "browser",  # a real `streamlit run`, driven by the browser tests
}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """postgres / redis / browser from the fixtures a test uses; every browser test is slow."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in used and item.get_closest_marker(marker) is None:
                item.add_marker(marker)
        if item.get_closest_marker("browser") and item.get_closest_marker("slow") is None:
            item.add_marker("slow")


def services_required() -> bool:
    return os.environ.get("STEADYBOT_REQUIRE_SERVICES") == "1"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need_service(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if services_required():
        pytest.fail(f"{message} and STEADYBOT_REQUIRE_SERVICES=1")
    pytest.skip(f"{message} (start it to run this test)")


def make_settings(data_dir: Path, **overrides) -> Settings:
    values = {
        "env": "development",
        "data_dir": data_dir,
        "cookie_key": SecretStr(TEST_COOKIE_KEY),
        "master_keys": SecretStr(TEST_MASTER_KEY),
        "demo": False,
        "log_level": "INFO",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's STEADYBOT_* variables or writes to ./data."""
    for key in list(os.environ):
        if key.startswith("STEADYBOT_") and key not in (
            "STEADYBOT_REQUIRE_SERVICES",
            "STEADYBOT_TEST_PG_URL",
            "STEADYBOT_TEST_REDIS_URL",
        ):
            monkeypatch.delenv(key)
    monkeypatch.setenv("STEADYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STEADYBOT_COOKIE_KEY", TEST_COOKIE_KEY)
    monkeypatch.setenv("STEADYBOT_MASTER_KEYS", TEST_MASTER_KEY)
    monkeypatch.setenv("STEADYBOT_DEMO", "0")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return make_settings(data_dir)


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    """A migrated SQLite database in a fresh data dir."""
    runtime = start("test", settings=settings)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    need_service("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    name = f"sbtest_{uuid.uuid4().hex[:12]}"
    admin = PG_ADMIN_URL
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.rsplit("/", 1)[0] + f"/{name}"
    from core.platform.db import dispose_engines

    dispose_engines()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_rt(pg_url: str, data_dir: Path) -> Iterator[Runtime]:
    runtime = start("test", settings=make_settings(data_dir, database_url=pg_url))
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis (test database 15, flushed before and after)."""
    need_service("Redis", "127.0.0.1", 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


# Every secret value the tests hand to the code. After the whole run no log file under the
# run's temporary directories (web, worker, CLI and test logs) may contain any of them.
TEST_SECRETS = (
    TEST_COOKIE_KEY,
    TEST_MASTER_KEY,
    "fake-secret-abcdefghijklmnop",
    "wrong-secret-0123456789",
    "withdraw-secret-0123456789",
    "s3cret-good-secret-value-0001",
    "new-secret-value-9999",
    "vault-test-secret-Zq81xW",
    "crash-test-secret-0000000001",
    "outbox-test-secret-000000001",
    "s3cr3t-token",
    # notification tokens (tests/notify/test_log_secrets.py lets apprise log at DEBUG)
    "AAH-notify-token-telegram-0001",
    "notify-token-json-0002",
    "notify-token-typo-0003",
    "notify-token-json-0004",
    "tgram-token-0123456789",
)


def leaked_secrets(root: Path, secrets=TEST_SECRETS) -> list[tuple[str, str]]:
    """(log file, first 4 characters of the secret) for each secret found in a log under root."""
    found = []
    for path in root.rglob("*.log*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        found += [(str(path), s[:4]) for s in secrets if s.encode() in data]
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None or exitstatus not in (0, 1):
        return
    leaks = leaked_secrets(factory.getbasetemp())
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for path, prefix in leaks:
            reporter.write_line(f"SECRET LEAK: a test secret starting {prefix!r} is in {path}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
