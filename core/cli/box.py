"""A Linux box in production: `setup-box` prepares this checkout, `run web|worker` is what
supervisord.conf starts.

`python -m core.cli setup-box` creates the data and log directories, writes the environment
file (mode 0600) with generated production secrets and renders the systemd unit; run again, it
keeps every value already in the file (secrets are never replaced) and only adds what is
missing. `python -m core.cli run web` brings the schema to head and then becomes
`streamlit run streamlit_app.py` (same process), so the database is migrated before the server
listens; `run worker` becomes `python -m worker`. Both read the env file first (main.py).
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

from core.cli.commands import command, err, out
from core.errors import InvalidInput
from core.platform import envfile

REPO = Path(__file__).resolve().parents[2]
# supervisord.conf: STEADYBOT_ENV_FILE=%(here)s/steadybot.env
ENV_FILE_NAME = envfile.BOX_ENV_FILE.name
SUPERVISOR_DIR = REPO / "data"  # supervisord.conf keeps its log, pid file and socket here
UNIT_TEMPLATE = REPO / "deploy" / "steadybot.service"
UNIT_NAME = "steadybot.service"

HEADER = """\
# Steadybot on this box: production settings, written by `python -m core.cli setup-box`
# on {when}. supervisord.conf reads this file (STEADYBOT_ENV_FILE); so does every
# `python -m core.cli` command run with STEADYBOT_ENV_FILE={path}
# Mode 0600: it holds the secrets. Back it up, apart from the database backups: without
# STEADYBOT_MASTER_KEYS the stored exchange API keys cannot be decrypted.
# A change takes effect at the next restart (`supervisorctl -c supervisord.conf restart all`);
# a variable set in the environment wins over this file. Every setting: README, Configuration.
"""
FOOTER = """\
# Optional (README, Configuration), for example:
# STEADYBOT_DATABASE_URL=postgresql://steadybot:PASSWORD@127.0.0.1:5432/steadybot
# STEADYBOT_QUEUE_URL=redis://127.0.0.1:6379/0
# STEADYBOT_LOG_LEVEL=INFO
"""
ADDRESS_NOTE = (
    "# The web server: 127.0.0.1 behind a reverse proxy with TLS (README), 0.0.0.0 = every "
    "interface."
)


def add_commands(sub) -> None:
    box = sub.add_parser(
        "setup-box",
        help="prepare this checkout for supervisord in production (data and log dirs, env file "
        "with generated secrets, systemd unit); safe to run again: secrets are never replaced",
    )
    box.add_argument(
        "--env-file",
        dest="target_env_file",
        type=Path,
        default=None,
        help=f"where to write the settings (default: <repo>/{ENV_FILE_NAME}, which "
        "supervisord.conf reads)",
    )
    box.add_argument("--data-dir", type=Path, default=None, help="default: <repo>/data")
    box.add_argument(
        "--address",
        default="127.0.0.1",
        help="web server address for a new env file (default 127.0.0.1; 0.0.0.0: every interface)",
    )
    box.add_argument("--port", type=int, default=8501, help="web server port for a new env file")
    run = sub.add_parser(
        "run",
        help="start the web server (after migrating the schema) or the worker, with the env "
        "file loaded: what supervisord.conf runs",
    )
    run.add_argument("program", choices=("web", "worker"))
    run.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        help="passed on to `streamlit run` (e.g. --server.port 8502) or `python -m worker`",
    )


def _new_secrets() -> dict[str, str]:
    return {
        "STEADYBOT_COOKIE_KEY": secrets.token_urlsafe(48),
        # A Fernet key: 32 random bytes, url-safe base64.
        "STEADYBOT_MASTER_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }


def _wanted(data_dir: Path, address: str, port: int) -> list[tuple[str, str, str]]:
    """(name, value, comment line before it) of every variable setup-box writes."""
    fresh = _new_secrets()
    return [
        ("STEADYBOT_ENV", "production", ""),
        ("STEADYBOT_DATA_DIR", str(data_dir), ""),
        ("STEADYBOT_COOKIE_KEY", fresh["STEADYBOT_COOKIE_KEY"], ""),
        ("STEADYBOT_MASTER_KEYS", fresh["STEADYBOT_MASTER_KEYS"], ""),
        ("STEADYBOT_WORKER", "external", "# The worker is its own process (supervisord: worker)."),
        ("STREAMLIT_SERVER_ADDRESS", address, ADDRESS_NOTE),
        ("STREAMLIT_SERVER_PORT", str(port), ""),
    ]


def _lines(items: list[tuple[str, str, str]]) -> str:
    return "".join(
        (f"{note}\n" if note else "") + f"{name}={value}\n" for name, value, note in items
    )


def _create_env_file(path: Path, text: str) -> bool:
    """Write `text` to a new file at `path`, mode 0600, atomically; False if it exists already
    (another setup-box won the race: its secrets stay)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    try:
        os.link(tmp, path)  # refuses to replace an existing file
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def write_env_file(path: Path, *, data_dir: Path, address: str, port: int) -> tuple[str, dict]:
    """Create the env file, or add only the variables it lacks. Returns what happened
    ("created", "kept" or "completed") and the file's values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wanted = _wanted(data_dir, address, port)
    if not path.exists():
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        text = HEADER.format(when=when, path=path) + _lines(wanted) + FOOTER
        if _create_env_file(path, text):
            return "created", envfile.read_env_file(path)
    values = envfile.read_env_file(path)
    missing = [item for item in wanted if item[0] not in values]
    if missing:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"# Added by setup-box on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
            fh.write(_lines(missing))
    if envfile.too_open(path):
        path.chmod(0o600)
    return ("completed" if missing else "kept"), envfile.read_env_file(path)


def _make_dir(path: Path) -> None:
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)


def render_unit(template: str) -> str:
    """The systemd unit for this checkout, user and interpreter (a virtualenv's bin stays as
    it is: no symlinks resolved)."""
    import grp
    import pwd

    return (
        template.replace("@USER@", pwd.getpwuid(os.getuid()).pw_name)
        .replace("@GROUP@", grp.getgrgid(os.getgid()).gr_name)
        .replace("@REPO@", str(REPO))
        .replace("@BIN@", str(Path(sys.executable).parent))
    )


@command("setup-box")
def cmd_setup_box(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise InvalidInput("--port must be between 1 and 65535.")
    if not args.address.strip() or any(c.isspace() for c in args.address.strip()):
        raise InvalidInput("--address must be a host name or IP address.")
    env_path = (args.target_env_file or REPO / ENV_FILE_NAME).expanduser().resolve()
    data_dir = (args.data_dir or SUPERVISOR_DIR).expanduser().resolve()
    outcome, values = write_env_file(
        env_path, data_dir=data_dir, address=args.address.strip(), port=args.port
    )
    configured = Path(values.get("STEADYBOT_DATA_DIR") or data_dir).expanduser().resolve()
    if args.data_dir and configured != data_dir:
        err(f"note: {env_path} already sets STEADYBOT_DATA_DIR={configured}; that one is used.")
    for path in (configured, configured / "logs", SUPERVISOR_DIR, SUPERVISOR_DIR / "logs"):
        _make_dir(path)
    unit_path = SUPERVISOR_DIR / UNIT_NAME
    unit_path.write_text(render_unit(UNIT_TEMPLATE.read_text(encoding="utf-8")), encoding="utf-8")

    said = {
        "created": "created with new secrets",
        "kept": "kept as it was (secrets unchanged)",
        "completed": "kept; the missing variables were added (existing secrets unchanged)",
    }[outcome]
    out(f"Steadybot box set up in {REPO} ({values.get('STEADYBOT_ENV', '?')} mode)")
    out(f"  settings  {env_path} (mode 0600): {said}")
    out(f"  data      {configured} (database, queue, app logs in {configured / 'logs'})")
    out(f"  logs      {SUPERVISOR_DIR / 'logs'} (supervisord and program output)")
    address = values.get("STREAMLIT_SERVER_ADDRESS", "?")
    out(f"  web       http://{address}:{values.get('STREAMLIT_SERVER_PORT', '?')}")
    out(f"  systemd   {unit_path}")
    out("Back up:")
    out(f"  1. {env_path}: it holds the master keys; without them the stored exchange API keys")
    out("     cannot be decrypted. Keep a copy somewhere safe, apart from the database backups.")
    out("  2. the database, e.g. daily: python -m core.cli backup /backups/steadybot-DATE.db")
    out("     (README: Backup and restore; PostgreSQL: pg_dump)")
    out(f"Next, from {REPO} (admin commands read {ENV_FILE_NAME} by themselves):")
    out("  supervisord -c supervisord.conf")
    if env_path != envfile.BOX_ENV_FILE:
        out(f"  export STEADYBOT_ENV_FILE={env_path}   # for the admin commands")
    out("  python -m core.cli doctor")
    out('  echo "$PASSWORD" | python -m core.cli create-user NAME --email EMAIL --admin')
    out("At boot, systemd runs supervisord (stop the one started by hand first):")
    out("  supervisorctl -c supervisord.conf shutdown")
    out(f"  sudo cp {unit_path} /etc/systemd/system/ && sudo systemctl enable --now {UNIT_NAME}")
    if env_path != (REPO / ENV_FILE_NAME).resolve():
        err(
            f"note: supervisord.conf reads {REPO / ENV_FILE_NAME}: change STEADYBOT_ENV_FILE "
            f"there to {env_path}."
        )
    if os.name == "posix" and os.geteuid() == 0:
        err(
            "warning: you are root, so supervisord would run the app as root. Prefer a user of "
            "its own (README: On a Linux box): `useradd --system --create-home steadybot`, give "
            "it this checkout and run setup-box as that user; or add `user=steadybot` under "
            "[supervisord] in supervisord.conf."
        )
    return 0


def _exec(argv: list[str]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)
    return 1  # unreachable: execv replaces this process


@command("run")
def cmd_run(args: argparse.Namespace) -> int:
    extra = list(args.args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    if args.program == "worker":
        return _exec([sys.executable, "-m", "worker", *extra])
    from core.platform import db, migrate
    from core.platform.runtime import start

    rt = start("web")  # settings checked, logging, schema at head: before the server listens
    import logging

    logging.getLogger(__name__).info(
        "schema at %s; starting the web server", migrate.current_revision(rt.engine)
    )
    db.dispose_engines()
    os.chdir(REPO)  # .streamlit/config.toml is read from the working directory
    return _exec([sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"), *extra])
