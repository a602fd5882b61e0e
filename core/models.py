"""SQLModel tables. Times are timezone-aware UTC datetimes; candle/order times are epoch ms."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(SQLModel, table=True):
    """A person who signs in; lockout state lives here so it holds across processes."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=32, unique=True, index=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=100)
    password_hash: str = Field(max_length=100)
    role: str = Field(default="trader", max_length=16)  # admin | trader
    is_active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    password_changed_at: datetime = Field(default_factory=utcnow)


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
