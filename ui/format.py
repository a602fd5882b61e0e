"""Small display helpers shared by pages (numbers, times, status badges)."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

STATUS_BADGE = {
    "running": ":green[● running]",
    "paused": ":orange[❚❚ paused]",
    "stopped": ":gray[■ stopped]",
    "error": ":red[▲ error]",
    "archived": ":gray[archived]",
}


def money(value: float | None, unit: str = "USDT") -> str:
    if value is None:
        return "—"
    return f"{value:+,.2f} {unit}" if value else f"0.00 {unit}"


def when(ms_or_dt: int | datetime | None) -> str:
    if ms_or_dt is None:
        return "—"
    dt = (
        ms_or_dt if isinstance(ms_or_dt, datetime) else datetime.fromtimestamp(ms_or_dt / 1000, UTC)
    )
    return dt.strftime("%Y-%m-%d %H:%M UTC")


def short_when(ms_or_dt: int | datetime | None) -> str:
    """`when` without the year, for narrow tiles ("12-01 05:46")."""
    text = when(ms_or_dt)
    return text if text == "—" else text[5:16]


TRADE_COLUMNS = {
    "id": st.column_config.NumberColumn("#", width="small"),
    "bot": st.column_config.TextColumn("bot"),
    "symbol": st.column_config.TextColumn("symbol"),
    "status": st.column_config.TextColumn("status", width="small"),
    "entry_ts": st.column_config.TextColumn("entry (UTC)"),
    "exit_ts": st.column_config.TextColumn("exit (UTC)"),
    "pnl": st.column_config.NumberColumn("PnL", format="%+.4f"),
    "amount": st.column_config.NumberColumn("amount", format="%.6g"),
    "entry_price": st.column_config.NumberColumn("entry price", format="%.6g"),
    "exit_price": st.column_config.NumberColumn("exit price", format="%.6g"),
    "fees": st.column_config.NumberColumn("fees", format="%.4f"),
    "exit_reason": st.column_config.TextColumn("exit reason"),
}


def trade_table(rows: list[dict], *, one_bot: bool = False) -> None:
    """A trades grid with readable headers; a bot's own page leaves out bot and symbol."""
    order = [c for c in TRADE_COLUMNS if not (one_bot and c in ("bot", "symbol"))]
    st.dataframe(
        [
            {**r, "entry_ts": when(r["entry_ts"])[:16], "exit_ts": when(r["exit_ts"])[:16]}
            for r in rows
        ],
        hide_index=True,
        width="stretch",
        column_config=TRADE_COLUMNS,
        column_order=order,
    )


def badge(status: str, reason: str = "") -> str:
    text = STATUS_BADGE.get(status, status)
    return f"{text} — {reason}" if reason else text
