"""Administration: every bot on the platform; an admin can stop any bot."""

import streamlit as st

from core import bots, views
from core.errors import AppError
from ui import boot
from ui.format import Column, table
from ui.session import require_admin

COLUMNS = (
    Column("id", "id", "#"),
    Column("owner"),
    Column("name", "text", "Bot"),
    Column("market"),
    Column("strategy"),
    Column("status", "words"),
    Column("reason"),
    Column("realised_pnl", "pnl"),
    Column("last_tick", "time"),
)

rt = boot.runtime()
admin = require_admin(rt)
st.title("All bots")

with rt.read() as session:
    rows = views.admin_bots(session)
if not rows:
    st.info("No bots on this platform yet.")
    st.stop()
table(rows, COLUMNS)

running = [r for r in rows if r["status"] in ("running", "paused", "error")]
if running:
    choice = st.selectbox(
        "Bot", running, format_func=lambda r: f"#{r['id']} {r['name']} ({r['owner']})"
    )
    if st.button("Stop this bot"):
        try:
            with rt.session() as session:
                bots.change_status(session, owner=admin, bot_id=choice["id"], action="stop")
        except AppError as exc:
            st.error(exc.message)
        else:
            st.rerun()
