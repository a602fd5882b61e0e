"""The live exchange: ccxt behind the one Exchange interface.

One ccxt client per thread (the sync client is not thread-safe), timeouts set, rate limiting
on. Only temporary and rate-limit errors are retried, with bounded exponential backoff that
honours Retry-After. `create_order` is never blindly retried: after a lost response it asks the
exchange for the client order id first, and resends (with the same id) only when the exchange
proves it never got the order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import ccxt

from core import errors
from core.exchanges.base import Balance, Candle, Exchange, Market, OrderResult, timeframe_ms
from core.exchanges.errormap import to_domain

log = logging.getLogger(__name__)
SPOT_OPTIONS = {
    "binance": {
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
    }
}


def list_exchange_ids() -> list[str]:
    return list(ccxt.exchanges)


def _client_class(exchange_id: str):
    if exchange_id not in ccxt.exchanges:
        raise errors.InvalidInput(f"Unknown exchange {exchange_id!r}.")
    return getattr(ccxt, exchange_id)


def required_credentials(exchange_id: str) -> list[str]:
    flags = _client_class(exchange_id)().requiredCredentials
    return [name for name, needed in flags.items() if needed]


def has_testnet(exchange_id: str) -> bool:
    return bool(_client_class(exchange_id)().urls.get("test"))


class LiveExchange(Exchange):
    def __init__(
        self,
        *,
        exchange_id: str,
        api_key: str | None = None,
        secret: str | None = None,
        password: str | None = None,
        extra: dict | None = None,
        sandbox: bool = False,
        api_url: str | None = None,
        timeout_ms: int = 10_000,
        max_retries: int = 3,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._cls = _client_class(exchange_id)
        self.id = exchange_id
        self._config = {
            "apiKey": api_key or "",
            "secret": secret or "",
            "timeout": timeout_ms,
            "enableRateLimit": True,
            "options": dict(SPOT_OPTIONS.get(exchange_id, {})),
        }
        if password:
            self._config["password"] = password
        self._config.update({k: v for k, v in (extra or {}).items() if v})
        self._secrets = tuple(
            v
            for v in (api_key, secret, password, *(extra or {}).values())
            if isinstance(v, str) and v
        )
        if sandbox and not self._cls().urls.get("test"):
            raise errors.InvalidInput(f"{exchange_id} has no testnet/sandbox; turn it off.")
        self.sandbox, self.api_url = sandbox, api_url
        self.max_retries, self.backoff_base_s, self.backoff_max_s = (
            max_retries,
            backoff_base_s,
            backoff_max_s,
        )
        self._sleep = sleep
        self._local = threading.local()
        self._markets: dict[str, Market] | None = None

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._cls(dict(self._config))
            client.enableLastHttpResponse = True
            client.enableLastJsonResponse = True
            if self.sandbox:
                client.set_sandbox_mode(True)
            if self.api_url:
                _point_at(client, self.api_url)
            self._local.client = client
        return client

    def _domain(self, exc: Exception) -> errors.AppError:
        headers = getattr(self.client, "last_response_headers", None) or {}
        retry_after = None
        for name, value in headers.items():
            if name.lower() == "retry-after":
                try:
                    retry_after = float(value)
                except (TypeError, ValueError):
                    retry_after = None
        return to_domain(exc, exchange_id=self.id, secrets=self._secrets, retry_after=retry_after)

    def _call(self, fn: Callable, *args, retry: bool = True, **kwargs):
        attempt = 0
        while True:
            try:
                return self._checked(fn, *args, **kwargs)
            except ccxt.BaseError as exc:
                error = self._domain(exc)
            except (TypeError, KeyError, ValueError, IndexError) as exc:
                # ccxt parsed an answer that was not what the API promises.
                error = errors.ExchangeTemporaryError(
                    f"{self.id}: unexpected response ({type(exc).__name__})"
                )
            if not (retry and error.retryable) or attempt >= self.max_retries:
                raise error
            delay = min(self.backoff_max_s, self.backoff_base_s * 2**attempt)
            if isinstance(error, errors.RateLimited) and error.retry_after:
                delay = min(self.backoff_max_s, max(delay, error.retry_after))
            log.info("%s: %s; retry %d in %.2fs", self.id, type(error).__name__, attempt + 1, delay)
            self._sleep(delay)
            attempt += 1

    def _checked(self, fn: Callable, *args, **kwargs):
        """Call `fn`; a non-JSON answer (ccxt would return garbage) is a temporary error."""
        client = self.client
        client.last_http_response = None
        client.last_json_response = None
        result = fn(*args, **kwargs)
        if client.last_http_response and client.last_json_response is None:
            raise errors.ExchangeTemporaryError(f"{self.id}: malformed response")
        return result

    # --- market data ------------------------------------------------------------------------
    def load_markets(self) -> dict[str, Market]:
        if self._markets is None:
            raw = self._call(self.client.load_markets)
            self._markets = {s: _market(m) for s, m in raw.items() if m.get("spot", True)}
        return self._markets

    def fetch_candles(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        timeframe_ms(timeframe)
        self.market(symbol)
        if since is not None and since > self.client.milliseconds():
            raise errors.InvalidInput("'since' is in the future.")
        rows = self._call(self.client.fetch_ohlcv, symbol, timeframe, since, limit)
        return [Candle(int(r[0]), *(float(x) for x in r[1:6])) for r in rows]

    def last_price(self, symbol: str) -> float:
        self.market(symbol)
        return float(self._call(self.client.fetch_ticker, symbol)["last"])

    def fetch_balance(self) -> dict[str, Balance]:
        raw = self._call(self.client.fetch_balance)
        return {
            asset: Balance(
                free=float(raw["free"].get(asset) or 0), used=float(raw["used"].get(asset) or 0)
            )
            for asset in raw.get("total", {})
            if raw["total"].get(asset)
        }

    # --- orders -----------------------------------------------------------------------------
    def create_order(
        self,
        *,
        symbol: str,
        side: str,
        type: str,
        amount: float,
        client_order_id: str,
        price: float | None = None,
    ) -> OrderResult:
        self.market(symbol)
        params = {"clientOrderId": client_order_id}
        try:
            raw = self._call(
                self.client.create_order, symbol, type, side, amount, price, params, retry=False
            )
            return _order(raw, client_order_id)
        except (errors.ExchangeAuthError, errors.InsufficientFunds, errors.OrderRejected):
            raise
        except errors.ExchangeTemporaryError:
            log.warning(
                "%s: create_order %s state unknown; looking it up", self.id, client_order_id
            )
        except errors.ExchangeError as exc:  # e.g. a filter failure: the order was refused
            raise errors.OrderRejected(exc.message) from None
        found = self._lookup(symbol, client_order_id)
        if found is not None:
            return found
        # The exchange proved it never received the order: send it once more, same id.
        try:
            raw = self._call(
                self.client.create_order, symbol, type, side, amount, price, params, retry=False
            )
        except errors.ExchangeTemporaryError as exc:
            raise errors.OrderStateUnknown(exc.message) from None
        return _order(raw, client_order_id)

    def _lookup(self, symbol: str, client_order_id: str) -> OrderResult | None:
        try:
            return self.fetch_order(symbol=symbol, client_order_id=client_order_id)
        except errors.ExchangeTemporaryError as exc:
            raise errors.OrderStateUnknown(exc.message) from None

    def fetch_order(self, *, symbol: str, client_order_id: str) -> OrderResult | None:
        try:
            raw = self._call(
                self.client.fetch_order, None, symbol, {"origClientOrderId": client_order_id}
            )
        except errors.OrderRejected:  # ccxt OrderNotFound: the exchange never got it
            return None
        return _order(raw, client_order_id)

    def cancel_order(self, *, symbol: str, client_order_id: str) -> OrderResult:
        raw = self._call(
            self.client.cancel_order, None, symbol, {"origClientOrderId": client_order_id}
        )
        return _order(raw, client_order_id)

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderResult]:
        rows = self._call(self.client.fetch_open_orders, symbol)
        return [_order(r, r.get("clientOrderId") or "") for r in rows]

    def fetch_key_permissions(self) -> dict:
        """{"withdrawals_enabled": bool | None, "source": str}; None when it cannot tell."""
        method = getattr(self.client, "sapi_get_account_apirestrictions", None)
        if self.id != "binance" or method is None:
            return {"withdrawals_enabled": None, "source": "not reported by this exchange"}
        raw = self._call(method)
        return {
            "withdrawals_enabled": bool(raw.get("enableWithdrawals")),
            "source": "binance apiRestrictions",
        }

    def close(self) -> None:
        self._local = threading.local()


def _point_at(client, api_url: str) -> None:
    """Rewrite scheme and host of every API URL, keeping paths (tests' fake exchange)."""
    base = urlsplit(api_url)

    def rewrite(value):
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, str) and value.startswith("http"):
            parts = urlsplit(value)
            return parts._replace(scheme=base.scheme, netloc=base.netloc).geturl()
        return value

    client.urls["api"] = rewrite(client.urls["api"])


