"""Overview: equity and PnL, open positions, bot cards, worker status."""

import pandas as pd
import streamlit as st

from core import views
from ui import boot
from ui.format import badge, money, when
from ui.session import current_user

rt = boot.runtime()
user = current_user(rt)

st.title("Overview")
with rt.read() as session:
    stats = views.bot_stats(session, owner=user)
    summary = views.summarise(stats)
    cards = views.bot_cards(session, owner=user, stats=stats)
    positions = views.open_positions(session, owner=user)
    equity = views.paper_equity(session, owner=user)
    curve = views.pnl_curve(session, owner=user)
    worker = views.worker_status(session)

if not worker["healthy"]:
    last = when(worker["last_beat"]) if worker["last_beat"] else "never"
    st.warning(
        f"No worker has reported in the last minute (last heartbeat: {last}). Bots are not "
        "trading until a worker runs: start the app with the embedded worker, or "
        "`python -m worker` / supervisord."
    )

unrealised = sum(p["unrealised_pnl"] or 0.0 for p in positions)
cols = [*st.columns(3), *st.columns(3)]  # two rows: room for full figures
cols[0].metric(
    "Total equity",
    f"{equity['total']:,.2f} USDT" if equity["accounts"] else "—",
    help="Your paper accounts' balances at the last prices"
    + (f" (no price yet for {', '.join(equity['unpriced'])})" if equity["unpriced"] else "")
    + ". Live balances are on the Exchange accounts page.",
)
cols[1].metric("Unrealised", money(unrealised))
rate = summary["win_rate_pct"]
cols[2].metric(
    "Win rate",
    "—" if rate is None else f"{rate:.0f} %",
    f"{summary['closed_trades']} closed trades",
    delta_color="off",
    delta_arrow="off",
)
cols[3].metric("PnL today", money(summary["pnl_today"]))
cols[4].metric("PnL 7 days", money(summary["pnl_7d"]))
cols[5].metric("PnL all time", money(summary["pnl_all"]))

if not cards:
    st.info(
        f"Welcome, **{user.name}**. You have no bots yet: add an exchange account (a paper "
        "account needs no key), then create a bot on the **Bots** page."
    )
    st.stop()

if curve:
    series = pd.Series(
        [v for _, v in curve], index=pd.to_datetime([t for t, _ in curve], unit="ms")
    )
    st.plotly_chart(
        views.equity_curve({"realised PnL": series}, title="Equity curve: realised PnL"),
        width="stretch",
    )

st.subheader("Open positions")
if positions:
    st.dataframe(
        [
            {
                "bot": p["bot"],
                "symbol": p["symbol"],
                "amount": p["amount"],
                "entry": p["entry_price"],
                "last": p["last_price"],
                "unrealised PnL": p["unrealised_pnl"],
                "since": when(p["entry_ts"]),
            }
            for p in positions
        ],
        hide_index=True,
        width="stretch",
    )
else:
    st.caption("No open positions.")

st.subheader("Bots")
grid = st.columns(3)
for i, card in enumerate(cards):
    bot = card["bot"]
    with grid[i % 3].container(border=True):
        st.markdown(f"**{bot.name}** · {bot.symbol} · {bot.timeframe} · `{bot.strategy}`")
        st.markdown(badge(bot.status, bot.status_reason))
        st.markdown(
            f"Realised PnL **{money(card['realised_pnl'])}** · {card['trades']} trades"
            f" · {card['open_lots']} open"
        )
        st.caption(f"Last tick: {when(bot.last_tick_at)}")
