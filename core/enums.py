"""The values the code branches on, as StrEnums: stored as the same strings (no migration) and
equal to them, so a row read back as a plain str matches its member.

No dependency: the trading rules (core.strategy.risk) and a CSV backtest use them without loading
the database stack; core.models re-exports them next to the tables.
"""

from __future__ import annotations

from enum import StrEnum


class BotStatus(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    PAUSED = "paused"
    ERROR = "error"
    ARCHIVED = "archived"


class AccountKind(StrEnum):
    LIVE = "live"
    PAPER = "paper"


class AccountStatus(StrEnum):
    OK = "ok"
    UNVERIFIED = "unverified"
    NEEDS_REENTRY = "needs_reentry"
    INVALID = "invalid"
    # Erased by its owner while bots or orders still referred to it: the row stays (their
    # history points at it) with every secret column NULL; no page lists it, nothing trades.
    DELETED = "deleted"


class OrderStatus(StrEnum):
    PENDING_SUBMIT = "pending_submit"  # committed before sending: the exactly-once anchor
    SENDING = "sending"  # committed by the lease holder just before the request goes out
    UNKNOWN = "unknown"  # sent, no answer: looked up again until its deadline passes
    OPEN = "open"
    CLOSED = "closed"
    CANCELED = "canceled"
    REJECTED = "rejected"
    NEVER_PLACED = "never_placed"  # the exchange confirmed it has no such client order id
    # Sent, outcome unknown, and its account deleted (key erased): never looked up again.
    ABANDONED = "abandoned"


class OrderPurpose(StrEnum):
    """Why an order was placed (core.strategy.risk decides; trades keep it as exit reason)."""

    ENTRY = "entry"  # buys
    SCHEDULED = "scheduled"
    SAFETY = "safety"
    GRID = "grid"
    SIGNAL = "signal"  # sells
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    TRAILING_STOP = "trailing_stop"
    EXIT_NOW = "exit_now"


class EventKind(StrEnum):
    """A bot event's kind. The last three notify their owner (core.notify.outbox)."""

    SIGNAL = "signal"
    ORDER = "order"
    FILL = "fill"
    ERROR = "error"
    STATE = "state"
    BOT_ERROR = "bot_error"  # the bot went to status error
    RISK_PAUSE = "risk_pause"  # paused by a risk limit (max drawdown)
    KEY_REENTRY = "key_reentry"  # paused: its account's API key must be entered again

    @property
    def notifies(self) -> bool:
        """Whether the owner may be told (BotEvent.notify is set when it is written)."""
        return self in (
            EventKind.FILL,
            EventKind.BOT_ERROR,
            EventKind.RISK_PAUSE,
            EventKind.KEY_REENTRY,
        )


class TickOutcome(StrEnum):
    """How a tick ended; the outcome text is "<outcome>: <detail>"."""

    OK = "ok"
    SKIPPED = "skipped"
    PAUSED = "paused"
    FAILED = "failed"
    ERROR = "error"

    def text(self, detail: str) -> str:
        return f"{self.value}: {detail}"

    @classmethod
    def of(cls, text: str) -> TickOutcome:
        return cls(text.partition(":")[0])

    @property
    def failed(self) -> bool:
        return self in (TickOutcome.FAILED, TickOutcome.ERROR)
