"""Notifications: apprise URLs stored encrypted, sent to a local HTTP receiver, never raising."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from core.errors import InvalidInput
from core.models import NotificationSetting
from core.notify import channels as notify
from tests.factories import make_user
from tests.fakes.receiver import json_receiver
from tests.notify.conftest import ALLOW_LOCAL, PUBLIC_ONLY


class FernetCipher:
    def __init__(self) -> None:
        self.f = Fernet(Fernet.generate_key())

    def encrypt(self, plaintext: str) -> bytes:
        return self.f.encrypt(plaintext.encode())

    def decrypt(self, token: bytes) -> str:
        return self.f.decrypt(token).decode()


@pytest.fixture
def receiver():
    with json_receiver() as found:
        yield found


@pytest.fixture
def user(rt):
    with rt.session() as s:
        return make_user(s, username="alice")


def test_urls_are_stored_encrypted_and_reach_their_target(rt, user, receiver):
    url, received = receiver
    cipher = FernetCipher()
    with rt.session() as s:
        notify.save_settings(
            s, user=user, urls_text=url, events=["fill"], cipher=cipher, policy=ALLOW_LOCAL
        )
    with rt.read() as s:
        row = notify.get_settings(s, user_id=user.id)
    assert b"s3cr3t-token" not in row.urls_enc
    assert row.events == "fill"  # which events to send: core.notify.outbox filters on it
    urls = notify.load_urls(row, cipher)
    assert notify.send(urls, title="Filled", body="bought 1 BTC", policy=ALLOW_LOCAL)
    assert [r["title"] for r in received] == ["Filled"]


def test_bad_url_is_refused_without_echoing_it(rt, user):
    with pytest.raises(InvalidInput) as err, rt.session() as s:
        notify.save_settings(
            s,
            user=user,
            urls_text="json://ok.example/x\nnot-a-url-secretpart",
            events=[],
            cipher=FernetCipher(),
            policy=PUBLIC_ONLY,
        )
    assert "line 2" in err.value.message and "secretpart" not in err.value.message
    with rt.read() as s:
        assert s.exec(select(NotificationSetting)).first() is None


def test_unknown_event_is_refused(rt, user):
    with pytest.raises(InvalidInput), rt.session() as s:
        notify.save_settings(
            s, user=user, urls_text="", events=["everything"], cipher=FernetCipher()
        )


def test_unreachable_target_fails_quietly():
    url = "json://127.0.0.1:9/nothing-listens"
    assert notify.send([url], title="t", body="b", policy=ALLOW_LOCAL) is False


def test_unreadable_urls_send_nothing_and_do_not_raise(rt, user):
    with rt.session() as s:
        notify.save_settings(
            s,
            user=user,
            urls_text="json://127.0.0.1:9/x",
            events=["fill"],
            cipher=FernetCipher(),
            policy=ALLOW_LOCAL,
        )
    with rt.read() as s:
        row = notify.get_settings(s, user_id=user.id)
    assert notify.load_urls(row, FernetCipher()) == []  # another key: they no longer decrypt
    assert notify.send([], title="t", body="b") is False
