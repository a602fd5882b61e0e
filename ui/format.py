"""The one presentation layer of the pages: money, prices, amounts, percentages, times, PnL
colours, column names, and the tables built with them.

The rules themselves are pure functions in `core.platform.present` (the CSV exports use them
too); this module adds what needs Streamlit: the viewer's time zone (their browser's, or UTC
when they chose so in Account settings) and `st.dataframe` tables whose numbers keep sorting
as numbers while they show at the market's precision, with PnL in green and red.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

from core.platform import present
from core.platform.present import DASH, label, quote_of

STATUS_BADGE = {
    "running": ":green[● running]",
    "paused": ":orange[❚❚ paused]",
    "stopped": ":gray[■ stopped]",
    "error": ":red[▲ error]",
    "archived": ":gray[archived]",
}
GAIN, LOSS = "#22c55e", "#ef4444"  # the charts' up and down colours
ZONE_KEY = "steadybot_times_in_utc"  # (user id, read at, their choice) in this browser session
ZONE_TTL_S = 30.0  # a choice made in another browser shows here within this long


# --- numbers -------------------------------------------------------------------------------


def money(value: float | None, unit: str = "USDT") -> str:
    """A PnL figure: signed, thousands separators, currency ('+1,234.56 USDT'); '—' for None."""
    return present.money_text(value, unit, signed=True)


def balance(value: float | None, unit: str = "USDT") -> str:
    """An amount of money held or traded ('10,000.00 USDT'); '—' for None."""
    return present.money_text(value, unit)


def pnl_markdown(value: float | None, unit: str = "USDT") -> str:
    """`money` in green for a gain, red for a loss (Markdown)."""
    text, tone = money(value, unit), present.tone(value)
    return f":{tone}[{text}]" if tone else text


def price(value: float | None, decimals: int | None = None) -> str:
    """A price at the market's precision (`decimals` of its price step)."""
    return present.price_text(value, decimals)


def amount(value: float | None, decimals: int | None = None) -> str:
    return present.amount_text(value, decimals)


def pct(value: float | None, *, signed: bool = True) -> str:
    """'+1.23 %' ('1.23 %' unsigned); '—' for None."""
    return present.pct_text(value, signed=signed)


# --- times ---------------------------------------------------------------------------------


def _zone(name: str | None) -> tzinfo:
    if not name or name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def browser_zone() -> str | None:
    """The browser's IANA time zone ('Europe/Berlin'), when it told us."""
    try:
        name = st.context.timezone
    except Exception:  # noqa: BLE001 (outside a script run)
        return None
    return name if name and _zone(name) is not UTC else None


def _prefers_utc(user_id: int) -> bool:
    from core import users, views
    from ui import boot

    rt = boot.runtime()
    with rt.read() as session:
        return views.times_in_utc(session, user=users.get_user(session, user_id=user_id))


def display_zone() -> tzinfo:
    """Where times are shown: the browser's time zone, or UTC when the signed-in person chose
    "Show times in UTC" (or the browser did not say). The choice is read from the database
    at most every ZONE_TTL_S per browser session."""
    from ui.session import USER_KEY

    try:
        state = st.session_state
        user_id = state.get(USER_KEY)
        cached = state.get(ZONE_KEY)
    except Exception:  # noqa: BLE001 (outside a script run)
        return UTC
    now = time.monotonic()
    if cached and cached[0] == user_id and now - cached[1] < ZONE_TTL_S:
        utc = cached[2]
    else:
        try:
            utc = user_id is not None and _prefers_utc(user_id)
        except Exception:  # noqa: BLE001 (a display preference never breaks a page)
            utc = False
        state[ZONE_KEY] = (user_id, now, utc)
    return UTC if utc else _zone(browser_zone())


def forget_zone() -> None:
    """Read the time-zone choice again on the next call (after it changed)."""
    st.session_state.pop(ZONE_KEY, None)


def zone_name(zone: tzinfo | None = None) -> str:
    """'Europe/Berlin' or 'UTC': for column headers and charts."""
    return present.zone_name(zone or display_zone())


def when(ms_or_dt: int | datetime | None, zone: tzinfo | None = None) -> str:
    """The one time format: '2026-12-05 14:03 CET' in the viewer's zone; '—' for None."""
    if ms_or_dt is None:
        return DASH
    zone = zone or display_zone()
    moment = present.to_datetime(ms_or_dt).astimezone(zone)
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname() or present.zone_name(zone)}"


