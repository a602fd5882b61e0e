"""Account settings: password, sessions (sign out everywhere), notifications."""

import streamlit as st

from core import notify, users
from core.errors import AppError
from core.platform.vault import Vault
from ui import auth, boot
from ui.format import time_zone_setting
from ui.session import current_user

rt = boot.runtime()
user = current_user(rt)

st.title("Account settings")
st.caption(f"{user.username} · {user.email} · {user.role}")


def password_section() -> None:
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
                        session,
                        user=users.get_user(session, user_id=user.id),
                        current=current,
                        new=new,
                    )
            except AppError as exc:
                st.error(exc.message)
            else:
                auth.renew_session(rt, user)  # every session ended; this browser gets a new one
                st.session_state["account_flash"] = (
                    "Password changed. Every other browser signed in as you is signed out; "
                    "use the new password next time you sign in."
                )
                st.rerun()  # the run that stores the new session's cookie in this browser
    if flash := st.session_state.get("account_flash"):
        st.success(flash)
        if not auth.cookie_pending():  # kept through the rerun that confirms the new cookie
            st.session_state.pop("account_flash", None)


def notification_section() -> None:
    st.subheader("Notifications")
    st.caption(
        "Apprise URLs, one per line — for example `tgram://BOT_TOKEN/CHAT_ID` (Telegram), "
        "`discord://WEBHOOK_ID/WEBHOOK_TOKEN`, `mailto://user:pass@example.com`. They hold "
        "tokens, so they are stored encrypted and never shown again. The worker sends the "
        "events you tick below within about a minute of them happening, never during a trade. "
        "Notifications go to public hosts only, through these services: "
        + ", ".join(f"`{s}://`" for s in sorted(notify.SCHEMES))
        + "."
    )
    vault = Vault.from_settings(rt.settings)
    policy = notify.Policy.from_settings(rt.settings)  # which hosts URLs may reach
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
                    policy=policy,
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
                policy=policy,
            )
        if ok:
            st.success("Sent. Check your channel.")
        else:
            st.error(
                "Sending failed for at least one URL.\n\n"
                "Its service could not be reached or did not accept the message, or it was "
                "refused because it now points to an internal address. Check the URLs and send a "
                "test again."
            )


if user.is_guest:
    st.info(
        "This is a guest trader of the public demo: it has no password (this browser's "
        "session is the way in) and sends no notifications. It is deleted with its data when "
        "its day is over.",
        icon=":material/timer:",
    )
else:
    password_section()


def sessions_section() -> None:
    st.subheader("Sessions")
    with rt.read() as session:
        live = users.live_sessions(session, user_id=user.id)
    st.caption(
        f"You are signed in in {live} browser(s) (each sign-in lasts up to "
        f"{rt.settings.cookie_expiry_days:g} days). Lost a device, or signed in somewhere public? "
        "End them all, this one included."
    )
    if st.button("Sign out everywhere"):
        with rt.session() as session:
            users.sign_out_everywhere(session, user=users.get_user(session, user_id=user.id))
        auth.end_browser_session(rt, ("success", "You are signed out everywhere."))
        st.rerun()


if not user.is_guest:  # a guest has one session: Log out deletes it
    sessions_section()
    notification_section()

time_zone_setting(rt, user)  # "Show times in UTC"
