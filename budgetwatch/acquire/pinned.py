"""HTTP connections made only to addresses already checked, and ended at a deadline however slowly a server answers.

`PinnedAdapter` replaces requests' own transport on a session: it never looks a host up. The fetcher checks a URL's
addresses, then sends the request inside `pinned(host, port, addresses)`; the adapter connects to exactly those
addresses (TLS still verifies the certificate against the host's name). A request whose host was not pinned by the
calling thread is refused, so a second lookup (DNS rebinding) or a host read differently by the HTTP library (a URL
parsing trick) cannot reach anything. Proxies from the environment are not used: a proxy would look the host up
itself.

`watch(seconds)` ends every connection the calling thread uses once the time is up, by shutting its socket down: a
server that trickles its headers or body a byte at a time cannot hold a request past its deadline, which a per-read
timeout alone cannot promise.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.poolmanager import SSL_KEYWORDS

_state = threading.local()  # this thread's pins {(host, port): addresses} and its current watch


class NotPinned(NewConnectionError):
    """A connection to a host the calling thread did not check first."""


@contextlib.contextmanager
def pinned(host: str, port: int, addresses: tuple[str, ...]) -> Iterator[None]:
    """Requests of this thread to host:port connect to these addresses only, inside the block."""
    pins = _state.__dict__.setdefault("pins", {})
    pins[(host, port)] = addresses
    try:
        yield
    finally:
        pins.pop((host, port), None)


@dataclass
class Watch:
    """The sockets one request uses, shut down when its time is up. Each is held by a duplicate of its descriptor:
    shutting that down ends the connection even after TLS has wrapped (and detached) the socket first made."""

    sockets: list[socket.socket] = field(default_factory=list)
    expired: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sock: socket.socket | None) -> None:
        if sock is None or sock.fileno() < 0:
            return
        duplicate = socket.socket(sock.family, sock.type, sock.proto, fileno=os.dup(sock.fileno()))
        with self._lock:
            self.sockets.append(duplicate)
            expired = self.expired
        if expired:
            _shutdown(duplicate)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self.sockets)
        for sock in sockets:
            _shutdown(sock)

    def close(self) -> None:
        with self._lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            sock.close()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def watch(seconds: float) -> Iterator[Watch]:
    """Every connection this thread uses inside the block is shut down after `seconds`."""
    current = Watch()
    timer = threading.Timer(max(0.0, seconds), current.expire)
    timer.daemon = True
    previous = getattr(_state, "watch", None)
    _state.watch = current
    timer.start()
    try:
        yield current
    finally:
        timer.cancel()
        _state.watch = previous
        current.close()


def _watched(sock: socket.socket | None) -> None:
    current = getattr(_state, "watch", None)
    if current is not None:
        current.add(sock)


class _PinnedConnection:
    """Connects to the pinned addresses in turn, never to a looked-up one."""

    addresses: tuple[str, ...] = ()

    def __init__(self, *args, addresses: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.addresses = addresses

    def _new_conn(self) -> socket.socket:
        if not self.addresses:
            raise NotPinned(self, f"no checked address for {self.host}: not connecting")
        error: OSError | None = None
        timeout = self.timeout if isinstance(self.timeout, int | float) else None
        for address in self.addresses:
            try:
                sock = socket.create_connection((address, self.port), timeout, self.source_address)
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"connecting to {self.host} ({address}) timed out") from exc
            except OSError as exc:
                error = exc
                continue
            for option in self.socket_options or ():
                sock.setsockopt(*option)
            _watched(sock)
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")


class _PinnedHTTPConnection(_PinnedConnection, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
    pass


class _WatchedPool:
    """A kept-alive connection taken from the pool joins the current request's watch as well."""

    def _get_conn(self, timeout: float | None = None):
        conn = super()._get_conn(timeout)
        _watched(getattr(conn, "sock", None))
        return conn


class _PinnedHTTPPool(_WatchedPool, HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(_WatchedPool, HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class PinnedAdapter(HTTPAdapter):
    """requests' transport, connecting only where the calling thread pinned the request's host."""

    MAX_POOLS = 64

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._pools: OrderedDict[tuple, HTTPConnectionPool] = OrderedDict()
        self._pools_lock = threading.Lock()

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None) -> HTTPConnectionPool:
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        scheme, host = host_params["scheme"], host_params["host"].strip("[]").lower()
        port = host_params["port"] or (443 if scheme == "https" else 80)
        if scheme != "https":
            pool_kwargs = {k: v for k, v in pool_kwargs.items() if k not in SSL_KEYWORDS}
        addresses = getattr(_state, "pins", {}).get((host, port), ())
        key = (scheme, host, port, addresses, tuple(sorted(pool_kwargs.items())))
        with self._pools_lock:
            pool = self._pools.get(key)
            if pool is None:
                cls = _PinnedHTTPSPool if scheme == "https" else _PinnedHTTPPool
                pool = cls(host, port, maxsize=self._pool_maxsize, block=False, addresses=addresses, **pool_kwargs)
                self._pools[key] = pool
                while len(self._pools) > self.MAX_POOLS:
                    self._pools.popitem(last=False)[1].close()
            self._pools.move_to_end(key)
        return pool

    def request_url(self, request, proxies) -> str:
        return request.path_url  # always origin-form: no proxy is used

    def close(self) -> None:
        super().close()
        with self._pools_lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
