"""The sign-in gate: server-side sessions (core.users), a session cookie, the sign-in screen.

Every run starts with `signed_in_user`: the session token kept in this browser session, or
else the one in the browser's cookie, is checked against the database (revoked, expired,
disabled and deleted users are out at once). The cookie holds only a random token; it is
written and deleted in the browser by a tiny component (extra-streamlit-components' cookie
manager), rendered until the browser reports it done. Sign-in goes through
`core.users.sign_in` (throttling, one message for unknown user and wrong password).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

import streamlit as st
from extra_streamlit_components.CookieManager import _component_func as _cookie_component

from core import users
from core.demo import DEMO_PASSWORD, DEMO_USERNAME, end_guest, start_guest
from core.errors import AppError
from core.models import User
from core.platform.limits import GUEST_HOURS
from core.platform.runtime import Runtime
from ui import session as sess

log = logging.getLogger("steadybot.auth")
COOKIE_SET = "steadybot_cookie_set"  # (token, expiry) still to be written to the browser
COOKIE_DELETE = "steadybot_cookie_delete"  # a counter: the cookie still to be deleted
COOKIE_REJECTED = "steadybot_cookie_rejected"  # a cookie value already found void
LANDING_KEY = "steadybot_landing"  # a page to open once the signed-in navigation is up
WELCOME_KEY = "steadybot_welcome"  # a toast for a brand-new account's first run
OVERVIEW = "pages/overview.py"
JOBS_CSS = "<style>.st-key-sb_cookie_jobs{display:none}</style>"


def _cookie_name(rt: Runtime) -> str:
    return rt.settings.cookie_name


def signed_in_user(rt: Runtime) -> User | None:
    """The signed-in user, checked now, or None. Adopts a valid session cookie once."""
    user = sess.signed_in(rt)
    state = st.session_state
    if user is None and sess.TOKEN_KEY not in state:
        cookie = st.context.cookies.get(_cookie_name(rt))
        if cookie and cookie != state.get(COOKIE_REJECTED):
            with rt.read() as session:
                user = users.session_user(session, token=cookie, key=sess.cookie_key(rt))
            if user is not None:
                sess.adopt(cookie, user)
            else:  # logged out, revoked, expired, or its user gone: clear it in the browser
                state[COOKIE_REJECTED] = cookie
                state[COOKIE_DELETE] = state.get(COOKIE_DELETE, 0) + 1
                state.setdefault(sess.NOTICE_KEY, ("warning", sess.ENDED))
    _cookie_jobs(rt)
    return user


def _cookie_jobs(rt: Runtime) -> None:
    """Write or delete the cookie in the browser; each job is rendered on every run until the
    component reports it done (a rerun in between cannot lose it)."""
    state = st.session_state
    pending, deletes = state.get(COOKIE_SET), state.get(COOKIE_DELETE)
    if not pending and not deletes:
        return
    with st.container(key="sb_cookie_jobs"):
        st.html(JOBS_CSS)
        if pending:
            token, expires = pending  # the same arguments on every run: one job, one write
            options = {
                "path": "/",
                "expires": expires,
                "sameSite": "strict",
                "secure": (st.context.url or "").startswith("https://"),
            }
            tag = hashlib.sha256(token.encode()).hexdigest()[:12]
            done = _cookie_component(
                method="set",
                cookie=_cookie_name(rt),
                value=token,
                options=options,
                key=f"sb_cookie_set_{tag}",
                default=False,
            )
            if done:
                state.pop(COOKIE_SET, None)
        elif deletes:
            done = _cookie_component(
                method="delete",
                cookie=_cookie_name(rt),
                key=f"sb_cookie_del_{deletes}",
                default=False,
            )
            if done:
                state.pop(COOKIE_DELETE, None)


def cookie_pending() -> bool:
    """Whether a new session's cookie is still to be written in the browser."""
    return bool(st.session_state.get(COOKIE_SET))


def start_browser_session(rt: Runtime, user: User, token: str) -> None:
    """Run this browser session as `user` and store `token` in its cookie."""
    sess.adopt(token, user)
    expires = datetime.now() + timedelta(days=rt.settings.cookie_expiry_days)
    st.session_state[COOKIE_SET] = (token, expires.isoformat())
    st.session_state.pop(COOKIE_DELETE, None)


