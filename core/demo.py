"""The demo: a trader (never an admin) with a paper account and a running paper bot on the
simulated market, so a newcomer sees trades without any key: the bot comes with a few hours of
history, traded by the real engine on the sim feed's past candles (`backfill`)."""

from __future__ import annotations

import logging
import time

from core import bots, trading, users
from core.errors import AppError
from core.exchanges import market_feed, open_paper_account
from core.platform.runtime import Runtime

log = logging.getLogger(__name__)
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-trader-2026"  # shown on the login page; the demo holds play money only
BACKFILL_HOURS = 3  # the demo bot's history, traded by the real engine on past candles
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
            account = open_paper_account(
                session, owner_id=user.id, label="Demo paper", feed="sim", balances={"USDT": 10_000}
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
                session,
                owner=user,
                spec=spec,
                markets=lambda a: market_feed(a.exchange_id).load_markets(),
            )
            bots.change_status(session, owner=user, bot_id=bot.id, action="start")
            bot_id = bot.id
    except AppError as exc:  # e.g. another process created it at the same moment
        log.info("demo not created: %s", exc.message)
        return False
    ticks = backfill(rt, bot_id=bot_id, hours=BACKFILL_HOURS)
    log.info(
        "demo trader %r created with a running paper bot (%d past candles)", DEMO_USERNAME, ticks
    )
    return True


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
