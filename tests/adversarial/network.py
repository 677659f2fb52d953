"""A hostile web server on loopback, written at the socket level so that it can misbehave in ways a real HTTP server
will not (trickling a byte at a time, lying about lengths, breaking its chunking, sending no status line), and the
network probes: each fault it can commit, and each URL an attacker can put in a page to reach a refused address."""

from __future__ import annotations

import contextlib
import functools
import gzip
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

PDF = b"%PDF-1.4\n% a small document\n" + b"0" * 2000


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(30)
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                head += chunk
        except OSError:
            return
        path = head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else "/"
        server: HostileServer = self.server  # type: ignore[assignment]
        server.hits.append(path)
        route = server.routes.get(path.split("?")[0], not_found)
        with contextlib.suppress(OSError):
            route(self.request, server)


class HostileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, routes: dict[str, Callable]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = routes
        self.hits: list[str] = []
        self.stop = threading.Event()

    @property
    def port(self) -> int:
        return self.server_address[1]


@contextlib.contextmanager
def serve(routes: dict[str, Callable]) -> Iterator[HostileServer]:
    for route in routes.values():
        getattr(route, "prepare", lambda: None)()
    server = HostileServer(routes)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------------------------------------- answers
def answer(status: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Callable:
    def send(sock: socket.socket, _server: HostileServer) -> None:
        fields = {"Content-Length": str(len(body)), "Content-Type": "application/pdf", **(headers or {})}
        head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        sock.sendall(head.encode("latin-1") + body)

    return send


not_found = answer("404 Not Found", b"no")


def raw(data: bytes) -> Callable:
    def send(sock: socket.socket, _server: HostileServer) -> None:
        sock.sendall(data)

    return send


def trickle(head: bytes, then: bytes = b"", every: float = 0.2) -> Callable:
    """`head` at once, then `then` one byte at a time, forever (or until the client goes)."""

    def send(sock: socket.socket, server: HostileServer) -> None:
        sock.sendall(head)
        k = 0
        while not server.stop.is_set():
            sock.sendall(then[k % len(then) : k % len(then) + 1] if then else b"x")
            k += 1
            time.sleep(every)

    return send


def silent(sock: socket.socket, server: HostileServer) -> None:
    server.stop.wait(30)


def endless_chunks(sock: socket.socket, server: HostileServer) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/pdf\r\n\r\n")
    block = b"%x\r\n" % 65536 + b"a" * 65536 + b"\r\n"
    while not server.stop.is_set():
        sock.sendall(block)


def reset_after(data: bytes) -> Callable:
    def send(sock: socket.socket, _server: HostileServer) -> None:
        sock.sendall(data)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset

    return send


def gzip_bomb(size: int, content_type: str) -> Callable:
    """`size` bytes of HTML sent gzipped (made when first asked for: tens of MB take a second to compress)."""

    @functools.cache
    def body() -> bytes:
        return gzip.compress(b"<p>a</p>" * (size // 8), 6)

    def send(sock: socket.socket, server: HostileServer) -> None:
        answer("200 OK", body(), {"Content-Encoding": "gzip", "Content-Type": content_type})(sock, server)

    send.prepare = body  # the server calls it before it serves
    return send


def redirect(location: str) -> Callable:
    return answer("302 Found", b"", {"Location": location})


# ----------------------------------------------------------------------------------------------------------- probes
@dataclass(frozen=True)
class FetchProbe:
    """A request to a misbehaving server: it must end (Refused or FetchError whose reason matches) by its deadline,
    or succeed when `ok`."""

    name: str
    route: Callable
    reason: str = ""
    ok: bool = False
    refused: bool = False


OK = "200 OK"
FETCH_PROBES = [
    FetchProbe("net-trickled-body", trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"), "in time"),
    FetchProbe("net-trickled-headers", trickle(b"HTTP/1.1 200 OK\r\n", b"X-Slow: yes\r\n"), "in time"),
    FetchProbe("net-trickled-status-line", trickle(b"", b"HTTP/1.1 200 OK"), "in time|Timeout|Connection"),
    FetchProbe("net-trickled-chunks", trickle(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\na\r\n"),
               "in time"),
    FetchProbe("net-never-answers", silent, "Timeout|in time|deadline"),
    FetchProbe("net-endless-chunked-body", endless_chunks, "limit of"),
    FetchProbe("net-body-shorter-than-announced", reset_after(b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\nab"),
               "attempts|broken"),
    FetchProbe("net-body-longer-than-announced", answer(OK, PDF + b"x" * 100, {"Content-Length": str(len(PDF))}),
               ok=True),
    FetchProbe("net-announced-terabyte", answer(OK, b"", {"Content-Length": str(10**12)}), "announced, over the limit"),
    FetchProbe("net-gzip-bomb-document", gzip_bomb(64 * 2**20, "application/pdf"), "limit of"),
    FetchProbe("net-broken-gzip", answer(OK, b"\x1f\x8b\x08\x00garbage" * 10, {"Content-Encoding": "gzip"}),
               "broken answer|attempts"),
    FetchProbe("net-broken-chunking", raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n"),
               "broken answer|attempts"),
    FetchProbe("net-retry-after-100", answer("503 Busy", b"", {"Retry-After": "100"}), "too long"),
    FetchProbe("net-retry-after-beyond-deadline", answer("429 Slow down", b"", {"Retry-After": "4"}), "too long"),
    FetchProbe("net-retry-after-negative", answer("503 Busy", b"", {"Retry-After": "-5"}), "attempts"),
    FetchProbe("net-retry-after-garbage", answer("503 Busy", b"", {"Retry-After": "soon, maybe"}), "attempts"),
    FetchProbe("net-retry-after-far-date", answer("503 Busy", b"", {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}),
               "too long"),
    FetchProbe("net-always-503", answer("503 Busy"), "HTTP 503"),
    FetchProbe("net-redirect-loop", redirect("/net-redirect-loop"), "more than 5 redirects"),
    FetchProbe("net-redirect-empty-location", redirect(""), "redirects"),
    FetchProbe("net-redirect-private-address", redirect("http://10.0.0.1/x.pdf"), "off the source", refused=True),
    FetchProbe("net-redirect-file-scheme", redirect("file:///etc/passwd"), "scheme", refused=True),
    FetchProbe("net-redirect-gopher", redirect("gopher://portal.test:70/x"), "scheme", refused=True),
    FetchProbe("net-redirect-loopback-literal", redirect("http://127.0.0.1:9/x"), "off the source", refused=True),
    FetchProbe("net-redirect-backslash-at", redirect("http://10.0.0.1\\@portal.test/x"), "backslash", refused=True),
    FetchProbe("net-redirect-userinfo", redirect("http://portal.test@10.0.0.1/x"), "credentials", refused=True),
    FetchProbe("net-redirect-metadata", redirect("http://169.254.169.254/latest/meta-data/"), "off the source",
               refused=True),
    FetchProbe("net-thousand-headers", raw(b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 1000 + b"\r\n"),
               "broken answer|attempts"),
    FetchProbe("net-header-line-100kb", raw(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\n"),
               "broken answer|attempts"),
    FetchProbe("net-no-status-line", raw(b"hello, this is not HTTP\r\n\r\n"), "attempts|broken"),
    FetchProbe("net-status-999", raw(b"HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n"), "HTTP 999"),
    FetchProbe("net-reset-mid-body", reset_after(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"a" * 100),
               "attempts|broken"),
    FetchProbe("net-closed-at-once", raw(b""), "attempts"),
]  # fmt: skip


# URLs a hostile page can link to, with the reason each must be refused for (the source's host is portal.test,
# which resolves to a public address; loopback is not allowed)
SSRF_URLS = [
    ("ssrf-backslash-at", "http://127.0.0.1\\@portal.test/x.pdf", "backslash"),
    ("ssrf-backslash-host", "http://127.0.0.1\\.portal.test/x.pdf", "backslash"),
    ("ssrf-userinfo", "http://portal.test@127.0.0.1/x.pdf", "credentials"),
    ("ssrf-userinfo-port", "http://portal.test:80@127.0.0.1/x.pdf", "credentials"),
    ("ssrf-percent-encoded-host", "http://portal.test%2F@127.0.0.1/x.pdf", "credentials|host"),
    ("ssrf-percent-in-host", "http://127.0.0.1%2Fportal.test/x.pdf", "host"),
    ("ssrf-fragment-at", "http://127.0.0.1#@portal.test/x.pdf", "off the source"),
    ("ssrf-tab-in-host", "http://portal.te\tst@127.0.0.1/", "control|space"),
    ("ssrf-newline-in-host", "http://portal.test\n.evil.example/", "control|space"),
    ("ssrf-leading-space", " http://127.0.0.1/", "space"),
    ("ssrf-decimal-ip", "http://2130706433/x.pdf", "off the source"),
    ("ssrf-octal-ip", "http://0177.0.0.1/x.pdf", "off the source"),
    ("ssrf-hex-ip", "http://0x7f000001/x.pdf", "off the source"),
    ("ssrf-short-ip", "http://127.1/x.pdf", "off the source"),
    ("ssrf-ipv6-loopback", "http://[::1]/x.pdf", "off the source"),
    ("ssrf-ipv4-mapped", "http://[::ffff:127.0.0.1]/x.pdf", "off the source"),
    ("ssrf-fullwidth-dots", "http://127。0。0。1/x.pdf", "off the source|parsed"),
    ("ssrf-idna-lookalike", "http://ｐｏｒｔａｌ.test@127.0.0.1/", "credentials"),
    ("ssrf-scheme-file", "file:///etc/passwd", "scheme"),
    ("ssrf-scheme-ftp", "ftp://portal.test/x.pdf", "scheme"),
    ("ssrf-scheme-data", "data:text/html,<h1>x</h1>", "scheme"),
    ("ssrf-scheme-relative", "//127.0.0.1/x.pdf", "scheme"),
    ("ssrf-no-host", "http:///x.pdf", "host|parsed"),
    ("ssrf-bad-port", "http://portal.test:99999/x.pdf", "parsed"),
    ("ssrf-trailing-dot", "http://portal.test./x.pdf", "off the source"),
]

# names that resolve (by the injected resolver) to a refused address: the checked address is what is refused
RESOLVED_TO = [
    ("resolve-loopback", "127.0.0.1", "loopback"),
    ("resolve-ipv6-loopback", "::1", "loopback"),
    ("resolve-ipv4-mapped-loopback", "::ffff:127.0.0.1", "loopback"),
    ("resolve-private-10", "10.1.2.3", "private"),
    ("resolve-private-172", "172.16.5.4", "private"),
    ("resolve-private-192", "192.168.1.1", "private"),
    ("resolve-cgnat", "100.64.0.1", "private"),
    ("resolve-link-local-metadata", "169.254.169.254", "link-local"),
    ("resolve-ipv6-link-local", "fe80::1", "link-local"),
    ("resolve-ipv6-unique-local", "fd12::1", "private"),
    ("resolve-unspecified", "0.0.0.0", "unspecified"),
    ("resolve-ipv6-unspecified", "::", "unspecified"),
    ("resolve-multicast", "224.0.0.251", "multicast"),
    ("resolve-ipv6-multicast", "ff02::1", "multicast"),
    ("resolve-broadcast", "255.255.255.255", "reserved"),
    ("resolve-reserved-240", "240.0.0.1", "reserved"),
    ("resolve-6to4-loopback", "2002:7f00:1::", "loopback"),
    ("resolve-nat64-private", "64:ff9b::a00:1", "private"),
    ("resolve-teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),
    ("resolve-documentation", "192.0.2.10", "private"),
    ("resolve-benchmarking", "198.18.0.1", "private"),
]

OTHER_NETWORK_PROBES = [
    "pinned-dns-rebinding",
    "pinned-no-second-lookup",
    "pinned-unpinned-host-refused",
    "pinned-proxy-from-environment-ignored",
    "pinned-one-of-several-addresses-private",
    "crawl-list-page-gzip-bomb",
    "crawl-gbk-list-labelled-utf8",
    "crawl-utf8-list-labelled-gbk",
    "crawl-garbled-titles-fail",
    "crawl-stalled-source-hides-no-other",
    "crawl-source-deadline",
    "crawl-source-that-breaks-fails-alone",
    "writers-two-crawls-one-archive",
    "writers-two-publishers-one-dataset",
    "writers-reader-holding-the-dataset",
    "writers-reader-holding-the-manifest",
    "writers-wait-then-say-who-holds-it",
    "writers-killed-while-publishing",
]

NETWORK_PROBE_NAMES: list[str] = [
    *(p.name for p in FETCH_PROBES),
    *(name for name, _, _ in SSRF_URLS),
    *(name for name, _, _ in RESOLVED_TO),
    *OTHER_NETWORK_PROBES,
]
