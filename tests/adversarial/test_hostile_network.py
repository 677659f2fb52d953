"""The fetcher and the crawl against a hostile server and hostile links: every fault ends by its deadline with a
reason, no connection is ever made to a refused address, and one source's trouble hides no other source's results."""

from __future__ import annotations

import re
import socket
import time

import pytest
import requests

from budgetwatch.acquire import crawl as crawling
from budgetwatch.acquire import pinned
from budgetwatch.acquire.archive import Archive
from budgetwatch.acquire.crawl import crawl_sources
from budgetwatch.acquire.fetch import Fetcher, FetchError, Guard, Refused
from budgetwatch.acquire.sources import Column, Source

from . import network as net

PORTAL = "portal.test"
DEADLINE = 2.0
HANG = 10.0  # far past every deadline here: a probe that takes this long hung


def fetcher(**options) -> Fetcher:
    settings = {"retries": 2, "backoff": 0.01, "timeout": 0.5, "deadline": DEADLINE, "max_retry_after": 3.0, "seed": 3}
    return Fetcher(**(settings | options))


def resolver(*answers: list[str]):
    """A name service that gives each answer in turn (the last one again after that), counting the lookups."""

    def resolve(host: str) -> list[str]:
        resolve.calls.append(host)
        return answers[min(len(resolve.calls), len(answers)) - 1]

    resolve.calls = []
    return resolve


@pytest.fixture(scope="module")
def hostile():
    routes = {f"/{p.name}": p.route for p in net.FETCH_PROBES} | {"/ok": net.answer(net.OK, net.PDF)}
    with net.serve(routes) as server:
        yield server


@pytest.fixture
def connections(monkeypatch):
    """Every address a socket connects to during the test."""
    made: list[tuple] = []
    real = socket.create_connection

    def record(address, *args, **kwargs):
        made.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(pinned.socket, "create_connection", record)
    return made


@pytest.mark.parametrize("probe", net.FETCH_PROBES, ids=lambda p: p.name)
def test_a_misbehaving_server_is_answered_by_a_reason_before_the_deadline(hostile, probe):
    guard = Guard((PORTAL,), allow_loopback=True, resolve=lambda _: ["127.0.0.1"])
    url = f"http://{PORTAL}:{hostile.port}/{probe.name}"
    started = time.monotonic()
    if probe.ok:
        assert fetcher().get(url, guard, min_interval=0).status == 200
        return
    with pytest.raises(Refused if probe.refused else FetchError) as failure:
        fetcher().get(url, guard, min_interval=0, max_bytes=4 * 2**20)
    assert time.monotonic() - started < HANG
    assert failure.value.url.startswith(("http", "file", "gopher")), failure.value
    assert probe.reason and re.search(probe.reason, failure.value.reason), failure.value.reason


@pytest.mark.parametrize(("name", "url", "reason"), net.SSRF_URLS, ids=[n for n, _, _ in net.SSRF_URLS])
def test_a_link_built_to_reach_a_refused_address_is_refused_before_any_connection(connections, name, url, reason):
    guard = Guard((PORTAL,), resolve=lambda _: ["93.184.216.34"])
    with pytest.raises(Refused, match=reason):
        fetcher().get(url, guard, min_interval=0)
    assert connections == []


@pytest.mark.parametrize(("name", "address", "reason"), net.RESOLVED_TO, ids=[n for n, _, _ in net.RESOLVED_TO])
def test_a_host_whose_address_is_refused_is_never_connected_to(connections, name, address, reason):
    with pytest.raises(Refused, match=reason):
        fetcher().get(f"http://{PORTAL}/x.pdf", Guard((PORTAL,), resolve=lambda _: [address]), min_interval=0)
    assert connections == []


def test_dns_rebinding_reaches_only_the_address_that_was_checked(hostile, connections):
    # pinned-dns-rebinding: the name answers with a public address first, loopback after that
    rebinding = resolver(["192.88.99.7"], ["127.0.0.1"])
    with pytest.raises(FetchError):
        fetcher(retries=1, timeout=0.3).get(f"http://{PORTAL}:{hostile.port}/ok", Guard((PORTAL,), resolve=rebinding))
    assert {host for host, _ in connections} == {"192.88.99.7"}
    assert "/ok" not in hostile.hits


def test_a_request_makes_one_lookup_and_connects_where_it_looked(hostile, connections):
    # pinned-no-second-lookup: a name the system cannot resolve is reached at the checked address only
    rebinding = resolver(["127.0.0.1"], ["10.9.9.9"])
    guard = Guard(("rebind.invalid",), allow_loopback=True, resolve=rebinding)
    assert fetcher().get(f"http://rebind.invalid:{hostile.port}/ok", guard, min_interval=0).content == net.PDF
    assert rebinding.calls == ["rebind.invalid"]
    assert connections == [("127.0.0.1", hostile.port)]


def test_a_host_nobody_checked_is_not_connected_to(hostile):
    # pinned-unpinned-host-refused: the session alone, without the fetcher's check, reaches nothing
    before = len(hostile.hits)
    with pytest.raises(requests.ConnectionError, match="no checked address"):
        fetcher().session.get(f"http://127.0.0.1:{hostile.port}/ok", timeout=1)
    assert len(hostile.hits) == before


def test_a_proxy_from_the_environment_is_not_used(hostile, monkeypatch):
    # pinned-proxy-from-environment-ignored: a proxy would look the host up itself
    with net.serve({}) as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        guard = Guard((PORTAL,), allow_loopback=True, resolve=lambda _: ["127.0.0.1"])
        assert fetcher().get(f"http://{PORTAL}:{hostile.port}/ok", guard, min_interval=0).status == 200
        assert proxy.hits == []


