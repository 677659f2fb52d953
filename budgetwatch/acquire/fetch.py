"""A polite HTTP client for the portals: identifies itself, honours robots.txt, rate-limits per host, retries with
backoff, revalidates with conditional GET, caps sizes, and refuses links off the configured hosts."""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import importlib.metadata
import os
import random
import re
import threading
import time
import urllib.robotparser
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from budgetwatch.acquire import addresses
from budgetwatch.acquire.addresses import Target
from budgetwatch.acquire.pinned import PinnedAdapter, pinned, watch
from budgetwatch.errors import BudgetwatchError


def user_agent() -> str:
    """budgetwatch/<version> with the operator's contact (BUDGETWATCH_CONTACT: an e-mail address or a URL)."""
    try:
        version = importlib.metadata.version("budgetwatch")
    except importlib.metadata.PackageNotFoundError:
        version = "dev"
    contact = os.environ.get("BUDGETWATCH_CONTACT") or "operator contact not configured: set BUDGETWATCH_CONTACT"
    return f"budgetwatch/{version} (budget disclosure checker; +{contact})"


RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5


class FetchError(BudgetwatchError):
    """A URL could not be fetched (after retries); names the URL and the reason."""

    def __init__(self, url: str, reason: str, status: int | None = None, *, final: bool = False):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status
        self.final = final  # not worth trying again, over http or later in the run (a deadline, a broken answer)


class Refused(BudgetwatchError):
    """A URL the crawl must not fetch (off-host, private address, non-http scheme, robots.txt)."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Checked:
    """A URL that may be fetched: where it connects and the addresses checked for it (empty when its host did not
    resolve: the request then fails as a network error, not as a refusal)."""

    target: Target
    addresses: tuple[str, ...]
    lookup_error: str | None = None


@dataclass(frozen=True, slots=True)
class Guard:
    """Where one source may go: its hosts, and whether loopback is allowed (a local test portal)."""

    allowed_hosts: tuple[str, ...]
    allow_loopback: bool = False
    resolve: Callable[[str], list[str]] = field(default=None, repr=False)  # type: ignore[assignment]

    def check(self, url: str) -> Checked:
        """The URL's target and its addresses, looked up once; Refused when it may not be fetched."""
        try:
            where = addresses.target(url)
        except addresses.UnsafeURL as exc:
            raise Refused(url, str(exc)) from None
        allowed = set()
        for name in self.allowed_hosts:
            with contextlib.suppress(addresses.UnsafeURL):
                allowed.add(addresses.normalise_host(name))
        if where.host not in allowed:
            raise Refused(url, f"host {where.host} is off the source's allowed hosts")
        try:
            found = tuple((self.resolve or addresses.resolve)(where.host))
        except (OSError, UnicodeError) as exc:
            return Checked(where, (), f"cannot resolve {where.host}: {exc}")
        for text in found:
            reason = addresses.refusal(text, allow_loopback=self.allow_loopback)
            if reason:
                raise Refused(url, f"host {where.host} has {reason}")
        return Checked(where, found)

    def reason_to_refuse(self, url: str) -> str | None:
        """Why a URL is refused, or None when it may be fetched."""
        try:
            self.check(url)
        except Refused as exc:
            return exc.reason
        return None


@dataclass(frozen=True, slots=True)
class _Wanted:
    etag: str | None
    last_modified: str | None
    min_interval: float
    max_bytes: int
    accept_errors: frozenset[int]
    until: float  # time.monotonic() by which the request, its retries and redirects are done


