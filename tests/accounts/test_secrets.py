"""Secrets never reach the database in plaintext, the audit log, messages or the log files."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlmodel import select

from core.accounts import store as accounts
from core.errors import ExchangeAuthError, SecretUnreadable
from core.models import AuditLog, ExchangeAccount, User
from tests.accounts.test_onboarding import KEY, SECRET, StubExchange, add, catalogue  # noqa: F401
from tests.factories import make_user

PASSPHRASE = "passphrase-Quokka-7731"
SECRETS = (KEY, SECRET, PASSPHRASE)


class LeakyExchange(StubExchange):
    """An adapter bug: the error message quotes the key. Our messages must still not."""

    def fetch_balance(self):
        raise ExchangeAuthError(f"key {self.creds.api_key} / {self.creds.secret} rejected")


def _owner(rt) -> User:
    with rt.session() as s:
        return make_user(s, username="alice")


def _seed(rt) -> User:
    user = _owner(rt)
    add(rt, user)
    add(rt, user, label="okx", exchange_id="okx", extra={"password": PASSPHRASE})
    return user


def test_the_raw_database_files_never_hold_a_plaintext_secret(rt, data_dir):
    _seed(rt)
    files = [p for p in data_dir.iterdir() if p.name.startswith("steadybot.db")]
    assert any(p.name.endswith("-wal") for p in files)
    raw = b"".join(p.read_bytes() for p in files)
    for secret in SECRETS:
        assert secret.encode() not in raw


def test_the_table_bytes_never_hold_a_plaintext_secret(rt):
    _seed(rt)
    with rt.engine.connect() as conn:
        table = conn.execute(text("SELECT * FROM exchangeaccount")).all()
        log_rows = conn.execute(text("SELECT * FROM auditlog")).all()
    dump = repr(table) + repr(log_rows)
    for secret in SECRETS:
        assert secret not in dump


def test_an_exchange_message_quoting_the_key_is_masked_in_outcome_and_audit(rt):
    user = _owner(rt)
    outcome = add(rt, user, LeakyExchange())
    assert outcome.result == "refused"
    with rt.read() as s:
        details = " ".join(a.detail for a in s.exec(select(AuditLog)))
    for secret in (KEY, SECRET):
        assert secret not in outcome.message and secret not in details


def test_the_log_files_never_hold_a_secret_after_failures(rt, data_dir):
    user = _seed(rt)
    add(rt, user, LeakyExchange(), label="leaky")
    account_id = add(rt, user, label="broken").account.id
    with rt.session() as s:
        s.get(ExchangeAccount, account_id).secret_enc = b"corrupted"
    try:
        accounts.credentials_for_use(rt, owner=user, account_id=account_id)
    except SecretUnreadable:
        logging.getLogger("test").exception("credentials failed for %s", account_id)
    creds = accounts.credentials_for_use(rt, owner=user, account_id=account_id - 1)
    logging.getLogger("test").warning("debugging mistake: %s %s", creds.secret, creds.extra)
    for handler in logging.getLogger().handlers:
        handler.flush()
    logged = "".join(p.read_text() for p in (data_dir / "logs").glob("*.log"))
    assert f"exchange account {account_id}" in logged
    for secret in SECRETS:
        assert secret not in logged
