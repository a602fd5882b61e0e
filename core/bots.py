"""Bots: creation with validation, editing while stopped, lifecycle and the event log.

Status transitions (anything else is refused with a clear message):

    stopped --start--> running --pause--> paused --resume--> running
    running|paused|error --stop--> stopped      error --start--> running
    stopped --archive--> archived (kept with its history, never ticks again)

The worker moves bots to `paused` (risk limit such as max drawdown, key needs re-entry) or
`error` (N failed ticks in a row, a strategy that raises) with a reason shown to the user.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.errors import Conflict, InvalidInput, NotFound
from core.exchanges import Market, timeframe_ms
from core.models import (
    AccountStatus,
    Bot,
    BotEvent,
    BotStatus,
    EventKind,
    ExchangeAccount,
    User,
    utcnow,
)
from core.platform import audit
from core.platform.inputs import clean_text
from core.strategy import BotState, get_strategy

EDITABLE_WHEN = (BotStatus.STOPPED,)
KEY_REENTRY_REASON = "The exchange account's API key needs to be entered again."
UNUSABLE_ACCOUNT = (AccountStatus.INVALID, AccountStatus.NEEDS_REENTRY)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    # action: (allowed from, to)
    "start": ((BotStatus.STOPPED, BotStatus.ERROR), BotStatus.RUNNING),
    "pause": ((BotStatus.RUNNING,), BotStatus.PAUSED),
    "resume": ((BotStatus.PAUSED,), BotStatus.RUNNING),
    "stop": ((BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.ERROR), BotStatus.STOPPED),
    "archive": ((BotStatus.STOPPED, BotStatus.ERROR), BotStatus.ARCHIVED),
}
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


def _pct(value: float | None, field: str, *, upper: float = 100.0) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or not math.isfinite(value) or not 0 < value <= upper:
        raise InvalidInput(f"{field} must be a number between 0 and {upper:g} (or empty).")
    return float(value)


def _account_for(session: Session, *, owner: User, account_id: int) -> ExchangeAccount:
    account = session.get(ExchangeAccount, account_id)
    if account is None or account.owner_id != owner.id:
        raise NotFound("No such exchange account.")
    if account.status in UNUSABLE_ACCOUNT:
        raise InvalidInput(f"The account {account.label!r} needs its API key entered again.")
    return account


def validate_spec(
    session: Session, *, owner: User, spec: BotSpec, markets: MarketLookup
) -> tuple[BotSpec, ExchangeAccount]:
    """Check every field; return the cleaned spec. Nothing is written here."""
    spec.name = clean_text(spec.name, "Bot name", max_len=64)
    timeframe_ms(spec.timeframe)
    strategy = get_strategy(spec.strategy)
    spec.params = strategy.validate(spec.params or {})
    account = _account_for(session, owner=owner, account_id=spec.account_id)
    symbol = clean_text(spec.symbol, "Symbol", max_len=32).upper()
    market_map = markets(account)
    if symbol not in market_map:
        raise InvalidInput(f"Symbol {symbol!r} is not traded on {account.exchange_id}.")
    spec.symbol = symbol
    if spec.order_size_type not in ("quote", "pct"):
        raise InvalidInput("Order size type must be 'quote' (an amount) or 'pct' (of balance).")
    size = spec.order_size
    if not isinstance(size, int | float) or not math.isfinite(size) or size <= 0:
        raise InvalidInput("Order size must be a positive number.")
    if spec.order_size_type == "pct" and size > 100:
        raise InvalidInput("Order size in % of balance must be at most 100.")
    market = market_map[symbol]
    if spec.order_size_type == "quote" and size < market.min_notional:
        raise InvalidInput(
            f"Order size {size:g} {market.quote} is under the market minimum of "
            f"{market.min_notional:g} {market.quote} for {symbol}."
        )
    for name, value in clean_risk(spec).items():
        setattr(spec, name, value)
    return spec, account


def clean_risk(limits) -> dict:
    """The risk fields of a bot spec or backtest settings, checked by the one set of rules
    (None: off). Raises InvalidInput naming the field."""
    out = {
        "take_profit_pct": _pct(limits.take_profit_pct, "Take-profit %", upper=1000),
        "stop_loss_pct": _pct(limits.stop_loss_pct, "Stop-loss %"),
        "trailing_stop_pct": _pct(limits.trailing_stop_pct, "Trailing stop %"),
        "max_drawdown_pct": _pct(limits.max_drawdown_pct, "Max drawdown %"),
        "max_open_positions": limits.max_open_positions,
        "cooldown_minutes": limits.cooldown_minutes,
    }
    if not isinstance(out["max_open_positions"], int) or not 1 <= out["max_open_positions"] <= 50:
        raise InvalidInput("Max open positions must be a whole number from 1 to 50.")
    if not isinstance(out["cooldown_minutes"], int) or not 0 <= out["cooldown_minutes"] <= 10_080:
        raise InvalidInput("Cooldown must be 0 to 10080 minutes.")
    return out


def _apply(bot: Bot, spec: BotSpec) -> None:
    for field in (
        "name",
        "account_id",
        "symbol",
        "timeframe",
        "strategy",
        "order_size_type",
        "order_size",
        "take_profit_pct",
        "stop_loss_pct",
        "trailing_stop_pct",
        "max_open_positions",
        "max_drawdown_pct",
        "cooldown_minutes",
    ):
        setattr(bot, field, getattr(spec, field))
    bot.params = json.dumps(spec.params, sort_keys=True)
    bot.updated_at = utcnow()


def create_bot(session: Session, *, owner: User, spec: BotSpec, markets: MarketLookup) -> Bot:
    spec, _account = validate_spec(session, owner=owner, spec=spec, markets=markets)
    taken = select(Bot).where(
        Bot.owner_id == owner.id, Bot.name == spec.name, Bot.status != BotStatus.ARCHIVED
    )
    if session.exec(taken).first():
        raise Conflict(f"You already have a bot named {spec.name!r}.")
    bot = Bot(
        owner_id=owner.id,
        name=spec.name,
        account_id=spec.account_id,
        symbol="",
        timeframe=spec.timeframe,
        strategy=spec.strategy,
    )
    _apply(bot, spec)
    session.add(bot)
    session.flush()
    add_event(session, bot=bot, kind=EventKind.STATE, message="created (stopped)")
    audit.record(
        session,
        actor=owner,
        action="bot.create",
        target=f"bot {bot.id}",
        detail=f"{spec.strategy} {spec.symbol} {spec.timeframe}",
    )
    return bot


def update_bot(
    session: Session, *, owner: User, bot_id: int, spec: BotSpec, markets: MarketLookup
) -> Bot:
    bot = get_bot(session, owner=owner, bot_id=bot_id)
    if bot.status not in EDITABLE_WHEN:
        raise Conflict("Stop the bot before editing it.")
    spec, _account = validate_spec(session, owner=owner, spec=spec, markets=markets)
    _apply(bot, spec)
    session.add(bot)
    add_event(session, bot=bot, kind=EventKind.STATE, message="settings changed")
    audit.record(session, actor=owner, action="bot.update", target=f"bot {bot.id}")
    return bot


def spec_values(bot: Bot) -> dict:
    """A bot's settings as BotSpec fields (what an edit form starts from)."""
    values = {field: getattr(bot, field) for field in BotSpec.__dataclass_fields__}
    values["params"] = json.loads(bot.params or "{}")
    return values


