"""Account settings: change password."""

import streamlit as st

from core import users
from core.errors import AppError
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
