"""Trades: every trade (round trip) or fill across the user's bots, with filters, totals over
the whole filter (in SQL), pages of 100 rows and a CSV export of everything that matches."""

from datetime import datetime, time, timedelta

import streamlit as st

from core import views
from ui import boot
from ui.format import Column, balance, display_zone, money, table, trade_table
from ui.session import current_user

PAGE_SIZE = 100
rt = boot.runtime()
user = current_user(rt)
st.title("Trades")

with rt.read() as session:
    my_bots = views.bot_choices(session, owner=user)
if not my_bots:
    st.info("No trades yet: trades appear here once one of your bots buys or sells.")
    st.stop()

view = st.radio(
    "Show",
    ["Round trips", "Fills"],
    horizontal=True,
    help="Round trips: each position lot from its buy to its sell, with PnL. "
    "Fills: every executed order, buys and sells.",
)
names = {bot_id: name for bot_id, name, _symbol in my_bots}
cols = st.columns([2, 2, 2, 3])
bot_id = cols[0].selectbox(
    "Bot", [None, *names], format_func=lambda i: "all" if i is None else names[i]
)
symbols = sorted({symbol for _id, _name, symbol in my_bots})
symbol = cols[1].selectbox("Symbol", [None, *symbols], format_func=lambda s: s or "all")
if view == "Fills":
    side = cols[2].selectbox("Side", [None, "buy", "sell"], format_func=lambda o: o or "all")
else:
    outcome = cols[2].selectbox(
        "Outcome", [None, "win", "loss", "open"], format_func=lambda o: o or "all"
    )
zone = display_zone()  # the days of the filter are the viewer's days
today = datetime.now(zone).date()
period = cols[3].date_input("Between", (today - timedelta(days=30), today))
since_ms = until_ms = None
if isinstance(period, tuple) and len(period) == 2:
    start = datetime.combine(period[0], time.min, zone)
    end = datetime.combine(period[1] + timedelta(days=1), time.min, zone)
    since_ms, until_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def page_offset(total: int) -> int:
    """A page picker when there is more than one page; the offset of the chosen page."""
    pages = max(1, -(-total // PAGE_SIZE))
    if pages == 1:
        return 0
    number = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1)
    first = (number - 1) * PAGE_SIZE
    st.caption(f"Rows {first + 1}–{min(first + PAGE_SIZE, total)} of {total:,}, newest first.")
    return first


def download(label: str, make_csv, file_name: str) -> None:
    # The CSV is built only when clicked, in its own thread; the click does not rerun the page.
    st.download_button(label, make_csv, file_name=file_name, mime="text/csv", on_click="ignore")


def show_round_trips() -> None:
    flt = views.TradeFilter(
        bot_id=bot_id, symbol=symbol, outcome=outcome, since_ms=since_ms, until_ms=until_ms
    )
    with rt.read() as session:
        totals = views.trade_totals(session, owner=user, flt=flt)
    top = st.columns(4)
    top[0].metric("Trades", f"{totals['trades']:,}")
    top[1].metric("Realised PnL", money(totals["pnl"]))
    top[2].metric("Fees", balance(totals["fees"]))
    closed = totals["closed"]
    top[3].metric("Wins", f"{totals['wins']:,} / {closed:,}" if closed else "—")
    if not totals["trades"]:
        st.info("No trades match these filters.")
        return
    offset = page_offset(totals["trades"])
    with rt.read() as session:
        rows = views.trade_page(session, owner=user, flt=flt, limit=PAGE_SIZE, offset=offset)
    trade_table(rows)

    def make_csv() -> str:
        with rt.read() as session:
            return views.export_trades_csv(session, owner=user, flt=flt)

    download("Download CSV", make_csv, "steadybot-trades.csv")


FILL_COLUMNS = (
    Column("id", "id", "#"),
    Column("bot"),
    Column("symbol"),
    Column("side", "words"),
    Column("purpose", "words"),
    Column("candle_ts", "time"),
    Column("amount", "amount"),
    Column("price", "price"),
    Column("cost", "money"),
    Column("fee", "money"),
)


def show_fills() -> None:
    flt = views.FillFilter(
        bot_id=bot_id, symbol=symbol, side=side, since_ms=since_ms, until_ms=until_ms
    )
    with rt.read() as session:
        totals = views.fill_totals(session, owner=user, flt=flt)
    top = st.columns(4)
    top[0].metric("Fills", f"{totals['fills']:,}")
    top[1].metric("Bought", balance(totals["bought"]))
    top[2].metric("Sold", balance(totals["sold"]))
    top[3].metric("Fees", balance(totals["fees"]))
    if not totals["fills"]:
        st.info("No fills match these filters.")
        return
    offset = page_offset(totals["fills"])
    with rt.read() as session:
        rows = views.fill_page(session, owner=user, flt=flt, limit=PAGE_SIZE, offset=offset)
    table(rows, FILL_COLUMNS)

    def make_csv() -> str:
        with rt.read() as session:
            return views.export_csv(session, owner=user, flt=flt)

    download("Download CSV", make_csv, "steadybot-fills.csv")


if view == "Fills":
    show_fills()
else:
    show_round_trips()
