"""`python -m core.cli setup-box` writes a production env file once (mode 0600), never replaces
a secret, creates the data and log directories supervisord needs and renders the systemd unit;
the env file is read by every entry point, the environment winning over it.
(tests/e2e/test_box.py runs the README's box commands from a fresh copy of the tree.)"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.cli import box
from core.cli.main import main
from core.errors import ConfigError
from core.platform import envfile
from core.platform.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _environment_restored():
    """Loading an env file writes os.environ (STREAMLIT_SERVER_PORT, ...): nothing of it may
    leak into the tests that follow (a supervisord test once got this file's port)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def supervisor_dir(tmp_path, monkeypatch) -> Path:
    """The checkout's ./data stands in a temporary directory (the tests never touch the tree)."""
    path = tmp_path / "checkout-data"
    monkeypatch.setattr(box, "SUPERVISOR_DIR", path)
    return path


def setup_box(tmp_path: Path, *extra: str) -> tuple[int, Path]:
    env_file = tmp_path / "steadybot.env"
    code = main(
        ["setup-box", "--env-file", str(env_file), "--data-dir", str(tmp_path / "data"), *extra]
    )
    return code, env_file


def test_setup_box_writes_production_secrets_once(tmp_path, supervisor_dir, capsys, monkeypatch):
    code, env_file = setup_box(tmp_path, "--port", "8600")
    printed = capsys.readouterr().out
    assert code == 0
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = envfile.read_env_file(env_file)
    assert values["STEADYBOT_ENV"] == "production"
    assert values["STEADYBOT_DATA_DIR"] == str((tmp_path / "data").resolve())
    assert values["STEADYBOT_WORKER"] == "external"
    assert values["STREAMLIT_SERVER_ADDRESS"] == "127.0.0.1"
    assert values["STREAMLIT_SERVER_PORT"] == "8600"
    assert len(values["STEADYBOT_COOKIE_KEY"]) >= 32
    Fernet(values["STEADYBOT_MASTER_KEYS"])  # a valid key
    for path in (tmp_path / "data", tmp_path / "data" / "logs", supervisor_dir / "logs"):
        assert path.is_dir()
    # What it prints: where the file is, and what to back up.
    assert str(env_file) in printed and "Back up:" in printed and "backup" in printed
    assert values["STEADYBOT_MASTER_KEYS"] not in printed
    assert values["STEADYBOT_COOKIE_KEY"] not in printed
    # Production accepts these settings as they are.
    for key in [k for k in os.environ if k.startswith("STEADYBOT_")]:
        monkeypatch.delenv(key)
    envfile.load_env_file(env_file)
    settings = load_settings()
    assert settings.is_production and not settings.demo_enabled
    assert settings.master_key_list() == [values["STEADYBOT_MASTER_KEYS"]]


def test_a_second_run_keeps_every_secret(tmp_path, supervisor_dir, capsys):
    _, env_file = setup_box(tmp_path)
    first = env_file.read_bytes()
    code, _ = setup_box(tmp_path, "--port", "9999")  # a new port does not rewrite the file
    assert code == 0 and env_file.read_bytes() == first
    assert "kept as it was (secrets unchanged)" in capsys.readouterr().out


def test_a_missing_variable_is_added_and_the_rest_kept(tmp_path, supervisor_dir):
    _, env_file = setup_box(tmp_path)
    before = envfile.read_env_file(env_file)
    lines = env_file.read_text().splitlines()
    env_file.write_text("\n".join(x for x in lines if not x.startswith("STREAMLIT_SERVER_PORT")))
    env_file.chmod(0o644)
    assert setup_box(tmp_path)[0] == 0
    after = envfile.read_env_file(env_file)
    assert after == before  # the port is back (default 8501), the secrets are the same
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_the_systemd_unit_starts_supervisord_as_this_user(tmp_path, supervisor_dir):
    setup_box(tmp_path)
    unit = (supervisor_dir / "steadybot.service").read_text()
    import pwd

    assert f"User={pwd.getpwuid(os.getuid()).pw_name}\n" in unit
    bin_dir = Path(sys.executable).parent
    assert f"ExecStart={bin_dir}/supervisord -n -c {box.REPO}/supervisord.conf\n" in unit
    assert f"WorkingDirectory={box.REPO}\n" in unit and "WantedBy=multi-user.target" in unit
    assert "@" not in "".join(x for x in unit.splitlines() if not x.startswith("#"))
    analyze = shutil.which("systemd-analyze")
    if analyze and (bin_dir / "supervisord").exists():  # systemd's own check of the unit
        checked = subprocess.run(
            [analyze, "verify", str(supervisor_dir / "steadybot.service")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr


@pytest.mark.parametrize(
    ("args", "message"), [(("--port", "0"), "--port"), (("--address", "a b"), "--address")]
)
def test_bad_options_write_nothing(tmp_path, supervisor_dir, capsys, args, message):
    code, env_file = setup_box(tmp_path, *args)
    assert code == 2 and message in capsys.readouterr().err
    assert not env_file.exists()


def test_supervisord_conf_reads_the_env_file_setup_box_writes():
    conf = (ROOT / "supervisord.conf").read_text()
    assert f'STEADYBOT_ENV_FILE="%(here)s/{box.ENV_FILE_NAME}"' in conf
    assert envfile.BOX_ENV_FILE == ROOT / box.ENV_FILE_NAME
    assert "logfile=%(here)s/data/logs/supervisord.log" in conf  # setup-box creates data/logs
    assert "command=python -m core.cli run web" in conf
    assert box.SUPERVISOR_DIR == ROOT / "data"


def test_parse_env_file():
    text = (
        "# comment\n\nexport A=1\nB = two words \nC='quoted # not a comment'\nD=\"x\"\nE=\nF=a=b\n"
    )
    assert envfile.parse_env_file(text) == {
        "A": "1",
        "B": "two words",
        "C": "quoted # not a comment",
        "D": "x",
        "E": "",
        "F": "a=b",
    }
    with pytest.raises(ConfigError, match="line 2"):
        envfile.parse_env_file("A=1\nnot a line\n")


def test_the_environment_wins_over_the_file(tmp_path, monkeypatch):
    env_file = tmp_path / "e.env"
    env_file.write_text("STEADYBOT_LOG_LEVEL=DEBUG\nSTEADYBOT_LOCKOUT_MINUTES=3\n")
    monkeypatch.setenv("STEADYBOT_LOG_LEVEL", "WARNING")
    monkeypatch.delenv("STEADYBOT_LOCKOUT_MINUTES", raising=False)
    monkeypatch.setenv(envfile.ENV_FILE_VAR, str(env_file))
    assert envfile.load_env_file() == env_file.resolve()
    assert os.environ["STEADYBOT_LOG_LEVEL"] == "WARNING"
    assert os.environ["STEADYBOT_LOCKOUT_MINUTES"] == "3"


def test_the_box_file_is_read_only_for_its_own_data_dir(tmp_path, monkeypatch):
    """Without STEADYBOT_ENV_FILE, the checkout's steadybot.env is read unless the environment
    names another data dir (as every test does)."""
    env_file = tmp_path / "steadybot.env"
    env_file.write_text(
        f"STEADYBOT_DATA_DIR={tmp_path / 'box-data'}\nSTEADYBOT_LOCKOUT_MINUTES=4\n"
    )
    monkeypatch.delenv(envfile.ENV_FILE_VAR, raising=False)
    monkeypatch.delenv("STEADYBOT_LOCKOUT_MINUTES", raising=False)
    assert envfile.load_env_file(fallback=env_file) is None  # STEADYBOT_DATA_DIR is elsewhere
    assert "STEADYBOT_LOCKOUT_MINUTES" not in os.environ
    monkeypatch.setenv("STEADYBOT_DATA_DIR", str(tmp_path / "box-data"))
    assert envfile.load_env_file(fallback=env_file) == env_file.resolve()
    assert os.environ["STEADYBOT_LOCKOUT_MINUTES"] == "4"
    assert os.environ[envfile.ENV_FILE_VAR] == str(env_file.resolve())


def test_python_m_core_cli_reads_the_env_file(tmp_path):
    env_file = tmp_path / "steadybot.env"
    env_file.write_text("STEADYBOT_ENV=production\n")
    env = {k: v for k, v in os.environ.items() if k != "STEADYBOT_COOKIE_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "--env-file", str(env_file), "migrate"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1 and "STEADYBOT_COOKIE_KEY is not set" in result.stderr
