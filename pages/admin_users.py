"""Administration: users (create, enable/disable, role, unlock, delete), registration, and
sign-in throttling (unlock a user, unblock an address)."""

import streamlit as st

from core import users
from core.errors import AppError
from ui import boot
from ui.format import Column, table
from ui.session import require_admin

rt = boot.runtime()
admin = require_admin(rt)
rules = users.Registration.from_settings(rt.settings)
policy = users.ThrottlePolicy.from_settings(rt.settings)

USER_COLUMNS = (
    Column("id", "id", "Id"),
    Column("username"),
    Column("name"),
    Column("email"),
    Column("role", "words"),
    Column("active"),
    Column("throttled", "text", "Sign-in throttled"),
    Column("last_login", "time", "Last sign-in"),
)
ADDRESS_COLUMNS = (
    Column("address"),
    Column("failures", "count", "Failed sign-ins"),
    Column("last", "time", "Last failure"),
    Column("blocked_until", "time", "Blocked until"),
)

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
    people = users.list_users(session, guests=False)  # guests: a count, below
    guest_count = users.guests_alive(session)
    slowed = users.throttled(session, policy=policy)

if rt.settings.public_demo:
    st.caption(
        f"Public demo: **{guest_count}** guest trader(s) now, each deleted with its data a "
        "day after it was made (not listed here)."
    )
if rules.mode == "open":
    wanted = st.toggle("Open registration (anyone can create a trader account)", value=is_open)
    if wanted != is_open:
        act(users.set_registration_open, is_open=wanted)
else:
    st.caption(
        f"Registration: **{rules.mode}** (STEADYBOT_REGISTRATION). "
        + (
            "Nobody signs up; create accounts below."
            if rules.mode == "invite"
            else "Accounts are created with `python -m core.cli create-user`."
        )
    )

slowed_names = {r.username for r in slowed if r.username}
rows = [
    {
        "id": u.id,
        "username": u.username,
        "name": u.name,
        "email": u.email,
        "role": u.role,
        "active": "yes" if u.is_active else "no",
        "throttled": "yes" if u.username in slowed_names else "no",
        "last_login": u.last_login_at,
    }
    for u in people
]
table(rows, USER_COLUMNS)

st.subheader("Manage a user")
choice = st.selectbox("User", people, format_func=lambda u: f"{u.username} ({u.role})")
if choice is not None:
    cols = st.columns(4)
    if cols[0].button(
        "Unlock",
        disabled=choice.username not in slowed_names,
        help="Forget this user's failed sign-ins: their waiting time ends now.",
    ):
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

if rules.mode != "closed":
    st.subheader("Create a user")
    with st.form("admin_create_user", clear_on_submit=False):
        c1, c2 = st.columns(2)
        new_username = c1.text_input("Username", max_chars=32)
        new_email = c2.text_input("Email", max_chars=254)
        new_name = c1.text_input("Display name", max_chars=100)
        new_role = c2.selectbox("Role", users.ROLES, index=users.ROLES.index("trader"))
        new_password = c1.text_input(
            "Initial password", type="password", max_chars=72, help="Tell them to change it."
        )
        create = st.form_submit_button("Create user")
    if create:
        try:
            with rt.session() as session:
                made = users.admin_create_user(
                    session,
                    admin=users.get_user(session, user_id=admin.id),
                    rules=rules,
                    username=new_username,
                    email=new_email,
                    name=new_name,
                    password=new_password,
                    role=new_role,
                )
            st.success(f"Account {made.username!r} created ({made.role}).")
        except AppError as exc:
            st.error(exc.message)

blocked = [r for r in slowed if r.key.startswith("a:")]
if blocked:
    st.subheader("Throttled addresses")
    table(
        [
            {
                "address": r.address,
                "failures": r.failures,
                "last": r.last_at,
                "blocked_until": r.blocked_until,
            }
            for r in blocked
        ],
        ADDRESS_COLUMNS,
    )
    address = st.selectbox("Address", [r.address for r in blocked])
    if st.button("Unblock this address"):
        try:
            with rt.session() as session:
                users.unblock_address(session, address=address)
        except AppError as exc:
            st.error(exc.message)
        else:
            st.rerun()
