"""Where notifications may go: a scheme allow-list and no internal addresses.

A notification URL makes the server send a request: to a host of the URL (`json://`,
`ntfy://host`, `matrix://`, the SMTP server of `mailto://`) or to the host a service's apprise
plugin fixes (`tgram://` always goes to api.telegram.org). Left open, that is a port probe and
a way into the metadata service, Redis, the database. So:

* **Schemes**: only those in `SCHEMES` (chat, push and e-mail services, and the generic
  json/form/xml webhooks), each checked to build the apprise plugin it names; `https://`
  only where apprise reads it as one of those services' own webhook URLs (Discord, Slack).
* **Hosts**: the hosts apprise will contact (`targets`) must be public. Refused: loopback,
  private, link-local, shared, multicast, reserved, unspecified and documentation addresses
  (IPv4 and IPv6, IPv4 inside IPv6: mapped, 6to4, NAT64), IPv4 written as integers or in
  octal/hex parts (`2130706433`, `0x7f.1`, `0177.0.0.1`), `localhost` and `*.localhost`,
  internal-looking names (`*.local`, `*.internal`, `*.lan`, single-label names such as
  `redis`), and any name that RESOLVES to such an address (every address it resolves to must
  be public). Hosts a service fixes are trusted as written (no DNS at save time).
* **Named exceptions**: an admin may allow named internal hosts
  (`STEADYBOT_NOTIFY_ALLOW_HOSTS=ntfy.lan,10.0.0.5`); a URL whose host is one of them is
  accepted, and a send may connect to the addresses that host resolves to.
* **At send time** the whole check runs again (DNS may have changed) and the send itself runs
  under `core.notify.guard.outbound_guard`, which refuses any connection to an internal
  address not allowed, so a DNS answer that changed between check and connect, a redirect, or
  a service's own discovery request (Matrix `.well-known`) cannot reach inside either.
  Apprise's plugins are built with redirects off.

The resolver is injected (`Policy.resolver`), so tests never need DNS. Messages never quote a
URL: only its line number, and the host that was refused. `redact_url` and `secret_parts` give
what may be shown of a URL and what must be masked in the log.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from core.errors import InvalidInput

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Iterable[str]]

# Typed scheme -> the apprise plugin class it must build. Chat, push and e-mail services, and
# the generic webhooks (whose host is the URL's: public hosts only, like every other).
SCHEMES: dict[str, str] = {
    "tgram": "NotifyTelegram",
    "discord": "NotifyDiscord",
    "slack": "NotifySlack",
    "pover": "NotifyPushover",
    "gchat": "NotifyGoogleChat",
    "pbul": "NotifyPushBullet",
    "mailto": "NotifyEmail",
    "mailtos": "NotifyEmail",
    "ntfy": "NotifyNtfy",
    "ntfys": "NotifyNtfy",
    "matrix": "NotifyMatrix",
    "matrixs": "NotifyMatrix",
    "gotify": "NotifyGotify",
    "gotifys": "NotifyGotify",
    "mmost": "NotifyMattermost",
    "mmosts": "NotifyMattermost",
    "rocket": "NotifyRocketChat",
    "rockets": "NotifyRocketChat",
    "json": "NotifyJSON",
    "jsons": "NotifyJSON",
    "form": "NotifyForm",
    "forms": "NotifyForm",
    "xml": "NotifyXML",
    "xmls": "NotifyXML",
}
# Services whose endpoints apprise fixes: the hosts it contacts, whatever the URL says (the
# URL's "host" is then a token or an id). tests/notify/test_policy.py holds these to the
# plugins' own endpoint URLs, so an apprise upgrade that moves one fails a test.
FIXED_HOSTS: dict[str, tuple[str, ...]] = {
    "NotifyTelegram": ("api.telegram.org",),
    "NotifyDiscord": ("discord.com",),
    "NotifySlack": ("hooks.slack.com", "hooks.slack-gov.com", "slack.com"),
    "NotifyPushover": ("api.pushover.net",),
    "NotifyGoogleChat": ("chat.googleapis.com",),
    "NotifyPushBullet": ("api.pushbullet.com",),
}
NTFY_CLOUD_HOST = "ntfy.sh"  # NotifyNtfy.cloud_notify_url: ntfy://topic
MATRIX_T2BOT_HOST = "webhooks.t2bot.io"  # NotifyMatrix in t2bot mode
NATIVE_SCHEMES = ("http", "https")  # a service's own webhook URL, e.g. https://discord.com/...
INTERNAL_SUFFIXES = (
    "localhost",
    "local",
    "localdomain",
    "internal",
    "intranet",
    "lan",
    "home.arpa",
)
ALLOW_HINT = "an admin can allow a named internal host with STEADYBOT_NOTIFY_ALLOW_HOSTS"
# IANA special-purpose ranges refused whatever this Python's ipaddress tables say (they differ
# between versions: 3.11 holds 192.0.0.8 global).
SPECIAL_PURPOSE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/3",
        "::/127",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NUMERIC_PART = re.compile(r"0[xX][0-9a-fA-F]+|[0-9]+")
_HOST_CHARS = re.compile(r"[a-z0-9._-]+")


def system_resolver(host: str) -> list[str]:
    """Every address `host` resolves to (the operating system's resolver)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class Policy:
    """The admin's named exceptions and the resolver (injected in tests)."""

    allow_hosts: frozenset[str] = frozenset()
    resolver: Resolver = system_resolver

    @classmethod
    def from_settings(cls, settings: Any, resolver: Resolver | None = None) -> Policy:
        hosts = frozenset(normalise_host(h) for h in getattr(settings, "notify_allow_hosts", ()))
        return cls(allow_hosts=hosts, resolver=resolver or system_resolver)

    def allows(self, host: str) -> bool:
        return normalise_host(host) in self.allow_hosts


@dataclass(frozen=True)
class Checked:
    """A URL that passed: the apprise plugin to send with and the internal addresses (of
    allowed hosts) its send may connect to."""

    plugin: Any
    allowed_ips: frozenset[IPAddress]
    service: str


# ---------------------------------------------------------------- addresses and host names


def ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """`host` as the C library reads an IPv4 literal (inet_aton: 1 to 4 parts, each decimal,
    octal with a leading 0, or hex with 0x; the last part fills the remaining bytes), else
    None. Raises ValueError for a numeric host no address can be made of."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMERIC_PART.fullmatch(p) for p in parts):
        return None
    values = []
    for part in parts:
        if part[:2].lower() == "0x":
            values.append(int(part[2:], 16))
        elif len(part) > 1 and part.startswith("0"):
            values.append(int(part, 8))  # ValueError on 8 or 9: not a number at all
        else:
            values.append(int(part))
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        raise ValueError("numeric host out of range")
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(number)


def ip_literal(host: str) -> IPAddress | None:
    """An IP address written in `host` (IPv6 with or without brackets and zone), or None.
    Raises ValueError for a numeric host that is no address."""
    text = host.strip("[]")
    if ":" in text:
        return ipaddress.IPv6Address(text.split("%", 1)[0])
    return ipv4_literal(text)


def address_problem(ip: IPAddress) -> str | None:
    """Why `ip` is internal ("loopback", "private", ...), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_problem(embedded) or None
        if ip.is_site_local:
            return "site-local"
    for attribute, label in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(ip, attribute):
            return label
    if not ip.is_global or any(ip in net for net in SPECIAL_PURPOSE if net.version == ip.version):
        return "non-public"
    return None


def normalise_host(host: str) -> str:
    """Lower case, no brackets or trailing dots, IDNA-encoded (so full-width letters spelling
    `localhost` are `localhost`, as the HTTP client reads them). ValueError when it is no host
    name."""
    text = str(host).strip().strip("[]").rstrip(".")
    if not text:
        raise ValueError("empty host")
    if ":" in text:  # IPv6
        return str(ipaddress.IPv6Address(text.split("%", 1)[0]))
    try:
        text = text.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError("not a host name") from None
    if not _HOST_CHARS.fullmatch(text):
        raise ValueError("not a host name")
    return text


def name_problem(name: str) -> str | None:
    """Why a host NAME (already normalised) is internal by its form, or None."""
    if name == "localhost" or name.endswith(".localhost"):
        return "the server itself"
    if "." not in name:
        return "a single-label (local network) name"
    if any(name == s or name.endswith("." + s) for s in INTERNAL_SUFFIXES):
        return "a local network name"
    return None


def _describe(host: str, why: str, spelled: str = "") -> str:
    return (
        f"points to {host[:100]!r}{spelled}, {why}: notifications go to public hosts only "
        f"({ALLOW_HINT})"
    )


def check_host(host: str, policy: Policy) -> frozenset[IPAddress]:
    """Refuse (InvalidInput with the reason) a host that is internal; return the internal
    addresses a send may use (those of a host the admin allowed, else none)."""
    try:
        name = normalise_host(host)
        literal = ip_literal(name)
    except ValueError:
        raise InvalidInput(f"has a host that is not a valid host name ({host[:100]!r}).") from None
    if policy.allows(name) or (literal is not None and str(literal) in policy.allow_hosts):
        if literal is not None:
            return frozenset({literal})
        return frozenset(_resolve(name, policy))
    if literal is not None:
        why = address_problem(literal)
        if why:
            spelled = "" if str(literal) == name else f" ({literal})"
            raise InvalidInput(_describe(name, f"a {why} address", spelled) + ".")
        return frozenset()
    why = name_problem(name)
    if why:
        raise InvalidInput(_describe(name, why) + ".")
    for address in _resolve(name, policy):
        why = address_problem(address)
        if why:
            raise InvalidInput(_describe(name, f"which resolves to a {why} address") + ".")
    return frozenset()


def _resolve(name: str, policy: Policy) -> list[IPAddress]:
    try:
        found = [ipaddress.ip_address(str(a).split("%", 1)[0]) for a in policy.resolver(name)]
    except Exception:  # noqa: BLE001 - any resolver failure means "cannot be resolved"
        found = []
    if not found:
        raise InvalidInput(f"has a host that cannot be resolved ({name[:100]!r}).")
    return found


# ---------------------------------------------------------------- URLs


class _QuietWhileChecking(logging.Filter):
    """Drops apprise's own records while a URL is parsed here: on a typo apprise logs the
    whole URL, token included, at ERROR ("Unparseable Telegram URL tgram://..."); the user
    gets our message instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _checking.get()


_checking: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "steadybot_checking", default=False
)
logging.getLogger("apprise").addFilter(_QuietWhileChecking())


def instantiate(url: str) -> Any:
    """The apprise plugin for `url`, or InvalidInput. Never anything else."""
    token = _checking.set(True)
    try:
        plugin = apprise.Apprise.instantiate(url)
    except Exception:  # noqa: BLE001 - apprise raises many kinds on odd input
        plugin = None
    finally:
        _checking.reset(token)
    if plugin is None:
        raise InvalidInput(
            "is not one apprise understands (see the apprise documentation for the formats)."
        )
    return plugin


def targets(plugin: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(hosts apprise fixes, hosts taken from the URL) that sending with `plugin` contacts."""
    kind = type(plugin).__name__
    if kind in FIXED_HOSTS:
        return FIXED_HOSTS[kind], ()
    if kind == "NotifyNtfy" and str(getattr(plugin, "mode", "")) == "cloud":
        return (NTFY_CLOUD_HOST,), ()
    if kind == "NotifyMatrix" and str(getattr(plugin, "mode", "")) == "t2bot":
        return (MATRIX_T2BOT_HOST,), ()
    if kind == "NotifyEmail":
        return (), (str(getattr(plugin, "smtp_host", "") or ""),)
    return (), (str(getattr(plugin, "host", "") or ""),)


def scheme_of(url: str) -> str:
    scheme, sep, _ = str(url).partition("://")
    return scheme.strip().lower() if sep else ""


def check_url(url: str, policy: Policy) -> Checked:
    """The plugin to send `url` with, or InvalidInput saying why not (the message follows
    "Notification URL on line N ..." and never quotes the URL)."""
    if not isinstance(url, str):
        raise InvalidInput("is not text.")
    scheme = scheme_of(url)
    if scheme not in SCHEMES and scheme not in NATIVE_SCHEMES:
        raise InvalidInput(
            f"uses a scheme Steadybot does not send to ({scheme[:20] or 'none'!r}); "
            f"allowed: {', '.join(sorted(SCHEMES))}."
        )
    plugin = instantiate(url)
    kind = type(plugin).__name__
    expected = SCHEMES.get(scheme)
    if expected is not None and kind != expected:
        raise InvalidInput(f"does not build the {scheme} service apprise documents.")
    if expected is None and kind not in FIXED_HOSTS:  # http(s):// only as a service's webhook
        raise InvalidInput(
            "is a plain web address: use a service scheme (json://, jsons://, discord://, ...)."
        )
    if getattr(plugin, "use_wkd", False):
        raise InvalidInput("asks for WKD key discovery (wkd=), which Steadybot does not allow.")
    fixed, hosted = targets(plugin)
    allowed: set[IPAddress] = set()
    for host in hosted:
        if not host:
            raise InvalidInput("has no host to send to.")
        allowed |= check_host(host, policy)
    for host in fixed:
        allowed |= _allowed_fixed(host, policy)
    plugin.redirects = False  # a redirect may carry the token to a host nobody checked
    return Checked(plugin=plugin, allowed_ips=frozenset(allowed), service=kind)


def _allowed_fixed(host: str, policy: Policy) -> frozenset[IPAddress]:
    """A fixed host is public by construction; an admin allow-list entry for it (a local
    relay) lets the send connect to where it resolves."""
    return frozenset(_resolve(host, policy)) if policy.allows(host) else frozenset()


def secret_parts(url: str) -> list[str]:
    """The parts of `url` that are (or may be) secrets, for the log redaction filter: the
    whole URL, its user and password, the "host" of a service whose real host apprise fixes
    (there it is a token) or an ntfy topic, token-like path segments (all of them for fixed
    services) and every query value; each also percent-decoded. Parts under 6 characters are
    left out (the filter ignores them)."""
    text = str(url)
    parts = {text, unquote(text)}
    try:
        split = urlsplit(text)
    except ValueError:
        return sorted(p for p in parts if len(p) >= 6)
    scheme = split.scheme.lower()
    kind = SCHEMES.get(scheme)
    userinfo, _, hostport = split.netloc.rpartition("@")
    if userinfo:
        parts.update((userinfo, *userinfo.split(":", 1)))
    if kind in FIXED_HOSTS or (kind == "NotifyNtfy" and "." not in hostport):
        parts.update((hostport, split.netloc))
    every_segment = kind in FIXED_HOSTS or kind == "NotifyNtfy"
    for segment in split.path.split("/"):
        if every_segment or _token_like(segment):
            parts.add(segment)
    for query in (split.query, split.fragment):
        for _key, value in parse_qsl(query, keep_blank_values=True):
            parts.add(value)
    for part in list(parts):
        parts.add(unquote(part))
    return sorted(p for p in parts if len(p) >= 6)


def _token_like(segment: str) -> bool:
    return len(segment) >= 16 or (len(segment) >= 8 and any(c.isdigit() for c in segment))


def redact_url(url: str) -> str:
    """What may be shown of a URL: scheme, and host and port for services whose host is the
    URL's own (not a token or a topic); user, password, path and query values masked."""
    text = str(url)
    try:
        split = urlsplit(text)
        port = split.port
        host = split.hostname or ""
    except ValueError:
        return f"{scheme_of(text)[:20] or '?'}://***"
    scheme = split.scheme.lower()[:20]
    kind = SCHEMES.get(scheme)
    if kind is None or kind in FIXED_HOSTS or (kind == "NotifyNtfy" and "." not in host):
        shown = "***"  # the "host" is a token, an ntfy topic, or unknown
    else:
        shown = ("***@" if "@" in split.netloc else "") + host + (f":{port}" if port else "")
    path = "/***" if split.path.strip("/") else ""
    keys = [k for k, _ in parse_qsl(split.query, keep_blank_values=True)]
    query = ("?" + "&".join(f"{k[:30]}=***" for k in keys)) if keys else ""
    return f"{scheme}://{shown}{path}{query}"
