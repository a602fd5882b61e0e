"""Trades: every trade across the user's bots, with filters, totals and CSV export."""

from datetime import UTC, datetime, time, timedelta

import streamlit as st

from core import reports
from ui import boot
from ui.format import money, when
from ui.session import current_user

rt = boot.runtime()
user = current_user(rt)
st.title("Trades")

with rt.read() as session:
    my_bots = reports.bot_choices(session, owner=user)
if not my_bots:
    st.info("No trades yet: trades appear here once one of your bots buys or sells.")
    st.stop()

names = {bot_id: name for bot_id, name, _symbol in my_bots}
cols = st.columns([2, 2, 2, 3])
bot_id = cols[0].selectbox(
    "Bot", [None, *names], format_func=lambda i: "all" if i is None else names[i]
)
symbols = sorted({symbol for _id, _name, symbol in my_bots})
symbol = cols[1].selectbox("Symbol", [None, *symbols], format_func=lambda s: s or "all")
outcome = cols[2].selectbox(
    "Outcome", [None, "win", "loss", "open"], format_func=lambda o: o or "all"
)
today = datetime.now(UTC).date()
period = cols[3].date_input("Entered between", (today - timedelta(days=30), today))

flt = reports.TradeFilter(bot_id=bot_id, symbol=symbol, outcome=outcome)
if isinstance(period, tuple) and len(period) == 2:
    start = datetime.combine(period[0], time.min, UTC)
    end = datetime.combine(period[1] + timedelta(days=1), time.min, UTC)
    flt.since_ms, flt.until_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)

with rt.read() as session:
    rows, totals = reports.trades(session, owner=user, flt=flt, limit=1000)

top = st.columns(4)
top[0].metric("Trades", totals["trades"])
top[1].metric("Realised PnL", money(totals["pnl"]))
top[2].metric("Fees", money(-totals["fees"]))
closed = totals["trades"] - sum(1 for r in rows if r["status"] == "open")
top[3].metric("Wins", f"{totals['wins']} / {closed}" if closed else "—")

if not rows:
    st.info("No trades match these filters.")
    st.stop()
st.dataframe(
    [{**r, "entry_ts": when(r["entry_ts"]), "exit_ts": when(r["exit_ts"])} for r in rows],
    hide_index=True,
    use_container_width=True,
    column_config={
        "pnl": st.column_config.NumberColumn("PnL", format="%.4f"),
        "fees": st.column_config.NumberColumn("fees", format="%.4f"),
    },
)
if totals["trades"] > len(rows):
    st.caption(
        f"Showing the newest {len(rows)} of {totals['trades']} trades; the CSV has these rows."
    )
st.download_button(
    "Download CSV", reports.trades_csv(rows), file_name="steadybot-trades.csv", mime="text/csv"
)
