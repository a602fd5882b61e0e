"""Bot detail: candles with indicators and entries/exits, PnL, position, trades, orders, events.

The live part refreshes every few seconds inside a fragment; plotly keeps the user's zoom
(uirevision) across refreshes."""

import streamlit as st

from core import bots, views
from ui import boot
from ui.bot_actions import detail_header, show_toast
from ui.format import (
    ORDER_COLUMNS,
    POSITION_COLUMNS,
    Column,
    badge,
    money,
    short_when,
    table,
    trade_table,
    when,
    zone_name,
)
from ui.session import checked_fragment, current_user

rt = boot.runtime()
user = current_user(rt)
show_toast()

with rt.read() as session:
    mine = bots.list_bots(session, owner=user)
if not mine:
    st.title("Bot detail")
    st.info("No bots yet: create one on the **Bots** page.")
    st.stop()
ids = [b.id for b in mine]
wanted = st.session_state.get("detail_bot_id")
asked = st.query_params.get("bot", "")  # a link to one bot: /bot_detail?bot=3
if asked != st.session_state.get("detail_bot_asked"):  # a new link, not our own echo
    st.session_state["detail_bot_asked"] = asked
    if asked.isdigit() and int(asked) in ids:
        wanted = int(asked)
bot_id = st.selectbox(
    "Bot",
    ids,
    index=ids.index(wanted) if wanted in ids else 0,
    format_func=lambda i: views.bot_label(next(b for b in mine if b.id == i)),
)
st.session_state["detail_bot_id"] = bot_id
st.session_state["detail_bot_asked"] = st.query_params["bot"] = str(bot_id)
window = st.select_slider(
    "Candles on the chart", [100, 300, 1000], value=300, help="The newest closed candles"
)


@checked_fragment(rt, run_every=5)  # each refresh checks the session first
def live() -> None:
    with st.spinner("Loading market data…"):  # shown only when it takes over half a second
        data = views.chart_data(rt, owner=user, bot_id=bot_id, limit=window)
    bot = data["bot"]
    st.markdown(f"### {bot.name} {badge(bot.status, bot.status_reason)}")
    detail_header(rt, user, bot)  # settings in words, actions (Stop asks close / keep)
    for cid in views.awaiting_orders(rt, owner=user, bot_id=bot.id):
        st.warning(
            f"Order {cid} was sent but the exchange has not confirmed it yet. It is looked up "
            "again until it is found or can no longer appear; until then this bot places no "
            "other order."
        )
    with rt.read() as session:
        flt = views.TradeFilter(bot_id=bot.id)
        rows, totals = views.trade_list(session, owner=user, flt=flt, limit=200)
        curves = views.pnl_curves(session, owner=user, bot_id=bot.id)
        positions = views.open_positions(session, owner=user, bot_id=bot.id)
        events = bots.events(session, owner=user, bot_id=bot.id, limit=100)
    cols = st.columns(4)
    cols[0].metric("Realised PnL", money(totals["pnl"]))
    cols[1].metric("Trades", totals["trades"])
    unrealised = sum(p["unrealised_pnl"] or 0 for p in positions)
    cols[2].metric("Unrealised", money(unrealised))
    cols[3].metric("Last tick", short_when(bot.last_tick_at), help=when(bot.last_tick_at))
    if data["candles"].empty:
        st.info("No market data yet: the chart appears after the first candle closes.")
    else:
        fig = views.candlestick(
            data["candles"],
            title=f"{bot.symbol} {bot.timeframe}",
            indicators=data["indicators"],
            trades=data["trades"],
            bands=data["bands"],
            zone=zone_name(),
            price_decimals=data["decimals"].price,
        )
        st.plotly_chart(fig, width="stretch", key=f"chart{bot.id}")
    if curves:
        st.plotly_chart(
            views.pnl_chart(curves, title="PnL", zone=zone_name()),
            width="stretch",
            key=f"equity{bot.id}",
        )
    st.subheader("Open position")
    if positions:
        steps = {"price_dp": data["decimals"].price, "amount_dp": data["decimals"].amount}
        table([{**p, **steps} for p in positions], POSITION_COLUMNS)
    else:
        st.caption("Flat: no open position.")
    tabs = st.tabs(["Trades", "Orders", "Events"])
    with tabs[0]:
        trade_table(rows, one_bot=True)
    with tabs[1]:
        orders = views.orders_of(rt, owner=user, bot_id=bot.id, decimals=data["decimals"])
        table(orders, ORDER_COLUMNS)
    with tabs[2]:
        table(
            [{"time": e.ts, "kind": e.kind, "message": e.message} for e in events],
            (Column("time", "time", "Time"), Column("kind", "words", "Kind"), Column("message")),
        )


live()
