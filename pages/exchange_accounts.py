"""Exchange accounts: connect an exchange (API key checked on save) or open a paper account;
re-enter, check, show balances, delete. Keys are shown masked; secrets never again."""

import streamlit as st

from core import accounts, exchanges
from core.errors import AppError
from ui import boot
from ui.bot_actions import flash as toast_next
from ui.bot_actions import show_toast
from ui.format import Column, table
from ui.session import current_user

rt = boot.runtime()
user = current_user(rt)
STATUS_TEXT = {
    "ok": ":green[ok]",
    "unverified": ":orange[unverified]",
    "needs_reentry": ":red[needs re-entry]",
    "invalid": ":red[invalid]",
}
OFFER = "exchange_accounts_offer_unverified"  # (form, message) whose check found no exchange
FLASH = "exchange_accounts_flash"  # a message for the run after a rerun


BALANCE_COLUMNS = (Column("asset"), Column("free", "amount"), Column("used", "amount"))
ACCOUNT_COLUMNS = (
    Column("label"),
    Column("exchange"),
    Column("kind", "words"),
    Column("status"),
    Column("last_check", "time"),
    Column("key", "text", "API key"),
)


def show_outcome(outcome: accounts.SaveOutcome, prefix: str) -> None:
    if outcome.result == "unreachable":  # rerun to offer the second confirmation
        st.session_state[OFFER] = (prefix, outcome.message)
        st.rerun()
    st.session_state.pop(OFFER, None)
    if outcome.result == "saved":
        st.success(outcome.message)
    else:
        st.error(outcome.message)
    if outcome.warning:
        st.warning(outcome.warning)


def credential_inputs(exchange_id: str, prefix: str) -> tuple[str, str, dict[str, str]]:
    api_key = st.text_input("API key", type="password", key=f"{prefix}_key")
    secret = st.text_input("Secret", type="password", key=f"{prefix}_secret")
    extra = {
        name: st.text_input(accounts.extra_label(name), type="password", key=f"{prefix}_{name}")
        for name in accounts.extra_fields(exchange_id)
    }
    return api_key, secret, extra


def unverified_choice(prefix: str) -> bool:
    offer = st.session_state.get(OFFER)
    if not offer or offer[0] != prefix:
        return False
    st.warning(offer[1])
    return st.checkbox(
        "The exchange could not be reached: save the key as unverified (checked again later)",
        key=f"{prefix}_unverified",
    )


def account_actions(acc: accounts.AccountInfo) -> None:
    cols = st.columns(3)
    if acc.kind == "live" and cols[0].button("Check now", key=f"check_{acc.id}"):
        checked = accounts.check_account(rt, owner=user, account_id=acc.id)
        status = STATUS_TEXT.get(checked.status, checked.status)
        st.info(
            f"Status now: {status}."
            + (f"\n\n{checked.status_reason}" if checked.status_reason else "")
        )
    if cols[1].button("Balances", key=f"bal_{acc.id}"):
        balances = accounts.balances_for_account(rt, owner=user, account_id=acc.id)
        rows = [{"asset": a, "free": b.free, "used": b.used} for a, b in balances.items()]
        if rows:
            table(rows, BALANCE_COLUMNS, key=f"balances_{acc.id}")
        else:
            st.info("All balances are zero.")
    if cols[2].button("Delete", key=f"del_{acc.id}"):
        st.session_state["exchange_accounts_delete"] = acc.id
    if st.session_state.get("exchange_accounts_delete") == acc.id:
        st.warning(
            f"Delete {acc.label!r}? Its stored API key is erased from the database at once. "
            "Bots on this account are stopped and keep their trades, orders and events; you "
            "can edit a stopped bot to trade on another account."
        )
        yes, no = st.columns(2)
        if yes.button("Yes, delete", key=f"del_yes_{acc.id}"):
            with rt.session() as session:
                done = accounts.delete_account(session, owner=user, account_id=acc.id)
            st.session_state.pop("exchange_accounts_delete", None)
            st.session_state[FLASH] = f"Account {acc.label!r} deleted; its key is erased." + (
                f" {done['bots_stopped']} bot(s) stopped." if done["bots_stopped"] else ""
            )
            st.rerun()
        if no.button("Cancel", key=f"del_no_{acc.id}"):
            st.session_state.pop("exchange_accounts_delete", None)
            st.rerun()
    if acc.kind == "live":
        reenter_form(acc)


