"""The notification tests post to local receivers on 127.0.0.1: their runtime's settings allow
that one internal host, as an admin would with STEADYBOT_NOTIFY_ALLOW_HOSTS=127.0.0.1. Tests of
the refusal build their own settings without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.notify.policy import Policy
from core.platform.config import Settings
from tests.conftest import make_settings

LOCAL_RECEIVERS = ("127.0.0.1",)


def no_dns(host: str) -> list[str]:
    """A resolver for tests: no name resolves (the tests use addresses, and must not use DNS)."""
    raise OSError(f"no DNS in tests ({host})")


ALLOW_LOCAL = Policy(allow_hosts=frozenset(LOCAL_RECEIVERS), resolver=no_dns)
# Names the tests use, with what a fake resolver says they resolve to.
PUBLIC_IP = "93.184.216.34"
FAKE_DNS = {
    "hook.example.com": [PUBLIC_IP],
    "ok.example": [PUBLIC_IP],
    "smtp.example.com": [PUBLIC_IP],
    "matrix.example.com": [PUBLIC_IP],
    "ntfy.example.com": [PUBLIC_IP],
    "mixed.example.com": [PUBLIC_IP, "10.0.0.7"],
    "inside.example.com": ["192.168.1.20"],
    "v6inside.example.com": ["fd00::5"],
    "mapped.example.com": ["::ffff:169.254.169.254"],
    "ntfy.corp.example": ["10.1.2.3"],
}


def fake_dns(host: str) -> list[str]:
    if host not in FAKE_DNS:
        raise OSError(f"{host}: no such name (fake resolver)")
    return FAKE_DNS[host]


PUBLIC_ONLY = Policy(resolver=fake_dns)


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return make_settings(data_dir, notify_allow_hosts=LOCAL_RECEIVERS)
