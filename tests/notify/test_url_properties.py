"""Property tests of the notification URL check (hypothesis): whatever is typed, only
InvalidInput comes out, nothing internal is ever accepted, and a refused form writes nothing."""

from __future__ import annotations

import contextlib
import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from core.errors import InvalidInput
from core.models import AuditLog, NotificationSetting
from core.notify import channels as notify
from core.notify import policy
from core.notify.policy import Policy, check_url
from tests.factories import make_user
from tests.notify.conftest import no_dns

HOSTED = sorted(s for s, kind in policy.SCHEMES.items() if kind not in policy.FIXED_HOSTS)
INTERNAL_V4 = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
]
INTERNAL_V6 = ["::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "2001:db8::/32"]


def inside(network: str) -> st.SearchStrategy:
    net = ipaddress.ip_network(network)
    return st.integers(0, net.num_addresses - 1).map(lambda i: net[i])


internal_v4 = st.sampled_from(INTERNAL_V4).flatmap(inside)
internal_v6 = st.sampled_from(INTERNAL_V6).flatmap(inside)


def spell_v4(ip: ipaddress.IPv4Address, style: int) -> str:
    """The same address as dotted decimal, one integer, hex, octal parts, or IPv6 around it."""
    n, parts = int(ip), ip.packed
    return [
        str(ip),
        str(n),
        hex(n),
        ".".join(f"0{p:o}" for p in parts),
        ".".join(hex(p) for p in parts),
        f"{parts[0]}.{int.from_bytes(parts[1:], 'big')}",
        f"[::ffff:{ip}]",
        f"[2002:{parts[0]:02x}{parts[1]:02x}:{parts[2]:02x}{parts[3]:02x}::]",
        f"[64:ff9b::{ip}]",
    ][style]


internal_hosts = st.one_of(
    st.builds(spell_v4, internal_v4, st.integers(0, 8)),
    internal_v6.map(lambda ip: f"[{ip}]"),
    st.sampled_from(["localhost", "LocalHost.", "a.localhost", "x.internal", "nas.lan", "redis"]),
)
# Names that a resolver answers with internal addresses (the resolver says every name is).
names = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){1,3}", fullmatch=True)
says_internal = Policy(resolver=lambda host: ["10.9.8.7", "93.184.216.34"])


@given(st.text(max_size=300))
@settings(max_examples=400, deadline=None)
def test_any_text_raises_nothing_but_invalid_input(text):
    try:
        urls = notify.parse_urls(text, policy=says_internal)
    except InvalidInput:
        return
    for url in urls:  # what passes goes only where apprise fixes the host
        fixed, hosted = policy.targets(check_url(url, says_internal).plugin)
        assert fixed and not hosted


@given(st.sampled_from(HOSTED), st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_any_url_of_an_allowed_scheme_raises_nothing_but_invalid_input(scheme, rest):
    with contextlib.suppress(InvalidInput):
        check_url(f"{scheme}://{rest}", says_internal)


@given(
    st.sampled_from(HOSTED),
    internal_hosts,
    st.one_of(st.none(), st.integers(1, 65535)),
    st.from_regex(r"(/[A-Za-z0-9_.-]{0,12}){0,3}", fullmatch=True),
)
@settings(max_examples=500, deadline=None)
def test_an_internal_host_is_never_accepted(scheme, host, port, path):
    url = f"{scheme}://{host}{f':{port}' if port else ''}{path}"
    try:
        checked = check_url(url, Policy(resolver=no_dns))
    except InvalidInput:
        return
    # Only ntfy://<topic> passes: apprise reads the "host" as a topic on ntfy.sh.
    assert policy.targets(checked.plugin) == ((policy.NTFY_CLOUD_HOST,), ())


@given(st.sampled_from(HOSTED), names)
@settings(max_examples=300, deadline=None)
def test_a_name_resolving_to_any_internal_address_is_never_accepted(scheme, name):
    try:
        checked = check_url(f"{scheme}://{name}/x1", says_internal)
    except InvalidInput:
        return
    assert policy.targets(checked.plugin) == ((policy.NTFY_CLOUD_HOST,), ())  # a topic


@given(internal_v4, st.integers(0, 8))
@settings(max_examples=300, deadline=None)
def test_every_spelling_reads_back_as_the_same_internal_address(ip, style):
    host = spell_v4(ip, style)
    with pytest.raises(InvalidInput, match="address"):
        policy.check_host(host, Policy(resolver=no_dns))


@pytest.fixture
def owner(rt):
    with rt.session() as s:
        return make_user(s, username="prop")


@given(
    st.lists(st.text(max_size=80), min_size=1, max_size=4),
    st.lists(st.text(max_size=12), max_size=3),
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_refused_form_writes_nothing(rt, owner, lines, events):
    lines = [*lines, "json://169.254.169.254/latest"]  # at least one line is always refused
    with pytest.raises(InvalidInput), rt.session() as s:
        notify.save_settings(
            s,
            user=owner,
            urls_text="\n".join(lines),
            events=events,
            cipher=_Cipher(),
            policy=says_internal,
        )
    with rt.read() as s:
        assert s.exec(select(NotificationSetting)).first() is None
        assert s.exec(select(AuditLog).where(AuditLog.action == "notify.settings")).first() is None


class _Cipher:
    def encrypt(self, plaintext: str) -> bytes:
        return plaintext.encode()

    def decrypt(self, token: bytes) -> str:
        return token.decode()
