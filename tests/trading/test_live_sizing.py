"""Live end to end, sized at the fill: a stored key, the real ccxt client, a fake venue on
127.0.0.1 (Binance; OKX and Bybit too). A bot spending all its cash decides on a candle that
closed at 3000; the market has gapped 5 % up by the time its order goes out. The buy carries
the budget, goes out as the venue's cost-based market buy and fills for what the budget buys at
the new price; the order row, the trade and the lot record the amount that filled. (Sized at
the close, as before, that amount no longer fits the cash: the entry would be refused.)"""

from __future__ import annotations

import json
import time
from decimal import ROUND_FLOOR, Decimal

import pytest
from sqlmodel import select

from core.accounts import onboarding as account_checks
from core.exchanges import capabilities as caps
from core.exchanges import fill_amount
from core.models import Bot, BotEvent, BotOrder, EventKind, Trade
from core.platform.runtime import start
from core.strategy import BotState
from core.trading import tick as engine
from tests.conftest import make_settings
from tests.factories import make_bot, make_user
from tests.fakes.book import FEE_RATE
from tests.fakes.exchange import FakeExchange
from tests.fakes.venue_clients import CREATE_PATH

KEY, SECRET, PASSPHRASE = "sizing-test-key-00000000001", "sizing-test-secret-000000001", "P-5"
MIN = 60_000
LEVEL, GAP = 3000.0, 1.05  # ETH/USDT closes at 3000, then opens 5 % higher
CASH = 1000.0
COST_FIELD = {"binance": "quoteOrderQty", "okx": "sz", "bybit": "qty"}
ID_FIELD = {"binance": "newClientOrderId", "okx": "clOrdId", "bybit": "orderLinkId"}


def gapped(now_open: int):
    """The fake's prices: flat at LEVEL until the minute that opens at `now_open`, then up."""

    def source(symbol, interval_ms, start_ms, count):
        rows = []
        for i in range(count):
            t = start_ms + i * interval_ms
            p = LEVEL * GAP if t >= now_open else LEVEL
            rows.append((t, p, p, p, p, 10.0))
        return rows

    return source


@pytest.fixture
def world(data_dir, request):
    venue = request.param
    now = int(time.time() * 1000) - 5 * MIN  # the fake's frozen clock, in the past
    fake = FakeExchange(venue=venue, now_ms=lambda: now)
    fake.book.price_source = gapped(now - now % MIN)
    fake.start()
    fake.add_key(KEY, SECRET, passphrase=PASSPHRASE, balances={"USDT": CASH, "ETH": 0.0})
    rt = start("test", settings=make_settings(data_dir, exchange_api_url=fake.url))
    try:
        yield rt, fake, now
    finally:
        fake.stop()
        rt.engine.dispose()


@pytest.mark.parametrize(
    ("world", "size_type", "size"),
    [
        ("binance", "pct", 100.0),  # all the cash: 100 % of the free quote
        ("binance", "quote", 5_000.0),  # a fixed size above the cash: capped by it
        ("okx", "pct", 100.0),
        ("bybit", "pct", 50.0),
    ],
    indirect=["world"],
)
def test_a_live_buy_fills_for_its_budget_after_a_gap_up(world, size_type, size):
    rt, fake, now = world
    venue = fake.venue
    with rt.session() as s:
        owner = make_user(s, username="alice")
    outcome = account_checks.add_live_account(
        rt,
        owner=owner,
        exchange_id=venue,
        label="fake",
        api_key=KEY,
        secret=SECRET,
        extra={"password": PASSPHRASE} if venue == "okx" else None,
    )
    assert outcome.result == "saved", outcome.message
    with rt.session() as s:
        bot = make_bot(
            s,
            owner=owner,
            account_id=outcome.account.id,
            symbol="ETH/USDT",
            strategy="dca",  # buys at once when flat
            params={"dip_pct": 0, "take_profit_pct": 50},
            order_size_type=size_type,
            order_size=size,
            start=True,
            markets=engine.market_lookup(rt),
        )
    candle = now - now % MIN - MIN  # the last closed candle: it closed at LEVEL
    result = engine.run_bot_tick(rt, bot_id=bot.id, candle_ts=candle, clock=lambda: now)
    assert result == "ok: 1 order(s)", result
    if venue != "binance":  # acknowledged with the ids only: the fill is looked up by our id
        time.sleep(1.1)  # the first look-up is due a second after the answer
        assert engine.reconcile_all(rt, clock=lambda: now) == 1

    budget = CASH * size / 100 if size_type == "pct" else CASH
    fill_price = LEVEL * GAP
    with rt.read() as s:
        (order,) = s.exec(select(BotOrder).where(BotOrder.bot_id == bot.id)).all()
        (trade,) = s.exec(select(Trade).where(Trade.bot_id == bot.id)).all()
        row = s.get(Bot, bot.id)
        events = s.exec(select(BotEvent).where(BotEvent.bot_id == bot.id)).all()
    # the decision: the budget, and the amount it would have bought at the close
    assert order.side == "buy" and order.type == "market" and order.budget == budget
    market = engine.market_lookup(rt)(outcome.account)["ETH/USDT"]
    estimate = fill_amount(budget, LEVEL, market.taker_fee, market)
    assert estimate * fill_price * (1 + FEE_RATE) > budget  # sized at the close: no longer fits
    # on the wire: the quote to spend, budget / (1 + fee) cut to the venue's precision, with
    # our client id in the venue's field
    (sent,) = fake.posted(CREATE_PATH[venue])
    spend = Decimal(sent[COST_FIELD[venue]])
    assert budget / (1 + market.taker_fee) - 0.01 < spend <= budget / (1 + market.taker_fee)
    assert sent[ID_FIELD[venue]] == caps.to_wire(caps.capability(venue), order.client_order_id)
    # the fill: what that quote buys at the gapped price, to the venue's amount step
    step = Decimal(repr(market.amount_step))
    filled = float((spend / Decimal(repr(fill_price)) / step).to_integral_value(ROUND_FLOOR) * step)
    (at_venue,) = fake.book.orders[KEY]
    assert at_venue.qty == pytest.approx(filled, abs=1e-12) and at_venue.quote_qty == float(spend)
    assert order.status == "closed" and order.error == ""
    assert order.amount == order.filled == pytest.approx(filled, abs=1e-12)
    assert order.amount < estimate
    assert order.average == pytest.approx(fill_price)
    assert order.cost == pytest.approx(filled * fill_price, abs=1e-6)
    assert order.cost + order.fee <= budget
    # the trade and the lot hold what filled
    assert (trade.status, trade.entry_order_id) == ("open", order.id)
    assert trade.amount == order.filled and trade.entry_price == order.average
    assert trade.entry_fee == order.fee
    (lot,) = BotState.loads(row.state).lots
    assert lot.amount == order.filled and lot.trade_id == trade.id
    assert lot.entry_price == order.average and lot.entry_fee == order.fee
    # the account: what the database says was spent (never more than the budget), the ETH
    balances = fake.book.keys[KEY].balances
    assert balances["USDT"] == pytest.approx(CASH - order.cost - order.fee, abs=1e-6)
    assert 0 <= balances["USDT"] - (CASH - budget) < 2.0
    assert balances["ETH"] == pytest.approx(order.filled)
    fills = [e for e in events if e.kind == EventKind.FILL]
    assert len(fills) == 1
    assert json.loads(fills[0].data)["client_order_id"] == order.client_order_id
