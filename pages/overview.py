"""Overview: equity and PnL, open positions (and those no running bot manages, with a close
button), bot cards, worker status. The figures refresh on their own."""

import streamlit as st

from core import views
from ui import boot
from ui.bot_actions import act, heading, settings_line, show_toast, status_line
from ui.format import (
    POSITION_COLUMNS,
    Column,
    amount,
    money,
    pnl_markdown,
    price,
    table,
    when,
    zone_name,
)
from ui.session import checked_fragment, current_user

REFRESH_S = 10

rt = boot.runtime()
user = current_user(rt)

st.title("Overview")
show_toast()


def unmanaged(rows: list[dict]) -> None:
    """Positions of bots that are stopped, paused, in error or archived: nothing sells them."""
    st.subheader("Positions no bot manages")
    st.caption(
        "These bots no longer run but still hold what they bought: no stop-loss, take-profit "
        "or exit signal sells it. Close at market sells it now; the bot then stops."
    )
    for p in rows:
        quote = p["symbol"].split("/")[1] if "/" in p["symbol"] else "USDT"
        with st.container(border=True):
            cols = st.columns([6, 2])
            lots = f"{p['lots']} lot{'s' if p['lots'] > 1 else ''}"
            cols[0].markdown(
                f"**{p['bot']}** ({p['status']}) · {p['symbol']} · {amount(p['amount'])} in "
                f"{lots} · entry {price(p['entry_price'])} · last {price(p['last_price'])} · "
                f"unrealised {pnl_markdown(p['unrealised_pnl'], quote)}"
            )
            if not p["closable"]:
                cols[1].caption(f"Cannot be closed here: {p['why_not']}.")
                continue
            with cols[1].popover("Close at market"):
                st.write(f"Sell {amount(p['amount'])} {p['symbol']} at market on the next candle?")
                if st.button("Yes, sell at market", key=f"close{p['bot_id']}", type="primary"):
                    act(rt, user, p["bot_id"], "close")


def worker_warning(worker: dict) -> None:
    if not worker["healthy"]:
        last = when(worker["last_beat"]) if worker["last_beat"] else "never"
        st.warning(
            f"No worker has reported in the last minute (last heartbeat: {last}). Bots are not "
            "trading until a worker runs: start the app with the embedded worker, or "
            "`python -m worker` / supervisord."
        )


def welcome(steps: dict, worker: dict) -> None:
    """A newcomer's Overview: what to do first, instead of a row of zero figures."""
    worker_warning(worker)
    st.subheader(f"Welcome, {user.name}")
    st.markdown(
        ("You have no bots yet. " if not steps["bot"] else "")
        + "Steadybot runs trading bots on your exchange accounts. Start on paper: a paper "
        "account trades the real market with play money and needs no API key."
    )
    done = ":material/check_circle:"
    cols = st.columns(3)
    with cols[0].container(border=True):
        st.markdown("**1. An account to trade on**")
        st.caption("You have one." if steps["account"] else "10,000 USDT of play money.")
        if st.button(
            "Open a paper account",
            key="first_account",
            icon=done if steps["account"] else ":material/key:",
            type="secondary" if steps["account"] else "primary",
            width="stretch",
        ):
            st.switch_page("pages/exchange_accounts.py")
    with cols[1].container(border=True):
        st.markdown("**2. A bot that trades it**")
        st.caption("SMA cross, RSI, MACD or a grid, with stop-loss and take-profit.")
        if st.button(
            "Create a bot",
            key="first_bot",
            icon=":material/smart_toy:",
            type="primary" if steps["account"] else "secondary",
            width="stretch",
        ):
            st.switch_page("pages/bots.py")
    with cols[2].container(border=True):
        st.markdown("**Or first, a backtest**")
        st.caption("See how a strategy would have done on past candles, in seconds.")
        if st.button(
            "Try a backtest", key="first_backtest", icon=":material/query_stats:", width="stretch"
        ):
            st.switch_page("pages/backtest.py")


@checked_fragment(rt, run_every=REFRESH_S)
def dashboard() -> None:
    with rt.read() as session:
        stats = views.bot_stats(session, owner=user)
        summary = views.summarise(stats)
        cards = views.bot_cards(session, owner=user, stats=stats)
        positions = views.with_decimals(session, views.open_positions(session, owner=user))
        orphans = views.unmanaged_positions(session, owner=user)
        equity = views.paper_equity(session, owner=user)
        curves = views.pnl_curves(session, owner=user)  # realised, and with open positions
        worker = views.worker_status(session)

    worker_warning(worker)

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

    if orphans:
        unmanaged(orphans)
    if not cards:
        st.info(
            f"Welcome, **{user.name}**. You have no bots yet: add an exchange account (a paper "
            "account needs no key), then create a bot on the **Bots** page."
        )
        return

    if curves:
        st.plotly_chart(
            views.pnl_chart(curves, title="PnL of all your bots", zone=zone_name()),
            width="stretch",
            key="overview_curve",
        )

    st.subheader("Open positions")
    if positions:
        table(positions, (Column("bot"), Column("symbol"), *POSITION_COLUMNS))
    else:
        st.caption("No open positions.")

    st.subheader("Bots")
    grid = st.columns(3)
    for i, card in enumerate(cards):
        bot, facts = card["bot"], card["facts"]
        with grid[i % 3].container(border=True):
            st.markdown(heading(bot, facts))
            st.markdown(status_line(bot, facts))
            st.markdown(settings_line(facts))
            st.markdown(
                f"Realised PnL {pnl_markdown(card['realised_pnl'])} · {card['trades']} trades"
                f" · {card['open_lots']} open"
            )
            st.caption(f"Last tick: {when(bot.last_tick_at)}")


with rt.read() as _session:
    first_steps = views.first_steps(_session, owner=user)
    has_orphans = bool(first_steps) and bool(views.unmanaged_positions(_session, owner=user))
    worker_now = views.worker_status(_session) if first_steps else None
if first_steps and not has_orphans:
    welcome(first_steps, worker_now)
else:
    dashboard()
