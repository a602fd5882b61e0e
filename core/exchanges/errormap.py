"""Every ccxt exception becomes a domain error through ONE ordered table.

`OrderNotFound` becomes `OrderRejected` with `context["not_found"]`: a lookup answers None only
for that, never for another refusal. Messages keep only the exchange's own error text: URLs,
query strings (signatures, keys) and anything that looks like the caller's credentials are
removed.
"""

from __future__ import annotations

import re

import ccxt

from core import errors

# Most specific first: the first matching class wins.
TABLE: tuple[tuple[type[Exception], type[errors.AppError]], ...] = (
    (ccxt.RateLimitExceeded, errors.RateLimited),
    (ccxt.DDoSProtection, errors.RateLimited),
    (ccxt.RequestTimeout, errors.ExchangeTemporaryError),
    (ccxt.ExchangeNotAvailable, errors.ExchangeTemporaryError),
    (ccxt.OnMaintenance, errors.ExchangeTemporaryError),
    (ccxt.InvalidNonce, errors.ExchangeTemporaryError),
    (ccxt.NetworkError, errors.ExchangeTemporaryError),
    (ccxt.AuthenticationError, errors.ExchangeAuthError),
    (ccxt.PermissionDenied, errors.ExchangeAuthError),
    (ccxt.AccountSuspended, errors.ExchangeAuthError),
    (ccxt.InsufficientFunds, errors.InsufficientFunds),
    (ccxt.BadSymbol, errors.InvalidInput),
    (ccxt.OrderNotFound, errors.OrderRejected),
    (ccxt.InvalidOrder, errors.OrderRejected),
    (ccxt.NotSupported, errors.ExchangeNotSupported),
    (ccxt.BadResponse, errors.ExchangeTemporaryError),
    (ccxt.BaseError, errors.ExchangeError),
)
# What to say when the exchange's own text says nothing (ccxt often gives just the id).
PLAIN: dict[type[errors.AppError], str] = {
    errors.RateLimited: "too many requests; slowing down",
    errors.ExchangeTemporaryError: "no answer (network error, timeout or maintenance)",
    errors.ExchangeAuthError: "the API key was refused",
    errors.InsufficientFunds: "insufficient funds",
    errors.OrderRejected: "order rejected",
    errors.ExchangeNotSupported: "not supported by this exchange",
    errors.InvalidInput: "unknown market or bad request",
}
_URL = re.compile(r"\b(?:GET|POST|PUT|DELETE)?\s*https?://\S+", re.IGNORECASE)
_QUERY = re.compile(r"[?&][^\s]*")


def domain_class(exc: Exception) -> type[errors.AppError]:
    for ccxt_class, domain in TABLE:
        if isinstance(exc, ccxt_class):
            return domain
    return errors.ExchangeError


def sanitise(text: str, secrets: tuple[str, ...] = ()) -> str:
    text = _URL.sub("", text)
    text = _QUERY.sub("", text)
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "***")
    return " ".join(text.split())[:300]


def to_domain(
    exc: Exception,
    *,
    exchange_id: str,
    secrets: tuple[str, ...] = (),
    retry_after: float | None = None,
) -> errors.AppError:
    cls = domain_class(exc)
    detail = sanitise(str(exc), secrets)
    if detail.lower().strip(" :") in ("", exchange_id.lower()):
        detail = PLAIN.get(cls, type(exc).__name__)
    elif detail.lower().startswith(exchange_id.lower() + " "):
        detail = detail[len(exchange_id) + 1 :]  # "binance {...}" -> "{...}"
    if cls in (errors.OrderRejected, errors.ExchangeError) and "insufficient" in detail.lower():
        cls = errors.InsufficientFunds  # some exchanges report it as a generic rejection
    message = f"{exchange_id}: {detail}"
    if cls is errors.RateLimited:
        return errors.RateLimited(message, retry_after=retry_after)
    if isinstance(exc, ccxt.OrderNotFound):  # the exchange looked and has no such order
        return cls(message, not_found=True)
    return cls(message)
