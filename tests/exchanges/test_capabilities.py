"""The capability table: what it promises, our ids in each exchange's form, and the refusals.

Requests themselves are checked in test_capabilities_wire (what ccxt sends) and
test_capabilities_found (what the adapter makes of the answers).
"""

from __future__ import annotations

import re

import ccxt
import pytest

from core import errors
from core.accounts import credentials
from core.exchanges import capabilities as caps
from core.exchanges import live_exchange_ids, paper_only_reason
from core.exchanges.live import LiveExchange
from tests.exchanges.test_capabilities_wire import CID, SYMBOL, wired

CANDIDATES = [
    "binance",
    "okx",
    "bybit",
    "kucoin",
    "gate",
    "bitget",
    "kraken",
    "coinbase",
    "bitfinex",
    "mexc",
    "htx",
    "cryptocom",
    "bitstamp",
    "bingx",
    "bitmart",
]
# what orders.client_order_id makes, from small to large bot ids and sequence numbers
OUR_IDS = ["sb-1-1700000000-0", CID, "sb-123456-1796093280-12", "sb-99999999-1796093280-999"]


def test_every_candidate_is_either_offered_or_excluded_with_a_reason():
    assert sorted(live_exchange_ids()) == live_exchange_ids()
    for exchange_id in CANDIDATES:
        offered = caps.capability(exchange_id) is not None
        assert offered != (exchange_id in caps.EXCLUDED), exchange_id
        assert (paper_only_reason(exchange_id) == "") is offered
    assert set(caps.TABLE) <= set(ccxt.exchanges)
    assert "bitmart" not in ccxt.exchanges  # excluded for that reason


@pytest.mark.parametrize("exchange_id", sorted(caps.TABLE))
def test_each_row_names_methods_ccxt_has_and_a_window(exchange_id):
    cap = caps.capability(exchange_id)
    client = getattr(ccxt, exchange_id)()
    assert cap.lookup in ("fetch_order", "lists")
    assert (cap.lookup == "lists") == bool(cap.lookup_lists)
    for method in cap.lookup_lists:
        assert callable(getattr(client, method)), method
    assert cap.lookup == "lists" or cap.lookup_param
    assert cap.visibility_window_s == 5.0
    assert cap.reuse_after_fill in (True, False, None)


@pytest.mark.parametrize("exchange_id", sorted(caps.TABLE))
@pytest.mark.parametrize("cid", OUR_IDS)
def test_our_ids_have_an_accepted_form_that_maps_back(exchange_id, cid):
    cap = caps.capability(exchange_id)
    wire = caps.to_wire(cap, cid)
    assert wire == caps.to_wire(cap, cid)  # deterministic
    if cap.id_map == "uuid5" and len(cid) > cap.id_max_len:
        assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", wire)  # a UUID
        return
    assert len(wire) <= cap.id_max_len and re.fullmatch(f"{cap.id_chars}+", wire)
    assert caps.from_wire(cap, cap.wire_prefix + wire) == cid
    assert caps.is_ours(cap, cap.wire_prefix + wire, wire)


def test_the_forms_each_exchange_gets():
    form = {e: caps.to_wire(caps.capability(e), CID) for e in caps.TABLE}
    assert form["okx"] == "sbX12X1796093280X0"  # alphanumerics only
    assert form["bingx"] == "sb_12_1796093280_0"  # letters, digits and _
    assert form["binance"] == form["gate"] == form["kraken"] == CID  # 18 chars: kraken free text
    kraken = caps.capability("kraken")
    assert caps.to_wire(kraken, OUR_IDS[2]) != caps.to_wire(kraken, OUR_IDS[3])
    assert caps.from_wire(caps.capability("okx"), "e847386590ce4dBC") == "e847386590ce4dBC"
    assert not caps.is_ours(caps.capability("gate"), None, CID)


def test_ids_without_an_accepted_form_are_refused():
    with pytest.raises(errors.InvalidInput, match="okx"):
        caps.to_wire(caps.capability("okx"), "sb-X-1")  # 'X' would make the mapping ambiguous
    with pytest.raises(errors.InvalidInput, match="binance"):
        caps.to_wire(caps.capability("binance"), "sb-" + "9" * 40)
    with pytest.raises(errors.InvalidInput, match="gate"):
        caps.to_wire(caps.capability("gate"), "sb 1")


