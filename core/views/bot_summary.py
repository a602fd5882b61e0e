"""A bot's settings in a trader's words, for its card and its detail page: strategy title,
account and paper/live, order size with its currency, the risk limits that are set (only those
its strategy uses), and what it is doing beyond its status (an exit pending, stopping)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.errors import InvalidInput
from core.models import AccountStatus, Bot, BotStatus, ExchangeAccount
from core.strategy import BotState, get_strategy

EXIT_PENDING = "exit pending: sells the position at market on the next candle"
STOPPING = "stopping: selling the position at market, then it stops"


def _num(value: float) -> str:
    return f"{value:,.8g}"


def _minutes(minutes: int) -> str:
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def describe(bot: Bot, account: ExchangeAccount | None) -> dict:
    """The facts of one bot (no query: `account` is its account row, None when missing)."""
    try:
        strategy = get_strategy(bot.strategy)
        title, ignores = strategy.title, set(strategy.ignores)
    except InvalidInput:
        title, ignores = bot.strategy, set()
    quote = bot.symbol.split("/")[1] if "/" in bot.symbol else ""
    if bot.order_size_type == "pct":
        size = f"{_num(bot.order_size)} % of the balance per order"
    else:
        size = f"{_num(bot.order_size)} {quote} per order".replace("  ", " ")
    limits = []
    if bot.take_profit_pct and "take_profit_pct" not in ignores:
        limits.append(f"take-profit {_num(bot.take_profit_pct)} %")
    if bot.stop_loss_pct:
        limits.append(f"stop-loss {_num(bot.stop_loss_pct)} %")
    if bot.trailing_stop_pct:
        limits.append(f"trailing stop {_num(bot.trailing_stop_pct)} %")
    if bot.max_drawdown_pct:
        limits.append(f"max drawdown {_num(bot.max_drawdown_pct)} %")
    if bot.cooldown_minutes:
        limits.append(f"cooldown {_minutes(bot.cooldown_minutes)} after a loss")
    if bot.max_open_positions > 1 and "max_open_positions" not in ignores:
        limits.append(f"up to {bot.max_open_positions} positions")
    if account is None or account.status == AccountStatus.DELETED:
        label, mode = "deleted account", ""
    else:
        label, mode = account.label, account.kind
    state = BotState.loads(bot.state)
    stopping = bool(state.stop_when_flat and state.lots)
    exit_pending = bool(state.exit_requested and state.lots and not stopping)
    note = STOPPING if stopping else EXIT_PENDING if exit_pending else ""
    if state.lots and not note and bot.status != BotStatus.RUNNING:
        count = len(state.lots)
        note = (
            f"holds {count} open lot{'s' if count > 1 else ''} that nothing sells while it is "
            f"{bot.status} (Overview can close {'them' if count > 1 else 'it'})"
        )
    line = " · ".join([label, size, *limits])
    return {
        "strategy": title,
        "account": label,
        "mode": mode,  # paper | live | "" (account deleted)
        "size": size,
        "limits": limits,
        "line": line,
        "lots": len(state.lots),
        "exit_pending": exit_pending,
        "stopping": stopping,
        "note": note,
    }


def describe_bots(session: Session, bots: list[Bot]) -> dict[int, dict]:
    """`describe` for many bots, their accounts read in one query: {bot id: facts}."""
    ids = {b.account_id for b in bots}
    accounts = {
        a.id: a
        for a in session.exec(select(ExchangeAccount).where(col(ExchangeAccount.id).in_(ids)))
    }
    return {b.id: describe(b, accounts.get(b.account_id)) for b in bots}