@dataclass(slots=True)
class Response:
    url: str  # the URL finally answered (after redirects and a http fallback)
    status: int
    headers: dict[str, str]
    content: bytes = b""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: a random delay in [base·2^attempt / 2, base·2^attempt], capped."""
    ceiling = min(cap, base * 2**attempt)
    return ceiling / 2 + rng.random() * ceiling / 2


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "utf8": "utf-8"}


def html_encoding(content: bytes, content_type: str | None = None, configured: str = "auto") -> str:
    """The encoding of an HTML page: the source's configured one, else the header's charset, else the meta tag's,
    else UTF-8 when the bytes decode as UTF-8, else GB18030. GBK and GB2312 are read as their superset GB18030."""
    if configured and configured != "auto":
        return _ALIASES.get(configured.lower(), configured)
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", content_type or "", re.IGNORECASE)
    if not m:
        m = _CHARSET.search(content[:4096])
    if m:
        name = m.group(1)
        name = name.decode("ascii") if isinstance(name, bytes) else name
        return _ALIASES.get(name.lower(), name.lower())
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def decode_html(content: bytes, content_type: str | None = None, configured: str = "auto") -> str:
    """The text of an HTML page. The configured or declared encoding is used when it decodes the bytes cleanly into
    text that reads as Chinese; otherwise (GBK labelled UTF-8, or the reverse) the encoding is found by trying UTF-8
    and GB18030 and keeping the reading with the fewest garbled characters."""
    named = html_encoding(content, content_type, configured)
    candidates = [named, *(e for e in ("utf-8", "gb18030") if e != named)]
    best, best_score = None, None
    for encoding in candidates:
        try:
            text = content.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        score = garble_score(text)
        if score == 0:
            return text
        if best_score is None or score < best_score:
            best, best_score = text, score
    if best is not None:
        return best
    try:
        return content.decode(named, errors="replace")
    except LookupError:
        return content.decode("gb18030", errors="replace")


def garble_score(text: str) -> float:
    """The share of a text's ideographs that are not common Chinese (outside GB2312), counting replacement,
    private-use and accented Latin letters as garbled too: UTF-8 read as GBK gives rare ideographs, GBK read as UTF-8
    replacement characters, UTF-8 read as Latin-1 accented letters. 0 for text that reads as Chinese."""
    seen = odd = 0
    for char in text:
        if "\u3400" <= char <= "\u9fff":
            seen += 1
            odd += not _in_gb2312(char)
        elif char == "\ufffd" or "\ue000" <= char <= "\uf8ff" or "\u00c0" <= char <= "\u00ff":
            seen += 1  # replacement, private-use, and Latin-1 letters (UTF-8 read as Latin-1: 'æ\x9d\x83')
            odd += 1
    return odd / seen if seen else 0.0


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def garbled(text: str, threshold: float = 0.3) -> bool:
    """Whether a title reads as mojibake rather than Chinese."""
    return "\ufffd" in text or garble_score(text) > threshold


@dataclass
class Fetcher:
    """One polite HTTP session shared by a crawl. Thread-safe: the per-host clock and robots cache are locked.

    Every request connects only to the addresses its guard checked (`PinnedAdapter` on the session), and ends by its
    deadline: `deadline` seconds for the request with its retries and redirects, however slowly the server answers."""

    user_agent: str = field(default_factory=user_agent)
    timeout: float = 20.0
    retries: int = 4
    backoff: float = 0.5  # seconds before the first retry; doubled each time, with jitter
    backoff_cap: float = 30.0
    max_retry_after: float = 60.0  # a Retry-After longer than this (or than the time left) gives up instead of waiting
    deadline: float = field(default_factory=lambda: float(os.environ.get("BUDGETWATCH_FETCH_DEADLINE") or 300))
    max_bytes: int = 200 * 2**20
    max_page_bytes: int = 10 * 2**20  # a list or article page (decompressed) larger than this is refused
    sleep: Callable[[float], None] = time.sleep
    seed: int | None = None
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers["User-Agent"] = self.user_agent
        adapter = PinnedAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._http_only: set[str] = set()
        self._robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._crawl_delay: dict[str, float] = {}  # host → the Crawl-delay its robots.txt asks of this client
        self.bytes_received = 0

    # politeness ------------------------------------------------------------------------------------------------
    def _wait_turn(self, host: str, min_interval: float) -> None:
        with self._lock:
            min_interval = max(min_interval, self._crawl_delay.get(host, 0.0))
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + min_interval
        if slot > now:
            self.sleep(slot - now)

    def robots_allows(self, url: str, fetch: Callable[[str], Response]) -> bool:
        """Whether robots.txt of the URL's host lets this client fetch it. robots.txt is fetched once per crawl with
        `fetch` (this session, not urllib's own agent); its Crawl-delay, when longer than the source's interval, spaces
        the requests to that host from then on. A missing robots.txt (404) allows everything; 401/403 forbid
        everything; one that cannot be fetched raises FetchError."""
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            host_lock = self._robots_locks.setdefault(key, threading.Lock())
        with host_lock:  # one robots.txt request per host, however many threads ask
            parser = self._robots.get(key)
            if parser is None:
                response = fetch(urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", "")))
                parser = parse_robots(response.status, response.content)
                delay = parser.crawl_delay(self.user_agent)
                with self._lock:
                    self._robots[key] = parser
                    if delay:  # counted from the robots.txt request itself
                        host = parts.hostname or ""
                        self._crawl_delay[host] = float(delay)
                        self._next_slot[host] = max(self._next_slot.get(host, 0.0), time.monotonic() + float(delay))
        return parser.can_fetch(self.user_agent, url)

    # fetching --------------------------------------------------------------------------------------------------
    def get(
        self,
        url: str,
        guard: Guard,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        min_interval: float = 1.0,
        http_fallback: bool = False,
        max_bytes: int | None = None,
        accept_errors: Iterable[int] = (),
        until: float | None = None,
    ) -> Response:
        """GET a URL within the guard, following redirects only onto allowed hosts. Retries timeouts, resets, 5xx
        and 429 with backoff (honouring Retry-After) until the deadline (`until`, a time.monotonic() value, when
        sooner than this fetcher's own); an https URL that cannot be reached is tried over http when the source
        allows it. Raises Refused or FetchError; 304 comes back as a Response."""
        checked = guard.check(url)  # the one lookup of this request's first connection
        ends = time.monotonic() + self.deadline
        wanted = _Wanted(
            etag, last_modified, min_interval, max_bytes or self.max_bytes, frozenset(accept_errors),
            ends if until is None else min(ends, until),
        )  # fmt: skip
        host = urlsplit(url).hostname or ""
        if url.startswith("https://") and host in self._http_only:
            url = "http://" + url[len("https://") :]
        try:
            return self._get_following(url, guard, wanted, checked)
        except FetchError as exc:
            if not (http_fallback and url.startswith("https://") and exc.status is None and not exc.final):
                raise
            fallback = "http://" + url[len("https://") :]
            response = self._get_following(fallback, guard, wanted, guard.check(fallback))
            with self._lock:
                self._http_only.add(host)
            return response

    def _get_following(self, url: str, guard: Guard, wanted: _Wanted, checked: Checked) -> Response:
        for _ in range(MAX_REDIRECTS + 1):
            response = self._get_with_retries(url, guard, wanted, checked)
            if response.status in (301, 302, 303, 307, 308) and "location" in response.headers:
                target = urljoin(url, response.headers["location"])
                try:
                    checked = guard.check(target)
                except Refused as exc:
                    raise Refused(target, f"redirect from {url}: {exc.reason}") from None
                url = target
                continue
            if response.status >= 400 and response.status not in wanted.accept_errors:
                raise FetchError(url, f"HTTP {response.status}", status=response.status)
            return response
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")

    def _get_with_retries(self, url: str, guard: Guard, wanted: _Wanted, checked: Checked) -> Response:
        """The request, tried again after timeouts, resets and 5xx; it connects to the addresses checked for it (looked
        up again only when the lookup itself failed)."""
        headers = {}
        if wanted.etag:
            headers["If-None-Match"] = wanted.etag
        if wanted.last_modified:
            headers["If-Modified-Since"] = wanted.last_modified
        host = urlsplit(url).hostname or ""
        for attempt in range(self.retries + 1):
            self._wait_turn(host, wanted.min_interval)
            status, delay = None, None
            try:
                if checked.lookup_error and attempt:
                    checked = guard.check(url)
                response = self._get_once(url, checked, headers, wanted)
            except _Transient as exc:
                reason = exc.reason
            else:
                if response.status not in RETRY_STATUS:
                    return response
                status = response.status
                reason = f"HTTP {status}"
                delay = retry_after_seconds(response.headers.get("retry-after"))
                if delay is not None and (delay > self.max_retry_after or _left(wanted) < delay):
                    limit = min(self.max_retry_after, _left(wanted))
                    raise FetchError(url, f"HTTP {status}, Retry-After {delay:.0f} s is too long (over {limit:.0f} s)",
                                     status=status, final=True)  # fmt: skip
            if attempt == self.retries:
                raise FetchError(url, f"{reason} (after {self.retries + 1} attempts)", status=status)
            if delay is None:
                delay = backoff_delay(attempt, self.backoff, self.backoff_cap, self._rng)
            if _left(wanted) < delay:
                raise FetchError(url, f"{reason} (after {attempt + 1} attempts; {self._deadline_text(wanted)})",
                                 status=status, final=True)  # fmt: skip
            self.sleep(delay)
        raise AssertionError("unreachable")

    def _deadline_text(self, wanted: _Wanted) -> str:
        return f"no time left before the request's deadline (BUDGETWATCH_FETCH_DEADLINE, {self.deadline:.0f} s)"

    def _get_once(self, url: str, checked: Checked, headers: dict[str, str], wanted: _Wanted) -> Response:
        """One request, connected to the checked addresses only and ended at the deadline."""
        if checked.lookup_error:
            raise _Transient(checked.lookup_error)
        left = _left(wanted)
        if left <= 0:
            raise FetchError(url, self._deadline_text(wanted), final=True)
        where = checked.target
        with pinned(where.host, where.port, checked.addresses), watch(left) as clock:
            try:
                return self._receive(url, headers, wanted, min(self.timeout, left), clock)
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                if clock.expired:
                    raise FetchError(url, f"not answered in time: {self._deadline_text(wanted)}", final=True) from exc
                raise _Transient(f"{type(exc).__name__}: {_short(exc)}") from exc
            except (requests.RequestException, http.client.HTTPException, ValueError, OSError) as exc:
                if clock.expired:
                    raise FetchError(url, f"not answered in time: {self._deadline_text(wanted)}", final=True) from exc
                raise FetchError(url, f"broken answer ({type(exc).__name__}: {_short(exc)})", final=True) from exc

    def _receive(self, url: str, headers: dict[str, str], wanted: _Wanted, timeout: float, clock) -> Response:
        max_bytes = wanted.max_bytes
        with self.session.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=False) as r:
            found = {k.lower(): v for k, v in r.headers.items()}
            declared = found.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(
                    url, f"{int(declared):,} bytes announced, over the limit of {max_bytes:,}", r.status_code
                )
            chunks, size = [], 0
            for chunk in r.iter_content(65536):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(url, f"more than the limit of {max_bytes:,} bytes", r.status_code)
                chunks.append(chunk)
            if clock.expired:  # the body ended because its connection was shut at the deadline: it is not whole
                raise requests.ConnectionError("connection ended at the deadline")
            with self._lock:
                self.bytes_received += size
            return Response(url=url, status=r.status_code, headers=found, content=b"".join(chunks))


class _Transient(Exception):
    """A failure worth another attempt (a timeout, a reset, a name that did not resolve)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _left(wanted: _Wanted) -> float:
    return wanted.until - time.monotonic()


def parse_robots(status: int, content: bytes) -> urllib.robotparser.RobotFileParser:
    parser = urllib.robotparser.RobotFileParser()
    if status in (401, 403):
        parser.disallow_all = True
    elif status >= 400:
        parser.allow_all = True
    else:
        parser.parse(content.decode("utf-8", errors="replace").splitlines())
    return parser


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "…"
