"""Where notification URLs may send (core.notify.policy): the scheme allow-list, no internal
address in any spelling, names that resolve inside, the admin's named exceptions, what apprise
really contacts, the check again at send time and the connect guard under it. No test here
uses DNS: the resolver is injected (tests/notify/conftest.py)."""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import threading
from urllib.parse import urlsplit

import apprise
import pytest
from sqlmodel import select

from core.errors import InvalidInput
from core.models import AuditLog, NotificationSetting
from core.notify import channels as notify
from core.notify import policy
from core.notify.guard import RefusedConnection, outbound_guard
from core.notify.policy import Policy, check_host, check_url
from tests.factories import make_user
from tests.fakes.receiver import json_receiver
from tests.notify.conftest import ALLOW_LOCAL, PUBLIC_IP, PUBLIC_ONLY, fake_dns, no_dns


def refused(url: str, pol: Policy = PUBLIC_ONLY) -> str:
    with pytest.raises(InvalidInput) as err:
        check_url(url, pol)
    return err.value.message


# ---------------------------------------------------------------- schemes


@pytest.mark.parametrize(
    "url",
    [
        "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12345678",
        "discord://123456789012345678/abcdefghijklmnopqrstuvwxyz0123456789",
        "https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnop",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
        "pover://userkey0123456789@apptoken0123456789",
        "gchat://workspace/key/token",
        "pbul://accesstoken0123456789",
        "mailtos://user:password@smtp.example.com?to=me@example.org",
        "ntfy://my-secret-topic",
        "ntfys://ntfy.example.com/topic",
        "matrixs://user:password@matrix.example.com/#room",
        "json://hook.example.com/notify?token=abc123",
        "jsons://hook.example.com:8443/x",
        "form://hook.example.com/x",
        "xml://hook.example.com/x",
        f"json://{PUBLIC_IP}/hook",
        "jsons://[2606:2800:220:1:248:1893:25c8:1946]/hook",
    ],
)
def test_services_on_the_allow_list_to_public_hosts_are_accepted(url):
    assert check_url(url, PUBLIC_ONLY).plugin is not None


@pytest.mark.parametrize(
    "url",
    [
        "syslog://",  # local services, files, desktop notifications, other transports
        "windows://",
        "dbus://",
        "macosx://",
        "rsyslog://hook.example.com",
        "mqtt://hook.example.com/topic",
        "https://hook.example.com/hook",  # a plain web address is no service
        "http://hook.example.com/hook",
        "file:///etc/passwd",
        "not-a-url",
        "",
    ],
)
def test_other_schemes_are_refused_with_a_clear_message(url):
    message = refused(url)
    assert "scheme" in message or "plain web address" in message or "apprise" in message


def test_a_scheme_that_builds_another_service_is_refused(monkeypatch):
    monkeypatch.setitem(policy.SCHEMES, "json", "NotifyTelegram")
    assert "does not build" in refused("json://hook.example.com/x")


# ---------------------------------------------------------------- internal hosts

