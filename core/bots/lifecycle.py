"""Bots: creation with validation, editing while stopped, lifecycle and the event log.

Status transitions (anything else is refused with a clear message):

    stopped --start--> running --pause--> paused --resume--> running
    running|paused|error --stop--> stopped      error --start--> running
    stopped --archive--> archived (kept with its history, never ticks again)

The worker moves bots to `paused` (risk limit such as max drawdown, key needs re-entry) or
`error` (N failed ticks in a row, a strategy that raises) with a reason shown to the user.

Stop with `close_position` (or with an "Exit now" pending) on a bot holding lots keeps it
running until its exit fills, then it stops ("stopping": `state.stop_when_flat`);
`close_position` does the same for a stopped, paused or errored bot that still holds lots.
The checks of a bot's settings are `core.bots.spec`.
"""

from __future__ import annotations

import json
from dataclasses import fields

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.bots.spec import (
    UNUSABLE_ACCOUNT,
    BotSpec,
    MarketLookup,
    validate_spec,
)
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
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
from core.platform.limits import GUEST_BOTS
from core.strategy import BotState

EDITABLE_WHEN = (BotStatus.STOPPED,)
KEY_REENTRY_REASON = "The exchange account's API key needs to be entered again."
ACCOUNT_DELETED_REASON = "its exchange account was deleted"
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    # action: (allowed from, to)
    "start": ((BotStatus.STOPPED, BotStatus.ERROR), BotStatus.RUNNING),
    "pause": ((BotStatus.RUNNING,), BotStatus.PAUSED),
    "resume": ((BotStatus.PAUSED,), BotStatus.RUNNING),
    "stop": ((BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.ERROR), BotStatus.STOPPED),
    "archive": ((BotStatus.STOPPED, BotStatus.ERROR), BotStatus.ARCHIVED),
}


def _apply(bot: Bot, spec: BotSpec) -> None:
    for field in fields(BotSpec):  # every setting but the parameters, stored as JSON
        if field.name != "params":
            setattr(bot, field.name, getattr(spec, field.name))
    bot.params = json.dumps(spec.params, sort_keys=True)
    bot.updated_at = utcnow()


def _refuse_over_guest_cap(session: Session, owner: User) -> None:
    if not owner.is_guest:
        return
    have = session.exec(select(func.count()).select_from(Bot).where(Bot.owner_id == owner.id)).one()
    if have >= GUEST_BOTS:
        raise Forbidden(
            f"A guest trader of the demo can make {GUEST_BOTS} bots: edit one of yours instead "
            "(stop it first)."
        )


def create_bot(session: Session, *, owner: User, spec: BotSpec, markets: MarketLookup) -> Bot:
    _refuse_over_guest_cap(session, owner)
    spec, _account = validate_spec(session, owner=owner, spec=spec, markets=markets)
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
    spec, _account = validate_spec(session, owner=owner, spec=spec, markets=markets, bot_id=bot.id)
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


def change_status(
    session: Session, *, owner: User, bot_id: int, action: str, close_position: bool = False
) -> Bot:
    """Apply a user action (start/pause/resume/stop/archive) if the current status allows it.

    Resume after a drawdown pause clears it and measures the drawdown again from then. Stop
    with `close_position` (or while an "Exit now" is pending) on a bot holding lots sells them
    at market first: the bot keeps running, buys nothing, and stops once its exit filled.
    Stop without it keeps the position (no bot manages it then)."""
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
        if account is None or account.status == AccountStatus.DELETED:
            raise Conflict(
                "The bot's exchange account was deleted: edit the bot to choose another account."
            )
        if account.status in UNUSABLE_ACCOUNT:
            raise Conflict("The bot's exchange account needs its API key entered again.")
        bot.started_at = utcnow()
        bot.consecutive_failures = 0
    reason = "paused by user" if action == "pause" else ""
    state = BotState.loads(bot.state)
    if action in ("resume", "start") and state.paused:  # a drawdown pause: measured again now
        state.paused, state.peak_equity = False, None
        bot.state = state.dumps()
    if action == "stop" and state.lots and (close_position or state.exit_requested):
        # Close first (a pending "Exit now" is never dropped): the bot runs until its exit
        # fills, then stops (core.trading.fills).
        state.exit_requested = state.stop_when_flat = True
        bot.state = state.dumps()
        target, reason = BotStatus.RUNNING, "stopping: closing the position at market"
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


def stop_for_deleted_account(
    session: Session, *, account_id: int, actor: User | None = None
) -> list[int]:
    """Stop every bot of an account being deleted that runs, is paused or is in error (a
    STATE event each; archived and stopped bots stay as they are); their ids."""
    busy = session.exec(
        select(Bot)
        .where(
            Bot.account_id == account_id,
            col(Bot.status).in_((BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.ERROR)),
        )
        .order_by(col(Bot.id))
        .with_for_update()
    ).all()
    for bot in busy:
        set_status(
            session, bot=bot, status=BotStatus.STOPPED, reason=ACCOUNT_DELETED_REASON, actor=actor
        )
    return [bot.id for bot in busy]


def close_position(session: Session, *, owner: User, bot_id: int) -> Bot:
    """Sell the position of a bot that no longer runs (stopped, paused or in error) at market:
    the bot runs again only to sell (exit requested, nothing bought) and stops once its exit
    filled (core.trading.fills). Refused with the reason for a running or archived bot, one
    holding nothing, or one whose exchange account was deleted or needs its key again."""
    bot = session.exec(select(Bot).where(Bot.id == bot_id).with_for_update()).first()
    if bot is None or (bot.owner_id != owner.id and owner.role != "admin"):
        raise NotFound("No such bot.")
    state = BotState.loads(bot.state)
    if bot.status == BotStatus.ARCHIVED:
        raise Conflict(
            f"{bot.name!r} is archived and never trades again: its position stays in the "
            "account (sell it on the exchange, or from another bot)."
        )
    if bot.status == BotStatus.RUNNING:
        raise Conflict(f"{bot.name!r} is running: use its Exit now or Stop button.")
    if not state.lots:
        raise Conflict(f"{bot.name!r} holds no position.")
    account = session.get(ExchangeAccount, bot.account_id)
    if account is None or account.status == AccountStatus.DELETED:
        raise Conflict(
            f"The exchange account of {bot.name!r} was deleted: its position cannot be sold "
            "from here."
        )
    if account.status in UNUSABLE_ACCOUNT:
        raise Conflict(
            f"The exchange account {account.label!r} needs its API key entered again before "
            f"{bot.name!r} can sell."
        )
    state.exit_requested = state.stop_when_flat = True
    bot.state = state.dumps()
    bot.consecutive_failures = 0
    set_status(
        session,
        bot=bot,
        status=BotStatus.RUNNING,
        reason="stopping: closing the position at market",
        actor=owner,
    )
    audit.record(session, actor=owner, action="bot.close_position", target=f"bot {bot.id}")
    return bot


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
