"""Administration: users (enable/disable, role, unlock) and the registration switch."""

import streamlit as st

from core import users
from core.errors import AppError
from core.models import utcnow
from ui import boot
from ui.session import require_admin

rt = boot.runtime()
admin = require_admin(rt)

st.title("Users")


def act(fn, **kwargs) -> None:
    try:
        with rt.session() as session:
            fn(session, admin=users.get_user(session, user_id=admin.id), **kwargs)
    except AppError as exc:
        st.error(exc.message)
        return
    st.rerun()


with rt.read() as session:
    is_open = users.registration_open(session)
    people = users.list_users(session)

wanted = st.toggle("Open registration (anyone can create a trader account)", value=is_open)
if wanted != is_open:
    act(users.set_registration_open, is_open=wanted)

now = utcnow()
rows = [
    {
        "id": u.id,
        "username": u.username,
        "name": u.name,
        "email": u.email,
        "role": u.role,
        "active": u.is_active,
        "locked": bool(u.locked_until and u.locked_until > now),
        "last sign-in": u.last_login_at,
    }
    for u in people
]
st.dataframe(rows, hide_index=True, width="stretch")

st.subheader("Manage a user")
choice = st.selectbox("User", people, format_func=lambda u: f"{u.username} ({u.role})")
if choice is not None:
    cols = st.columns(4)
    if cols[0].button("Unlock", disabled=not choice.locked_until):
        act(users.unlock, user_id=choice.id)
    label = "Disable" if choice.is_active else "Enable"
    if cols[1].button(label, disabled=choice.id == admin.id):
        act(users.set_active, user_id=choice.id, active=not choice.is_active)
    other = "trader" if choice.role == "admin" else "admin"
    if cols[2].button(f"Make {other}", disabled=choice.id == admin.id):
        act(users.set_role, user_id=choice.id, role=other)

    with st.expander(f"Delete {choice.username} and all their data"):
        st.warning(
            "This deletes the user, their exchange accounts, bots and trades. It cannot be undone."
        )
        typed = st.text_input("Type the username to confirm", key=f"confirm_{choice.id}")
        if st.button("Delete user", type="primary", disabled=choice.id == admin.id):
            act(users.delete_user, user_id=choice.id, confirm_username=typed)
