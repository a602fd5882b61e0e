"""Notifications from bot events, sent by the worker task after the ticks: fills, a live bot
that fails its ticks going to error, only what each owner chose, never twice, never raising."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from core import accounts, bots
from core.accounts import onboarding as account_checks
from core.models import Bot, BotEvent, BotOrder, EventKind, ExchangeAccount
from core.notify import channels as notify
from core.notify.outbox import claim, dispatch, event_kind
from core.notify.policy import Policy
from core.platform.runtime import start
from core.platform.vault import Vault
from core.trading import tick as engine
from tests.conftest import make_settings
from tests.factories import make_bot, make_paper_account, make_user
from tests.fakes.exchange import FakeExchange
from tests.fakes.receiver import json_receiver
from tests.notify.conftest import LOCAL_RECEIVERS
from worker.service import build_service

MIN = 60_000
KEY, SECRET = "outbox-test-key-00000000001", "outbox-test-secret-000000001"


def _user(rt, name):
    with rt.session() as s:
        return make_user(s, username=name)


def _paper(rt, owner):
    with rt.session() as s:
        return make_paper_account(s, owner=owner, label="p")


def _bot(rt, owner, account_id, name, symbol="ETH/USDT"):
    with rt.session() as s:
        return make_bot(
            s,
            owner=owner,
            account_id=account_id,
            name=name,
            symbol=symbol,
            strategy="dca",  # buys at once, sells 0.1 % up: fills on most candles
            params={"dip_pct": 0, "take_profit_pct": 0.1},
            order_size=50.0,
            start=True,
            markets=engine.market_lookup(rt),  # a live account too
        )


def _subscribe(rt, user, url, events):
    with rt.session() as s:
        notify.save_settings(
            s,
            user=user,
            urls_text=url,
            events=events,
            cipher=Vault.from_settings(rt.settings),
            policy=Policy.from_settings(rt.settings),
        )


def _tick(rt, bot, candle_ts):
    return engine.run_bot_tick(
        rt, bot_id=bot.id, candle_ts=candle_ts, clock=lambda: candle_ts + MIN + 1_000
    )


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (EventKind.FILL, "fill"),
        (EventKind.BOT_ERROR, "bot_error"),
        (EventKind.RISK_PAUSE, "risk_pause"),
        (EventKind.KEY_REENTRY, "key_reentry"),
        (EventKind.STATE, None),  # started, paused by user, settings changed ...
        (EventKind.ORDER, None),
        (EventKind.SIGNAL, None),
        (EventKind.ERROR, None),  # a failed tick; only the bot going to error notifies
    ],
)
def test_which_events_notify(kind, expected):
    assert event_kind(kind) == expected


def test_a_message_that_looks_like_an_error_does_not_notify(rt):
    """The kind decides, never the text: a settings change named "error..." stays quiet."""
    alice = _user(rt, "alice")
    bot = _bot(rt, alice, _paper(rt, alice).id, "b1")
    with rt.session() as s:
        claim(s)  # nothing before this point
        bots.add_event(s, bot=s.get(Bot, bot.id), kind=EventKind.STATE, message="error: no")
    with rt.session() as s:
        assert claim(s) == []


def test_a_key_found_unreadable_on_the_accounts_page_pauses_and_notifies_like_a_tick(data_dir):
    """The accounts page (list_accounts_checked) and a tick find an unreadable key on two
    paths; both pause the bot with the same KEY_REENTRY event, and the owner is told."""
    fake = FakeExchange()
    fake.start()
    try:
        fake.add_key(KEY, SECRET, balances={"USDT": 10_000.0, "ETH": 0.0})
        rt = start(
            "test",
            settings=make_settings(
                data_dir, exchange_api_url=fake.url, notify_allow_hosts=LOCAL_RECEIVERS
            ),
        )
        alice = _user(rt, "alice")
        outcome = account_checks.add_live_account(
            rt, owner=alice, exchange_id="binance", label="fake", api_key=KEY, secret=SECRET
        )
        bot = _bot(rt, alice, outcome.account.id, "live-1")
        with rt.session() as s:
            claim(s)  # the set-up events are not what this test is about
            row = s.get(ExchangeAccount, outcome.account.id)
            row.secret_enc = b"gAAAAA-not-a-fernet-token"  # as after losing the master key
            s.add(row)
        infos = accounts.list_accounts_checked(rt, owner=alice)
        assert [i.status for i in infos] == ["needs_reentry"]
        with rt.session() as s:
            paused = s.get(Bot, bot.id)
            kinds = [e.kind for e in s.exec(select(BotEvent).where(BotEvent.bot_id == bot.id))]
            pending = claim(s)
        assert paused.status == "paused"
        assert paused.status_reason == bots.KEY_REENTRY_REASON
        assert kinds.count(EventKind.KEY_REENTRY) == 1
        assert [(p.user_id, p.event) for p in pending] == [(alice.id, "key_reentry")]
        assert KEY not in pending[0].body and SECRET not in pending[0].body
    finally:
        fake.stop()


def test_fills_reach_the_owner_once_and_only_what_they_chose(rt):
    alice, bob = _user(rt, "alice"), _user(rt, "bob")
    a_acc, b_acc = _paper(rt, alice), _paper(rt, bob)
    a_bot, b_bot = _bot(rt, alice, a_acc.id, "a1"), _bot(rt, bob, b_acc.id, "b1")
    vault = Vault.from_settings(rt.settings)
    with json_receiver() as (a_url, a_got), json_receiver() as (b_url, b_got):
        _subscribe(rt, alice, a_url, ["fill"])
        _subscribe(rt, bob, b_url, ["bot_error"])  # bob does not want fills
        assert dispatch(rt, vault)["claimed"] == 0  # nothing has happened yet
        start_ts = 1_767_225_600_000
        for i in range(6):
            _tick(rt, a_bot, start_ts + i * MIN)
            _tick(rt, b_bot, start_ts + i * MIN)
        first = dispatch(rt, vault)
        again = dispatch(rt, vault)
    with rt.read() as s:
        fills = s.exec(
            select(BotEvent).where(BotEvent.bot_id == a_bot.id, BotEvent.kind == "fill")
        ).all()
    assert fills, "the DCA bot should have filled orders"
    assert len(a_got) == len(fills) == first["sent"]
    assert all("a1" in body["title"] and "filled" in body["title"] for body in a_got)
    assert sorted(body["message"] for body in a_got) == sorted(e.message for e in fills)
    assert b_got == []
    assert again == {"claimed": 0, "sent": 0, "failed": 0}


def test_an_unreachable_target_is_counted_not_raised_and_not_retried(rt):
    alice = _user(rt, "alice")
    bot = _bot(rt, alice, _paper(rt, alice).id, "a1")
    _subscribe(rt, alice, "json://127.0.0.1:9/nobody-listens", ["fill"])
    vault = Vault.from_settings(rt.settings)
    dispatch(rt, vault)
    for i in range(4):
        _tick(rt, bot, 1_767_225_600_000 + i * MIN)
    result = dispatch(rt, vault)
    assert result["failed"] > 0 and result["sent"] == 0
    assert dispatch(rt, vault)["claimed"] == 0  # at most once: the cursor moved on


def test_two_claimers_never_get_the_same_events(rt):
    alice = _user(rt, "alice")
    with rt.session() as s:
        acc = make_paper_account(s, owner=alice, label="p")
        claim(s)  # nothing before this point
    bot = _bot(rt, alice, acc.id, "a1")
    for i in range(6):
        _tick(rt, bot, 1_767_225_600_000 + i * MIN)
    with rt.session() as s:
        first = claim(s, limit=3)
    with rt.session() as s:
        rest = claim(s)
    with rt.read() as s:
        fills = s.exec(select(BotEvent).where(BotEvent.kind == "fill")).all()
    assert len(first) + len(rest) == len(fills) > 0


# ~12 s: MAX_FAILURES ticks, each retrying 5xx answers with back-off
@pytest.mark.slow
def test_a_live_bot_failing_its_ticks_goes_to_error_and_its_owner_is_told(data_dir):
    """Live mode end to end: a stored key, the real ccxt.binance client, the fake exchange.
    One good tick places a real order; then the exchange answers 5xx: after MAX_FAILURES
    ticks in a row the bot is in error with the reason, a paper bot of the same user keeps
    trading, and the worker's notification task tells the owner."""
    fake = FakeExchange()
    fake.start()
    try:
        fake.add_key(KEY, SECRET, balances={"USDT": 10_000.0, "ETH": 0.0})
        rt = start(
            "test",
            settings=make_settings(
                data_dir,
                exchange_api_url=fake.url,
                exchange_timeout_ms=1500,
                notify_allow_hosts=LOCAL_RECEIVERS,
            ),
        )
        alice = _user(rt, "alice")
        outcome = account_checks.add_live_account(
            rt, owner=alice, exchange_id="binance", label="fake", api_key=KEY, secret=SECRET
        )
        assert outcome.result == "saved", outcome.message
        paper = _paper(rt, alice)
        live_bot = _bot(rt, alice, outcome.account.id, "live")
        paper_bot = _bot(rt, alice, paper.id, "paper")
        app = build_service(rt, mode="off").app
        with json_receiver() as (url, got):
            _subscribe(rt, alice, url, ["bot_error"])
            app.send_notifications()  # starts the cursor
            now = int(time.time() * 1000)
            candle = now - now % MIN - 30 * MIN
            assert engine.run_bot_tick(rt, bot_id=live_bot.id, candle_ts=candle).startswith("ok")
            at_exchange = fake.orders(KEY)
            assert len(at_exchange) == 1
            fake.inject("5xx", count=10_000)
            outcomes = []
            for i in range(1, engine.MAX_FAILURES + 1):
                outcomes.append(
                    engine.run_bot_tick(rt, bot_id=live_bot.id, candle_ts=candle + i * MIN)
                )
                _tick(rt, paper_bot, candle + i * MIN)
            sent = app.send_notifications()
    finally:
        fake.stop()
    assert all(o.startswith("failed: exchange unavailable") for o in outcomes[:-1])
    assert outcomes[-1].startswith("error: exchange unavailable")
    with rt.read() as s:
        live, other = s.get(Bot, live_bot.id), s.get(Bot, paper_bot.id)
        recorded = s.exec(select(BotOrder).where(BotOrder.bot_id == live_bot.id)).all()
    assert live.status == "error" and "exchange unavailable" in live.status_reason
    assert other.status == "running"
    assert [o.client_order_id for o in recorded] == [at_exchange[0]["clientOrderId"]]
    assert sent["sent"] == 1 and len(got) == 1
    assert "live" in got[0]["title"] and "exchange unavailable" in got[0]["message"]
    assert SECRET not in str(got) and KEY not in str(got)


