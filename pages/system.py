"""Administration: system health — database, schema, data dir, logs, audit log."""

import streamlit as st

from core import audit, db, migrate
from core.logs import tail
from ui import boot
from ui.session import require_admin

rt = boot.runtime()
require_admin(rt)

st.title("System")
cols = st.columns(4)
cols[0].metric("Database", db.backend_name(rt.engine))
cols[1].metric("Journal mode", db.journal_mode(rt.engine) or "n/a")
current = migrate.current_revision(rt.engine)
head = migrate.head_revision()
cols[2].metric(
    "Schema version", current or "none", "at head" if current == head else f"head {head}"
)
cols[3].metric("Environment", rt.settings.env)
st.caption(f"Data directory: `{rt.settings.data_dir.resolve()}`")

st.subheader("Log tail (last 200 lines)")
st.code("\n".join(tail(rt.settings.log_dir, 200)) or "(empty)", language="log")

st.subheader("Audit log")
action = st.text_input("Filter by action (e.g. user.login)", max_chars=64)
with rt.read() as session:
    entries = audit.recent(session, limit=200, action=action.strip() or None)
st.dataframe(
    [
        {"when": e.ts, "who": e.actor, "action": e.action, "target": e.target, "detail": e.detail}
        for e in entries
    ],
    hide_index=True,
    use_container_width=True,
)
