"""The fetcher over real HTTP on loopback: it identifies itself, retries what is worth retrying, honours Retry-After,
rate-limits per host, revalidates, caps sizes, falls back to http, and refuses where it must not go."""

from __future__ import annotations

import socket
import time

import pytest

from budgetwatch.acquire.fetch import Fetcher, FetchError, Guard, Refused, parse_robots
from budgetwatch.fixtures.sample_portal import serve_directory


@pytest.fixture
def site(tmp_path):
    (tmp_path / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4\n" + b"x" * 5000)
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "b.pdf").write_bytes(b"%PDF-1.4\n")
    with serve_directory(tmp_path) as server:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"


class Sleeps(list):
    """Records the waits the fetcher asks for, and waits them (scaled down) so that the server sees real time pass."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(min(seconds, 0.05))


LOCAL = Guard(("127.0.0.1",), allow_loopback=True)


def fetcher(**options) -> Fetcher:
    return Fetcher(**{"retries": 3, "backoff": 0.01, "timeout": 2.0, "seed": 1, "sleep": Sleeps(), **options})


def test_every_request_names_the_tool_and_a_contact(site, monkeypatch):
    server, base = site
    monkeypatch.setenv("BUDGETWATCH_CONTACT", "data-steward@example.org")
    f = Fetcher(timeout=2.0)
    f.get(f"{base}/a.pdf", LOCAL, min_interval=0)
    agent = server.hits[-1].headers["User-Agent"]
    assert agent.startswith("budgetwatch/")
    assert "data-steward@example.org" in agent


def test_5xx_resets_and_timeouts_are_retried_with_backoff(site):
    server, base = site
    server.faults.add("/a.pdf", "status:500", "reset", "slow:1.5", "status:503")
    f = fetcher(timeout=0.5, retries=4)
    response = f.get(f"{base}/a.pdf", LOCAL, min_interval=0)
    assert response.status == 200
    assert response.content.startswith(b"%PDF")
    deadline = time.monotonic() + 5
    while len(server.hits) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)  # the slow answer is logged when it finally comes, after the client gave up on it
    assert sorted(h.status for h in server.hits) == [0, 200, 200, 500, 503]
    delays = f.sleep
    assert len(delays) == 4
    assert all(0.005 <= d <= 0.01 * 2**k for k, d in enumerate(delays))  # exponential with jitter


def test_429_waits_as_long_as_retry_after_says(site):
    server, base = site
    server.faults.add("/a.pdf", "retry-after:3")
    f = fetcher()
    assert f.get(f"{base}/a.pdf", LOCAL, min_interval=0).status == 200
    assert f.sleep == [3.0]


def test_retry_after_beyond_the_limit_gives_up_at_once(site):
    server, base = site
    server.faults.add("/a.pdf", "retry-after:86400")
    with pytest.raises(FetchError, match="Retry-After 86400 s is too long"):
        fetcher().get(f"{base}/a.pdf", LOCAL, min_interval=0)
    assert len(server.hits) == 1


def test_persistent_errors_fail_naming_the_url_and_the_attempts(site):
    server, base = site
    server.faults.add("/a.pdf", *["status:502"] * 4)
    with pytest.raises(FetchError, match=r"/a\.pdf: HTTP 502 \(after 4 attempts\)"):
        fetcher().get(f"{base}/a.pdf", LOCAL, min_interval=0)
    server.faults.queue.clear()
    with pytest.raises(FetchError, match="HTTP 404"):
        fetcher().get(f"{base}/missing.pdf", LOCAL, min_interval=0)
    assert server.hits[-1].status == 404 and len(server.hits) == 5  # a 404 is not retried


def test_requests_to_one_host_are_spaced_by_the_rate_limit(site):
    server, base = site
    f = Fetcher(timeout=2.0)
    started = time.monotonic()
    for _ in range(3):
        f.get(f"{base}/a.pdf", LOCAL, min_interval=0.25)
    assert time.monotonic() - started >= 0.5
    assert len(server.hits) == 3


def test_conditional_get_gives_304_and_no_body(site):
    server, base = site
    f = fetcher()
    first = f.get(f"{base}/a.pdf", LOCAL, min_interval=0)
    assert first.etag and first.last_modified
    again = f.get(f"{base}/a.pdf", LOCAL, etag=first.etag, min_interval=0)
    assert again.not_modified and again.content == b""
    by_date = f.get(f"{base}/a.pdf", LOCAL, last_modified=first.last_modified, min_interval=0)
    assert by_date.not_modified
    assert server.hits[1].headers["If-None-Match"] == first.etag
    assert [h.body_bytes for h in server.hits[1:]] == [0, 0]


def test_responses_over_the_size_cap_are_refused(site):
    _, base = site
    with pytest.raises(FetchError, match="limit of 1,000"):
        fetcher().get(f"{base}/a.pdf", LOCAL, min_interval=0, max_bytes=1000)


def test_robots_txt_is_fetched_through_our_own_session(site):
    server, base = site
    f = fetcher()

    def fetch(url):
        return f.get(url, LOCAL, min_interval=0, accept_errors=range(400, 500))

    assert f.robots_allows(f"{base}/a.pdf", fetch)
    assert not f.robots_allows(f"{base}/private/b.pdf", fetch)
    robots = [h for h in server.hits if h.path == "/robots.txt"]
    assert len(robots) == 1  # once per host
    assert robots[0].headers["User-Agent"].startswith("budgetwatch/")
    assert parse_robots(404, b"").can_fetch("budgetwatch", "http://h/x")
    assert not parse_robots(403, b"").can_fetch("budgetwatch", "http://h/x")


def test_https_falls_back_to_http_where_the_source_allows(site):
    server, base = site
    secure = base.replace("http://", "https://")  # the server speaks plain HTTP: the TLS handshake fails
    with pytest.raises(FetchError):
        fetcher(retries=0).get(f"{secure}/a.pdf", LOCAL, min_interval=0)
    f = fetcher(retries=0)
    response = f.get(f"{secure}/a.pdf", LOCAL, min_interval=0, http_fallback=True)
    assert response.status == 200 and response.url == f"{base}/a.pdf"
    f.get(f"{secure}/a.pdf", LOCAL, min_interval=0, http_fallback=True)
    assert [h.status for h in server.hits] == [200, 200]  # the host is remembered as http-only


def test_redirects_are_followed_only_onto_allowed_hosts(site):
    server, base = site
    server.faults.add("/moved.pdf", "redirect:/a.pdf")
    assert fetcher().get(f"{base}/moved.pdf", LOCAL, min_interval=0).url == f"{base}/a.pdf"
    server.faults.add("/moved.pdf", "redirect:https://www.example.org/a.pdf")
    with pytest.raises(Refused, match=r"redirect from .*moved\.pdf: host www\.example\.org is off"):
        fetcher().get(f"{base}/moved.pdf", LOCAL, min_interval=0)


def test_off_host_private_loopback_and_non_http_urls_are_refused():
    guard = Guard(("www.huangpi.gov.cn", "127.0.0.1", "intranet.example"), resolve=_fake_dns)
    assert guard.reason_to_refuse("https://www.huangpi.gov.cn/a.pdf") is None
    assert "off the source's allowed hosts" in guard.reason_to_refuse("https://www.example.org/a.pdf")
    assert "scheme 'ftp'" in guard.reason_to_refuse("ftp://www.huangpi.gov.cn/a.pdf")
    assert "scheme 'file'" in guard.reason_to_refuse("file:///etc/passwd")
    assert "loopback" in guard.reason_to_refuse("http://127.0.0.1:8080/a.pdf")
    assert "private" in guard.reason_to_refuse("http://intranet.example/a.pdf")
    assert Guard(("127.0.0.1",), allow_loopback=True).reason_to_refuse("http://127.0.0.1/") is None
    # a name that does not resolve is not refused: its request fails, is retried and reported as a failure
    assert Guard(("down.example",), resolve=_fake_dns).reason_to_refuse("http://down.example/") is None
    link_local = Guard(("169.254.169.254",), allow_loopback=True)
    assert "link-local" in link_local.reason_to_refuse("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(Refused):
        Fetcher().get("http://127.0.0.1:9/a.pdf", Guard(("127.0.0.1",)), min_interval=0)


def _fake_dns(host: str) -> list[str]:
    if host == "down.example":
        raise OSError("Name or service not known")
    return {"www.huangpi.gov.cn": ["59.175.0.10"], "intranet.example": ["10.0.0.5"], "127.0.0.1": ["127.0.0.1"]}[host]


def test_a_portal_that_is_down_is_a_fetch_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(FetchError, match="ConnectionError"):
        fetcher(retries=1).get(f"http://127.0.0.1:{port}/", LOCAL, min_interval=0)


def test_a_crawl_delay_in_robots_txt_spaces_the_requests_to_that_host(site):
    server, base = site
    (server.root / "robots.txt").write_text("User-agent: *\nCrawl-delay: 3\nDisallow: /private/\n")
    f = fetcher()
    f.get(f"{base}/a.pdf", LOCAL, min_interval=0)
    assert f.sleep == []
    assert f.robots_allows(f"{base}/a.pdf", lambda url: f.get(url, LOCAL, min_interval=0))
    f.get(f"{base}/a.pdf", LOCAL, min_interval=0)
    f.get(f"{base}/a.pdf", LOCAL, min_interval=0)
    assert len(f.sleep) == 2
    # 3 s after the robots.txt request, then 3 s after the slot of the one before (the recorder only waits 0.05 s,
    # so the second slot is still almost 6 s away)
    assert 2.5 < f.sleep[0] <= 3.0
    assert 5.5 < f.sleep[1] <= 6.0
