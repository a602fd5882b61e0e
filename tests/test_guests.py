"""The public demo (STEADYBOT_PUBLIC_DEMO): private guest traders, isolated, capped, deleted with
their data after a day; no visitor becomes admin; only an admin stores a live key."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import func
from sqlmodel import select

from core import accounts, bots, demo, notify, trading, users
from core.backtest import MAX_RUNS, SweepAxis, sweep_grid, sweep_limit
from core.errors import ConfigError, Forbidden, NotFound
from core.models import (
    AuditLog,
    Bot,
    BotEvent,
    BotOrder,
    ExchangeAccount,
    PaperBalance,
    Tick,
    Trade,
    User,
    UserSession,
    utcnow,
)
from core.platform import limits
from core.platform.config import load_settings
from core.platform.runtime import Runtime, start
from core.platform.vault import Vault
from core.users import guests
from tests.conftest import TEST_COOKIE_KEY, TEST_MASTER_KEY, make_settings
from tests.factories import GOOD_PASSWORD, make_bot, make_user

KEY = TEST_COOKIE_KEY
OWNED = (ExchangeAccount, PaperBalance, Bot, BotEvent, BotOrder, Trade, Tick, UserSession)


@pytest.fixture
def demo_rt(data_dir) -> Runtime:
    rt = start("test", settings=make_settings(data_dir, public_demo=True))
    yield rt
    rt.engine.dispose()


def owned_rows(rt: Runtime, user_id: int) -> dict[str, int]:
    """How many rows of each kind belong to `user_id` (through its accounts and bots)."""
    with rt.read() as s:
        bot_ids = [b.id for b in s.exec(select(Bot).where(Bot.owner_id == user_id))]
        acc_ids = [
            a.id for a in s.exec(select(ExchangeAccount).where(ExchangeAccount.owner_id == user_id))
        ]
        counts = {}
        for table in OWNED:
            query = select(func.count()).select_from(table)
            if table in (ExchangeAccount, Bot):
                query = query.where(table.owner_id == user_id)
            elif table is PaperBalance:
                query = query.where(PaperBalance.account_id.in_(acc_ids or [-1]))
            elif table is UserSession:
                query = query.where(UserSession.user_id == user_id)
            else:
                query = query.where(table.bot_id.in_(bot_ids or [-1]))
            counts[table.__name__] = s.exec(query).one()
        counts["User"] = s.exec(
            select(func.count()).select_from(User).where(User.id == user_id)
        ).one()
    return counts


def test_guests_exist_only_in_the_public_demo(rt):
    with pytest.raises(Forbidden, match="only in the public demo"):
        demo.start_guest(rt, address="203.0.113.5")
    with rt.read() as s:
        assert s.exec(select(func.count()).select_from(User)).one() == 0


def test_a_guest_gets_a_trading_paper_bot_with_history_and_a_session(demo_rt):
    guest, token = demo.start_guest(demo_rt, address="203.0.113.5")
    assert guest.is_guest and guest.role == "trader"
    assert guest.username.startswith("guest-")
    left = guest.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
    assert timedelta(hours=limits.GUEST_HOURS - 0.1) < left <= timedelta(hours=limits.GUEST_HOURS)
    with demo_rt.read() as s:
        assert users.session_user(s, token=token, key=KEY).id == guest.id
        (bot,) = bots.list_bots(s, owner=guest)
        (acc,) = accounts.list_accounts(s, owner=guest)
        trades = s.exec(select(Trade).where(Trade.bot_id == bot.id)).all()
        session_row = s.exec(select(UserSession).where(UserSession.user_id == guest.id)).one()
    assert bot.status == "running" and acc.kind == "paper"
    assert any(t.status == "closed" for t in trades), "a visitor sees trades at once"
    # The session ends when the guest does, not after the usual cookie days.
    assert (
        abs(
            (
                session_row.expires_at.replace(tzinfo=None) - guest.expires_at.replace(tzinfo=None)
            ).total_seconds()
        )
        < 5
    )


def test_two_guests_see_only_their_own_things(demo_rt):
    a, _ = demo.start_guest(demo_rt, address="203.0.113.5")
    b, _ = demo.start_guest(demo_rt, address="198.51.100.7")
    with demo_rt.read() as s:
        (bot_a,) = bots.list_bots(s, owner=a)
        (bot_b,) = bots.list_bots(s, owner=b)
        (acc_a,) = accounts.list_accounts(s, owner=a)
        assert bot_a.id != bot_b.id
        with pytest.raises(NotFound):
            bots.get_bot(s, owner=b, bot_id=bot_a.id)
        assert [x.id for x in accounts.list_accounts(s, owner=b)] != [acc_a.id]
    with demo_rt.session() as s, pytest.raises(NotFound):
        bots.change_status(s, owner=b, bot_id=bot_a.id, action="stop")
    with demo_rt.read() as s:
        assert s.get(Bot, bot_a.id).status == "running"


def test_guests_are_capped_and_a_refusal_writes_nothing(demo_rt):
    guest, _ = demo.start_guest(demo_rt, address="203.0.113.5")
    with demo_rt.read() as s:
        (acc,) = accounts.list_accounts(s, owner=guest)
    with demo_rt.session() as s:
        for i in range(limits.GUEST_BOTS - 1):
            make_bot(s, owner=guest, account_id=acc.id, name=f"extra {i}")
    before = owned_rows(demo_rt, guest.id)
    with (
        demo_rt.session() as s,
        pytest.raises(Forbidden, match=f"can make {limits.GUEST_BOTS} bots"),
    ):
        make_bot(s, owner=guest, account_id=acc.id, name="one too many")
    with demo_rt.session() as s:
        accounts.add_paper_account(s, owner=guest, label="second", balances={"USDT": 5})
    with demo_rt.session() as s, pytest.raises(Forbidden, match="paper accounts"):
        accounts.add_paper_account(s, owner=guest, label="third", balances={"USDT": 5})
    after = owned_rows(demo_rt, guest.id)
    assert after["Bot"] == before["Bot"] == limits.GUEST_BOTS
    assert after["ExchangeAccount"] == limits.GUEST_PAPER_ACCOUNTS
    # A sweep: 50 backtests for a guest, 400 for everyone else.
    assert sweep_limit(guest) == limits.GUEST_SWEEP_RUNS < MAX_RUNS
    axes = [SweepAxis("fast", 2, 9, 1), SweepAxis("slow", 10, 19, 1)]  # 8 x 10 = 80
    assert len(sweep_grid("sma_cross", axes)) == 80
    with pytest.raises(Exception, match="at most 50"):
        sweep_grid("sma_cross", axes, max_runs=sweep_limit(guest))


class NoNetwork:
    """A connector that fails the test if a key check ever reaches an exchange."""

    def __call__(self, *args, **kwargs):
        raise AssertionError("the key was sent to an exchange before the refusal")


def test_only_an_admin_adds_a_live_key_in_the_public_demo(demo_rt):
    guest, _ = demo.start_guest(demo_rt, address="203.0.113.5")
    with demo_rt.session() as s:
        trader = make_user(s, username="bob")
        admin = make_user(s, username="root", role="admin")
    values = {"exchange_id": "binance", "label": "main", "api_key": "k" * 20, "secret": "s" * 20}
    for who in (guest, trader):
        assert not accounts.live_keys_allowed(demo_rt.settings, who)
        with pytest.raises(Forbidden, match="only its administrator"):
            accounts.add_live_account(demo_rt, owner=who, connect=NoNetwork(), **values)
    assert accounts.live_keys_allowed(demo_rt.settings, admin)
    with demo_rt.read() as s:
        assert (
            s.exec(
                select(func.count())
                .select_from(ExchangeAccount)
                .where(ExchangeAccount.kind == "live")
            ).one()
            == 0
        )


def test_outside_the_demo_traders_add_live_keys_but_a_guest_never(rt):
    with rt.session() as s:
        trader = make_user(s, username="bob")
    assert accounts.live_keys_allowed(rt.settings, trader)
    trader.expires_at = utcnow() + timedelta(hours=1)  # a guest row, e.g. left from a demo
    assert not accounts.live_keys_allowed(rt.settings, trader)


def test_a_guest_sends_no_notifications(demo_rt):
    guest, _ = demo.start_guest(demo_rt, address="203.0.113.5")
    with demo_rt.session() as s, pytest.raises(Forbidden, match="cannot send notifications"):
        notify.save_settings(
            s,
            user=users.get_user(s, user_id=guest.id),
            urls_text="ntfy://ntfy.sh/topic",
            events=[],
            cipher=Vault.from_settings(demo_rt.settings),
        )


def test_an_expired_guest_is_signed_out_then_deleted_with_all_its_data(demo_rt):
    old, old_token = demo.start_guest(demo_rt, address="203.0.113.5")
    young, young_token = demo.start_guest(demo_rt, address="198.51.100.7")
    with demo_rt.session() as s:  # the worker has queued ticks for both bots
        assert len(trading.schedule_due_ticks(s, now_ms=int(time.time() * 1000))) == 2
    with demo_rt.session() as s:  # the first guest's day is over
        s.get(User, old.id).expires_at = utcnow() - timedelta(seconds=1)
    before = owned_rows(demo_rt, old.id)
    assert before["Bot"] and before["Trade"] and before["BotOrder"] and before["Tick"]
    with demo_rt.read() as s:  # signed out at once, even before the clean-up runs
        assert users.session_user(s, token=old_token, key=KEY) is None
        assert users.session_user(s, token=young_token, key=KEY).id == young.id
    assert demo.expire_guests(demo_rt) == 1
    assert set(owned_rows(demo_rt, old.id).values()) == {0}
    left = owned_rows(demo_rt, young.id)
    assert left["User"] == 1 and left["Bot"] == 1 and left["Trade"] >= 1
    assert demo.expire_guests(demo_rt) == 0
    with demo_rt.read() as s:  # the audit trail keeps who it was
        assert s.exec(select(AuditLog).where(AuditLog.actor == old.username)).first()


def test_expired_guests_go_before_a_new_one_is_made(demo_rt, monkeypatch):
    monkeypatch.setattr(guests, "GUESTS_MAX", 1)
    first, _ = demo.start_guest(demo_rt, address="203.0.113.5")
    with pytest.raises(Forbidden, match="demo is full"):
        demo.start_guest(demo_rt, address="198.51.100.7")
    with demo_rt.session() as s:
        s.get(User, first.id).expires_at = utcnow() - timedelta(seconds=1)
    second, _ = demo.start_guest(demo_rt, address="198.51.100.7")
    with demo_rt.read() as s:
        assert users.get_by_username(s, username=first.username) is None
        assert users.guests_alive(s) == 1
        assert users.get_by_username(s, username=second.username).is_guest


def test_one_address_makes_a_few_guests_an_hour(demo_rt):
    with demo_rt.session() as s:
        for _ in range(limits.GUESTS_PER_ADDRESS_HOUR):
            guest = users.create_guest(s, address="203.0.113.5")
            users.delete_with_data(s, user=guest)  # logged out at once: still counted
    with demo_rt.session() as s, pytest.raises(Forbidden, match="Too many guest traders"):
        users.create_guest(s, address="203.0.113.5")
    with demo_rt.session() as s:  # another address, or one the server cannot see: not counted
        users.create_guest(s, address="198.51.100.7")
        users.create_guest(s, address="local")
    with demo_rt.session() as s:  # an hour later the address may again
        later = utcnow() + timedelta(hours=1, minutes=1)
        users.create_guest(s, address="203.0.113.5", now=later)


def test_no_visitor_becomes_admin_in_the_public_demo(demo_rt):
    rules = users.Registration.from_settings(demo_rt.settings)
    assert rules.public_demo and rules.setup_token and rules.mode == "closed"
    assert demo_rt.settings.demo_enabled is False  # no shared demo login to change or lock
    assert users.announce_setup_token(demo_rt) is None  # no token to find, none to guess
    with demo_rt.session() as s:
        assert not users.can_register(s, rules=rules)
        with pytest.raises(Forbidden):
            users.register(
                s, username="eve", email="e@x.io", name="", password=GOOD_PASSWORD, rules=rules
            )
    with demo_rt.session() as s, pytest.raises(Exception, match="setup token is wrong"):
        users.create_first_admin(
            s, token="", username="eve", email="e@x.io", name="", password=GOOD_PASSWORD
        )
    guest, _ = demo.start_guest(demo_rt, address="203.0.113.5")
    with demo_rt.session() as s:
        admin = make_user(s, username="root", role="admin")
    with demo_rt.session() as s, pytest.raises(Forbidden, match="cannot become an administrator"):
        users.set_role(s, admin=admin, user_id=guest.id, role="admin")
    with demo_rt.read() as s:
        assert [u.username for u in users.list_users(s) if u.role == "admin"] == ["root"]


def test_the_admin_comes_from_the_settings_once(data_dir):
    settings = make_settings(
        data_dir, public_demo=True, admin_username="Owner", admin_password=SecretStr(GOOD_PASSWORD)
    )
    rt = start("test", settings=settings)
    created = users.admin_from_settings(rt)
    assert created is not None and created.username == "owner" and created.role == "admin"
    assert users.admin_from_settings(rt) is None  # a restart leaves it as it is
    result = users.sign_in(rt, username="owner", password=GOOD_PASSWORD, address="203.0.113.9")
    assert result.ok and result.user.role == "admin"
    rt.engine.dispose()


def test_a_weak_admin_password_stops_start_up_without_quoting_it(data_dir):
    settings = make_settings(data_dir, admin_username="owner", admin_password=SecretStr("short1"))
    rt = start("test", settings=settings)
    with pytest.raises(ConfigError) as caught:
        users.admin_from_settings(rt)
    assert "short1" not in caught.value.message and "ADMIN_PASSWORD" in caught.value.message
    with rt.read() as s:
        assert not users.has_admin(s)
    rt.engine.dispose()


def test_public_demo_and_admin_come_from_secrets_toml(data_dir, monkeypatch):
    secrets = {
        "STEADYBOT_PUBLIC_DEMO": True,
        "STEADYBOT_DATA_DIR": str(data_dir),
        "STEADYBOT_COOKIE_KEY": TEST_COOKIE_KEY,
        "STEADYBOT_MASTER_KEYS": TEST_MASTER_KEY,
        "steadybot": {"admin_username": "owner", "admin_password": GOOD_PASSWORD},
    }
    settings = load_settings(secrets)
    assert settings.public_demo and settings.admin_from_settings == ("owner", GOOD_PASSWORD)
    assert GOOD_PASSWORD in settings.secret_values()  # masked in the logs
    with pytest.raises(ConfigError, match="Set both"):
        load_settings({**secrets, "steadybot": {"admin_username": "owner"}})


def test_expiry_deletes_everything_on_postgresql_too(pg_url, data_dir):
    rt = start("test", settings=make_settings(data_dir, database_url=pg_url, public_demo=True))
    try:
        guest, token = demo.start_guest(rt, address="203.0.113.5")
        with rt.session() as s:
            trading.schedule_due_ticks(s, now_ms=int(time.time() * 1000))
            s.get(User, guest.id).expires_at = utcnow() - timedelta(seconds=1)
        assert owned_rows(rt, guest.id)["Trade"] >= 1
        with rt.read() as s:
            assert users.session_user(s, token=token, key=KEY) is None
        assert demo.expire_guests(rt) == 1
        assert set(owned_rows(rt, guest.id).values()) == {0}
    finally:
        rt.engine.dispose()


def test_the_worker_deletes_expired_guests_every_quarter_hour(demo_rt):
    from worker.service import build_service

    guest, _ = demo.start_guest(demo_rt, address="203.0.113.5")
    service = build_service(demo_rt, mode="off")
    periodic = {t.name: t for t in service.huey._registry.periodic_tasks}
    task = periodic["steadybot.expire_guests"]
    assert task.validate_datetime(datetime(2026, 12, 5, 10, 15))
    assert not task.validate_datetime(datetime(2026, 12, 5, 10, 16))
    assert service.app.expire_guests() == 0  # not yet
    with demo_rt.session() as s:
        s.get(User, guest.id).expires_at = utcnow() - timedelta(seconds=1)
    assert service.app.expire_guests() == 1
    assert owned_rows(demo_rt, guest.id)["Bot"] == 0


def test_a_guest_trades_and_backtests_on_the_simulated_market_only(demo_rt):
    from core.backtest import BacktestSettings, check_settings, load_candles
    from core.backtest.service import GUEST_NO_DOWNLOAD

    guest, _ = demo.start_guest(demo_rt, address="203.0.113.5")
    with demo_rt.session() as s, pytest.raises(Forbidden, match="simulated market"):
        accounts.add_paper_account(
            s, owner=guest, label="binance prices", feed="binance", balances={"USDT": 5}
        )
    cached = BacktestSettings(
        strategy="sma_cross", source="cache", exchange="binance", symbol="BTC/USDT"
    )
    with pytest.raises(Forbidden) as refused:
        load_candles(demo_rt, cached, owner=guest, feed=NoNetwork())
    assert refused.value.message == GUEST_NO_DOWNLOAD
    sim = check_settings(
        BacktestSettings(
            strategy="sma_cross", symbol="BTC/USDT", timeframe="1h",
            start=date(2026, 10, 1), end=date(2026, 10, 31),
        )
    )  # fmt: skip
    assert len(load_candles(demo_rt, sim, owner=guest).candles) > 0
    with demo_rt.read() as s:
        assert [a.exchange_id for a in accounts.list_accounts(s, owner=guest)] == ["sim"]
