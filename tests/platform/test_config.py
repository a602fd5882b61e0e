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


def test_exchange_api_urls_map_each_exchange_before_the_single_url(monkeypatch):
    monkeypatch.setenv("STEADYBOT_EXCHANGE_API_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv(
        "STEADYBOT_EXCHANGE_API_URLS",
        " binance=http://127.0.0.1:9001, OKX=http://127.0.0.1:9002/\nbybit=https://localhost:9003",
    )
    settings = load_settings()
    assert settings.exchange_api_urls == {
        "binance": "http://127.0.0.1:9001",
        "okx": "http://127.0.0.1:9002",
        "bybit": "https://localhost:9003",
    }
    assert settings.exchange_api_url_for("okx") == "http://127.0.0.1:9002"
    assert settings.exchange_api_url_for("kraken") == "http://127.0.0.1:9000"  # the fallback
    monkeypatch.delenv("STEADYBOT_EXCHANGE_API_URL")
    assert load_settings().exchange_api_url_for("kraken") is None  # the real API


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("binnance=http://127.0.0.1:9001", "unknown exchange 'binnance'"),
        ("sim=http://127.0.0.1:9001", "unknown exchange 'sim'"),
        ("binance http://127.0.0.1:9001", "has no '='"),
        ("binance=ftp://127.0.0.1:9001", "is not an http(s)://host[:port] URL"),
        ("binance=127.0.0.1:9001", "is not an http(s)://host[:port] URL"),
        ("binance=http://127.0.0.1:99999", "is not an http(s)://host[:port] URL"),
        ("binance=http://127.0.0.1:9001/api", "is not an http(s)://host[:port] URL"),
        ("okx=http://a:1,okx=http://b:2", "okx is given twice"),
    ],
)
def test_bad_exchange_api_urls_stop_start_up_naming_the_variable(monkeypatch, value, says):
    monkeypatch.setenv("STEADYBOT_EXCHANGE_API_URLS", value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.message.startswith("Invalid setting STEADYBOT_EXCHANGE_API_URLS: ")
    assert says in err.value.message
    assert "Value error" not in err.value.message


def test_live_connector_and_market_feed_use_the_exchange_s_own_url(monkeypatch):
    from core.accounts.credentials import Credentials, live_connector
    from core.exchanges import market_feed

    monkeypatch.setenv("STEADYBOT_EXCHANGE_API_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("STEADYBOT_EXCHANGE_API_URLS", "okx=http://127.0.0.1:9002")
    settings = load_settings()
    creds = Credentials(exchange_id="okx", api_key="k", secret="s", extra={"password": "p"})
    assert live_connector(creds, settings).api_url == "http://127.0.0.1:9002"
    assert market_feed("okx", settings=settings).api_url == "http://127.0.0.1:9002"
    assert market_feed("binance", settings=settings).api_url == "http://127.0.0.1:9000"


def test_notify_allow_hosts_are_read_as_normalised_host_names(monkeypatch):
    monkeypatch.setenv("STEADYBOT_NOTIFY_ALLOW_HOSTS", "ntfy.LAN., 10.0.0.5 [::1],ntfy.lan")
    assert load_settings().notify_allow_hosts == ("ntfy.lan", "10.0.0.5", "::1")
    monkeypatch.delenv("STEADYBOT_NOTIFY_ALLOW_HOSTS")
    assert load_settings().notify_allow_hosts == ()  # none by default


@pytest.mark.parametrize(
    "value", ["http://ntfy.lan", "ntfy.lan:8080", "ntfy.lan/path", "a b!", "-x.lan", "x" * 300]
)
def test_bad_notify_allow_hosts_stop_start_up_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("STEADYBOT_NOTIFY_ALLOW_HOSTS", value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.message.startswith("Invalid setting STEADYBOT_NOTIFY_ALLOW_HOSTS: ")
    assert "is not a host name or IP address" in err.value.message
