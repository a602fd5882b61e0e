"""Small display helpers shared by pages (numbers, times, status badges)."""

from __future__ import annotations

from datetime import UTC, datetime

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


def badge(status: str, reason: str = "") -> str:
    text = STATUS_BADGE.get(status, status)
    return f"{text} — {reason}" if reason else text
