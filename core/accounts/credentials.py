"""API key input and the key check against the exchange (no database here).

Live keys are taken only for the exchanges in `exchange_choices()`; any other ccxt exchange is
refused with its paper-only reason. Input rule: API keys and secrets are trimmed of surrounding
whitespace (copy-paste adds it), then must be 1-1000 printable ASCII characters without spaces;
extra credentials (passphrases) may contain spaces. Messages name the field, never the value.
The check fetches the balance and the key's permissions with the configured timeout: a key that
can withdraw is refused where the exchange says so, and a warning is returned where it cannot
tell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from core.errors import ExchangeAuthError, ExchangeError, ExchangeTemporaryError, InvalidInput
from core.exchanges import (
    Exchange,
    exchange_ids,
    has_testnet,
    live_exchange,
    live_exchange_ids,
    paper_only_reason,
    required_credentials,
)
from core.platform.config import Settings
from core.platform.inputs import clean_text
from core.platform.logs import redact, register_secret

MAX_SECRET_LEN = 1000
EXTRA_LABELS = {"password": "Passphrase", "uid": "UID", "privateKey": "Private key"}
CheckStatus = Literal["ok", "invalid", "unreachable"]


@dataclass(frozen=True)
class Credentials:
    """Decrypted credentials; the repr never shows them."""

    exchange_id: str
    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    extra: dict[str, str] = field(default_factory=dict, repr=False)
    sandbox: bool = False


Connector = Callable[[Credentials, Settings], Exchange]


def live_connector(creds: Credentials, settings: Settings) -> Exchange:
    """The real exchange client (ccxt through the live adapter)."""
    return live_exchange(
        exchange_id=creds.exchange_id,
        api_key=creds.api_key,
        secret=creds.secret,
        extra=dict(creds.extra),
        sandbox=creds.sandbox,
        api_url=settings.exchange_api_url_for(creds.exchange_id),
        timeout_ms=settings.exchange_timeout_ms,
    )


def exchange_choices() -> list[str]:
    """The exchanges offered for live trading: ccxt can set AND look up our client order ids
    there (core.exchanges.capabilities). Paper accounts may use any feed."""
    known = set(exchange_ids())
    return [e for e in live_exchange_ids() if e in known]


def extra_fields(exchange_id: str) -> list[str]:
    """Credentials this exchange needs besides the API key and secret (e.g. `password`)."""
    required = required_credentials(exchange_id)
    names = [k for k, v in required.items() if v] if isinstance(required, dict) else required
    return [n for n in names if n not in ("apiKey", "secret")]


def extra_label(name: str) -> str:
    return EXTRA_LABELS.get(name, name[:1].upper() + name[1:])


def has_sandbox(exchange_id: str) -> bool:
    return has_testnet(exchange_id)


def clean_exchange(value: object) -> str:
    """An exchange offered for live trading; others are refused (paper-only, with the reason)."""
    exchange_id = clean_text(value, "Exchange", max_len=32).lower()
    if exchange_id in exchange_choices():
        return exchange_id
    if exchange_id in exchange_ids():
        raise InvalidInput(paper_only_reason(exchange_id) + ".")
    raise InvalidInput("Unknown exchange: pick one from the list.")


def clean_secret(value: object, name: str, *, spaces: bool = False) -> str:
    """Trimmed; 1-1000 printable ASCII characters. Messages never quote the value."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text.")
    value = value.strip()
    if not value:
        raise InvalidInput(f"{name} is required.")
    if len(value) > MAX_SECRET_LEN:
        raise InvalidInput(f"{name} is too long (at most {MAX_SECRET_LEN} characters).")
    if not all(" " < ch < "\x7f" or (spaces and ch == " ") for ch in value):
        raise InvalidInput(
            f"{name} may only contain printable ASCII characters (letters, digits, symbols)"
            + ("." if spaces else " and no spaces.")
        )
    return value


def clean_credentials(
    exchange_id: str, api_key: object, secret: object, extra: dict | None, sandbox: bool
) -> Credentials:
    """Validated credentials (registered with the log filter), or `InvalidInput`."""
    given = extra or {}
    clean_extra = {
        name: clean_secret(given.get(name), extra_label(name), spaces=True)
        for name in extra_fields(exchange_id)
    }
    if sandbox and not has_sandbox(exchange_id):
        raise InvalidInput(f"{exchange_id} has no testnet/sandbox.")
    creds = Credentials(
        exchange_id=exchange_id,
        api_key=clean_secret(api_key, "API key"),
        secret=clean_secret(secret, "Secret"),
        extra=clean_extra,
        sandbox=bool(sandbox),
    )
    for value in (creds.api_key, creds.secret, *clean_extra.values()):
        register_secret(value)
    return creds


WITHDRAW_REFUSED = (
    "This API key can withdraw funds, so it was refused. Create a key with withdrawals "
    "disabled (trading only) and enter it again."
)
WITHDRAW_UNKNOWN = (
    "The exchange does not say whether this key can withdraw: make sure withdrawals are "
    "disabled for it and restrict it to your server's IP address (IP whitelist)."
)


def check_key(
    creds: Credentials, settings: Settings, connect: Connector | None = None
) -> tuple[CheckStatus, str, str]:
    """(status, reason, warning) after fetching the balance and the key permissions."""
    exchange = None
    try:
        exchange = (connect or live_connector)(creds, settings)
        exchange.fetch_balance()
        permissions = exchange.fetch_key_permissions()
    except ExchangeAuthError as exc:
        return "invalid", f"The exchange refused the API key: {redact(exc.message)}", ""
    except ExchangeTemporaryError as exc:
        return "unreachable", f"The exchange could not be reached: {redact(exc.message)}", ""
    except ExchangeError as exc:
        return "invalid", f"The exchange refused the check: {redact(exc.message)}", ""
    finally:
        if exchange is not None:
            exchange.close()
    if permissions.get("withdrawals_enabled") is True:
        return "invalid", WITHDRAW_REFUSED, ""
    return "ok", "", WITHDRAW_UNKNOWN if permissions.get("withdrawals_enabled") is None else ""


def parse_balances(text: object) -> dict[str, float]:
    """Starting paper balances from `USDT=10000, BTC=0.5` (commas or new lines)."""
    raw = clean_text(text, "Starting balances", max_len=500).replace("\n", ",")
    balances: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        asset, sep, amount = part.partition("=")
        asset = asset.strip().upper()
        if not sep or not asset.isalnum() or not asset.isascii() or len(asset) > 16:
            raise InvalidInput("Starting balances look like `USDT=10000, BTC=0.5`.")
        try:
            value = float(amount)
        except ValueError:
            raise InvalidInput(f"The starting balance of {asset} is not a number.") from None
        if not 0 <= value < 1e12 or value != value:
            raise InvalidInput(f"The starting balance of {asset} must be 0 or more.")
        balances[asset] = value
    if not balances:
        raise InvalidInput("Give at least one starting balance, e.g. `USDT=10000`.")
    return balances
