"""Where a URL really goes: its host as the HTTP library will read it, and whether its addresses may be reached.

A URL is parsed twice, as the standard library reads it and as requests / urllib3 will send it (backslashes, `@`,
percent-encodings, IDNA); when the two disagree on the host or port, or the URL carries credentials or characters no
link needs, it is refused rather than guessed. A host's addresses are refused when any is private, loopback (unless
allowed), link-local, multicast, reserved or unspecified, in IPv4 or IPv6, including IPv4 addresses carried inside
IPv6 ones (mapped, 6to4, Teredo, NAT64), whichever encoding the URL used (`2130706433`, `0x7f.1`, `[::ffff:7f00:1]`):
the check is made on the address the resolver returns, which is the one connected to.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from urllib3.util import parse_url

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# a scheme and authority holding controls, spaces or backslashes: parsers disagree on where such a host ends
_UNUSUAL_AUTHORITY = re.compile(r"^\s|^[^/?#]*?[\x00-\x20\x7f\\]")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request for a URL connects: scheme, host (ASCII, lower case) and port."""

    scheme: str
    host: str
    port: int


class UnsafeURL(ValueError):
    """A URL that is refused before any address is looked up; the message says why."""


def normalise_host(host: str) -> str:
    """A host name as the HTTP library sends it: lower case, international names in their ASCII (IDNA) form."""
    host = host.strip().lower()
    if host.isascii():
        return host
    try:
        return requests.Request("GET", f"http://{host}/").prepare().url.split("/")[2]
    except (requests.RequestException, UnicodeError, ValueError) as exc:
        raise UnsafeURL(f"host {host!r} is not a valid international name ({exc})") from exc


def target(url: str) -> Target:
    """The scheme, host and port a request for `url` will connect to; UnsafeURL when that is not certain."""
    if _UNUSUAL_AUTHORITY.search(url.split("://", 1)[-1]) or url != url.strip():
        raise UnsafeURL("the URL's host part holds a space, control character or backslash")
    try:
        mine = urlsplit(url)
    except ValueError as exc:
        raise UnsafeURL(f"the URL cannot be parsed ({exc})") from exc
    if mine.scheme not in ("http", "https"):
        raise UnsafeURL(f"scheme {mine.scheme or '(none)'!r} is not http(s)")
    if "@" in mine.netloc:
        raise UnsafeURL("the URL carries credentials (user@host); portal links never do")
    try:
        sent = parse_url(requests.Request("GET", url).prepare().url)
        port = mine.port
    except (requests.RequestException, ValueError, UnicodeError) as exc:
        raise UnsafeURL(f"the URL cannot be parsed ({exc})") from exc
    host = normalise_host(mine.hostname or "")
    theirs = (sent.host or "").strip("[]").lower()
    if not host or "%" in host or theirs != host or (sent.port or None) != (port or None) or sent.auth:
        raise UnsafeURL(f"the URL's host reads as {host or '(none)'} here but as {theirs or '(none)'} to HTTP")
    return Target(mine.scheme, host, port or (443 if mine.scheme == "https" else 80))


def resolve(host: str) -> list[str]:
    """Every address of a host (one lookup; an IP literal in any form the resolver accepts is its own answer)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _carried(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list:
    """The address and any IPv4 address it carries (IPv4-mapped, 6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return [address.ipv4_mapped]  # the same host, reached over IPv6
    out = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour:
            out.append(address.sixtofour)
        if address.teredo:
            out.extend(address.teredo)
        if any(address in net for net in _NAT64):
            out.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return out


def refusal(text: str, *, allow_loopback: bool) -> str | None:
    """Why a connection to this address is refused, or None. Loopback is allowed only for a local test portal."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return f"{text!r} is not an IP address"
    for one in _carried(address):
        if one.is_loopback:
            if not allow_loopback:
                return f"a loopback address ({address}); allowed only for a local test portal"
            continue
        if one.is_link_local:
            return f"a link-local address ({address})"
        if one.is_multicast:
            return f"a multicast address ({address})"
        if one.is_unspecified or one.is_reserved or one.is_private or not one.is_global:
            return f"a private, reserved or unspecified address ({address})"
    return None
