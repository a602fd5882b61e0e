"""Bots: the list with status and PnL, actions, editing a stopped bot, and the create form."""

import streamlit as st

from core import accounts, bots, trading, views
from core.errors import AppError
from ui import boot
from ui.bot_form import bot_form
from ui.format import badge, money, when
from ui.session import current_user

rt = boot.runtime()
user = current_user(rt)
st.title("Bots")
if flash := st.session_state.pop("bots_flash", None):
    st.success(flash)

ACTIONS = {
    "running": ["pause", "stop"],
    "paused": ["resume", "stop"],
    "stopped": ["start", "archive"],
    "error": ["start", "stop", "archive"],
}
LABELS = {
    "start": "▶ Start",
    "pause": "❚❚ Pause",
    "resume": "▶ Resume",
    "stop": "■ Stop",
    "archive": "🗑 Delete (archive)",
}


def act(bot_id: int, action: str) -> None:
    try:
        with rt.session() as session:
            if action == "exit_now":
                bots.request_exit_now(session, owner=user, bot_id=bot_id)
            else:
                bots.change_status(session, owner=user, bot_id=bot_id, action=action)
    except AppError as exc:
        st.error(exc.message)
        return
    st.rerun()


def edit_form(bot) -> None:
    """The create form, filled with a stopped bot's settings; saving updates that bot."""
    spec = bot_form(
        my_accounts,
        trading.market_lookup(rt),
        key=f"edit{bot.id}_",
        initial=bots.spec_values(bot),
        submit_label="Save changes",
    )
    if st.button("Cancel editing", key=f"edit_cancel{bot.id}"):
        st.session_state.pop("bots_editing", None)
        st.rerun()
    if spec is None:
        return
    try:
        with rt.session() as session:
            bots.update_bot(
                session, owner=user, bot_id=bot.id, spec=spec, markets=trading.market_lookup(rt)
            )
    except AppError as exc:
        st.error(exc.message)
        return
    st.session_state.pop("bots_editing", None)
    st.session_state["bots_flash"] = f"Bot {spec.name!r} saved."
    st.rerun()


with rt.read() as session:
    cards = views.bot_cards(session, owner=user)
    my_accounts = accounts.list_accounts(session, owner=user)

if not cards:
    st.info(
        "No bots yet. Create your first one below — on a paper account it trades the "
        "simulated market with play money."
    )
for card in cards:
    bot = card["bot"]
    with st.container(border=True):
        top = st.columns([4, 3, 3])
        top[0].markdown(f"**{bot.name}** · {bot.symbol} · {bot.timeframe} · `{bot.strategy}`")
        top[1].markdown(badge(bot.status, bot.status_reason))
        top[2].markdown(
            f"PnL **{money(card['realised_pnl'])}** · {card['open_lots']} open · "
            f"last tick {when(bot.last_tick_at)}"
        )
        buttons = st.columns(6)
        for i, action in enumerate(ACTIONS.get(bot.status, [])):
            if action == "archive":
                with buttons[i].popover(LABELS[action]):
                    st.write("Archive this bot? It stops for good; its history is kept.")
                    if st.button("Yes, archive", key=f"archive{bot.id}"):
                        act(bot.id, action)
            elif buttons[i].button(LABELS[action], key=f"{action}{bot.id}"):
                act(bot.id, action)
        if card["open_lots"] and bot.status == "running":
            with buttons[4].popover("Exit now"):
                st.write("Sell the open position at market on the next step?")
                if st.button("Yes, exit now", key=f"exit{bot.id}"):
                    act(bot.id, "exit_now")
        if bot.status in bots.EDITABLE_WHEN and buttons[3].button("✎ Edit", key=f"edit{bot.id}"):
            st.session_state["bots_editing"] = bot.id
        if st.session_state.get("bots_editing") == bot.id and bot.status in bots.EDITABLE_WHEN:
            edit_form(bot)
        if buttons[5].button("Details →", key=f"detail{bot.id}"):
            st.session_state["detail_bot_id"] = bot.id
            st.switch_page("pages/bot_detail.py")

st.subheader("Create a bot")
# Set by the Backtest page's "Create a bot with these settings"; kept until a bot is created.
prefill = st.session_state.get("bot_prefill")
if prefill:
    cols = st.columns([5, 1])
    cols[0].info("The form below starts from your backtest's settings.")
    if cols[1].button("Clear", key="bot_prefill_clear"):
        st.session_state.pop("bot_prefill", None)
        st.rerun()
spec = bot_form(my_accounts, trading.market_lookup(rt), initial=prefill)
if spec is not None:
    try:
        with rt.session() as session:
            created = bots.create_bot(
                session, owner=user, spec=spec, markets=trading.market_lookup(rt)
            )
    except AppError as exc:
        st.error(exc.message)
    else:
        st.session_state.pop("bot_prefill", None)
        st.session_state["bots_flash"] = f"Bot {created.name!r} created. Start it when ready."
        st.rerun()
