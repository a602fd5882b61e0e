"""Which exchanges we trade live on, and how each one sets and finds a client order id.

ONE table, written from the installed ccxt source (4.5.90: each exchange's `create_order`,
`fetch_order`, `fetch_open_orders`, `fetch_closed_orders`, ... and the request it builds), and
checked by tests that record the request ccxt actually sends. An exchange is offered for live
trading only when ccxt can both SET our client id on create and FIND an order by it; the rest
are paper-only (`EXCLUDED`, and every other ccxt id).

Lookup kinds: "fetch_order" calls `fetch_order(id, symbol, {lookup_param: id})` (the exchange
finds the order by client id; with the param given ccxt sends no order id, and its not-found
message needs a string); "lists" calls each of `lookup_lists` (open first, then history)
with `{lookup_param: id}` as a server-side filter when set, and keeps rows whose client id is
ours. `cancel_param` None: cancel by looking the order up, then by its exchange order id.
`reuse_after_fill`: True when the exchange accepts the same id again once the order is done (a
resend may then fill twice), False when documented unique, None when not documented (assume
True). Pure data: no ccxt import.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from core.errors import InvalidInput

PLAIN = r"[A-Za-z0-9_-]"  # where the exchange documents no alphabet: what our ids use anyway
_UUID_NS = uuid.UUID("6f0c1a52-5b1e-4d7e-9a43-2f4a8c1d9e10")  # fixed: ids must be stable


@dataclass(frozen=True)
class Capability:
    exchange_id: str
    create_param: str  # key in ccxt's create_order params
    wire_field: str  # the exchange's own field that ccxt fills with it
    lookup: str  # "fetch_order" | "lists"
    lookup_param: str | None  # fetch_order param, or the server-side filter of the lists
    lookup_endpoint: str  # what the lookup requests (for people; tests check the requests)
    cancel_param: str | None  # cancel_order(None, symbol, {cancel_param: id}); None: by order id
    reuse_after_fill: bool | None
    id_max_len: int
    id_chars: str  # one allowed character, as a regex class
    id_map: str = "as_is"  # "as_is" | "dash:<c>" (dashes become c) | "uuid5" (when too long)
    wire_prefix: str = ""  # what ccxt puts in front of the id on the wire (and returns)
    lookup_lists: tuple[str, ...] = ()
    visibility_window_s: float = 5.0  # an order may take this long to show in queries
    # A signed request held in transit is still executed when it arrives within this many
    # seconds of its timestamp (Binance recvWindow as ccxt sends it, Bybit recv_window, OKX's
    # 30 s); unknown: a minute. An order not found is never_placed only after it has passed.
    late_request_s: float = 60.0
    # A market buy can be given the quote to spend (ccxt's createMarketBuyOrderWithCost): a
    # buy's budget is then spent at the fill price; otherwise the amount is sized from the
    # last price with core.exchanges.live.PRICE_MARGIN.
    cost_buy: bool = True
    note: str = ""


def _row(exchange_id: str, create: str, wire: str, **kw) -> Capability:
    return Capability(exchange_id=exchange_id, create_param=create, wire_field=wire, **kw)


_DIRECT = {"lookup": "fetch_order"}
_OPEN_THEN_DONE = ("fetch_open_orders", "fetch_canceled_and_closed_orders")
_OPEN_THEN_CLOSED = ("fetch_open_orders", "fetch_closed_orders")
_OPEN_THEN_ALL = ("fetch_open_orders", "fetch_orders")

TABLE: dict[str, Capability] = {
    c.exchange_id: c
    for c in (
        _row("binance", "clientOrderId", "newClientOrderId", **_DIRECT,
             lookup_param="origClientOrderId",
             lookup_endpoint="GET /api/v3/order?origClientOrderId",
             cancel_param="origClientOrderId", reuse_after_fill=True,
             id_max_len=36, id_chars=r"[.A-Z:/a-z0-9_-]", late_request_s=10.0,
             note="unique among OPEN orders only"),
        _row("okx", "clientOrderId", "clOrdId", **_DIRECT,
             lookup_param="clOrdId", lookup_endpoint="GET /api/v5/trade/order?clOrdId",
             cancel_param="clOrdId", reuse_after_fill=None,
             id_max_len=32, id_chars="[A-Za-z0-9]", id_map="dash:X", late_request_s=30.0,
             note="clOrdId is 1-32 alphanumerics: dashes are sent as 'X'"),
        _row("bybit", "clientOrderId", "orderLinkId", lookup="lists",
             lookup_param="orderLinkId", lookup_lists=_OPEN_THEN_DONE,
             lookup_endpoint="GET /v5/order/realtime, then /v5/order/history, ?orderLinkId=",
             cancel_param="orderLinkId", reuse_after_fill=False, id_max_len=36, id_chars=PLAIN,
             late_request_s=5.0,
             note="fetch_order needs 'acknowledged' and sends orderId; reuse after 360 days"),
        _row("kucoin", "clientOrderId", "clientOid", **_DIRECT,
             lookup_param="clientOrderId", cancel_param="clientOrderId",
             lookup_endpoint="GET /api/v1/order/client-order/{clientOid} (UTA: "
             "/api/ua/v1/unified/order/detail?clientOid)",
             reuse_after_fill=None, id_max_len=40, id_chars=PLAIN),
        _row("gate", "clientOrderId", "text", lookup="lists", lookup_param=None,
             lookup_lists=_OPEN_THEN_CLOSED, wire_prefix="t-",
             lookup_endpoint="GET /api/v4/spot/open_orders, then /spot/orders?status=finished",
             cancel_param=None, reuse_after_fill=None, id_max_len=28, id_chars=r"[A-Za-z0-9_.-]",
             note="GET /spot/orders/{text} works only for recent/pending orders: scan instead"),
        _row("bitget", "clientOrderId", "clientOid", **_DIRECT,
             lookup_param="clientOrderId", cancel_param="clientOrderId",
             lookup_endpoint="GET /api/v2/spot/trade/orderInfo?clientOid (UTA: "
             "/api/v3/trade/order-info?clientOid)",
             reuse_after_fill=None, id_max_len=32, id_chars=PLAIN),
        _row("kraken", "clientOrderId", "cl_ord_id", lookup="lists",
             lookup_param="clientOrderId", lookup_lists=_OPEN_THEN_CLOSED,
             lookup_endpoint="POST /0/private/OpenOrders cl_ord_id, POST /0/private/ClosedOrders "
             "cl_ord_id",
             cancel_param="clientOrderId", reuse_after_fill=True, id_max_len=18,
             id_chars=r"[!-~]", id_map="uuid5",
             note="fetch_order sends txid=None and userref; free text <= 18 chars, else a UUID"),
        _row("coinbase", "client_order_id", "client_order_id", lookup="lists", lookup_param=None,
             lookup_lists=_OPEN_THEN_ALL,
             lookup_endpoint="GET /api/v3/brokerage/orders/historical/batch (OPEN, then all)",
             cancel_param=None, reuse_after_fill=None, id_max_len=36, id_chars=PLAIN,
             note="ccxt drops the unified clientOrderId; fetch_order needs the order id"),
        _row("mexc", "clientOrderId", "newClientOrderId", **_DIRECT,
             lookup_param="clientOrderId", lookup_endpoint="GET /api/v3/order?origClientOrderId",
             cancel_param=None, reuse_after_fill=None, id_max_len=32, id_chars=PLAIN,
             note="origClientOrderId as a param makes ccxt send orderId=None too"),
        _row("htx", "clientOrderId", "client-order-id", **_DIRECT,
             lookup_param="clientOrderId",
             lookup_endpoint="GET /v1/order/orders/getClientOrder?clientOrderId",
             cancel_param="clientOrderId", reuse_after_fill=True, id_max_len=64, id_chars=PLAIN,
             note="unique within 8-24 hours only (ccxt)"),
        _row("cryptocom", "client_oid", "client_oid", lookup="lists", lookup_param=None,
             lookup_lists=_OPEN_THEN_ALL,
             lookup_endpoint="POST private/get-open-orders, POST private/get-order-history",
             cancel_param=None, reuse_after_fill=None, id_max_len=36, id_chars=PLAIN,
             cost_buy=False,
             note="ccxt drops the unified clientOrderId; get-order-detail gets order_id null"),
        _row("bitstamp", "clientOrderId", "client_order_id", **_DIRECT,
             lookup_param="clientOrderId", lookup_endpoint="POST /api/v2/order_status/ "
             "client_order_id",
             cancel_param=None, reuse_after_fill=None, id_max_len=36, id_chars=PLAIN,
             cost_buy=False, note="cancel_order by client id sends id=None"),
        _row("bingx", "clientOrderId", "newClientOrderId", lookup="lists", lookup_param=None,
             lookup_lists=_OPEN_THEN_DONE,
             lookup_endpoint="GET /openApi/spot/v1/trade/openOrders, .../trade/historyOrders",
             cancel_param="clientOrderId", reuse_after_fill=False, id_max_len=40,
             id_chars="[A-Za-z0-9_]", id_map="dash:_",
             note="fetch_order sends orderId=None; ids are letters, digits and _"),
    )
}  # fmt: skip

EXCLUDED: dict[str, str] = {
    "bitfinex": "its client id (cid) must be an integer, is not unique, and is found only "
    "together with its creation date",
    "bitmart": "the installed ccxt has no bitmart exchange",
}
PAPER_ONLY = "not offered for live trading: {why}; paper accounts can use its prices"
DEFAULT_WHY = "its client order ids cannot be set and looked up through ccxt"


def _withdraw_okx(raw: dict) -> bool:
    return "withdraw" in str(((raw.get("data") or [{}])[0]).get("perm") or "")


def _withdraw_bybit(raw: dict) -> bool:
    result = raw.get("result") or {}
    return "Withdraw" in ((result.get("permissions") or {}).get("Wallet") or [])


# exchange -> (ccxt implicit API method, "can this key withdraw?" from its answer, source)
KEY_PERMISSIONS = {
    "binance": (
        "sapi_get_account_apirestrictions",
        lambda raw: bool(raw.get("enableWithdrawals")),
        "binance apiRestrictions",
    ),
    "okx": ("private_get_account_config", _withdraw_okx, "okx /api/v5/account/config perm"),
    "bybit": ("private_get_v5_user_query_api", _withdraw_bybit, "bybit /v5/user/query-api"),
}


def capability(exchange_id: str) -> Capability | None:
    return TABLE.get(exchange_id)


def live_exchange_ids() -> list[str]:
    return sorted(TABLE)


def paper_only_reason(exchange_id: str) -> str:
    """Why `exchange_id` is paper-only ("" when it is offered for live trading)."""
    if exchange_id in TABLE:
        return ""
    return f"{exchange_id}: " + PAPER_ONLY.format(why=EXCLUDED.get(exchange_id, DEFAULT_WHY))


def _fits(cap: Capability, value: str) -> bool:
    return 0 < len(value) <= cap.id_max_len and re.fullmatch(f"{cap.id_chars}+", value) is not None


def to_wire(cap: Capability, client_order_id: str) -> str:
    """Our id in the form this exchange accepts (without `wire_prefix`; ccxt adds it).

    Deterministic; reversible by `from_wire` except for "uuid5" ids, which the adapter always
    recomputes from ours. `InvalidInput` when no allowed form exists.
    """
    kind, _, sub = cap.id_map.partition(":")
    if kind == "dash" and sub in client_order_id:  # would make the mapping ambiguous
        raise InvalidInput(f"{cap.exchange_id}: client order id may not contain {sub!r}.")
    value = client_order_id.replace("-", sub) if kind == "dash" else client_order_id
    if kind == "uuid5" and not _fits(cap, value):
        return str(uuid.uuid5(_UUID_NS, client_order_id))
    if not _fits(cap, value):
        raise InvalidInput(
            f"{cap.exchange_id}: client order id {client_order_id!r} has no accepted form "
            f"(at most {cap.id_max_len} of {cap.id_chars})."
        )
    return value


def from_wire(cap: Capability | None, wire: str) -> str:
    """The id as we wrote it, from the id the exchange reports (foreign ids pass through)."""
    if cap is None:
        return wire
    if cap.wire_prefix and wire.startswith(cap.wire_prefix):
        wire = wire[len(cap.wire_prefix) :]
    kind, _, sub = cap.id_map.partition(":")
    return wire.replace(sub, "-") if kind == "dash" else wire


def is_ours(cap: Capability, reported: str | None, wire: str) -> bool:
    """Whether the client id an exchange reports is the one we sent as `wire`."""
    if not reported:
        return False
    return reported == wire or reported == cap.wire_prefix + wire
