"""Bots: the list with status, settings and PnL (refreshing on its own), actions, editing a
stopped bot, and the create form."""

import streamlit as st

from core import accounts, bots, trading, views
from core.errors import AppError
from ui import boot
from ui.bot_actions import card, flash, show_toast
from ui.bot_form import bot_form
from ui.session import checked_fragment, current_user

REFRESH_S = 10

rt = boot.runtime()
user = current_user(rt)
st.title("Bots")
show_toast()


@checked_fragment(rt, run_every=REFRESH_S)
def bot_list() -> None:
    with rt.read() as session:
        cards = views.bot_cards(session, owner=user)
    if not cards:
        st.info(
            "No bots yet. Create your first one below — on a paper account it trades the "
            "simulated market with play money."
        )
    for row in cards:
        card(rt, user, row)


bot_list()

with rt.read() as session:
    my_accounts = accounts.list_accounts(session, owner=user)
    editing = st.session_state.get("bots_editing")
    mine = {b.id: b for b in bots.list_bots(session, owner=user)}
bot = mine.get(editing)
if bot is not None and bot.status in bots.EDITABLE_WHEN:
    st.subheader(f"Edit {bot.name}")
    spec = bot_form(
        rt,
        user,
        my_accounts,
        key=f"edit{bot.id}_",
        initial=bots.spec_values(bot),
        submit_label="Save changes",
        bot_id=bot.id,
    )
    if st.button("Cancel editing", key=f"edit_cancel{bot.id}"):
        st.session_state.pop("bots_editing", None)
        st.rerun()
    if spec is not None:
        try:
            with rt.session() as session:
                bots.update_bot(
                    session, owner=user, bot_id=bot.id, spec=spec, markets=trading.market_lookup(rt)
                )
        except AppError as exc:
            st.error(exc.message)
        else:
            st.session_state.pop("bots_editing", None)
            flash(f"Bot {spec.name!r} saved.")
            st.rerun()
elif editing is not None:
    st.session_state.pop("bots_editing", None)

st.subheader("Create a bot")
# Set by the Backtest page's "Create a bot with these settings"; kept until a bot is created.
prefill = st.session_state.get("bot_prefill")
if prefill:
    cols = st.columns([5, 1])
    cols[0].info("The form below starts from your backtest's settings.")
    if cols[1].button("Clear", key="bot_prefill_clear"):
        st.session_state.pop("bot_prefill", None)
        st.rerun()
# A new key after each create: the form starts empty again.
generation = st.session_state.get("bots_form_generation", 0)
spec = bot_form(
    rt, user, my_accounts, key="new_" if not generation else f"new{generation}_", initial=prefill
)
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
        st.session_state["bots_form_generation"] = generation + 1
        flash(f"Bot {created.name!r} created. Start it when ready.")
        st.rerun()