def short_when(ms_or_dt: int | datetime | None, zone: tzinfo | None = None) -> str:
    """`when` without the year and zone, for narrow tiles ('12-05 14:03')."""
    return DASH if ms_or_dt is None else present.time_text(ms_or_dt, zone or display_zone())[5:]


def time_zone_setting(rt, user) -> None:
    """Account settings: the "Show times in UTC" switch, stored per person."""
    from core import views

    st.subheader("Times")
    with rt.read() as session:
        stored = views.times_in_utc(session, user=user)
    browser = browser_zone()
    on = st.toggle(
        "Show times in UTC",
        value=stored,
        key="account_times_in_utc",
        help="Off: times are shown in your browser's time zone. Exports are always in UTC.",
    )
    if on != stored:
        with rt.session() as session:
            views.set_times_in_utc(session, user=user, on=on)
        forget_zone()
        st.toast("Times are now shown in UTC." if on else "Times now follow your browser.")
    shown = "UTC" if on or not browser else browser
    st.caption(f"Times are shown in {shown}.")
    if not browser:
        st.caption("Your browser did not tell its time zone, so UTC is used.")


# --- tables --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A table column: the row key, what kind of value it holds, and its header in words.

    kinds: text, words (identifiers such as 'take_profit' in words), time, price and amount
    (at the row's `price_dp` / `amount_dp`), money and pnl (two decimals with the currency of
    the row's `symbol`; pnl signed, green or red), pct (signed percent), count, id.
    """

    key: str
    kind: str = "text"
    title: str = ""

    @property
    def header(self) -> str:
        return self.title or label(self.key)


NUMERIC = {"price", "amount", "money", "pnl", "pct", "count", "id"}
MISSING = float("inf")  # a missing number in a table: shown as "—" (see `frame`)
STYLED_ROWS = 500


def _text(value: object, kind: str, zone: tzinfo) -> str:
    if kind == "time":
        return present.time_text(value, zone)
    if kind == "words":
        return present.words(value)
    return DASH if value is None or value == "" else str(value)


def _formatter(kind: str, price_dp, amount_dp, unit: str):
    if kind == "price":
        return lambda v: present.price_text(v, price_dp)
    if kind == "amount":
        return lambda v: present.amount_text(v, amount_dp)
    places = present.money_decimals(unit, price_dp)
    if kind == "money":
        return lambda v: present.money_text(v, unit, decimals=places)
    if kind == "pnl":
        return lambda v: present.money_text(v, unit, signed=True, decimals=places)
    if kind == "pct":
        return lambda v: present.pct_text(v)
    if kind == "id":
        return lambda v: present.fixed(v, 0).replace(",", "")
    return lambda v: present.fixed(v, 0)


def _colour(value: float) -> str:
    tone = present.tone(value)
    return f"color: {GAIN if tone == 'green' else LOSS}" if tone else ""


def _headers(columns: Sequence[Column], zone: tzinfo) -> dict[str, str]:
    return {
        c.key: f"{c.header} ({present.zone_name(zone)})" if c.kind == "time" else c.header
        for c in columns
    }


def frame(rows: Sequence[dict], columns: Sequence[Column], zone: tzinfo = UTC) -> pd.DataFrame:
    """The table's data: headers in words (time columns name the zone), numbers as floats,
    times and identifiers as text ('—' when missing). A missing number is MISSING (infinity):
    st.dataframe draws a null number as "None" whatever the Styler says, while the Styler's
    '—' shows for any other value; infinity also sorts the missing ones together, last."""
    headers = _headers(columns, zone)
    data = {}
    for c in columns:
        values = [row.get(c.key) for row in rows]
        if c.kind in NUMERIC:
            data[headers[c.key]] = pd.array(
                [MISSING if v is None or v != v else float(v) for v in values], dtype="float64"
            )
        else:
            data[headers[c.key]] = [_text(v, c.kind, zone) for v in values]
    return pd.DataFrame(data)


def _groups(rows: Sequence[dict]) -> dict[tuple, list[int]]:
    """Row positions by (price decimals, amount decimals, quote currency)."""
    groups: dict[tuple, list[int]] = {}
    for i, row in enumerate(rows):
        key = (row.get("price_dp"), row.get("amount_dp"), quote_of(row.get("symbol")))
        groups.setdefault(key, []).append(i)
    return groups


def styled(rows: Sequence[dict], columns: Sequence[Column], zone: tzinfo = UTC):
    """`rows` as a pandas Styler over `frame`: numbers stay numbers (they sort as numbers) but
    show at their market's precision with thousands separators and currency, '—' for a
    missing value, PnL green or red."""
    headers = _headers(columns, zone)
    sty = frame(rows, columns, zone).style
    groups = _groups(rows)
    numeric = [c for c in columns if c.kind in NUMERIC]
    for (price_dp, amount_dp, unit), index in groups.items():
        rows_of = slice(None) if len(groups) == 1 else index
        formats = {headers[c.key]: _formatter(c.kind, price_dp, amount_dp, unit) for c in numeric}
        sty = sty.format(formats, subset=(rows_of, list(formats)), na_rep=DASH)
    pnl = [headers[c.key] for c in columns if c.kind == "pnl"]
    if pnl and rows:
        sty = sty.map(_colour, subset=pnl)
    return sty


def _plain_formats(rows: Sequence[dict], columns: Sequence[Column], zone: tzinfo) -> dict:
    """column_config for a long table (no Styler): one printf format per number column,
    at the first row's market precision."""
    headers = _headers(columns, zone)
    price_dp, amount_dp, unit = next(iter(_groups(rows)), (None, None, "USDT"))
    printf = {
        "price": f"%.{2 if price_dp is None else price_dp}f",
        "amount": f"%.{8 if amount_dp is None else amount_dp}f",
        "money": f"%.2f {unit}",
        "pnl": f"%+.2f {unit}",
        "pct": "%+.2f %%",
        "count": "%d",
        "id": "%d",
    }
    return {
        headers[c.key]: st.column_config.NumberColumn(format=printf[c.kind])
        for c in columns
        if c.kind in NUMERIC
    }


def _kind_of(columns: Sequence[Column], header: str, zone: tzinfo) -> str:
    return next(c.kind for c in columns if _headers([c], zone)[c.key] == header)


def table(rows: Sequence[dict], columns: Sequence[Column], *, key: str | None = None) -> None:
    """The rows in an `st.dataframe` (no index, full width): `styled` up to STYLED_ROWS rows;
    a longer table (a long backtest) uses printf formats instead (a Styler costs ~0.1 ms a
    row): same words and precision, without thousands separators and colours. A table of
    text only is not styled at all."""
    zone = display_zone()
    if not any(c.kind in NUMERIC for c in columns):
        data, config = frame(rows, columns, zone), None  # all text: nothing to style
    elif len(rows) <= STYLED_ROWS:
        data, config = styled(rows, columns, zone), None
    else:
        data, config = frame(rows, columns, zone), _plain_formats(rows, columns, zone)
        for header in [h for h in config if (data[h] == MISSING).any()]:
            shown = _formatter(_kind_of(columns, header, zone), *next(iter(_groups(rows))))
            data[header] = [shown(v) for v in data[header]]  # text: "—", never "None"
            del config[header]
    st.dataframe(data, hide_index=True, width="stretch", key=key, column_config=config)


TRADE_COLUMNS = (
    Column("id", "id", "#"),
    Column("bot"),
    Column("symbol"),
    Column("status", "words"),
    Column("entry_ts", "time"),
    Column("entry_price", "price"),
    Column("amount", "amount"),
    Column("exit_ts", "time"),
    Column("exit_price", "price"),
    Column("exit_reason", "words"),
    Column("fees", "money"),
    Column("pnl", "pnl"),
)


POSITION_COLUMNS = (
    Column("amount", "amount"),
    Column("entry_price", "price"),
    Column("entry_ts", "time", "Since"),
    Column("last_price", "price"),
    Column("unrealised_pnl", "pnl"),
)
ORDER_COLUMNS = (
    Column("time", "time", "Time"),
    Column("client id", "text", "Client order id"),
    Column("side", "words"),
    Column("purpose", "words"),
    Column("amount", "amount"),
    Column("status", "words"),
    Column("price", "price", "Average price"),
    Column("fee", "money"),
    Column("error", "text", "Error"),
)


def trade_table(rows: list[dict], *, one_bot: bool = False) -> None:
    """A trades grid in words; a bot's own page leaves out bot and market."""
    columns = [c for c in TRADE_COLUMNS if not (one_bot and c.key in ("bot", "symbol"))]
    table(rows, columns)


def badge(status: str, reason: str = "") -> str:
    text = STATUS_BADGE.get(status, status)
    return f"{text} — {reason}" if reason else text
