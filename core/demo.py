"""The demo: a trader (never an admin) with a paper account and a running paper bot on the
simulated market, so a newcomer sees trades without any key: the bot comes with a few hours of
history, traded by the real engine on the sim feed's past candles (`backfill`).

Two kinds: the shared demo trader of a development install (`ensure_demo`, its password on
the sign-in page), and, in the public demo (STEADYBOT_PUBLIC_DEMO), a private guest trader
for each visitor who asks (`start_guest`), deleted with its data after a day
(`expire_guests`, run by the worker and before each new guest)."""

from __future__ import annotations

import logging
import time

from core import bots, trading, users
from core.errors import AppError, Forbidden
from core.exchanges import market_feed, open_paper_account
from core.models import User
from core.platform.limits import GUEST_HOURS
from core.platform.runtime import Runtime

log = logging.getLogger(__name__)
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-trader-2026"  # shown on the login page; the demo holds play money only
BACKFILL_HOURS = 3  # the demo bot's history, traded by the real engine on past candles
GUEST_BACKFILL_HOURS = 2  # a guest's bot: enough for trades at once, quick to make
NOT_PUBLIC = "Guest traders exist only in the public demo (STEADYBOT_PUBLIC_DEMO)."
MIN_MS = 60_000


def ensure_demo(rt: Runtime) -> bool:
    """Create the demo once (idempotent, safe with several processes); True if created now."""
    if not rt.settings.demo_enabled:
        return False
    try:
        with rt.session() as session:
            if users.get_by_username(session, username=DEMO_USERNAME) is not None:
                return False
            user = users.create_user(
                session,
                username=DEMO_USERNAME,
                email="demo@steadybot.local",
                name="Demo trader",
                password=DEMO_PASSWORD,
                role="trader",
            )
            bot_id = _paper_bot(session, user, label="Demo paper")
    except AppError as exc:  # e.g. another process created it at the same moment
        log.info("demo not created: %s", exc.message)
        return False
    ticks = backfill(rt, bot_id=bot_id, hours=BACKFILL_HOURS)
    log.info(
        "demo trader %r created with a running paper bot (%d past candles)", DEMO_USERNAME, ticks
    )
    return True


def _paper_bot(session, user: User, *, label: str) -> int:
    """A paper account with 10,000 USDT on the sim feed and a running SMA 3/8 bot on it."""
    account = open_paper_account(
        session, owner_id=user.id, label=label, feed="sim", balances={"USDT": 10_000}
    )
    spec = bots.BotSpec(
        name="Demo SMA 3/8",
        account_id=account.id,
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="sma_cross",
        params={"fast": 3, "slow": 8},
        order_size=1_000.0,
        take_profit_pct=0.5,
        stop_loss_pct=0.5,
    )
    bot = bots.create_bot(
        session, owner=user, spec=spec, markets=lambda a: market_feed(a.exchange_id).load_markets()
    )
    bots.change_status(session, owner=user, bot_id=bot.id, action="start")
    return bot.id


def start_guest(rt: Runtime, *, address: str = "") -> tuple[User, str]:
    """A private guest trader for one visitor of the public demo: a paper account, a running
    paper bot with GUEST_BACKFILL_HOURS of history, and a sign-in session that ends when the
    guest expires (GUEST_HOURS). Returns the guest and its session token (for the cookie).
    Expired guests are deleted first. Refused (Forbidden) outside the public demo, when the
    demo is full or this address made too many guests (`core.users.create_guest`)."""
    if not rt.settings.public_demo:
        raise Forbidden(NOT_PUBLIC)
    expire_guests(rt)
    with rt.session() as session:
        user = users.create_guest(session, address=address)
        bot_id = _paper_bot(session, user, label="Guest paper")
        token = users.start_session(
            session,
            user=user,
            key=rt.settings.cookie_key.get_secret_value(),
            days=GUEST_HOURS / 24,
            address=address,
        )
    ticks = backfill(rt, bot_id=bot_id, hours=GUEST_BACKFILL_HOURS)
    log.info("guest trader %s created (%d past candles)", user.username, ticks)
    return user, token


def end_guest(rt: Runtime, *, user_id: int) -> bool:
    """A guest who logs out can never come back (it has no password): delete it now, with
    its data. Anyone else is left alone. True if a guest was deleted."""
    with rt.session() as session:
        user = session.get(User, user_id)
        if user is None or not user.is_guest:
            return False
        users.delete_with_data(session, user=user)
    log.info("guest trader %s logged out and was deleted with its data", user.username)
    return True


def expire_guests(rt: Runtime) -> int:
    """Delete the guests whose day is over, with everything they own."""
    with rt.session() as session:
        return users.expire_guests(session)


def backfill(rt: Runtime, *, bot_id: int, hours: float, now_ms: int | None = None) -> int:
    """Run the bot's ticks over the last `hours` of closed 1m candles, each with a clock just
    after its candle closed, as the worker would have (the sim feed is deterministic in time).
    A tick the worker already ran is skipped ("already done"). Returns the candles ticked."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    last = now - now % MIN_MS - 2 * MIN_MS
    first = last - int(hours * 60) * MIN_MS
    count = 0
    for ts in range(first, last + MIN_MS, MIN_MS):
        try:
            trading.run_bot_tick(
                rt, bot_id=bot_id, candle_ts=ts, clock=lambda t=ts: t + MIN_MS + 1000
            )
        except Exception:  # the demo's history is a nicety: never stop the app for it
            log.exception("demo backfill stopped at candle %s", ts)
            break
        count += 1
    return count
