"""One typed Settings object.

Values come from `STEADYBOT_*` environment variables and, under Streamlit, from `st.secrets`
(passed in by the entry file as a plain mapping, since core never imports streamlit).
Environment variables win over secrets.toml. In development, missing secrets are generated once
into `<data dir>/local-secrets.json` (mode 0600); in production a missing or placeholder secret
stops start-up with one line naming the variable to set.
"""

from __future__ import annotations

import base64
import importlib.util
import ipaddress
import json
import os
import re
import secrets as pysecrets
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.errors import ConfigError

ENV_PREFIX = "STEADYBOT_"
LOCAL_SECRETS_FILE = "local-secrets.json"
PLACEHOLDERS = {"", "change-me", "changeme", "replace-me", "secret", "xxx", "todo", "<set-me>"}


class Settings(BaseSettings):
    """Everything configurable, with defaults that work on a laptop."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("./data")
    database_url: str = ""  # empty: SQLite file in the data dir
    cookie_key: SecretStr = SecretStr("")
    cookie_name: str = "steadybot_auth"
    cookie_expiry_days: float = Field(default=7.0, gt=0, le=365)
    master_keys: SecretStr = SecretStr("")  # comma-separated Fernet keys, first is primary
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Sign-in throttling (core.users.throttle): failed sign-ins per username (and per username
    # and address) before delays start; an address is blocked for `lockout_minutes` after
    # 4 x `lockout_attempts` failures, and failures are forgotten after as long without one.
    lockout_attempts: int = Field(default=5, ge=1, le=100)
    lockout_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=100)
    queue_url: str = ""  # empty: SqliteHuey file in the data dir
    worker: Literal["embedded", "external", "off"] = "embedded"
    worker_threads: int = Field(default=2, ge=1, le=64)
    worker_scheduler: bool = True  # off: this worker runs ticks but does not schedule them
    demo: bool | None = None  # None: on in development, off in production
    # The public demo (e.g. on Community Cloud): visitors try it as private guest traders
    # ("Try it without an account"); no shared demo login, no visitor becomes admin, only an
    # admin adds live exchange accounts, registration closed unless STEADYBOT_REGISTRATION.
    public_demo: bool = False
    # An administrator created at start if no user has this name (the Cloud has no shell).
    admin_username: str = ""
    admin_password: SecretStr = SecretStr("")
    admin_email: str = ""
    # Who creates accounts: open (anyone signs up), invite (admins, on the Users page), closed
    # (only `python -m core.cli create-user`). None: open in development, closed in production.
    registration: Literal["open", "invite", "closed"] | None = None
    exchange_api_url: str = ""  # test/fake exchange override for ccxt urls['api']
    # Per exchange, before exchange_api_url: "binance=http://127.0.0.1:9001,okx=http://..."
    exchange_api_urls: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    exchange_timeout_ms: int = Field(default=10_000, ge=100, le=120_000)
    # Internal hosts notifications may still go to (core.notify.policy): "ntfy.lan,10.0.0.5"
    notify_allow_hosts: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("registration", mode="before")
    @classmethod
    def _registration(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @field_validator("exchange_api_urls", mode="before")
    @classmethod
    def _api_urls(cls, value: object) -> object:
        return parse_api_urls(value)

    @field_validator("notify_allow_hosts", mode="before")
    @classmethod
    def _allow_hosts(cls, value: object) -> object:
        return parse_allow_hosts(value)

    def exchange_api_url_for(self, exchange_id: str) -> str | None:
        """Where ccxt reaches `exchange_id` instead of its real API (tests, fake exchanges):
        its own entry in `exchange_api_urls`, else `exchange_api_url`; None: the real one."""
        return self.exchange_api_urls.get(exchange_id) or self.exchange_api_url or None

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def registration_mode(self) -> str:
        """open | invite | closed (STEADYBOT_REGISTRATION, else by environment)."""
        if self.registration is not None:
            return self.registration
        return "closed" if self.is_production or self.public_demo else "open"

    @property
    def demo_enabled(self) -> bool:
        """The shared demo trader, its password on the sign-in page: never in the public demo
        (anyone could change or lock it there; visitors get guest traders instead)."""
        if self.public_demo:
            return False
        return (not self.is_production) if self.demo is None else self.demo

    @property
    def admin_from_settings(self) -> tuple[str, str] | None:
        """(username, password) of the admin to create at start, or None when not set."""
        name, password = self.admin_username.strip(), self.admin_password.get_secret_value()
        return (name, password) if name and password else None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'steadybot.db').resolve()}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def master_key_list(self) -> list[str]:
        raw = self.master_keys.get_secret_value()
        return [k.strip() for k in raw.split(",") if k.strip()]

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log redaction filter."""
        values = [
            self.cookie_key.get_secret_value(),
            self.admin_password.get_secret_value(),
            *self.master_key_list(),
        ]
        return [v for v in values if len(v) >= 8]


_EXCHANGE_ID = re.compile(r"[a-z][a-z0-9]*")
_API_URLS_FORM = "write it as exchange=http://host:port, comma-separated"


@cache
def _ccxt_ids() -> frozenset[str] | None:
    """The exchange ids of the installed ccxt: one module per exchange in its package folder
    (read from disk: importing ccxt takes a second, and only core.exchanges imports it)."""
    spec = importlib.util.find_spec("ccxt")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    return frozenset(p.stem for p in folder.glob("*.py") if p.stem != "__init__")