def reenter_form(acc: accounts.AccountInfo) -> None:
    prefix = f"reenter_{acc.id}"
    with st.form(prefix):
        st.caption("Re-enter the key (replaces the stored one after a successful check)")
        api_key, secret, extra = credential_inputs(acc.exchange_id, prefix)
        allow = unverified_choice(prefix)
        if st.form_submit_button("Replace key"):
            outcome = accounts.reenter_key(
                rt, owner=user, account_id=acc.id, api_key=api_key, secret=secret,
                extra=extra, allow_unverified=allow,
            )  # fmt: skip
            show_outcome(outcome, prefix)


def guarded(action, *args) -> None:
    try:
        action(*args)
    except AppError as exc:
        st.error(exc.message)


def account_list() -> None:
    mine = accounts.list_accounts_checked(rt, owner=user)
    if not mine:
        st.info("No exchange accounts yet: add one below (a paper account needs no key).")
        return
    table(
        [
            {
                "label": a.label,
                "exchange": exchanges.exchange_name(a.exchange_id)
                + (" (testnet)" if a.sandbox else ""),
                "kind": a.kind,
                "status": a.status.replace("needs_reentry", "needs re-entry"),
                "last_check": a.last_checked_at,
                "key": a.key_hint or "—",
            }
            for a in mine
        ],
        ACCOUNT_COLUMNS,
    )
    for acc in mine:
        with st.expander(f"{acc.label} · {exchanges.exchange_name(acc.exchange_id)}"):
            st.markdown(f"Status: {STATUS_TEXT.get(acc.status, acc.status)}")
            if acc.status_reason:
                st.caption(acc.status_reason)
            guarded(account_actions, acc)


def add_live_form() -> None:
    exchange_id = st.selectbox(
        "Exchange",
        accounts.exchange_choices(),
        index=None,
        placeholder="Type to search",
        format_func=exchanges.exchange_name,
    )
    st.caption(
        "Other exchanges are not offered for live trading: their client order ids cannot be "
        "looked up, so an order whose answer is lost could not be checked."
    )
    st.caption("Paper accounts can use their prices.")
    if exchange_id is None:
        return
    prefix = f"add_{exchange_id}"
    with st.form(prefix):
        label = st.text_input("Label", max_chars=64, key=f"{prefix}_label")
        api_key, secret, extra = credential_inputs(exchange_id, prefix)
        sandbox = accounts.has_sandbox(exchange_id) and st.checkbox(
            "Testnet / sandbox", key=f"{prefix}_sandbox"
        )
        allow = unverified_choice(prefix)
        if st.form_submit_button("Check and save"):
            outcome = accounts.add_live_account(
                rt, owner=user, exchange_id=exchange_id, label=label, api_key=api_key,
                secret=secret, extra=extra, sandbox=sandbox, allow_unverified=allow,
            )  # fmt: skip
            show_outcome(outcome, prefix)
    st.caption(
        "Use a key with trading only: withdrawals disabled, and restricted to this server's IP."
    )


def add_paper_form() -> None:
    with st.form("add_paper"):
        label = st.text_input("Label", max_chars=64, key="paper_label")
        feed = st.selectbox(
            "Prices", [exchanges.SIM] if user.is_guest else exchanges.feed_choices(),
            key="paper_feed",
            format_func=exchanges.exchange_name,
            help="Simulated market: offline prices. An exchange: its live public prices (no "
            "key needed); the ones offered for live trading come first.",
        )  # fmt: skip
        text = st.text_input("Starting balances", value="USDT=10000", key="paper_balances")
        if st.form_submit_button("Open paper account"):
            with rt.session() as session:
                accounts.add_paper_account(
                    session, owner=user, label=label, feed=feed,
                    balances=accounts.parse_balances(text),
                )  # fmt: skip
            # Rerun so the list above shows it at once (it was drawn before this form).
            st.session_state[FLASH] = "Paper account opened."
            toast_next(f"Paper account {label.strip()!r} opened.")
            st.rerun()


st.title("Exchange accounts")
show_toast()
if flash := st.session_state.pop(FLASH, None):
    st.success(flash)
guarded(account_list)
st.subheader("Connect an exchange")
if accounts.live_keys_allowed(rt.settings, user):
    guarded(add_live_form)
else:  # a guest, or anyone but the admin in the public demo
    st.info(accounts.LIVE_KEYS_ADMIN_ONLY, icon=":material/lock:")
st.subheader("Paper account")
st.caption("Trade with pretend money on real or simulated prices: no API key needed.")
guarded(add_paper_form)
