"""The live exchange: ccxt behind the one Exchange interface.

One ccxt client per thread (the sync client is not thread-safe), timeouts set, rate limiting
on. Only temporary and rate-limit errors are retried, with bounded exponential backoff that
honours Retry-After. Orders go only to exchanges in `capabilities.TABLE`, the client id in the
exchange's own field. `create_order` sends ONCE: after a temporary error (timeout, network
error, lost or malformed answer, 5xx) it raises `OrderStateUnknown` and neither looks up nor
resends (the order may still be executing or not yet visible; some exchanges accept a filled
order's client id again). The caller re-checks with `fetch_order` over `visibility_window_s`.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import ccxt

from core import errors
from core.exchanges import capabilities as caps
from core.exchanges.base import (
    DEFAULT_FEE,
    Balance,
    Candle,
    Exchange,
    Market,
    OrderResult,
    fill_amount,
    timeframe_ms,
)
from core.exchanges.errormap import to_domain

log = logging.getLogger(__name__)
STATUS = {"closed": "closed", "canceled": "canceled", "cancelled": "canceled"}
STATUS |= {"expired": "canceled", "rejected": "rejected"}  # anything else: "open"
# A buy with a budget on an exchange without a cost-based market buy is sized from the last
# price with this margin: the price may move up to 1 % before the order fills and the buy still
# fits the budget (the unspent rest stays in the account).
PRICE_MARGIN = 0.01
REFUSED = (errors.ExchangeAuthError, errors.InsufficientFunds, errors.OrderRejected)
SPOT_OPTIONS = {
    "binance": {
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
    }
}


def list_exchange_ids() -> list[str]:
    return list(ccxt.exchanges)


@functools.lru_cache(maxsize=1)
def exchange_names() -> dict[str, str]:
    """Each exchange's name as people know it, from ccxt's `name` ('binancecoinm' -> 'Binance
    COIN-M', 'okx' -> 'OKX'); built once per process from the client classes, no network."""
    names = {}
    for exchange_id in ccxt.exchanges:
        try:
            names[exchange_id] = str(getattr(ccxt, exchange_id)().name or exchange_id)
        except Exception:  # noqa: BLE001 (a class that cannot be built keeps its id)
            names[exchange_id] = exchange_id
    return names


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
    @property
    def visibility_window_s(self) -> float:
        return getattr(caps.capability(self.id), "visibility_window_s", 0.0)

    @property
    def late_request_s(self) -> float:
        return getattr(caps.capability(self.id), "late_request_s", 60.0)

    def _capability(self) -> caps.Capability:
        cap = caps.capability(self.id)
        if cap is None:
            raise errors.ExchangeNotSupported(caps.paper_only_reason(self.id))
        return cap

    def create_order(
        self,
        *,
        symbol: str,
        side: str,
        type: str,
        amount: float,
        client_order_id: str,
        price: float | None = None,
        budget: float | None = None,
    ) -> OrderResult:
        cap = self._capability()
        if budget is not None and (side != "buy" or type != "market" or not budget > 0):
            raise errors.OrderRejected("A budget is for market buys of a positive amount.")
        market = self.market(symbol)
        params = {cap.create_param: caps.to_wire(cap, client_order_id)}
        call: tuple = (self.client.create_order, symbol, type, side, amount, price, params)
        if budget is not None:  # a buy sized at its fill price (core.exchanges.base.fill_amount)
            fee = market.taker_fee if market.taker_fee is not None else DEFAULT_FEE
            if cap.cost_buy:  # the exchange spends the quote: cost + fee stay within the budget
                cost = budget / (1 + fee)
                call = (self.client.create_market_buy_order_with_cost, symbol, cost, params)
                amount = 0.0  # known from the answer
            else:  # from the freshest price, with a margin for the move until the fill
                last = self.last_price(symbol)
                amount = fill_amount(budget * (1 - PRICE_MARGIN), last, fee, market)
                if amount <= 0:
                    raise errors.OrderRejected(
                        f"A budget of {budget:.8g} {market.quote} buys less than the minimum "
                        f"order for {symbol} at {last:.8g}."
                    )
                call = (self.client.create_order, symbol, type, side, amount, price, params)
        sent = {"symbol": symbol, "side": side, "type": type, "amount": amount, "price": price}
        try:
            raw = self._call(*call, retry=False)
        except REFUSED:  # the exchange answered: no order
            raise
        except errors.ExchangeTemporaryError as exc:
            log.warning("%s: create_order %s state unknown (%s)", self.id, client_order_id, exc)
            raise errors.OrderStateUnknown(exc.message) from None
        except errors.ExchangeError as exc:  # e.g. a filter failure: the order was refused
            raise errors.OrderRejected(exc.message) from None
        return _order(raw, client_order_id, sent)

    def fetch_order(self, *, symbol: str, client_order_id: str) -> OrderResult | None:
        """The order with this client id; None when the exchange does not show it (yet)."""
        cap = self._capability()
        self.market(symbol)
        raw = self._find(cap, symbol, caps.to_wire(cap, client_order_id))
        return None if raw is None else _order(raw, client_order_id, {"symbol": symbol})

    def _find(self, cap: caps.Capability, symbol: str, wire: str) -> dict | None:
        if cap.lookup == "fetch_order":  # the id argument is not sent with a client id
            try:
                raw = self._call(self.client.fetch_order, wire, symbol, {cap.lookup_param: wire})
            except errors.OrderRejected as exc:
                if exc.context.get("not_found"):  # ccxt OrderNotFound: not there (yet)
                    return None
                raise
            reported = raw.get("clientOrderId")  # None: not echoed, the exchange searched by it
            if reported is not None and not caps.is_ours(cap, reported, wire):  # proves nothing
                raise errors.ExchangeTemporaryError(f"{self.id}: lookup of {wire} got {reported}")
            return raw if raw.get("id") is not None else None  # an empty answer: no such order
        params = {cap.lookup_param: wire} if cap.lookup_param else {}
        for method in cap.lookup_lists:
            rows = self._call(getattr(self.client, method), symbol, None, None, dict(params))
            hits = [r for r in rows if caps.is_ours(cap, r.get("clientOrderId"), wire)]
            if hits:  # an id reused after a fill: the newest order is the one asked about
                return max(hits, key=lambda r: r.get("timestamp") or 0)
        return None

    def cancel_order(self, *, symbol: str, client_order_id: str) -> OrderResult:
        cap = self._capability()
        self.market(symbol)
        wire = caps.to_wire(cap, client_order_id)
        known: dict = {"symbol": symbol}
        if cap.cancel_param:
            raw = self._call(self.client.cancel_order, None, symbol, {cap.cancel_param: wire})
        else:
            found = self._find(cap, symbol, wire)
            if found is None or found.get("id") is None:
                raise errors.OrderRejected(f"{self.id}: order {client_order_id} was not found")
            known = found
            raw = self._call(self.client.cancel_order, str(found["id"]), symbol)
        return _order(raw, client_order_id, known)

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderResult]:
        cap = caps.capability(self.id)
        rows = self._call(self.client.fetch_open_orders, symbol)
        return [_order(r, caps.from_wire(cap, r.get("clientOrderId") or "")) for r in rows]

    def fetch_key_permissions(self) -> dict:
        """{"withdrawals_enabled": bool | None, "source": str}; None when it cannot tell."""
        known = caps.KEY_PERMISSIONS.get(self.id)
        if known is None:
            return {"withdrawals_enabled": None, "source": "not reported by this exchange"}
        method, can_withdraw, source = known
        raw = self._call(getattr(self.client, method))
        return {"withdrawals_enabled": bool(can_withdraw(raw)), "source": source}

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


