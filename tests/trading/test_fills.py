"""core.trading.fills.on_filled: a fill applied to its bot's lots and trades."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.models import BotOrder, Trade
from core.strategy import BotState
from core.trading.fills import on_filled
from tests.factories import two_users_and_a_bot

T = 1_767_225_600_000


def _buy(s, bot_id: int, account_id: int, *, fee: float, fee_currency: str) -> BotOrder:
    order = BotOrder(
        bot_id=bot_id,
        account_id=account_id,
        client_order_id=f"sb-{bot_id}-1-0",
        candle_ts=T,
        symbol="BTC/USDT",
        side="buy",
        amount=0.01,
        budget=600.0,
        status="closed",
        purpose="entry",
        filled=0.01,
        average=60_000.0,
        cost=600.0,
        fee=fee,
        fee_currency=fee_currency,
    )
    s.add(order)
    s.flush()
    return order


@pytest.mark.parametrize(
    ("fee", "currency", "lot_amount", "fee_in_quote"),
    [
        (0.6, "USDT", 0.01, 0.6),  # the paper book and most quote-fee venues
        (0.00001, "BTC", 0.00999, 0.6),  # taken from the coin bought: the lot holds the rest
    ],
)
def test_a_buy_fee_in_the_base_coin_leaves_the_lot_what_the_account_holds(
    rt, fee, currency, lot_amount, fee_in_quote
):
    world = two_users_and_a_bot(rt)
    with rt.session() as s:
        order = _buy(s, world["bot"].id, world["acc"].id, fee=fee, fee_currency=currency)
        on_filled(world["bot"].id)(s, order)
    with rt.read() as s:
        trade = s.exec(select(Trade)).one()
        bot_state = BotState.loads(s.get(type(world["bot"]), world["bot"].id).state)
    assert trade.amount == pytest.approx(lot_amount)
    assert trade.entry_fee == pytest.approx(fee_in_quote)
    assert [lot.amount for lot in bot_state.lots] == [pytest.approx(lot_amount)]
