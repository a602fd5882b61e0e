"""Erasure: an exchange account can be deleted at any time, even with bots (archived or not) on
it. The encrypted key is gone from the database (read back with plain SQL from every table,
and from the SQLite file itself), the bots are stopped and keep their trades, orders and
events, and everything that shows or runs them copes with an account that is gone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from core import bots, views
from core.accounts import connect
from core.accounts import onboarding as account_checks
from core.accounts import store as accounts
from core.errors import Conflict, NotFound
from core.models import (
    AuditLog,
    Bot,
    BotEvent,
    BotOrder,
    ExchangeAccount,
    PaperBalance,
    PaperOrder,
    Trade,
)
from core.platform.runtime import start
from core.trading import tick as engine
from tests.accounts.test_onboarding import SECRET, StubExchange, add, catalogue  # noqa: F401
from tests.conftest import make_settings
from tests.factories import make_bot, make_paper_account, make_user

OKX_PASSWORD = "okx-passphrase-erase-0001"


@pytest.fixture
def alice(rt):
    with rt.session() as s:
        return make_user(s, username="alice")


def _bot(s, owner, account_id, name, status):
    bot = Bot(
        owner_id=owner.id,
        account_id=account_id,
        name=name,
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="sma_cross",
        status=status,
    )
    s.add(bot)
    s.flush()
    s.add(BotEvent(bot_id=bot.id, kind="state", message=f"{status}"))
    return bot


def _order(s, bot, status, seq):
    order = BotOrder(
        bot_id=bot.id,
        account_id=bot.account_id,
        client_order_id=f"sb-{bot.id}-{seq}",
        candle_ts=60_000 * seq,
        symbol="BTC/USDT",
        side="buy",
        amount=0.01,
        status=status,
        filled=0.01 if status == "closed" else 0.0,
    )
    s.add(order)
    s.flush()
    return order


def live_account_with_history(rt, owner) -> dict:
    """A live OKX account (key, secret and passphrase stored) with five bots in every status,
    orders in every stage, a trade and events."""
    outcome = add(rt, owner, exchange_id="okx", label="main", extra={"password": OKX_PASSWORD})
    assert outcome.result == "saved", outcome.message
    account_id = outcome.account.id
    with rt.session() as s:
        row = s.get(ExchangeAccount, account_id)
        tokens = [row.api_key_enc, row.secret_enc, row.extra_enc]
        made = {
            st: _bot(s, owner, account_id, st, st)
            for st in ("running", "paused", "error", "stopped", "archived")
        }
        filled = _order(s, made["stopped"], "closed", 1)
        pending = _order(s, made["running"], "pending_submit", 2)
        unknown = _order(s, made["paused"], "unknown", 3)
        s.add(
            Trade(
                bot_id=made["stopped"].id,
                symbol="BTC/USDT",
                amount=0.01,
                entry_ts=60_000,
                entry_price=50_000.0,
                entry_order_id=filled.id,
            )
        )
    assert all(tokens)
    ids = {k: v.id for k, v in made.items()}
    return {
        "account_id": account_id,
        "tokens": tokens,
        "bots": ids,
        "orders": {"filled": filled.id, "pending": pending.id, "unknown": unknown.id},
    }


def raw_rows(conn) -> list[tuple[str, str, object]]:
    """(table, column, value) of every value in every table, read with plain SQL."""
    found = []
    for table in inspect(conn).get_table_names():
        result = conn.execute(text(f'SELECT * FROM "{table}"'))
        columns = list(result.keys())
        for row in result:
            found += [(table, c, v) for c, v in zip(columns, row, strict=True) if v is not None]
    return found


def holds(value: object, token: bytes) -> bool:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return token in value or token[:40] in value
    return isinstance(value, str) and token[:40].decode("ascii", "replace") in value


def assert_erased(rt, tokens: list[bytes]) -> None:
    with rt.engine.connect() as conn:
        everything = raw_rows(conn)
    assert everything, "the scan read nothing"
    leaks = [(t, c) for t, c, v in everything for tok in tokens if holds(v, tok)]
    assert leaks == []


def test_deleting_an_account_bots_refer_to_erases_the_key_and_keeps_the_history(rt, alice):
    world = live_account_with_history(rt, alice)
    with rt.read() as s:
        before = {m.__name__: len(s.exec(select(m)).all()) for m in (Trade, BotOrder, BotEvent)}
    with rt.session() as s:
        done = accounts.delete_account(s, owner=alice, account_id=world["account_id"])
    assert done == {"bots_stopped": 3, "orders_settled": 2, "tombstone": 1}
    assert_erased(rt, world["tokens"])
    with rt.read() as s:
        row = s.get(ExchangeAccount, world["account_id"])
        status = {name: s.get(Bot, i).status for name, i in world["bots"].items()}
        reasons = {name: s.get(Bot, i).status_reason for name, i in world["bots"].items()}
        orders = {k: s.get(BotOrder, i) for k, i in world["orders"].items()}
        after = {m.__name__: len(s.exec(select(m)).all()) for m in (Trade, BotOrder, BotEvent)}
        audit = s.exec(select(AuditLog).where(AuditLog.action == "account.delete")).one()
    # The tombstone: no secret, no hint, the label freed; what the history needs stays.
    assert (row.api_key_enc, row.secret_enc, row.extra_enc) == (None, None, None)
    assert row.status == "deleted" and row.api_key_hint == "" and row.exchange_id == "okx"
    assert row.label == f"main (deleted #{row.id})"
    # Bots: the busy ones stopped, with the reason; stopped and archived ones as they were.
    assert status == {
        "running": "stopped",
        "paused": "stopped",
        "error": "stopped",
        "stopped": "stopped",
        "archived": "archived",
    }
    assert reasons["running"] == bots.ACCOUNT_DELETED_REASON
    # History: every trade and order kept; three events more (one per stopped bot).
    assert after["Trade"] == before["Trade"] and after["BotOrder"] == before["BotOrder"]
    assert after["BotEvent"] == before["BotEvent"] + 3
    assert orders["filled"].status == "closed"
    assert orders["pending"].status == "never_placed" and "deleted" in orders["pending"].error
    assert orders["unknown"].status == "abandoned" and "check it" in orders["unknown"].error
    assert "key erased" in audit.detail and SECRET not in audit.detail


def test_a_deleted_account_is_gone_for_its_owner_and_the_label_is_free(rt, alice):
    world = live_account_with_history(rt, alice)
    account_id = world["account_id"]
    with rt.session() as s:
        accounts.delete_account(s, owner=alice, account_id=account_id)
    with rt.read() as s:
        assert accounts.list_accounts(s, owner=alice) == []
    assert accounts.list_accounts_checked(rt, owner=alice) == []  # not flagged for re-entry
    with rt.session() as s, pytest.raises(NotFound):
        accounts.delete_account(s, owner=alice, account_id=account_id)
    with pytest.raises(NotFound):
        accounts.credentials_for_use(rt, owner=alice, account_id=account_id)
    with pytest.raises(NotFound):
        account_checks.reenter_key(
            rt,
            owner=alice,
            account_id=account_id,
            api_key="k" * 20,
            secret="s" * 20,
            connect=StubExchange(),
        )
    with pytest.raises(NotFound):
        connect.account_exchange(rt, account_id=account_id)
    assert account_checks.recheck_unverified(rt, connect=StubExchange()) == {}
    assert add(rt, alice, label="main").result == "saved"  # the label can be used again


def test_its_bots_cannot_start_but_can_move_to_another_account(rt, alice):
    with rt.session() as s:
        old = make_paper_account(s, owner=alice, label="old")
        new = make_paper_account(s, owner=alice, label="new")
        bot = make_bot(s, owner=alice, account_id=old.id, params={"fast": 3, "slow": 8}, start=True)
    with rt.session() as s:
        accounts.delete_account(s, owner=alice, account_id=old.id)
    with rt.session() as s, pytest.raises(Conflict, match="was deleted"):
        bots.change_status(s, owner=alice, bot_id=bot.id, action="start")
    spec = bots.BotSpec(**bots.spec_values(bot) | {"account_id": old.id})
    with rt.session() as s, pytest.raises(NotFound):
        bots.create_bot(s, owner=alice, spec=spec, markets=engine.market_lookup(rt))
    spec.account_id = new.id
    with rt.session() as s:
        bots.update_bot(s, owner=alice, bot_id=bot.id, spec=spec, markets=engine.market_lookup(rt))
        bots.change_status(s, owner=alice, bot_id=bot.id, action="start")
    with rt.read() as s:
        assert s.get(Bot, bot.id).status == "running"
        assert s.exec(select(PaperBalance).where(PaperBalance.account_id == old.id)).all() == []


def test_the_pages_views_render_a_bot_whose_account_was_deleted(rt, alice):
    with rt.session() as s:
        paper = make_paper_account(s, owner=alice, label="p")
        bot = make_bot(
            s, owner=alice, account_id=paper.id, params={"fast": 3, "slow": 8}, start=True
        )
    for i in range(12):  # a few real ticks: trades, orders and events to show
        engine.run_bot_tick(
            rt,
            bot_id=bot.id,
            candle_ts=1_767_225_600_000 + i * 60_000,
            clock=lambda i=i: 1_767_225_600_000 + (i + 1) * 60_000 + 1_000,
        )
    with rt.session() as s:
        accounts.delete_account(s, owner=alice, account_id=paper.id)
    with rt.read() as s:
        cards = views.bot_cards(s, owner=alice)
    assert [c["bot"].status for c in cards] == ["stopped"]
    chart = views.chart_data(rt, owner=alice, bot_id=bot.id)
    assert len(chart["candles"]) > 0
    assert engine.reconcile_all(rt) == 0  # nothing left to look up on an erased account


def test_an_account_nothing_refers_to_is_removed_with_its_paper_book(rt, alice):
    with rt.session() as s:
        paper = make_paper_account(s, owner=alice, label="p")
        s.add(
            PaperOrder(
                account_id=paper.id,
                client_order_id="x-1",
                symbol="BTC/USDT",
                side="buy",
                type="limit",
                amount=1.0,
                price=1.0,
                status="open",
                created_ms=1,
                updated_ms=1,
            )
        )
    with rt.session() as s:
        done = accounts.delete_account(s, owner=alice, account_id=paper.id)
    assert done["tombstone"] == 0
    with rt.read() as s:
        for model in (ExchangeAccount, PaperBalance, PaperOrder):
            assert s.exec(select(model)).all() == []


def test_another_users_account_cannot_be_deleted(rt, alice):
    with rt.session() as s:
        bob = make_user(s, username="bob")
    account_id = add(rt, alice).account.id
    with rt.session() as s, pytest.raises(NotFound):
        accounts.delete_account(s, owner=bob, account_id=account_id)
    with rt.read() as s:
        assert s.get(ExchangeAccount, account_id).secret_enc is not None


def test_the_sqlite_file_no_longer_holds_the_ciphertext(rt, alice):
    """secure_delete: the overwritten cells are zeroed, so once the WAL is checkpointed the
    bytes of the file hold the ciphertext nowhere (not even in free space)."""
    world = live_account_with_history(rt, alice)
    path = Path(rt.engine.url.database)
    with rt.session() as s:
        accounts.delete_account(s, owner=alice, account_id=world["account_id"])
    rt.engine.dispose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    data = path.read_bytes() + Path(f"{path}-wal").read_bytes()
    for token in world["tokens"]:
        assert token[:40] not in data
    with sqlite3.connect(path) as conn:  # plain SQL, no ORM: nothing in any table either
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    assert not any(holds(value, t) for t in world["tokens"]), table


def test_erasure_on_postgresql(pg_url, data_dir):
    rt = start("test", settings=make_settings(data_dir, database_url=pg_url))
    try:
        with rt.session() as s:
            alice = make_user(s, username="alice")
        world = live_account_with_history(rt, alice)
        with rt.session() as s:
            accounts.delete_account(s, owner=alice, account_id=world["account_id"])
        assert_erased(rt, world["tokens"])
    finally:
        rt.engine.dispose()
