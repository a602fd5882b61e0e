"""Account settings: change password."""

import streamlit as st

from core import notify, users
from core.errors import AppError
from core.platform.vault import Vault
from ui import boot
from ui.session import current_user

rt = boot.runtime()
user = current_user(rt)

st.title("Account settings")
st.caption(f"{user.username} · {user.email} · {user.role}")

st.subheader("Change password")
with st.form("change_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password", max_chars=72)
    new = st.text_input("New password", type="password", max_chars=72)
    repeat = st.text_input("Repeat new password", type="password", max_chars=72)
    submitted = st.form_submit_button("Change password")
if submitted:
    if new != repeat:
        st.error("The two new passwords differ.")
    else:
        try:
            with rt.session() as session:
                users.change_password(
                    session, user=users.get_user(session, user_id=user.id), current=current, new=new
                )
            st.success("Password changed. Use the new one next time you sign in.")
        except AppError as exc:
            st.error(exc.message)

st.subheader("Notifications")
st.caption(
    "Apprise URLs, one per line — for example `tgram://BOT_TOKEN/CHAT_ID` (Telegram), "
    "`discord://WEBHOOK_ID/WEBHOOK_TOKEN`, `mailto://user:pass@example.com`. They hold "
    "tokens, so they are stored encrypted and never shown again. The worker sends the "
    "events you tick below within about a minute of them happening, never during a trade."
)
vault = Vault.from_settings(rt.settings)
with rt.read() as session:
    current = notify.get_settings(session, user_id=user.id)
chosen_now = set(current.events.split(",")) if current.events else set()
with st.form("notifications"):
    urls = st.text_area(
        f"Notification URLs ({current.url_count} saved; leave empty to keep them)",
        placeholder="tgram://…",
        max_chars=10_000,
    )
    clear = st.checkbox("Remove the saved URLs")
    chosen = [
        key
        for key, label in notify.EVENTS.items()
        if st.checkbox(label, value=key in chosen_now, key=f"notify_{key}")
    ]
    save = st.form_submit_button("Save notification settings")
if save:
    try:
        with rt.session() as session:
            notify.save_settings(
                session,
                user=users.get_user(session, user_id=user.id),
                urls_text="" if clear else (urls if urls.strip() else None),
                events=chosen,
                cipher=vault,
            )
        st.success("Notification settings saved.")
    except AppError as exc:
        st.error(exc.message)
if st.button("Send a test notification", disabled=current.url_count == 0):
    with st.spinner("Sending…"):
        ok = notify.send(
            notify.load_urls(current, vault),
            title="Steadybot test",
            body=f"Notifications for {user.username} work.",
        )
    if ok:
        st.success("Sent. Check your channel.")
    else:
        st.error("Sending failed for at least one URL; the log has the details.")