@pytest.mark.parametrize("exchange_id", ["bitfinex", "poloniex"])
def test_an_exchange_outside_the_table_is_refused_for_orders_with_the_reason(exchange_id):
    ex = LiveExchange(exchange_id=exchange_id, api_key="k" * 12, secret="s" * 12)
    sent: list = []
    ex.client.fetch = lambda *a, **k: sent.append(a)  # nothing may be asked
    calls = [
        lambda: ex.create_order(
            symbol=SYMBOL, side="buy", type="market", amount=1.0, client_order_id=CID
        ),
        lambda: ex.fetch_order(symbol=SYMBOL, client_order_id=CID),
        lambda: ex.cancel_order(symbol=SYMBOL, client_order_id=CID),
    ]
    for call in calls:
        with pytest.raises(errors.ExchangeNotSupported, match="not offered for live trading"):
            call()
    assert sent == [] and ex.visibility_window_s == 0.0
    if exchange_id == "bitfinex":
        assert "integer" in paper_only_reason(exchange_id)


def test_a_long_id_goes_to_kraken_as_a_uuid_and_is_found_by_it():
    cid = OUR_IDS[3]
    wire = caps.to_wire(caps.capability("kraken"), cid)
    ex, sent = wired("kraken")
    with pytest.raises(errors.OrderStateUnknown):
        ex.create_order(
            symbol=SYMBOL, side="buy", type="limit", amount=0.001, price=1.0, client_order_id=cid
        )
    with pytest.raises(errors.ExchangeTemporaryError):
        ex.fetch_order(symbol=SYMBOL, client_order_id=cid)
    assert [s.fields["cl_ord_id"] for s in sent] == [wire, wire]


@pytest.mark.parametrize(
    ("exchange_id", "path", "answer", "withdraws"),
    [
        (
            "okx",
            "/api/v5/account/config",
            {"code": "0", "data": [{"perm": "read_only,trade"}]},
            False,
        ),
        (
            "okx",
            "/api/v5/account/config",
            {"code": "0", "data": [{"perm": "read_only,withdraw"}]},
            True,
        ),
        (
            "bybit",
            "/v5/user/query-api",
            {"retCode": 0, "result": {"permissions": {"Wallet": ["AccountTransfer"]}}},
            False,
        ),
        (
            "bybit",
            "/v5/user/query-api",
            {"retCode": 0, "result": {"permissions": {"Wallet": ["Withdraw"]}}},
            True,
        ),
        ("kucoin", "-", {}, None),
    ],
)
def test_key_permissions_on_okx_and_bybit(exchange_id, path, answer, withdraws):
    ex, sent = wired(exchange_id, probes={path: answer})  # bybit's own probe asks it too
    assert ex.fetch_key_permissions()["withdrawals_enabled"] is withdraws
    assert sent == []  # answered by the canned reply, nothing else asked


def test_live_keys_are_taken_only_for_table_exchanges():
    choices = credentials.exchange_choices()
    assert choices == live_exchange_ids()
    assert credentials.clean_exchange(" Kraken ") == "kraken"
    with pytest.raises(errors.InvalidInput, match="bitfinex: not offered for live trading"):
        credentials.clean_exchange("bitfinex")
    with pytest.raises(errors.InvalidInput, match="poloniex: not offered.*paper accounts"):
        credentials.clean_exchange("poloniex")
    with pytest.raises(errors.InvalidInput, match="Unknown exchange"):
        credentials.clean_exchange("nosuchexchange")


@pytest.mark.parametrize(
    ("exchange_id", "answers"),
    [
        ("kucoin", {"/api/v1/order/client-order/": {"code": "200000", "data": None}}),
        ("htx", {"/v1/order/orders/getClientOrder": {"status": "ok", "data": None}}),
        ("okx", {"/api/v5/trade/order": {"code": "0", "msg": "", "data": []}}),
        ("bitget", {"/api/v2/spot/trade/orderInfo": {"code": "00000", "data": []}}),
    ],
)
def test_an_empty_answer_is_not_found_not_an_order(exchange_id, answers):
    """ccxt parses `data: null` into an order with no id: that is no order."""
    ex, _sent = wired(exchange_id, answers)
    assert ex.fetch_order(symbol=SYMBOL, client_order_id=CID) is None


@pytest.mark.parametrize(
    "error", [ccxt.InvalidOrder("bad request"), ccxt.BadRequest("unknown param")]
)
def test_only_order_not_found_means_not_found(error):
    """Any other refusal of the lookup proves nothing about the order: it is raised."""
    ex, _sent = wired("binance", {"/api/v3/order": error})
    with pytest.raises(errors.AppError) as raised:
        ex.fetch_order(symbol=SYMBOL, client_order_id=CID)
    assert not raised.value.context.get("not_found")
