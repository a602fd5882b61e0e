"""The demo: a trader (never an admin) with a paper account and a running paper bot on the
simulated market, so a newcomer sees trades within minutes without any key."""

from __future__ import annotations

import logging

from core import bots, users
from core.errors import AppError
from core.exchanges import market_feed, open_paper_account
from core.platform.runtime import Runtime

log = logging.getLogger(__name__)
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-trader-2026"  # shown on the login page; the demo holds play money only


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
    except AppError as exc:  # e.g. another process created it at the same moment
        log.info("demo not created: %s", exc.message)
        return False
    log.info("demo trader %r created with a running paper bot", DEMO_USERNAME)
    return True