def _order(raw: dict, client_order_id: str, known: dict | None = None) -> OrderResult:
    """Ours (client id as we wrote it) from ccxt's; `known` fills what a short answer omits."""
    known = known or {}

    def pick(name: str):
        value = raw.get(name)
        return known.get(name) if value is None else value

    status = STATUS.get(raw.get("status") or "", "open")
    fee = raw.get("fee") or {}
    type_ = pick("type") or "market"
    filled, average = float(raw.get("filled") or 0), raw.get("average")
    cost = float(raw.get("cost") or 0)
    if filled > 0 and average and cost > filled * float(average) * (1 + 1e-9):
        # A market buy sized in quote on OKX: ccxt reports the quote asked for (`sz`) as the
        # cost; what was spent is the filled amount (rounded down to the lot) at its price.
        cost = filled * float(average)
    return OrderResult(
        client_order_id=client_order_id,
        symbol=pick("symbol"),
        side=pick("side"),
        type=type_,
        amount=float(pick("amount") or 0),
        status=status,
        price=pick("price") if type_ == "limit" else None,
        exchange_order_id=str(raw.get("id")) if raw.get("id") is not None else None,
        filled=filled,
        average=average,
        cost=cost,
        fee=float(fee.get("cost") or 0),
        fee_currency=fee.get("currency"),
        timestamp=raw.get("timestamp"),
        info=raw.get("info") or {},
    )