def parse_api_urls(value: object) -> dict[str, str]:
    """`{exchange id: base URL}` from "binance=http://127.0.0.1:9001, okx=..." (commas or
    new lines) or a mapping. Each id must be a ccxt exchange id, once; each URL http(s)://
    host[:port] (ccxt keeps its own paths, so a path here would be ignored: refused)."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    elif isinstance(value, str):
        pairs = []
        for part in filter(None, (p.strip() for p in value.replace("\n", ",").split(","))):
            exchange_id, sep, url = part.partition("=")
            if not sep:
                raise ValueError(f"{part!r} has no '=': {_API_URLS_FORM}")
            pairs.append((exchange_id, url))
    else:
        raise ValueError(f"expected text or a mapping: {_API_URLS_FORM}")
    known = _ccxt_ids()
    urls: dict[str, str] = {}
    for raw_id, raw_url in pairs:
        exchange_id, url = raw_id.strip().lower(), raw_url.strip()
        if not _EXCHANGE_ID.fullmatch(exchange_id) or (
            known is not None and exchange_id not in known
        ):
            raise ValueError(f"unknown exchange {raw_id.strip()!r} (use a ccxt id, e.g. binance)")
        if exchange_id in urls:
            raise ValueError(f"{exchange_id} is given twice")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
        ):
            raise ValueError(f"{exchange_id}: {url!r} is not an http(s)://host[:port] URL")
        urls[exchange_id] = url.rstrip("/")
    return urls


_HOST_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*")


def parse_allow_hosts(value: object) -> tuple[str, ...]:
    """Host names or IP addresses (no scheme, port or path), comma- or space-separated, as
    lower-case names without a trailing dot."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = value.replace(",", " ").split()
    elif isinstance(value, list | tuple | set | frozenset):
        items = [str(v).strip() for v in value]
    else:
        raise ValueError("expected host names, comma-separated")
    hosts: list[str] = []
    for item in items:
        host = item.strip().lower().rstrip(".")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            if not _HOST_NAME.fullmatch(host):
                raise ValueError(
                    f"{item[:100]!r} is not a host name or IP address (no scheme, port or path)"
                ) from None
        if host not in hosts:
            hosts.append(host)
    return tuple(hosts)


def _from_secrets(secrets: Mapping | None) -> dict[str, object]:
    """Settings values from a secrets.toml mapping; env vars override them."""
    if not secrets:
        return {}
    flat: dict[str, object] = {}
    section = secrets.get("steadybot")
    items = list(secrets.items()) + (list(section.items()) if isinstance(section, Mapping) else [])
    for key, value in items:
        if isinstance(value, Mapping):
            continue
        name = key.lower().removeprefix(ENV_PREFIX.lower())
        if name in Settings.model_fields and f"{ENV_PREFIX}{name.upper()}" not in os.environ:
            flat[name] = value
    return flat


def load_settings(secrets: Mapping | None = None) -> Settings:
    """Build Settings from env (+ secrets), then make sure every secret is present."""
    try:
        settings = Settings(**_from_secrets(secrets))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        why = str(first["msg"]).removeprefix("Value error, ")  # our validators' own words
        raise ConfigError(f"Invalid setting {ENV_PREFIX}{field.upper()}: {why}.") from None
    admin_password = settings.admin_password.get_secret_value()
    if bool(settings.admin_username.strip()) != bool(admin_password):
        raise ConfigError(
            f"Set both {ENV_PREFIX}ADMIN_USERNAME and {ENV_PREFIX}ADMIN_PASSWORD, or neither."
        )
    if admin_password and admin_password.strip().lower() in PLACEHOLDERS:
        raise ConfigError(f"{ENV_PREFIX}ADMIN_PASSWORD is a placeholder: set a real password.")
    return ensure_secrets(settings)


def ensure_secrets(settings: Settings) -> Settings:
    missing = [
        name
        for name in ("cookie_key", "master_keys")
        if getattr(settings, name).get_secret_value().strip().lower() in PLACEHOLDERS
    ]
    if not missing:
        _check_secret_strength(settings)
        return settings
    if settings.is_production:
        name = f"{ENV_PREFIX}{missing[0].upper()}"
        raise ConfigError(
            f"{name} is not set (or is a placeholder): set it in the environment or in "
            ".streamlit/secrets.toml before starting in production."
        )
    local = _local_secrets(settings.data_dir)
    updates = {name: SecretStr(local[name]) for name in missing}
    return settings.model_copy(update=updates)


def _check_secret_strength(settings: Settings) -> None:
    if len(settings.cookie_key.get_secret_value()) < 32:
        raise ConfigError(f"{ENV_PREFIX}COOKIE_KEY must be at least 32 characters long.")


def _local_secrets(data_dir: Path) -> dict[str, str]:
    """Read, or create once (atomically, mode 0600), the development secrets file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCAL_SECRETS_FILE
    if not path.exists():
        fresh = {
            "cookie_key": pysecrets.token_urlsafe(48),
            "master_keys": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(fresh, fh)
        try:
            os.link(tmp, path)  # atomic and refuses to overwrite: first process wins
        except FileExistsError:
            pass  # another process created it first; use theirs
        finally:
            tmp.unlink(missing_ok=True)
    try:
        data = json.loads(path.read_text())
        return {"cookie_key": str(data["cookie_key"]), "master_keys": str(data["master_keys"])}
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"{path} is unreadable ({type(exc).__name__}); restore it or set "
            f"{ENV_PREFIX}COOKIE_KEY and {ENV_PREFIX}MASTER_KEYS."
        ) from None