def test_one_refused_address_among_several_refuses_the_host(connections):
    # pinned-one-of-several-addresses-private
    guard = Guard((PORTAL,), resolve=lambda _: ["93.184.216.34", "10.0.0.1"])
    with pytest.raises(Refused, match=r"private.*10\.0\.0\.1"):
        fetcher().get(f"http://{PORTAL}/x.pdf", guard, min_interval=0)
    assert connections == []


# ------------------------------------------------------------------------------------------------------------ crawl
LIST_ITEM = '<ul class="news"><li><a href="/{column}/t1.html">武汉市新洲区医疗保障局2024年部门预算</a></li></ul>'
ARTICLE = '<meta charset="utf-8"><h1>武汉市新洲区医疗保障局2024年部门预算</h1><a href="/{column}/a.pdf">附件</a>'


def _column(name: str, list_page) -> dict:
    article = net.answer(net.OK, ARTICLE.format(column=name).encode(), {"Content-Type": "text/html; charset=utf-8"})
    pdf = net.answer(net.OK, net.PDF + name.encode())
    return {f"/{name}/index.html": list_page, f"/{name}/t1.html": article, f"/{name}/a.pdf": pdf}


def _html(text: str, encoding: str, label: str):
    return net.answer(net.OK, text.encode(encoding), {"Content-Type": f"text/html; charset={label}"})


def _source(port: int, column: str) -> Source:
    return Source(
        id=column, name=column, scheme="http", allowed_hosts=("127.0.0.1",),
        columns=(Column(url=f"http://127.0.0.1:{port}/{column}/index.html"),), departments=("医疗保障局",),
        min_interval=0, local_test=True, item_selector="ul.news li", pagination="none",
    )  # fmt: skip


@pytest.fixture(scope="module")
def portal():
    mojibake = LIST_ITEM.format(column="garbled").encode("utf-8").decode("gb18030", "replace")
    routes = {
        **_column("good", _html(LIST_ITEM.format(column="good"), "utf-8", "utf-8")),
        **_column("gbk-as-utf8", _html(LIST_ITEM.format(column="gbk-as-utf8"), "gbk", "utf-8")),
        **_column("utf8-as-gbk", _html(LIST_ITEM.format(column="utf8-as-gbk"), "utf-8", "gbk")),
        **_column("garbled", _html(mojibake, "utf-8", "utf-8")),
        **_column("bomb", net.gzip_bomb(40 * 2**20, "text/html; charset=utf-8")),
        **_column("stalled", net.trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n<ul>")),
        **_column("broken", _html(LIST_ITEM.format(column="broken"), "utf-8", "utf-8")),
    }
    with net.serve(routes) as server:
        yield server


def _crawl(portal, tmp_path, *columns: str, **options):
    with Archive(tmp_path / "archive") as archive:
        sources = [_source(portal.port, c) for c in columns]
        return crawl_sources(sources, archive, allow_local=True, session=fetcher(), **options)


@pytest.mark.parametrize("column", ["gbk-as-utf8", "utf8-as-gbk"])
def test_a_list_page_in_the_wrong_charset_is_read_by_detection(portal, tmp_path, column):
    # crawl-gbk-list-labelled-utf8, crawl-utf8-list-labelled-gbk
    [result] = _crawl(portal, tmp_path, column)
    assert result.ok, result.failures
    assert [r.title for r in result.reports] == ["武汉市新洲区医疗保障局2024年部门预算"]


def test_a_list_page_of_garbled_titles_is_a_failure_not_zero_reports(portal, tmp_path):
    # crawl-garbled-titles-fail
    [result] = _crawl(portal, tmp_path, "garbled")
    assert not result.ok
    assert "garbled" in result.failures[0]["error"]


def test_a_list_page_bomb_fails_its_source_and_the_others_are_crawled(portal, tmp_path):
    # crawl-list-page-gzip-bomb
    bomb, good = _crawl(portal, tmp_path, "bomb", "good")
    assert "limit of" in bomb.failures[0]["error"]
    assert good.ok and len(good.reports) == 1


def test_a_stalled_source_hides_no_other_sources_results(portal, tmp_path):
    # crawl-stalled-source-hides-no-other
    done: list[str] = []
    started = time.monotonic()
    stalled, good = _crawl(portal, tmp_path, "stalled", "good", on_result=lambda r: done.append(r.source_id), workers=2)
    assert done == ["good", "stalled"]  # reported as soon as it was done, not after the stalled one
    assert good.ok and "in time" in stalled.failures[0]["error"]
    assert time.monotonic() - started < HANG


def test_a_source_past_its_deadline_stops_and_says_so(portal, tmp_path, monkeypatch):
    # crawl-source-deadline
    monkeypatch.setattr(crawling, "SOURCE_DEADLINE", 0.0)
    [result] = _crawl(portal, tmp_path, "good")
    assert "source stopped: not finished within 0 s" in result.failures[0]["error"]


def test_a_source_whose_crawl_breaks_fails_alone(portal, tmp_path, monkeypatch):
    # crawl-source-that-breaks-fails-alone
    real = crawling.parse_list_page

    def parse(html, url, selector):
        if "/broken/" in url:
            raise RuntimeError("a parser bug")
        return real(html, url, selector)

    monkeypatch.setattr(crawling, "parse_list_page", parse)
    broken, good = _crawl(portal, tmp_path, "broken", "good")
    assert broken.failures == [{"url": "", "error": "crawl broke: RuntimeError: a parser bug"}]
    assert good.ok and len(good.reports) == 1