def test_a_burst_bigger_than_a_batch_is_sent_in_one_run(rt):
    alice = _user(rt, "alice")
    bot = _bot(rt, alice, _paper(rt, alice).id, "a1")
    vault = Vault.from_settings(rt.settings)
    with json_receiver() as (url, got):
        _subscribe(rt, alice, url, ["fill"])
        dispatch(rt, vault)
        for i in range(40):
            _tick(rt, bot, 1_767_225_600_000 + i * MIN)
        with rt.read() as s:
            fills = s.exec(select(BotEvent).where(BotEvent.kind == "fill")).all()
            others = s.exec(select(BotEvent).where(BotEvent.kind != "fill")).all()
        result = dispatch(rt, vault, limit=1)
    assert len(fills) >= 3 and others  # signals, orders and state changes are skipped
    assert result["claimed"] == result["sent"] == len(got) == len(fills)
    assert dispatch(rt, vault, limit=1)["claimed"] == 0


def test_an_event_committed_after_a_newer_one_is_still_sent_on_postgresql(pg_rt):
    """PostgreSQL hands out ids before commit: a fill committed after a newer event was
    claimed must still be sent (a max-id cursor skipped it). And two claimers never share."""
    rt = pg_rt
    alice = _user(rt, "alice")
    bot = _bot(rt, alice, _paper(rt, alice).id, "a1")
    with rt.session() as s:
        claim(s)
    with rt.session() as slow:
        bots.add_event(slow, bot=slow.get(Bot, bot.id), kind=EventKind.FILL, message="early id")
        slow.flush()  # its id is taken, the transaction still open
        with rt.session() as fast:
            bots.add_event(fast, bot=fast.get(Bot, bot.id), kind=EventKind.FILL, message="late id")
        with rt.session() as s:
            first = claim(s)
    with rt.session() as s:
        second = claim(s)
    with rt.session() as s:
        third = claim(s)
    assert [p.body for p in first] == ["late id"]
    assert [p.body for p in second] == ["early id"]
    assert third == []