INTERNAL_URLS = [
    # the examples
    "json://169.254.169.254/latest/meta-data",
    "form://127.0.0.1:6379/",
    "xml://localhost:5432/",
    # loopback in other spellings
    "json://2130706433/",
    "json://localhost./",
    "json://LOCALHOST/",
    "json://app.localhost/",
    "jsons://[::1]/x",
    "json://[::ffff:127.0.0.1]/",
    "json://[::ffff:7f00:1]/",
    "json://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
    "json://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
    "json://0.0.0.0/",
    "json://[::]/",
    # private, shared, link-local, multicast, reserved, broadcast
    "json://10.1.2.3/",
    "json://172.16.0.1/",
    "json://192.168.0.1:8080/",
    "json://100.64.0.1/",
    "json://[fd00::1]/",
    "json://[fe80::1]/",
    "json://[fec0::1]/",
    "json://224.0.0.1/",
    "json://[ff02::1]/",
    "json://240.0.0.1/",
    "json://255.255.255.255/",
    "json://192.0.2.10/",
    # local network names
    "json://redis:6379/",
    "json://db.internal/",
    "json://metadata.google.internal/computeMetadata",
    "json://printer.local/",
    "json://nas.lan/",
    "json://router.home.arpa/",
    # names that resolve inside
    "json://inside.example.com/",
    "json://mixed.example.com/",  # one public address is not enough
    "json://v6inside.example.com/",
    "json://mapped.example.com/",
    # the host of the service, wherever the URL hides it
    "mailto://user:password@example.com?smtp=127.0.0.1",
    "mailtos://user:password@localhost",
    "ntfy://127.0.0.1:8080/topic",
    "ntfys://inside.example.com/topic",
    "matrix://user:password@10.0.0.2/#room",
    "gotify://192.168.1.2/token0123456789",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_hosts_are_refused_with_a_clear_message(url):
    message = refused(url)
    assert "public hosts only" in message and "STEADYBOT_NOTIFY_ALLOW_HOSTS" in message
    assert url not in message


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("2130706433", "loopback"),  # one decimal integer
        ("0x7f000001", "loopback"),  # one hex integer
        ("017700000001", "loopback"),  # one octal integer
        ("0x7f.1", "loopback"),
        ("127.1", "loopback"),
        ("0177.0.0.1", "loopback"),
        ("0x7F.0x0.0.01", "loopback"),
        ("0xa9.0xfe.0xa9.0xfe", "link-local"),
        ("10.0.0.1.", "private"),
        ("[::ffff:10.0.0.1]", "private"),
        ("ｌｏｃａｌｈｏｓｔ", "server itself"),  # full-width letters: IDNA makes them "localhost"
    ],
)
def test_every_spelling_of_an_internal_address_is_refused(host, why):
    with pytest.raises(InvalidInput, match=why):
        check_host(host, Policy(resolver=no_dns))


@pytest.mark.parametrize(
    "text", ["0.0.0.1", "1", "0x7f.1", "127.1", "0177.0.0.1", "10.0x10.1", "4294967295", "0X1"]
)
def test_numeric_hosts_are_read_as_the_c_library_reads_them(text):
    assert policy.ipv4_literal(text) == ipaddress.IPv4Address(socket.inet_aton(text))


@pytest.mark.parametrize("host", ["4294967296", "256.1.1.1", "1.2.3.4.5", "08.1.1.1", "a b"])
def test_malformed_hosts_are_refused(host):
    with pytest.raises(InvalidInput):
        check_host(host, Policy(resolver=no_dns))


def test_a_name_that_does_not_resolve_is_refused():
    assert "cannot be resolved" in refused("json://nowhere.example.com/")


def test_address_literals_never_ask_the_resolver():
    calls = []
    pol = Policy(resolver=lambda host: calls.append(host) or [])
    check_url(f"json://{PUBLIC_IP}/x", pol)
    refused("json://10.0.0.1/x", pol)
    assert calls == []


# ---------------------------------------------------------------- fixed services


def test_fixed_services_are_checked_by_the_host_apprise_contacts_without_dns():
    """tgram://TOKEN/CHAT's "host" is the bot token; apprise posts to api.telegram.org."""
    checked = check_url("tgram://127001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/1234", ALLOW_LOCAL)
    assert checked.service == "NotifyTelegram" and checked.allowed_ips == frozenset()
    assert policy.targets(checked.plugin) == (("api.telegram.org",), ())


def _endpoint_hosts(cls) -> set[str]:
    """Hosts in the plugin class's endpoint URL attributes (not its documentation links)."""
    found = set()
    for name in dir(cls):
        value = getattr(cls, name, None)
        if (
            name.endswith("_url")
            and name not in ("service_url", "setup_url", "image_url")
            and isinstance(value, str)
            and value.startswith("http")
        ):
            found.add(urlsplit(value.replace("{", "").replace("}", "")).hostname)
    return found


