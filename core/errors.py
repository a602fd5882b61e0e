"""One root error, a shallow tree.

Every expected failure is an `AppError` whose message is safe to show to the user (it never
contains a secret). The class says what the caller does:

- `InvalidInput`, `NotFound`, `Forbidden`, `Conflict`: show the message, change nothing.
- `AuthFailed` and subclasses: show the message on the login form.
- `ConfigError`: stop start-up with the message (it names the variable to set).
- `SecretUnreadable`: mark the owning account "needs re-entry"; keep running.
- `ExchangeError` and subclasses: `retryable` says whether trying again later can help.
  Only `ExchangeTemporaryError` (and its `RateLimited`) are retried automatically.
"""

from __future__ import annotations


class AppError(Exception):
    """An expected failure with a message fit for the user."""

    retryable = False

    def __init__(self, message: str = "", **context: object) -> None:
        super().__init__(message or self.__class__.__doc__ or self.__class__.__name__)
        self.context = context

    @property
    def message(self) -> str:
        return str(self.args[0])


class InvalidInput(AppError):
    """The input was not accepted."""


class NotFound(AppError):
    """Not found."""


class Forbidden(AppError):
    """You are not allowed to do that."""


class Conflict(AppError):
    """That already exists."""


class ConfigError(AppError):
    """The configuration is incomplete."""


class AuthFailed(AppError):
    """Sign-in failed."""


class InvalidCredentials(AuthFailed):
    """Wrong username or password."""


class AccountLocked(AuthFailed):
    """This account is locked after too many failed sign-ins."""


class AccountDisabled(AuthFailed):
    """This account is disabled."""


class SecretUnreadable(AppError):
    """A stored secret no longer decrypts: it must be entered again."""


class ExchangeError(AppError):
    """The exchange returned an error."""


class ExchangeTemporaryError(ExchangeError):
    """The exchange is unreachable or busy; trying again later may help."""

    retryable = True


class RateLimited(ExchangeTemporaryError):
    """The exchange asked us to slow down."""

    def __init__(self, message: str = "", retry_after: float | None = None, **context: object):
        super().__init__(message, **context)
        self.retry_after = retry_after


class OrderStateUnknown(ExchangeTemporaryError):
    """The order may or may not have reached the exchange; reconciliation will tell."""


class ExchangeAuthError(ExchangeError):
    """The exchange refused the API key."""


class InsufficientFunds(ExchangeError):
    """Not enough balance for this order."""


class OrderRejected(ExchangeError):
    """The exchange rejected the order."""


class ExchangeNotSupported(ExchangeError):
    """The exchange does not support this."""
