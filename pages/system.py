"""Administration: system health — database, queue, workers, schema, data dir, logs, audit log."""

from datetime import datetime, time, timedelta

import streamlit as st

from core import views
from core.models import utcnow
from core.platform import audit, db, migrate
from core.platform.logs import tail
from ui import boot
from ui.format import Column, display_zone, table, when
from ui.session import require_admin

rt = boot.runtime()
require_admin(rt)

st.title("System")
with rt.read() as session:
    workers = views.worker_status(session)
    actions, actors = audit.filter_choices(session)

cols = st.columns(4)
cols[0].metric("Database", db.backend_name(rt.engine))
cols[1].metric("Journal mode", db.journal_mode(rt.engine) or "n/a")
current = migrate.current_revision(rt.engine)
head = migrate.head_revision()
cols[2].metric(
    "Schema version", current or "none", "at head" if current == head else f"head {head}"
)
cols[3].metric("Environment", rt.settings.env)
cols = st.columns(4)
cols[0].metric("Queue", views.queue_backend(rt.settings).split(" ", 1)[0])
cols[1].metric(
    "Queue depth",
    "—" if workers["queue_depth"] is None else workers["queue_depth"],
    help="Tasks waiting, as the newest live worker last reported it",
)
cols[2].metric("Live workers", workers["alive"], help="Workers that beat within the last minute")
cols[3].metric("Worker mode", rt.settings.worker)
st.caption(
    f"Queue: {views.queue_backend(rt.settings)} · data directory: "
    f"`{rt.settings.data_dir.resolve()}`"
)

st.subheader("Worker heartbeats")
if not workers["healthy"]:
    last = when(workers["last_beat"]) if workers["last_beat"] else "never"
    st.warning(f"No worker has reported in the last minute (last heartbeat: {last}).")
now = utcnow()
if workers["workers"]:
    table(
        [
            {
                "worker": w.worker_id,
                "mode": w.mode,
                "version": w.version,
                "started": w.started_at,
                "last_beat": w.last_beat,
                "seconds_ago": int((now - views.aware(w.last_beat)).total_seconds()),
                "queue_depth": w.queue_depth,
            }
            for w in workers["workers"]
        ],
        (
            Column("worker"),
            Column("mode"),
            Column("version"),
            Column("started", "time"),
            Column("last_beat", "time"),
            Column("seconds_ago", "count", "Seconds ago"),
            Column("queue_depth", "count"),
        ),
    )
else:
    st.caption("No worker has ever reported to this database.")

st.subheader("Log tail (last 200 lines)")
st.code("\n".join(tail(rt.settings.log_dir, 200)) or "(empty)", language="log")

st.subheader("Audit log")
cols = st.columns(3)
action = cols[0].selectbox("Action", [None, *actions], format_func=lambda a: a or "all")
actor = cols[1].selectbox("Who", [None, *actors], format_func=lambda a: a or "anyone")
days = cols[2].selectbox("Since", [1, 7, 30, 365], index=2, format_func=lambda d: f"{d} days")
zone = display_zone()  # the viewer's days
since = datetime.combine(now.astimezone(zone).date() - timedelta(days=days - 1), time.min, zone)
with rt.read() as session:
    entries = audit.recent(session, limit=200, action=action, actor=actor, since=since)
if entries:
    table(
        [
            {"when": e.ts, "who": e.actor, "action": e.action, "target": e.target,
             "detail": e.detail}
            for e in entries
        ],
        (
            Column("when", "time", "Time"),
            Column("who", "text", "Who"),
            Column("action"),
            Column("target"),
            Column("detail"),
        ),
    )  # fmt: skip
else:
    st.caption("No audit entries match these filters.")