def _market(m: dict) -> Market:
    limits, precision = m.get("limits") or {}, m.get("precision") or {}
    return Market(
        symbol=m["symbol"],
        base=m["base"],
        quote=m["quote"],
        amount_step=float(precision.get("amount") or 0),
        price_step=float(precision.get("price") or 0),
        min_amount=float((limits.get("amount") or {}).get("min") or 0),
        min_notional=float((limits.get("cost") or {}).get("min") or 0),
        taker_fee=float(m.get("taker") or 0.001),
        maker_fee=float(m.get("maker") or 0.001),
    )


def _order(raw: dict, client_order_id: str) -> OrderResult:
    status = {
        "open": "open",
        "closed": "closed",
        "canceled": "canceled",
        "cancelled": "canceled",
        "expired": "canceled",
        "rejected": "rejected",
    }.get(raw.get("status") or "", "open")
    fee = raw.get("fee") or {}
    return OrderResult(
        client_order_id=raw.get("clientOrderId") or client_order_id,
        symbol=raw["symbol"],
        side=raw["side"],
        type=raw.get("type") or "market",
        amount=float(raw.get("amount") or 0),
        status=status,
        price=raw.get("price") if raw.get("type") == "limit" else None,
        exchange_order_id=str(raw.get("id")) if raw.get("id") is not None else None,
        filled=float(raw.get("filled") or 0),
        average=raw.get("average"),
        cost=float(raw.get("cost") or 0),
        fee=float(fee.get("cost") or 0),
        fee_currency=fee.get("currency"),
        timestamp=raw.get("timestamp"),
        info=raw.get("info") or {},
    )