def get_bot(session: Session, *, owner: User, bot_id: int) -> Bot:
    """The owner's bot; admins may read any bot. Same message whether it exists or not."""
    bot = session.get(Bot, bot_id) if isinstance(bot_id, int) else None
    if bot is None or (bot.owner_id != owner.id and owner.role != "admin"):
        raise NotFound("No such bot.")
    return bot


def list_bots(session: Session, *, owner: User, include_archived: bool = False) -> list[Bot]:
    query = select(Bot).where(Bot.owner_id == owner.id).order_by(col(Bot.id))
    if not include_archived:
        query = query.where(Bot.status != BotStatus.ARCHIVED)
    return list(session.exec(query))


def change_status(session: Session, *, owner: User, bot_id: int, action: str) -> Bot:
    """Apply a user action (start/pause/resume/stop/archive) if the current status allows it."""
    if action not in TRANSITIONS:
        raise InvalidInput(f"Unknown action {action!r}.")
    bot = session.exec(select(Bot).where(Bot.id == bot_id).with_for_update()).first()
    if bot is None or (bot.owner_id != owner.id and owner.role != "admin"):
        raise NotFound("No such bot.")
    allowed, target = TRANSITIONS[action]
    if bot.status not in allowed:
        raise Conflict(f"A {bot.status} bot cannot {action}.")
    if action == "start":
        account = session.get(ExchangeAccount, bot.account_id)
        if account is None or account.status in UNUSABLE_ACCOUNT:
            raise Conflict("The bot's exchange account needs its API key entered again.")
        bot.started_at = utcnow()
        bot.consecutive_failures = 0
    reason = "paused by user" if action == "pause" else ""
    set_status(session, bot=bot, status=target, reason=reason, actor=owner)
    return bot


