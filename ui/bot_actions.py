"""A bot's card and its action buttons (Bots page, Bot detail), and the toast that says what
an action did.

Every successful action stores its message (`flash`) and reruns the whole app, so each list,
count and card shows the new state; the next run shows the message as a toast (`show_toast`,
called at the top of each page). Stop on a bot holding lots asks whether to close the position
at market or keep it."""

from __future__ import annotations

import streamlit as st

from core import bots, views
from core.errors import AppError
from ui.format import badge, pnl_markdown, when

TOAST_KEY = "steadybot_toast"
MODE_BADGE = {"paper": ":blue-badge[paper]", "live": ":orange-badge[live]"}
LABELS = {
    "start": "▶ Start",
    "pause": "❚❚ Pause",
    "resume": "▶ Resume",
    "stop": "■ Stop",
    "archive": "🗑 Delete (archive)",
}
KEEP_HELP = (
    "The lots stay in the account and no bot manages them (no stop-loss, no take-profit). "
    "Overview lists them with a button to close them later."
)


def flash(message: str) -> None:
    """Show `message` as a toast on the next run (the one st.rerun starts)."""
    st.session_state[TOAST_KEY] = message


def show_toast() -> None:
    message = st.session_state.pop(TOAST_KEY, None)
    if message:
        st.toast(message, icon="✅")


def _done(bot, action: str, close_position: bool) -> str:
    name = repr(bot.name)
    if action == "stop" and bot.status == "running":
        return f"{name} is selling its position at market; it stops once sold."
    if action == "close":
        return f"{name} is selling its position at market; it stops once sold."
    return {
        "start": f"{name} started.",
        "pause": f"{name} paused: it places no order until you resume it.",
        "resume": f"{name} resumed.",
        "stop": f"{name} stopped."
        + ("" if close_position else " Any position it held stays in the account."),
        "archive": f"{name} archived.",
        "exit_now": f"{name}: exit requested, it sells at market on the next candle.",
    }.get(action, f"{name}: done.")


def act(rt, user, bot_id: int, action: str, *, close_position: bool = False) -> None:
    """Run one action; on success flash what it did and rerun the app, else show why not."""
    try:
        with rt.session() as session:
            if action == "exit_now":
                bot = bots.request_exit_now(session, owner=user, bot_id=bot_id)
            elif action == "close":
                bot = bots.close_position(session, owner=user, bot_id=bot_id)
            else:
                bot = bots.change_status(
                    session,
                    owner=user,
                    bot_id=bot_id,
                    action=action,
                    close_position=close_position,
                )
            message = _done(bot, action, close_position)
    except AppError as exc:
        st.error(exc.message)
        return
    flash(message)
    st.rerun()


def settings_line(facts: dict) -> str:
    """Paper/live badge, account, order size and the risk limits that are set."""
    mode = MODE_BADGE.get(facts["mode"], ":gray-badge[no account]")
    return f"{mode} {facts['line']}"


def heading(bot, facts: dict) -> str:
    return f"**{bot.name}** · {bot.symbol} · {bot.timeframe} · {facts['strategy']}"


def status_line(bot, facts: dict) -> str:
    text = badge(bot.status, bot.status_reason)
    if facts["note"] and facts["note"] not in text:
        text += f" · :orange[{facts['note']}]"
    return text


def _stop(rt, user, bot, facts: dict, column, key: str) -> None:
    """Stop: a plain button for a bot holding nothing; else the choice close / keep."""
    if not facts["lots"]:
        if column.button(LABELS["stop"], key=f"{key}stop{bot.id}"):
            act(rt, user, bot.id, "stop")
        return
    with column.popover(LABELS["stop"]):
        lots = facts["lots"]
        held = f"{lots} open lot{'s' if lots > 1 else ''}"
        if facts["exit_pending"]:
            st.write(f"It holds {held} and an exit is pending: it sells at market, then stops.")
            if st.button("Stop after the exit", key=f"{key}stopexit{bot.id}"):
                act(rt, user, bot.id, "stop", close_position=True)
            return
        st.write(f"It holds {held}. Stop and…")
        if st.button(
            "Close the position at market",
            key=f"{key}stopclose{bot.id}",
            type="primary",
            help="Sell every lot at market on the next candle; the bot stops once sold.",
        ):
            act(rt, user, bot.id, "stop", close_position=True)
        if st.button("Keep it", key=f"{key}stopkeep{bot.id}", help=KEEP_HELP):
            act(rt, user, bot.id, "stop", close_position=False)


def action_buttons(rt, user, bot, facts: dict, *, key: str = "", extra: int = 0) -> list:
    """The lifecycle buttons for the bot's status; returns the columns left free (`extra` of
    them) for the caller's own buttons."""
    cols = st.columns(4 + extra)
    if facts["stopping"]:
        cols[0].caption("Stopping: no other action until its position is sold.")
        return cols[4:]
    actions = {
        "running": ["pause", "stop"],
        "paused": ["resume", "stop"],
        "stopped": ["start", "archive"],
        "error": ["start", "stop", "archive"],
    }.get(bot.status, [])
    for i, action in enumerate(actions):
        if action == "stop":
            _stop(rt, user, bot, facts, cols[i], key)
        elif action == "archive":
            with cols[i].popover(LABELS[action]):
                st.write("Archive this bot? It stops for good; its history is kept.")
                if facts["lots"]:
                    st.warning(
                        "It still holds what it bought: once archived, nothing here can sell "
                        "it. Close the position first (Overview) to sell it at market."
                    )
                if st.button("Yes, archive", key=f"{key}archive{bot.id}"):
                    act(rt, user, bot.id, action)
        elif cols[i].button(LABELS[action], key=f"{key}{action}{bot.id}"):
            act(rt, user, bot.id, action)
    if bot.status == "running" and facts["lots"] and not facts["exit_pending"]:
        with cols[3].popover("Exit now"):
            st.write("Sell the open position at market on the next candle? The bot keeps running.")
            if st.button("Yes, exit now", key=f"{key}exit{bot.id}"):
                act(rt, user, bot.id, "exit_now")
    return cols[4:]


def card(rt, user, row: dict, *, editable: bool = True) -> None:
    """One bot on the Bots page: what it is, its settings, PnL, and its buttons."""
    bot, facts = row["bot"], row["facts"]
    with st.container(border=True):
        top = st.columns([5, 4])
        top[0].markdown(heading(bot, facts))
        top[1].markdown(status_line(bot, facts))
        st.markdown(settings_line(facts))
        st.markdown(
            f"PnL {pnl_markdown(row['realised_pnl'])} · {row['open_lots']} open · "
            f"last tick {when(bot.last_tick_at)}"
        )
        free = action_buttons(rt, user, bot, facts, key="card", extra=2)
        if (
            editable
            and bot.status in bots.EDITABLE_WHEN
            and free[0].button("✎ Edit", key=f"edit{bot.id}")
        ):
            st.session_state["bots_editing"] = bot.id
            st.rerun()
        if free[1].button("Details →", key=f"detail{bot.id}"):
            st.session_state["detail_bot_id"] = bot.id
            st.switch_page("pages/bot_detail.py")


def detail_header(rt, user, bot) -> None:
    """Bot detail: the bot's settings in words and its action buttons."""
    with rt.read() as session:
        facts = views.describe_bots(session, [bot])[bot.id]
    st.markdown(f"{facts['strategy']} · {bot.symbol} · {bot.timeframe}")
    st.markdown(settings_line(facts))
    if facts["note"]:
        st.markdown(f":orange[{facts['note']}]")
    action_buttons(rt, user, bot, facts, key="detail")
