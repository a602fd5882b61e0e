"""A fill applied to its bot: lots opened or closed, trade rows, the fill event.

Runs inside the transaction that records the fill (core.trading.orders), so a bot's position
and its orders never disagree; shared by the single tick and the batch's record step.
"""

from __future__ import annotations

import json

from sqlmodel import Session, select

from core import bots
from core.exchanges import timeframe_ms
from core.models import Bot, BotOrder, BotStatus, EventKind, Trade
from core.strategy import BotState, Intent, close_lots, get_strategy, open_lot
from core.trading import orders


def on_filled(
    bot_id: int, *, locked: bool = False, new_trades: list | None = None
) -> orders.OnFilled:
    """Apply a fill to the bot's lots and trades (in the transaction recording the fill).

    `locked`: the caller has read the bot row for update in this session already.
    `new_trades`: a buy's Trade row is not flushed for its id here; (bot, trade) is appended
    and the caller flushes once and calls `link_new_trades` (batches: one buy per bot)."""

    def apply(session: Session, order: BotOrder) -> None:
        if locked:
            bot = session.get(Bot, bot_id)
        else:
            bot = session.exec(select(Bot).where(Bot.id == bot_id).with_for_update()).one()
        state = BotState.loads(bot.state)
        detail = json.loads(order.detail or "{}")
        strategy = get_strategy(bot.strategy)
        params = strategy.validate(json.loads(bot.params or "{}"))
        price, amount = float(order.average), float(order.filled)
        fee = float(order.fee)
        fill_ts = order.candle_ts + timeframe_ms(bot.timeframe)
        if order.side == "buy":
            if fee and order.fee_currency == bot.symbol.split("/")[0]:
                # A live venue took the fee from the coin bought: the lot holds what is left,
                # and its fee is booked in quote at the fill price, as everywhere else.
                amount, fee = amount - fee, fee * price
            intent = Intent("buy", order.purpose, amount, level=detail.get("level"))
            lot = open_lot(
                state,
                intent,
                amount=amount,
                price=price,
                fee=fee,
                ts=fill_ts,
                mode=strategy.mode,
                params=params,
            )
            trade = Trade(
                bot_id=bot.id,
                symbol=bot.symbol,
                amount=amount,
                entry_ts=fill_ts,
                entry_price=price,
                entry_fee=fee,
                entry_order_id=order.id,
            )
            session.add(trade)
            if new_trades is None:
                session.flush()
                lot.trade_id = trade.id
            else:
                new_trades.append((bot, trade))
        else:
            wanted = set(detail.get("trades") or [])
            idx = tuple(i for i, lot in enumerate(state.lots) if lot.trade_id in wanted)
            intent = Intent("sell", order.purpose, amount, idx)
            for lot, fee, pnl in close_lots(
                state,
                intent,
                price=price,
                fee=order.fee,
                ts=fill_ts,
                cooldown_ms=bot.cooldown_minutes * 60_000,
            ):
                trade = session.get(Trade, lot.trade_id)
                trade.status, trade.exit_ts, trade.exit_price = "closed", fill_ts, price
                trade.exit_fee, trade.pnl, trade.exit_reason = fee, pnl, order.purpose
                trade.exit_order_id = order.id
                session.add(trade)
        bot.state = state.dumps()
        session.add(bot)
        if order.side == "sell" and state.stop_when_flat and not state.lots:
            state.stop_when_flat = False
            bot.state = state.dumps()
            reason = "stopped after closing its position"
            bots.set_status(session, bot=bot, status=BotStatus.STOPPED, reason=reason)
        bots.add_event(
            session,
            bot=bot,
            kind=EventKind.FILL,
            message=f"{order.side} {amount:g} {bot.symbol} at {price:g}",
            data={"client_order_id": order.client_order_id, "fee": order.fee},
        )

    return apply


def link_new_trades(session: Session, new_trades: list) -> None:
    """After `on_filled(new_trades=...)`: flush once, then give each new lot its trade id."""
    session.flush()
    for bot, trade in new_trades:
        state = BotState.loads(bot.state)
        opened = (trade.entry_ts, trade.amount)
        for lot in state.lots:  # the lot this buy opened: the first one without a trade
            if lot.trade_id is None and (lot.entry_ts, lot.amount) == opened:
                lot.trade_id = trade.id
                break
        bot.state = state.dumps()
        session.add(bot)