def set_status(
    session: Session,
    *,
    bot: Bot,
    status: str,
    reason: str = "",
    actor: User | None = None,
    event: EventKind | None = None,
) -> None:
    """Record a status change with its reason in the bot's event log (used by the worker too).
    The event kind says whether the owner is notified: `event`, else BOT_ERROR for an error
    status, else STATE."""
    bot.status = status
    bot.status_reason = reason[:500]
    bot.updated_at = utcnow()
    session.add(bot)
    text = f"{status}: {reason}" if reason else status
    kind = event or (EventKind.BOT_ERROR if status == BotStatus.ERROR else EventKind.STATE)
    add_event(session, bot=bot, kind=kind, message=text)
    if actor is not None:
        audit.record(session, actor=actor, action=f"bot.{status}", target=f"bot {bot.id}")


def pause_for_key_reentry(session: Session, *, account_id: int) -> list[int]:
    """Pause the account's running bots because its API key must be entered again; their ids.

    The one path for every place that finds a key unreadable (a tick, the accounts page, a
    key check, a rotation), so each paused bot gets the same KEY_REENTRY event and its owner
    the same notification."""
    running = session.exec(
        select(Bot)
        .where(Bot.account_id == account_id, Bot.status == BotStatus.RUNNING)
        .with_for_update()
    ).all()
    for bot in running:
        set_status(
            session,
            bot=bot,
            status=BotStatus.PAUSED,
            reason=KEY_REENTRY_REASON,
            event=EventKind.KEY_REENTRY,
        )
    return [bot.id for bot in running]


def request_exit_now(session: Session, *, owner: User, bot_id: int) -> Bot:
    """Ask the worker to close the open position at market on its next step."""
    get_bot(session, owner=owner, bot_id=bot_id)  # owned, or NotFound
    # Read the state under the row lock: a fill committed meanwhile stays in it (PostgreSQL).
    locked = select(Bot).where(Bot.id == bot_id).with_for_update()
    bot = session.exec(locked.execution_options(populate_existing=True)).one()
    state = BotState.loads(bot.state)
    state.exit_requested = True
    bot.state = state.dumps()
    session.add(bot)
    add_event(session, bot=bot, kind=EventKind.SIGNAL, message="exit now requested by user")
    audit.record(session, actor=owner, action="bot.exit_now", target=f"bot {bot.id}")
    return bot


def add_event(session: Session, *, bot: Bot, kind: str, message: str, data: dict | None = None):
    event = BotEvent(
        bot_id=bot.id,
        kind=kind,
        notify=EventKind(kind).notifies,
        message=message[:1000],
        data=json.dumps(data, default=str)[:4000] if data else "",
    )
    session.add(event)
    return event


def events(session: Session, *, owner: User, bot_id: int, limit: int = 200) -> list[BotEvent]:
    get_bot(session, owner=owner, bot_id=bot_id)
    query = (
        select(BotEvent)
        .where(BotEvent.bot_id == bot_id)
        .order_by(col(BotEvent.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))
