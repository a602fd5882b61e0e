"""The key vault: Fernet encryption of stored secrets under the configured master keys.

Master keys come from `Settings.master_key_list()` (first is primary) and never touch the
database. `MultiFernet` decrypts with any configured key and encrypts with the primary, so a new
key can be put first and `rotate_all` (the `rotate-master-key` command) moves every stored
secret to it, one row per UPDATE, committing every batch: interrupting it loses nothing and
running it again finishes the job.

A token that decrypts under no key raises `SecretUnreadable` naming no secret; every decrypted
value is registered with the log redaction filter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Engine, select, update

from core.errors import ConfigError, SecretUnreadable
from core.models import AccountStatus, ExchangeAccount, NotificationSetting
from core.platform import audit, db
from core.platform.config import Settings
from core.platform.logs import register_secret

log = logging.getLogger(__name__)
UNREADABLE_REASON = "The stored API key no longer decrypts (master key changed or data damaged)."
# (model, primary key column, encrypted columns): every place a secret is stored.
ENCRYPTED = (
    (ExchangeAccount, "id", ("api_key_enc", "secret_enc", "extra_enc")),
    (NotificationSetting, "user_id", ("urls_enc",)),
)


class Vault:
    """Encrypts with the primary master key, decrypts with any of them."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigError("STEADYBOT_MASTER_KEYS is not set: no key to encrypt secrets with.")
        fernets = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                raise ConfigError(
                    f"STEADYBOT_MASTER_KEYS: key number {number} is not a valid Fernet key "
                    "(32 url-safe base64-encoded bytes)."
                ) from None
        self._primary = fernets[0]
        self._multi = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        return cls(settings.master_key_list())

    def encrypt(self, plaintext: str) -> bytes:
        return self._multi.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        """The plaintext, or `SecretUnreadable` (never with the token or plaintext in it)."""
        try:
            value = self._multi.decrypt(bytes(token)).decode("utf-8")
        except (InvalidToken, TypeError, UnicodeDecodeError):
            raise SecretUnreadable() from None
        register_secret(value)
        return value

    def is_primary(self, token: bytes) -> bool:
        """Whether `token` is already encrypted under the primary key."""
        try:
            self._primary.decrypt(bytes(token))
        except (InvalidToken, TypeError):
            return False
        return True

    def rotate(self, token: bytes) -> bytes:
        """`token` re-encrypted under the primary key, or `SecretUnreadable`."""
        try:
            return self._multi.rotate(bytes(token))
        except (InvalidToken, TypeError):
            raise SecretUnreadable() from None


@dataclass
class RotationReport:
    rotated: int = 0  # rows re-encrypted under the primary key by this run
    current: int = 0  # rows already under the primary key
    unreadable: list[str] = field(default_factory=list)  # "exchangeaccount 7", never secrets


def rotate_all(
    engine: Engine,
    vault: Vault,
    *,
    batch_size: int = 50,
    after_batch: Callable[[RotationReport], None] | None = None,
) -> RotationReport:
    """Re-encrypt every stored secret under the primary key; see the module docstring.

    Unreadable exchange accounts are marked needs re-entry; other unreadable rows are reported.
    `after_batch` runs after each committed batch (progress, or an interruption in tests).
    """
    report = RotationReport()
    for model, pk_name, columns in ENCRYPTED:
        pk = getattr(model, pk_name)
        last = None
        while True:
            with db.session_scope(engine) as session:
                query = select(pk, *(getattr(model, c) for c in columns)).order_by(pk)
                if last is not None:
                    query = query.where(pk > last)
                rows = session.execute(query.limit(batch_size)).all()
                for row in rows:
                    _rotate_row(session, model, pk, columns, row, vault, report)
            if not rows:
                break
            last = rows[-1][0]
            if after_batch is not None:
                after_batch(report)
    with db.session_scope(engine) as session:
        audit.record(
            session,
            actor=None,
            action="vault.rotate",
            detail=f"rotated {report.rotated}, already current {report.current}, "
            f"unreadable {len(report.unreadable)}",
        )
    log.info(
        "master key rotation: %d rotated, %d already current, %d unreadable",
        report.rotated,
        report.current,
        len(report.unreadable),
    )
    return report


def _rotate_row(session, model, pk, columns, row, vault: Vault, report: RotationReport) -> None:
    row_id, tokens = row[0], dict(zip(columns, row[1:], strict=True))
    present = {name: token for name, token in tokens.items() if token is not None}
    if not present or all(vault.is_primary(token) for token in present.values()):
        report.current += bool(present)
        return
    try:
        values = {name: vault.rotate(token) for name, token in present.items()}
    except SecretUnreadable:
        report.unreadable.append(f"{model.__tablename__} {row_id}")
        table = model.__tablename__
        log.warning("%s %s: a stored secret decrypts under no master key", table, row_id)
        if model is ExchangeAccount:
            values = {"status": AccountStatus.NEEDS_REENTRY, "status_reason": UNREADABLE_REASON}
        else:
            return
    else:
        report.rotated += 1
    session.execute(update(model).where(pk == row_id).values(**values))