def renew_session(rt: Runtime, user: User) -> None:
    """A new session for this browser (after a password change ended all of them, or for a
    just-registered account)."""
    with rt.session() as session:
        token = users.start_session(
            session,
            user=users.get_user(session, user_id=user.id),
            key=sess.cookie_key(rt),
            days=rt.settings.cookie_expiry_days,
            address=users.client_address(st.context.ip_address),
        )
    start_browser_session(rt, user, token)


def end_browser_session(rt: Runtime, notice: tuple[str, str]) -> None:
    """Forget the session here and delete the cookie (the server side is already done)."""
    state = st.session_state
    token = state.get(sess.TOKEN_KEY)
    if token:
        state[COOKIE_REJECTED] = token  # the browser may still send it until it is deleted
    state.pop(COOKIE_SET, None)
    state[COOKIE_DELETE] = state.get(COOKIE_DELETE, 0) + 1
    sess.forget(notice)


def log_out(rt: Runtime) -> None:
    """End this session server-side (a copied cookie stops working too) and here."""
    token = st.session_state.get(sess.TOKEN_KEY)
    with rt.session() as session:  # whose session this token still is (None: already over)
        owner = users.session_user(session, token=token, key=sess.cookie_key(rt))
        users.end_session(session, token=token, key=sess.cookie_key(rt))
    log.info("user id %s signed out", owner.id if owner else None)
    if owner is not None and owner.is_guest:
        end_guest(rt, user_id=owner.id)  # a guest cannot come back: it goes now
    end_browser_session(rt, ("success", "You are signed out."))


