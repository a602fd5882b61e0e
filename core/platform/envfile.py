"""The box's environment file: `KEY=value` lines written by `python -m core.cli setup-box`.

Every entry point (`python -m core.cli`, `python -m worker`, the web app) reads the file named
by `STEADYBOT_ENV_FILE` (supervisord.conf sets it) into `os.environ` before it loads the
settings. A variable already in the environment wins over the file, as it wins over
secrets.toml. The same file works as a systemd `EnvironmentFile=` and with
`set -a; . steadybot.env; set +a`: no quotes are needed, none are written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.errors import ConfigError

ENV_FILE_VAR = "STEADYBOT_ENV_FILE"
# What `setup-box` writes and supervisord.conf reads: steadybot.env in the checkout's root.
BOX_ENV_FILE = Path(__file__).resolve().parents[2] / "steadybot.env"
_LINE = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")


def parse_env_file(text: str) -> dict[str, str]:
    """`{name: value}` from `KEY=value` lines; blank lines and `#` comments are skipped, an
    `export ` prefix and one pair of matching quotes around the value are dropped."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise ConfigError(f"line {number} is not KEY=value.")
        name, value = match.group(1), match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def env_file_path(path: str | Path | None = None) -> Path | None:
    """The env file to read: `path`, else `$STEADYBOT_ENV_FILE`, else None."""
    chosen = str(path) if path else os.environ.get(ENV_FILE_VAR, "").strip()
    return Path(chosen).expanduser().resolve() if chosen else None


def read_env_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{ENV_FILE_VAR}={path} does not exist: run `python -m core.cli setup-box` "
            "(or point it at the environment file)."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path} is unreadable ({exc.strerror}).") from None
    try:
        return parse_env_file(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.message}") from None


def serves_this_data_dir(candidate: Path) -> bool:
    """Whether `candidate`, a box's env file, is the settings of this process's data: the
    environment names no other STEADYBOT_DATA_DIR than the file's."""
    try:
        values = read_env_file(candidate)
    except ConfigError:
        return False
    theirs = values.get("STEADYBOT_DATA_DIR", "").strip()
    mine = os.environ.get("STEADYBOT_DATA_DIR", "").strip()
    if not theirs or not mine:
        return True
    return Path(theirs).expanduser().resolve() == Path(mine).expanduser().resolve()


def load_env_file(path: str | Path | None = None, *, fallback: Path | None = None) -> Path | None:
    """Put the env file's variables that are not set yet into `os.environ`; returns the file
    read (None when there is none to read). The file is `path`, else `$STEADYBOT_ENV_FILE`,
    else `fallback` (the checkout's steadybot.env, once `setup-box` wrote it) unless the
    environment points at another data dir: an admin command run on the box without
    STEADYBOT_ENV_FILE gets the box's settings, not generated development secrets. The file's own
    path is recorded in `STEADYBOT_ENV_FILE`, so a process started from this one reads it too."""
    resolved = env_file_path(path)
    if (
        resolved is None
        and fallback is not None
        and fallback.is_file()
        and serves_this_data_dir(fallback)
    ):
        resolved = fallback.resolve()
    if resolved is None:
        return None
    for name, value in read_env_file(resolved).items():
        os.environ.setdefault(name, value)
    os.environ[ENV_FILE_VAR] = str(resolved)
    return resolved


def too_open(path: Path) -> bool:
    """Whether anyone but the owner may read or write the file (it holds the master keys)."""
    return os.name == "posix" and bool(path.stat().st_mode & 0o077)
