"""The platform under every domain package. Its face is its modules, imported as
`from core.platform import db` or `from core.platform.config import Settings`:

config (typed settings), db (engines and sessions: SQLite WAL + BEGIN IMMEDIATE, PostgreSQL),
migrate (+ migrations/, Alembic), runtime (settings + logging + a migrated database, started
once per process), logs (rotating files, secret redaction), security (password hashes, key
masks), vault (MultiFernet over the master keys), audit (who did what), inputs (cleaners for
user input with one clear message each), present (how numbers, times and names are shown and
exported: the pages' and the CSV exports' one format)."""