def sidebar(rt: Runtime, user: User) -> None:
    welcome = st.session_state.pop(WELCOME_KEY, None)
    if welcome:
        st.toast(welcome, icon=":material/waving_hand:")
    if user.is_guest:
        left = max(0.0, (user.expires_at.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds())
        st.sidebar.caption(
            f"Guest trader **{user.name}**: deleted with its data in {left / 3600:.0f} h"
        )
    else:
        st.sidebar.caption(f"Signed in as **{user.name}** ({user.role})")
    st.sidebar.button(
        "Log out",
        key="sign_out_button",
        on_click=log_out,
        args=(rt,),
        help="Ends this guest trader and deletes its data (it has no password to come back with)"
        if user.is_guest
        else None,
    )


def gate(rt: Runtime) -> User:
    """The signed-in user, or the sign-in screen and stop (for apps without navigation)."""
    user = signed_in_user(rt)
    if user is None:
        sign_in_screen(rt)
        st.stop()
        raise RuntimeError("unreachable")  # st.stop() raises
    sidebar(rt, user)
    return user


def sign_in_screen(rt: Runtime) -> None:
    """Sign-in form, then what a newcomer needs: the demo hint, the first-admin setup or the
    sign-up form, as the registration rules allow."""
    notice = st.session_state.get(sess.NOTICE_KEY)  # kept until the next sign-in attempt
    st.title("Steadybot")
    slot = st.empty()
    if notice:
        kind, text = notice
        (slot.success if kind == "success" else slot.warning)(text)
    if rt.settings.public_demo:
        _guest_offer(rt)
    _sign_in_form(rt, slot)
    _landing(rt)


def _guest_offer(rt: Runtime) -> None:
    """The public demo's way in: a private guest trader, signed in at once."""
    st.markdown(
        "A crypto trading-bot platform: strategies, risk limits, paper and live trading, "
        "backtests. **Try it with play money**, no account needed."
    )
    clicked = st.button(
        "Try it without an account", type="primary", icon=":material/rocket_launch:"
    )
    st.caption(
        f"You get a private guest trader with a 10,000 USDT paper account and a bot already "
        f"trading the simulated market. Nobody else sees it; it is deleted with everything "
        f"in it after {GUEST_HOURS} hours."
    )
    if not clicked:
        return
    try:
        with st.spinner("Preparing your guest trader and its bot's first hours…"):
            user, token = start_guest(rt, address=users.client_address(st.context.ip_address))
    except AppError as exc:
        st.error(exc.message)
        return
    start_browser_session(rt, user, token)
    state = st.session_state
    state.pop(sess.NOTICE_KEY, None)
    state.pop(COOKIE_REJECTED, None)
    state[LANDING_KEY] = OVERVIEW
    state[WELCOME_KEY] = "Welcome! Your guest trader is ready: its bot is already trading."
    st.rerun()


def _sign_in_form(rt: Runtime, notice_slot) -> None:
    with st.form("login", clear_on_submit=False):
        st.subheader("Sign in")
        username = st.text_input("Username", max_chars=64, autocomplete="username")
        password = st.text_input(
            "Password", type="password", max_chars=128, autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    st.session_state.pop(sess.NOTICE_KEY, None)
    notice_slot.empty()
    result = users.sign_in(rt, username=username, password=password, address=st.context.ip_address)
    if not result.ok:
        st.error(result.message)
        return
    start_browser_session(rt, result.user, result.token)
    st.session_state.pop(COOKIE_REJECTED, None)
    st.rerun()  # the page asked for (the URL is kept), now signed in


def _landing(rt: Runtime) -> None:
    rules = users.Registration.from_settings(rt.settings)
    with rt.read() as session:
        first = not users.has_admin(session)
        can_register = users.can_register(session, rules=rules)
        demo = users.get_by_username(session, username=DEMO_USERNAME)
    if demo is not None and demo.is_active and rt.settings.demo_enabled:
        st.info(
            f"Just looking? Sign in as **{DEMO_USERNAME}** with password "
            f"**{DEMO_PASSWORD}**: a paper bot is already trading the simulated market."
        )
    if rules.public_demo and not can_register:
        return  # visitors come in as guests; the admin is set in the settings or the CLI
    if first and rules.setup_token:
        st.info(users.NO_ADMIN_YET)
        with st.expander("Create the first administrator", expanded=True):
            _account_form(rt, setup=True)
        return
    if first:
        st.info("Welcome! No account exists yet: the first account you create becomes the admin.")
    if not can_register:
        st.caption("Registration is closed. Ask an administrator for an account.")
        return
    with st.expander("Create an account", expanded=first):
        _account_form(rt, setup=False)


def _account_form(rt: Runtime, *, setup: bool) -> None:
    """Sign-up, or (setup) the first admin with the one-time token from the server log."""
    with st.form("setup" if setup else "register", clear_on_submit=False):
        token = (
            st.text_input("Setup token (from the server log)", type="password", max_chars=200)
            if setup
            else ""
        )
        username = st.text_input("New username", max_chars=32)
        email = st.text_input("Email", max_chars=254)
        name = st.text_input("Display name", max_chars=100)
        password = st.text_input("New password", type="password", max_chars=72)
        repeat = st.text_input("Repeat password", type="password", max_chars=72)
        submitted = st.form_submit_button("Create administrator" if setup else "Create account")
    if not submitted:
        return
    if password != repeat:
        st.error("The two passwords differ.")
        return
    rules = users.Registration.from_settings(rt.settings)
    try:
        with rt.session() as session:
            if setup:
                user = users.create_first_admin(
                    session,
                    token=token,
                    username=username,
                    email=email,
                    name=name,
                    password=password,
                )
            else:
                user = users.register(
                    session,
                    username=username,
                    email=email,
                    name=name,
                    password=password,
                    rules=rules,
                )
    except AppError as exc:
        st.error(exc.message)
        return
    log.info("account %s created (%s)", user.username, user.role)
    # Signed in at once, with a session made as every new session is (no second typing of the
    # credentials; audited once, as the registration, not as a sign-in), then Overview.
    renew_session(rt, user)
    state = st.session_state
    state.pop(sess.NOTICE_KEY, None)
    state.pop(COOKIE_REJECTED, None)
    state[LANDING_KEY] = OVERVIEW
    state[WELCOME_KEY] = f"Welcome, {user.name}! Your account is ready ({user.role})."
    st.rerun()
