"""SQLModel tables. Times are timezone-aware UTC datetimes; candle/order times are epoch ms."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.enums import (  # noqa: F401 (re-exported: the StrEnums next to the tables)
    AccountKind,
    AccountStatus,
    BotStatus,
    EventKind,
    OrderPurpose,
    OrderStatus,
    TickOutcome,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(SQLModel, table=True):
    """A person who signs in (their sign-in sessions: UserSession; throttling: SignInThrottle)."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=32, unique=True, index=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=100)
    password_hash: str = Field(max_length=100)
    role: str = Field(default="trader", max_length=16)  # admin | trader
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    password_changed_at: datetime = Field(default_factory=utcnow)
    # Set only for a guest trader of the public demo: it and everything it owns are deleted
    # after this moment (core.users.guests), and its sessions end then.
    expires_at: datetime | None = Field(default=None, index=True)

    @property
    def is_guest(self) -> bool:
        return self.expires_at is not None


class UserSession(SQLModel, table=True):
    """A server-side sign-in session. The browser's cookie holds a random token; only its
    keyed hash is stored. Checked on every run; revoked by Log out, "sign out everywhere", a
    password change, disable and role change; deleted with its user."""

    __table_args__ = (Index("ix_usersession_user_address", "user_id", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    address: str = Field(default="", max_length=64)  # client address (or /64) at sign-in
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins counted per username, per client address and per (username, address)
    pair: progressive delays, then a temporary block of the address (core.users.throttle)."""

    key: str = Field(primary_key=True, max_length=160)
    username: str = Field(default="", max_length=64, index=True)
    address: str = Field(default="", max_length=64)
    failures: int = 0
    last_at: datetime = Field(default_factory=utcnow, index=True)
    blocked_until: datetime | None = None


class AppSetting(SQLModel, table=True):
    """Runtime switches an admin can change (e.g. open registration)."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=500)


class AuditLog(SQLModel, table=True):
    """Who did what, when. Never holds a secret."""

    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor: str = Field(default="system", max_length=32)  # username snapshot
    action: str = Field(max_length=64, index=True)
    target: str = Field(default="", max_length=200)
    detail: str = Field(default="", max_length=2000)


class ExchangeAccount(SQLModel, table=True):
    """A user's connection to an exchange: live (encrypted key) or paper (simulated book)."""

    __table_args__ = (UniqueConstraint("owner_id", "label"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    label: str = Field(max_length=64)
    exchange_id: str = Field(max_length=32)  # ccxt id, or "sim" for the simulated market
    kind: str = Field(default="live", max_length=8)  # live | paper
    sandbox: bool = False
    api_key_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    secret_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    extra_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    api_key_hint: str = Field(default="", max_length=16)  # "abcd…wxyz", never the secret
    status: str = Field(default="ok", max_length=16)  # ok|unverified|needs_reentry|invalid
    status_reason: str = Field(default="", max_length=500)
    last_checked_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PaperBalance(SQLModel, table=True):
    """The paper exchange's balance of one asset in one paper account."""

    account_id: int = Field(foreign_key="exchangeaccount.id", primary_key=True, ondelete="CASCADE")
    asset: str = Field(primary_key=True, max_length=16)
    free: float = 0.0
    used: float = 0.0


class PaperOrder(SQLModel, table=True):
    """The paper exchange's own book (the exchange side, not the platform's order record)."""

    __table_args__ = (UniqueConstraint("account_id", "client_order_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="exchangeaccount.id", index=True, ondelete="CASCADE")
    client_order_id: str = Field(max_length=64)
    symbol: str = Field(max_length=32)
    side: str = Field(max_length=4)
    type: str = Field(max_length=8)
    amount: float
    price: float | None = None
    status: str = Field(max_length=16)  # open | closed | canceled
    filled: float = 0.0
    average: float | None = None
    cost: float = 0.0
    fee: float = 0.0
    fee_currency: str = Field(default="", max_length=16)
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class Candle(SQLModel, table=True):
    """Cached market data, shared by every bot on the market."""

    exchange: str = Field(primary_key=True, max_length=32)
    symbol: str = Field(primary_key=True, max_length=32)
    timeframe: str = Field(primary_key=True, max_length=4)
    ts: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    open: float
    high: float
    low: float
    close: float
    volume: float


class Bot(SQLModel, table=True):
    """A user's trading bot: market, strategy, sizing, risk limits and lifecycle status."""

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    account_id: int = Field(foreign_key="exchangeaccount.id", index=True)
    name: str = Field(max_length=64)
    symbol: str = Field(max_length=32)
    timeframe: str = Field(max_length=4)
    strategy: str = Field(max_length=32)
    params: str = Field(default="{}", max_length=4000)  # JSON, validated by the strategy
    order_size_type: str = Field(default="quote", max_length=8)  # quote | pct
    order_size: float = 100.0
    take_profit_pct: float | None = None
    stop_loss_pct: float | None = None
    trailing_stop_pct: float | None = None
    max_open_positions: int = 1
    max_drawdown_pct: float | None = None
    cooldown_minutes: int = 0
    # stopped | running | paused | error | archived (see core.bots for the transitions)
    status: str = Field(default="stopped", max_length=16, index=True)
    status_reason: str = Field(default="", max_length=500)
    state: str = Field(default="{}", max_length=20000)  # rules state between ticks (JSON)
    consecutive_failures: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    last_tick_at: datetime | None = None
    last_candle_ts: int | None = Field(default=None, sa_column=Column(BigInteger))


class Tick(SQLModel, table=True):
    """One scheduled bot step for one closed candle; unique, so it never runs twice."""

    __table_args__ = (UniqueConstraint("bot_id", "candle_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int = Field(foreign_key="bot.id", index=True, ondelete="CASCADE")
    candle_ts: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(default="queued", max_length=12, index=True)  # queued|running|done|failed
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_at: datetime | None = None
    # The claim's fencing token (+1 per claim) and its lease, in the database's clock (epoch
    # ms), extended by the holder's heartbeat: a worker that lost it can neither send nor record.
    lease: int = 0
    lease_until_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    error: str = Field(default="", max_length=500)


class BotOrder(SQLModel, table=True):
    """The platform's record of an order, committed as pending_submit before it is sent."""

    # For the Trades page's fills (migration 0006): newest first, of all bots or one bot.
    __table_args__ = (
        Index("ix_botorder_candle_ts", "candle_ts"),
        Index("ix_botorder_bot_id_candle_ts", "bot_id", "candle_ts"),
        # A bot's unsettled orders: every tick reconciles them, Bot detail warns about them.
        Index("ix_botorder_bot_id_status", "bot_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int = Field(foreign_key="bot.id", index=True, ondelete="CASCADE")
    account_id: int = Field(foreign_key="exchangeaccount.id", index=True)
    client_order_id: str = Field(max_length=64, unique=True)
    candle_ts: int = Field(sa_column=Column(BigInteger, nullable=False))
    seq: int = 0
    symbol: str = Field(max_length=32)
    side: str = Field(max_length=4)
    type: str = Field(default="market", max_length=8)
    amount: float  # a market buy with a budget: the estimate at the decision, then the fill's
    price: float | None = None
    # Market buys: the quote to spend, fee included; the amount is sized at the fill price.
    budget: float | None = None
    status: str = Field(default="pending_submit", max_length=16, index=True)  # an OrderStatus
    purpose: str = Field(default="entry", max_length=16)  # entry|exit|take_profit|stop_loss|...
    detail: str = Field(default="", max_length=2000)  # JSON: the trades a sell closes, grid level
    exchange_order_id: str | None = Field(default=None, max_length=64)
    filled: float = 0.0
    average: float | None = None
    cost: float = 0.0
    fee: float = 0.0
    fee_currency: str = Field(default="", max_length=16)
    error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Database-clock epoch ms: when the request went out; after `deadline_ms` an order still
    # not found at the exchange was never placed; `check_after_ms`: next look-up (backoff).
    sent_at_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    deadline_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    check_after_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    checks: int = 0


class Trade(SQLModel, table=True):
    """A position lot: opened by a filled entry, closed by a filled exit, with realised PnL."""

    # For the dashboard (migration 0006): a bot's newest trades, open lots, PnL sums.
    __table_args__ = (
        Index("ix_trade_bot_id_entry_ts", "bot_id", "entry_ts"),
        Index("ix_trade_status_entry_ts", "status", "entry_ts"),
        Index("ix_trade_pnl_cover", "bot_id", "status", "exit_ts", "pnl", "entry_fee", "exit_fee"),
    )

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int = Field(foreign_key="bot.id", index=True, ondelete="CASCADE")
    symbol: str = Field(max_length=32)
    status: str = Field(default="open", max_length=8, index=True)  # open | closed
    amount: float
    entry_ts: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    entry_price: float
    entry_fee: float = 0.0
    exit_ts: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    exit_price: float | None = None
    exit_fee: float = 0.0
    exit_reason: str = Field(default="", max_length=16)
    pnl: float | None = None  # realised, after both fees
    entry_order_id: int | None = Field(default=None, foreign_key="botorder.id")
    exit_order_id: int | None = Field(default=None, foreign_key="botorder.id")


class BotEvent(SQLModel, table=True):
    """A bot's event log: signals, orders, fills, errors and state changes; also the
    notification outbox (`notify`: not yet claimed for sending)."""

    __table_args__ = (Index("ix_botevent_notify_id", "notify", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int = Field(foreign_key="bot.id", index=True, ondelete="CASCADE")
    ts: datetime = Field(default_factory=utcnow)
    kind: str = Field(max_length=16)  # an EventKind
    message: str = Field(max_length=1000)
    data: str = Field(default="", max_length=4000)  # JSON details
    notify: bool = Field(default=False)


class WorkerHeartbeat(SQLModel, table=True):
    """One row per worker process, refreshed every few seconds."""

    worker_id: str = Field(primary_key=True, max_length=80)  # host:pid:start
    host: str = Field(max_length=64)
    pid: int
    started_at: datetime = Field(default_factory=utcnow)
    last_beat: datetime = Field(default_factory=utcnow, index=True)
    version: str = Field(max_length=32)
    mode: str = Field(default="external", max_length=12)  # embedded | external
    queue_depth: int | None = None


class NotificationSetting(SQLModel, table=True):
    """A user's notification targets (apprise URLs, encrypted: they hold tokens) and events."""

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    urls_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    url_count: int = 0
    events: str = Field(default="fill,bot_error,risk_pause,key_reentry", max_length=200)
    updated_at: datetime = Field(default_factory=utcnow)