@pytest.mark.parametrize("kind", sorted(policy.FIXED_HOSTS))
def test_fixed_hosts_are_the_hosts_the_installed_apprise_posts_to(kind):
    cls = next(type(p) for p in _examples() if type(p).__name__ == kind)
    assert _endpoint_hosts(cls) <= set(policy.FIXED_HOSTS[kind]) and _endpoint_hosts(cls)


def _examples():
    return [
        apprise.Apprise.instantiate(u)
        for u in (
            "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/1",
            "discord://123456789012345678/abcdefghijklmnopqrstuvwxyz0123456789",
            "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
            "pover://userkey0123456789@apptoken0123456789",
            "gchat://workspace/key/token",
            "pbul://accesstoken0123456789",
        )
    ]


def test_ntfy_without_a_host_goes_to_ntfy_sh_and_matrix_t2bot_to_t2bot():
    ntfy = check_url("ntfy://my-secret-topic", Policy(resolver=no_dns))
    assert policy.targets(ntfy.plugin) == ((policy.NTFY_CLOUD_HOST,), ())
    assert _endpoint_hosts(type(ntfy.plugin)) == {policy.NTFY_CLOUD_HOST}


def test_redirects_are_off_for_every_checked_plugin():
    assert (
        check_url("json://hook.example.com/x?redirect=yes", PUBLIC_ONLY).plugin.redirects is False
    )


def test_wkd_key_discovery_is_refused():
    assert "WKD" in refused("mailtos://user:password@smtp.example.com?wkd=yes")


# ---------------------------------------------------------------- the admin's named hosts


def test_an_allowed_host_is_accepted_and_its_addresses_may_be_used():
    pol = Policy(allow_hosts=frozenset({"ntfy.corp.example", "127.0.0.1"}), resolver=fake_dns)
    checked = check_url("ntfys://ntfy.corp.example/alerts", pol)
    assert checked.allowed_ips == {ipaddress.ip_address("10.1.2.3")}
    assert check_url("json://127.0.0.1:8080/x", pol).allowed_ips == {
        ipaddress.ip_address("127.0.0.1")
    }
    # the same address in another spelling is the same host
    assert check_url("json://2130706433:8080/x", pol).allowed_ips
    refused("json://10.1.2.3/x", pol)  # its address, under no allowed name, is not


def test_the_allow_list_comes_from_the_settings(data_dir, monkeypatch):
    from core.platform.config import load_settings

    monkeypatch.setenv("STEADYBOT_NOTIFY_ALLOW_HOSTS", "ntfy.corp.example, 127.0.0.1")
    pol = Policy.from_settings(load_settings(), resolver=fake_dns)
    assert pol.allow_hosts == {"ntfy.corp.example", "127.0.0.1"}
    check_url("ntfy://ntfy.corp.example/alerts", pol)


# ---------------------------------------------------------------- saving


@pytest.fixture
def user(rt):
    with rt.session() as s:
        return make_user(s, username="carol")


class PlainCipher:
    def encrypt(self, plaintext: str) -> bytes:
        return plaintext.encode()

    def decrypt(self, token: bytes) -> str:
        return token.decode()


def test_saving_an_internal_url_writes_nothing_and_names_the_line(rt, user):
    text = "json://hook.example.com/ok\njson://169.254.169.254/latest?token=s3cr3t-token"
    with pytest.raises(InvalidInput) as err, rt.session() as s:
        notify.save_settings(
            s, user=user, urls_text=text, events=["fill"], cipher=PlainCipher(), policy=PUBLIC_ONLY
        )
    assert err.value.message.startswith("Notification URL on line 2 points to '169.254.169.254'")
    assert "s3cr3t-token" not in err.value.message
    with rt.read() as s:
        assert s.exec(select(NotificationSetting)).first() is None
        assert s.exec(select(AuditLog).where(AuditLog.action == "notify.settings")).first() is None


# ---------------------------------------------------------------- sending


