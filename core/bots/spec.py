"""A bot's settings, checked: `BotSpec` (what a user fills in), `spec_problems` (every
problem at once, by field, in a trader's words), `validate_spec` (the first, or the cleaned
spec), and the risk rules shared with backtests (`risk_problems`, `clean_risk`). Nothing here
writes; `core.bots.lifecycle` creates, edits and runs bots with what these checks return.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

from sqlmodel import Session, select

from core.errors import AppError, Conflict, InvalidInput, NotFound
from core.exchanges import Market, timeframe_ms
from core.models import (
    AccountKind,
    AccountStatus,
    Bot,
    BotStatus,
    ExchangeAccount,
    PaperBalance,
    User,
)
from core.platform.inputs import clean_text
from core.strategy import get_strategy

UNUSABLE_ACCOUNT = (AccountStatus.INVALID, AccountStatus.NEEDS_REENTRY)
MarketLookup = Callable[[ExchangeAccount], dict[str, Market]]


@dataclass
class BotSpec:
    """What a user fills in to create or edit a bot."""

    name: str
    account_id: int
    symbol: str
    timeframe: str
    strategy: str
    params: dict
    order_size_type: str = "quote"  # quote | pct
    order_size: float = 100.0
    take_profit_pct: float | None = None
    stop_loss_pct: float | None = None
    trailing_stop_pct: float | None = None
    max_open_positions: int = 1
    max_drawdown_pct: float | None = None
    cooldown_minutes: int = 0


# The settings a bot and a backtest share (all of BotSpec but the bot's name and account).
SHARED_SETTINGS = tuple(f.name for f in fields(BotSpec) if f.name not in ("name", "account_id"))

RISK_LABELS = {
    "take_profit_pct": "Take-profit %",
    "stop_loss_pct": "Stop-loss %",
    "trailing_stop_pct": "Trailing stop %",
    "max_drawdown_pct": "Max drawdown %",
    "max_open_positions": "Max open positions",
    "cooldown_minutes": "Cooldown",
}
IGNORED_BECAUSE = {
    ("grid", "max_open_positions"): "a grid holds at most one lot per level",
    ("grid", "take_profit_pct"): "each grid lot sells one level above its entry",
    ("dca", "max_open_positions"): "DCA counts its buys with 'Safety orders'",
}
Problem = tuple[str, AppError]  # (BotSpec field, or "params.<name>"; the error)


def _pct(value: float | None, field: str, *, upper: float = 100.0) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or not math.isfinite(value) or not 0 < value <= upper:
        raise InvalidInput(f"{field} must be a number between 0 and {upper:g} (or empty).")
    return float(value)


def _account_for(session: Session, *, owner: User, account_id: int) -> ExchangeAccount:
    account = session.get(ExchangeAccount, account_id) if isinstance(account_id, int) else None
    if account is None or account.owner_id != owner.id or account.status == AccountStatus.DELETED:
        raise NotFound("No such exchange account.")
    if account.status in UNUSABLE_ACCOUNT:
        raise InvalidInput(f"The account {account.label!r} needs its API key entered again.")
    return account


def validate_spec(
    session: Session,
    *,
    owner: User,
    spec: BotSpec,
    markets: MarketLookup,
    bot_id: int | None = None,
) -> tuple[BotSpec, ExchangeAccount]:
    """Check every field; return the cleaned spec. Nothing is written here. An account that is
    not the owner's is NotFound before anything else (nothing more is said about it); else the
    first problem `spec_problems` finds is raised (Conflict for a name taken, InvalidInput
    otherwise)."""
    problems, account = _check_spec(session, owner=owner, spec=spec, markets=markets, bot_id=bot_id)
    for _field, error in problems:
        if isinstance(error, NotFound):
            raise error
    if problems:
        raise problems[0][1]
    return spec, account


def spec_problems(
    session: Session,
    *,
    owner: User,
    spec: BotSpec,
    markets: MarketLookup,
    bot_id: int | None = None,
) -> list[tuple[str, str]]:
    """Every problem of a bot spec at once, as (field, message): the field is a BotSpec field
    name, "params.<name>" for a strategy parameter or "params" for the parameters as a whole.
    `bot_id`: the bot being edited (its own name is not "taken"). Valid fields are cleaned in
    place (a spec without problems is what create_bot stores). Nothing is written."""
    problems, _account = _check_spec(
        session, owner=owner, spec=spec, markets=markets, bot_id=bot_id
    )
    return [(field, error.message) for field, error in problems]


def _check_spec(
    session: Session, *, owner: User, spec: BotSpec, markets: MarketLookup, bot_id: int | None
) -> tuple[list[Problem], ExchangeAccount | None]:
    problems: list[Problem] = []

    def attempt(field: str, check: Callable[[], object]) -> object:
        try:
            return check()
        except AppError as exc:
            problems.append((field, exc))
            return None

    name = attempt("name", lambda: clean_text(spec.name, "Bot name", max_len=64))
    if name is not None:
        spec.name = name
        attempt("name", lambda: _name_free(session, owner=owner, name=name, bot_id=bot_id))
    attempt("timeframe", lambda: timeframe_ms(spec.timeframe))
    strategy = attempt("strategy", lambda: get_strategy(spec.strategy))
    if strategy is not None:
        values, wrong = strategy.problems(spec.params or {})
        for param, message in wrong:
            field = f"params.{param}" if param else "params"
            problems.append((field, InvalidInput(message)))
        if not wrong:
            spec.params = values
    account = attempt(
        "account_id", lambda: _account_for(session, owner=owner, account_id=spec.account_id)
    )
    market = None
    symbol = attempt("symbol", lambda: clean_text(spec.symbol, "Market", max_len=32).upper())
    if symbol is not None and account is not None:
        market_map = attempt("symbol", lambda: markets(account))
        if market_map is not None and symbol not in market_map:
            problems.append(
                (
                    "symbol",
                    InvalidInput(f"Market {symbol!r} is not traded on {account.exchange_id}."),
                )
            )
        elif market_map is not None:
            spec.symbol, market = symbol, market_map[symbol]
    problems.extend(_size_problems(session, spec=spec, account=account, market=market))
    wrong_risk, risk = risk_problems(spec)
    problems.extend(wrong_risk)
    for field, value in risk.items():
        setattr(spec, field, value)
    if strategy is not None:
        problems.extend(_ignored(strategy, spec, already={f for f, _ in problems}))
    return problems, account


def _ignored(strategy, spec: BotSpec, *, already: set[str]) -> list[Problem]:
    """Risk settings the strategy's rules never use, set anyway (a form hides them)."""
    out = []
    for field in strategy.ignores:
        off = 1 if field == "max_open_positions" else None  # what "not set" is
        if field in already or getattr(spec, field) == off:
            continue
        why = IGNORED_BECAUSE.get((strategy.name, field), f"{strategy.title} ignores it")
        message = f"{RISK_LABELS[field]} does not apply to {strategy.title}: {why}."
        out.append((field, InvalidInput(message)))
    return out