def test_the_worker_refuses_an_internal_target_unless_an_admin_allowed_it(data_dir):
    """The worker checks each URL again at send time with the admin's allow-list: the same
    stored URL to 127.0.0.1 is refused without it (nothing reaches the receiver) and sent
    with it."""
    with json_receiver() as (url, got):
        strict = start("test", settings=make_settings(data_dir))
        alice = _user(strict, "alice")
        bot = _bot(strict, alice, _paper(strict, alice).id, "a1")
        with strict.session() as s:  # stored as an admin-allowed URL would have been
            notify.save_settings(
                s,
                user=alice,
                urls_text=url,
                events=["fill"],
                cipher=Vault.from_settings(strict.settings),
                policy=Policy(allow_hosts=frozenset(LOCAL_RECEIVERS)),
            )
        dispatch(strict, Vault.from_settings(strict.settings))
        for i in range(4):
            _tick(strict, bot, 1_767_225_600_000 + i * MIN)
        refused = dispatch(strict, Vault.from_settings(strict.settings))
        assert refused["failed"] > 0 and refused["sent"] == 0 and got == []
        allowed = start(
            "test", settings=make_settings(data_dir, notify_allow_hosts=LOCAL_RECEIVERS)
        )
        for i in range(4, 40):
            _tick(allowed, bot, 1_767_225_600_000 + i * MIN)
        sent = dispatch(allowed, Vault.from_settings(allowed.settings))
    assert sent["sent"] > 0 and len(got) == sent["sent"]