def test_a_saved_url_whose_name_now_resolves_inside_is_refused_at_send_time(caplog):
    """DNS changes: accepted when saved (public then), refused when sent (internal now)."""
    with json_receiver() as (url, received):
        port = urlsplit(url).port
        saved = f"json://hook.example.com:{port}/hook?token=s3cr3t-token"
        check_url(saved, PUBLIC_ONLY)  # what the save saw
        now_inside = Policy(resolver=lambda host: ["127.0.0.1"])
        assert notify.send([saved], title="t", body="b", policy=now_inside) is False
    assert received == []
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused" in text and "json://hook.example.com:" in text
    assert "s3cr3t-token" not in text


def test_a_connection_to_an_internal_address_is_refused_even_after_the_check(monkeypatch, caplog):
    """A DNS answer that changes between the check and the connect (rebinding): the check
    sees a public address, the HTTP client connects to 127.0.0.1, the guard refuses it."""
    with json_receiver() as (url, received):
        port = urlsplit(url).port
        real = socket.getaddrinfo

        def rebinding(host, *args, **kwargs):
            if host == "rebind.example.com":
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        public_then = Policy(resolver=lambda host: [PUBLIC_IP])
        target = f"json://rebind.example.com:{port}/hook"
        assert notify.send([target], title="t", body="b", policy=public_then) is False
    assert received == []
    assert any("127.0.0.1 is a loopback address" in r.getMessage() for r in caplog.records)


def test_allowed_hosts_are_reached_and_others_not_in_the_same_send():
    with json_receiver() as (url, received):
        other = url.replace("127.0.0.1", "10.0.0.1")
        assert notify.send([url, other], title="t", body="b", policy=ALLOW_LOCAL) is False
    assert [r["title"] for r in received] == ["t"]


# ---------------------------------------------------------------- the connect guard


def _listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def test_the_guard_refuses_internal_connections_only_inside_and_only_its_own():
    server = _listener()
    port = server.getsockname()[1]
    try:
        with outbound_guard(), pytest.raises(RefusedConnection):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        with outbound_guard({ipaddress.ip_address("127.0.0.1")}):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # no guard: allowed
    finally:
        server.close()


def test_the_guard_follows_apprise_into_its_threads_and_spares_other_threads():
    server = _listener()
    port = server.getsockname()[1]
    outcome: dict[str, object] = {}

    def connect(name):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            outcome[name] = "connected"
        except RefusedConnection:
            outcome[name] = "refused"

    try:
        with outbound_guard():
            context = contextvars.copy_context()  # what apprise's thread pool does
            inherited = threading.Thread(target=context.run, args=(connect, "apprise thread"))
            inherited.start()
            inherited.join()
        unrelated = threading.Thread(target=connect, args=("another thread",))
        with outbound_guard():
            unrelated.start()
            unrelated.join()
    finally:
        server.close()
    assert outcome == {"apprise thread": "refused", "another thread": "connected"}


# ---------------------------------------------------------------- what may be shown


@pytest.mark.parametrize(
    ("url", "shown", "secrets"),
    [
        (
            "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567",
            "tgram://***",
            ["123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "-1001234567"],
        ),
        (
            "discord://123456789012345678/abcdefghijklmnopqrstuvwxyz0123456789",
            "discord://***/***",
            ["123456789012345678", "abcdefghijklmnopqrstuvwxyz0123456789"],
        ),
        (
            "json://hook.example.com:8080/notify?token=s3cr3t-token",
            "json://hook.example.com:8080/***?token=***",
            ["s3cr3t-token"],
        ),
        (
            "mailtos://alice:hunter2-password@smtp.example.com",
            "mailtos://***@smtp.example.com",
            ["hunter2-password", "alice:hunter2-password"],
        ),
        ("ntfy://my-secret-topic", "ntfy://***", ["my-secret-topic"]),
    ],
)
def test_redacted_urls_hide_tokens_and_secret_parts_name_them(url, shown, secrets):
    assert policy.redact_url(url) == shown
    assert set(secrets) <= set(policy.secret_parts(url))
    assert not any(s in policy.redact_url(url) for s in secrets)
