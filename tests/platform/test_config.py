"""Settings: env over secrets.toml, generated development secrets, production refusals."""

from __future__ import annotations

import stat

import pytest

from core.errors import ConfigError
from core.platform.config import LOCAL_SECRETS_FILE, load_settings


@pytest.fixture
def bare_env(monkeypatch, data_dir):
    monkeypatch.delenv("STEADYBOT_COOKIE_KEY")
    monkeypatch.delenv("STEADYBOT_MASTER_KEYS")
    return data_dir


def test_development_generates_secrets_once_in_a_0600_file(bare_env):
    first = load_settings()
    path = bare_env / LOCAL_SECRETS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_settings()
    assert first.cookie_key.get_secret_value() == second.cookie_key.get_secret_value()
    assert len(first.cookie_key.get_secret_value()) >= 32
    assert first.master_key_list() == second.master_key_list()


@pytest.mark.parametrize("missing", ["STEADYBOT_COOKIE_KEY", "STEADYBOT_MASTER_KEYS"])
def test_production_refuses_a_missing_secret_naming_the_variable(monkeypatch, missing):
    monkeypatch.setenv("STEADYBOT_ENV", "production")
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert missing in err.value.message
    assert "\n" not in err.value.message


def test_production_refuses_a_placeholder(monkeypatch):
    monkeypatch.setenv("STEADYBOT_ENV", "production")
    monkeypatch.setenv("STEADYBOT_COOKIE_KEY", "change-me")
    with pytest.raises(ConfigError, match="STEADYBOT_COOKIE_KEY"):
        load_settings()


def test_short_cookie_key_is_refused(monkeypatch):
    monkeypatch.setenv("STEADYBOT_COOKIE_KEY", "too-short-key")
    with pytest.raises(ConfigError, match="at least 32"):
        load_settings()


def test_secrets_toml_values_are_used_and_env_wins(monkeypatch):
    monkeypatch.setenv("STEADYBOT_LOG_LEVEL", "WARNING")
    settings = load_settings({"STEADYBOT_LOG_LEVEL": "DEBUG", "lockout_attempts": 3})
    assert settings.log_level == "WARNING"
    assert settings.lockout_attempts == 3


def test_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("STEADYBOT_WORKER", "sometimes")
    with pytest.raises(ConfigError, match="STEADYBOT_WORKER"):
        load_settings()


def test_default_database_is_sqlite_in_the_data_dir(data_dir):
    settings = load_settings()
    assert settings.resolved_database_url == f"sqlite:///{(data_dir / 'steadybot.db').resolve()}"
    assert settings.demo_enabled is False  # STEADYBOT_DEMO=0 in tests