def _name_free(session: Session, *, owner: User, name: str, bot_id: int | None) -> None:
    taken = select(Bot.id).where(
        Bot.owner_id == owner.id, Bot.name == name, Bot.status != BotStatus.ARCHIVED
    )
    if bot_id is not None:
        taken = taken.where(Bot.id != bot_id)
    if session.exec(taken).first() is not None:
        raise Conflict(f"You already have a bot named {name!r}.")


def _size_problems(
    session: Session, *, spec: BotSpec, account: ExchangeAccount | None, market: Market | None
) -> list[Problem]:
    size_type, size = spec.order_size_type, spec.order_size
    if size_type not in ("quote", "pct"):
        return [("order_size_type", InvalidInput("Choose an amount or a % of the balance."))]
    if isinstance(size, bool) or not isinstance(size, int | float) or not math.isfinite(size):
        return [("order_size", InvalidInput("Order size must be a positive number."))]
    if size <= 0:
        return [("order_size", InvalidInput("Order size must be a positive number."))]
    if size_type == "pct":
        if size > 100:
            return [("order_size", InvalidInput("Order size in % of balance must be at most 100."))]
        return []
    if market is None:
        return []
    if size < market.min_notional:
        return [
            (
                "order_size",
                InvalidInput(
                    f"Order size {size:g} {market.quote} is under the market minimum of "
                    f"{market.min_notional:g} {market.quote} for {market.symbol}."
                ),
            )
        ]
    if account is not None and account.kind == AccountKind.PAPER:
        held = paper_quote(session, account_id=account.id, asset=market.quote)
        if size > held:
            message = (
                f"Order size {size:,.2f} {market.quote} is more than the paper account "
                f"{account.label!r} holds ({held:,.2f} {market.quote})."
            )
            return [("order_size", InvalidInput(message))]
    return []


def paper_quote(session: Session, *, account_id: int, asset: str) -> float:
    """What a paper account holds of `asset` (free + reserved)."""
    row = session.exec(
        select(PaperBalance).where(
            PaperBalance.account_id == account_id, PaperBalance.asset == asset
        )
    ).first()
    return (row.free + row.used) if row is not None else 0.0


def risk_problems(limits) -> tuple[list[Problem], dict]:
    """The risk fields of a bot spec or backtest settings checked by the one set of rules:
    ([(field, error)], the valid fields cleaned; None: off)."""
    problems: list[Problem] = []
    out: dict = {}
    uppers = {"take_profit_pct": 1000.0}
    for field in ("take_profit_pct", "stop_loss_pct", "trailing_stop_pct", "max_drawdown_pct"):
        try:
            out[field] = _pct(
                getattr(limits, field), RISK_LABELS[field], upper=uppers.get(field, 100.0)
            )
        except InvalidInput as exc:
            problems.append((field, exc))
    positions = limits.max_open_positions
    if isinstance(positions, int) and not isinstance(positions, bool) and 1 <= positions <= 50:
        out["max_open_positions"] = positions
    else:
        message = "Max open positions must be a whole number from 1 to 50."
        problems.append(("max_open_positions", InvalidInput(message)))
    cooldown = limits.cooldown_minutes
    if isinstance(cooldown, int) and not isinstance(cooldown, bool) and 0 <= cooldown <= 10_080:
        out["cooldown_minutes"] = cooldown
    else:
        message = "Cooldown must be 0 to 10080 minutes (one week)."
        problems.append(("cooldown_minutes", InvalidInput(message)))
    return problems, out


def clean_risk(limits) -> dict:
    """The risk fields of a bot spec or backtest settings, checked by the one set of rules
    (None: off). Raises InvalidInput naming the field (the first problem)."""
    problems, out = risk_problems(limits)
    if problems:
        raise problems[0][1]
    return out
