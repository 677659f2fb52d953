"""Crawling the embedded sample portal over real HTTP: what is found, archived, skipped, refused and failed; re-crawls
that cost only 304s; new versions; faults survived; safety."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from budgetwatch.acquire import sources as registry
from budgetwatch.acquire.archive import Archive
from budgetwatch.acquire.crawl import crawl_json, crawl_sources, paths_to_check
from budgetwatch.acquire.fetch import Fetcher
from budgetwatch.check.batch import check_paths
from budgetwatch.cli.main import main
from budgetwatch.fixtures.sample_portal import serve_directory
from budgetwatch.read import ocr_engine

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "crawl-report.schema.json").read_text(encoding="utf-8"))

REPORTS = {  # path → (status on a first crawl, kind, fiscal year, department)
    "/yjs/202508/P020250820512345678901.pdf": ("new", "final_account", 2024, "武汉市黄陂区医疗保障局"),
    "/yjs/202602/P020260210512345678902.docx": ("new", "budget", 2024, "武汉市洪山区医疗保障局"),
    "/yjs/202603/W020260305512345678903.png": ("new", "budget", 2024, "武汉市蔡甸区医疗保障局"),
    "/yjs/202603/W020260305512345678904.png": ("new", "budget", 2024, "武汉市蔡甸区医疗保障局"),
    "/yjs/202509/P020250901512345678906.pdf": ("unchanged", "final_account", 2024, "武汉市黄陂区医疗保障局"),
    "/yjs/gbk/202602/t20260214_4001.shtml": ("new", "budget", 2024, "武汉市洪山区医疗保障局"),
    "/yjs/gbk/202602/P020260215512345678905.docx": ("new", "final_account", 2024, "武汉市黄陂区医疗保障局"),
}


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "archive") as a:
        yield a


def fetcher(**options) -> Fetcher:
    return Fetcher(**{"retries": 3, "backoff": 0.01, "timeout": 2.0, "seed": 7, **options})


def crawl(portal, archive, **options):
    return crawl_sources(portal.sources, archive, allow_local=True, session=fetcher(), **options)


def by_path(portal, result):
    return {r.url.removeprefix(portal.base_url): r for r in result.reports}


def test_first_crawl_finds_the_reports_and_accounts_for_everything_else(portal, archive):
    base_url, sources = portal  # unpacks as (base URL, registry entries)
    assert base_url.startswith("http://127.0.0.1:") and [s.id for s in sources] == ["sample"]
    [result] = crawl(portal, archive)
    jsonschema.validate(crawl_json([result]), SCHEMA)
    assert result.steward == "steward@example.org"  # for the alert on its failures
    found = by_path(portal, result)
    assert {p: (r.status, r.kind, r.fiscal_year, r.department) for p, r in found.items()} == REPORTS
    huangpi = found["/yjs/202508/P020250820512345678901.pdf"]
    assert huangpi.scope == "汇总"
    assert huangpi.published == "2025-08-20"
    assert huangpi.article_url == portal.base_url + "/yjs/202508/t20250820_3001.shtml"
    assert found["/yjs/202509/P020250901512345678906.pdf"].same_as == huangpi.url  # re-published, same bytes
    assert (
        found["/yjs/gbk/202602/t20260214_4001.shtml"].title == "武汉市洪山区医疗保障局2024年部门预算（网页版）"
    )  # GBK
    for report in result.reports:
        data = report.path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == report.sha256
        assert report.path.parent.parent == archive.root / "objects"
        assert report.path.stem == report.sha256
    assert sorted(s["reason"].split(" (")[0] for s in result.skipped) == [
        "a government budget or its execution, not a department's report",
        "department 区教育局 is not followed",
        "not a budget or final account",
    ]
    assert {r["url"].removeprefix(portal.base_url): r["reason"] for r in result.refused} == {
        "/internal/202604/t20260402_3011.shtml": "robots.txt disallows it",
        "https://www.example.org/yjs/202406/P020240601000000000001.pdf": (
            "host www.example.org is off the source's allowed hosts"
        ),
    }
    assert {f["url"].removeprefix(portal.base_url): f["error"] for f in result.failures} == {
        "/yjs/202602/P020260210599999999999.pdf": "HTTP 404",
        "/yjs/202603/t20260306_3006.shtml": "a report article without an attachment, a table or an image",
    }
    assert not any(h.path.startswith("/internal/") for h in portal.hits)  # robots.txt was obeyed
    assert all(h.headers["User-Agent"].startswith("budgetwatch/") for h in portal.hits)
    rows = archive.manifest_rows()
    assert len(rows) == len(REPORTS)
    assert all(r["fetched_at"] and r["headers"] and r["size"] > 0 for r in rows)


def test_archived_reports_feed_the_checker(portal, archive):
    [result] = crawl(portal, archive)
    paths = paths_to_check([result])
    assert len(paths) == len(REPORTS) - 1  # the re-published file is checked once
    run = check_paths(paths)
    documents = [r for r in run.reports if r.extraction.document.media_type != "image/png"]
    departments = {r.extraction.document.department for r in documents}
    assert departments == {"武汉市黄陂区医疗保障局", "武汉市洪山区医疗保障局"}
    assert {r.extraction.document.media_type for r in documents} >= {"application/pdf", "text/html"}
    pictures = [r for r in run.reports if r.extraction.document.media_type == "image/png"]
    if ocr_engine.available():  # the two pictures of tables are read, find no standard table and say so
        assert len(pictures) == 2 and not run.unreadable
        assert all(any(f.check_id == "C-01" for f in r.errors) for r in pictures)
    else:
        assert len(run.unreadable) == 2 and not pictures
        assert all("image/png" in str(u) for u in run.unreadable)


def test_recrawl_of_an_unchanged_portal_costs_only_304s(portal, archive):
    crawl(portal, archive)
    before = len(portal.hits)
    [again] = crawl(portal, archive)
    hits = portal.hits[before:]
    assert again.document_bytes == 0
    assert {r.status for r in again.reports} == {"unchanged"}
    assert len(again.reports) == len(REPORTS)
    answered = [(h.path, h.status) for h in hits if h.status != 304]
    assert answered == [("/yjs/202602/P020260210599999999999.pdf", 404)]  # the broken link stays broken
    assert sum(h.body_bytes for h in hits if h.status != 404) == 0
    assert all("If-None-Match" in h.headers for h in hits if h.status == 304)
    assert again.failures  # and is still reported


def test_a_changed_file_under_the_same_url_is_a_new_version_and_both_are_kept(portal, archive):
    crawl(portal, archive)
    target = Path(portal.sources_file).parent / "yjs/202602/P020260210512345678902.docx"
    replacement = (Path(portal.sources_file).parent / "yjs/gbk/202602/P020260215512345678905.docx").read_bytes()
    old = target.read_bytes()
    target.write_bytes(replacement)  # the portal replaces the attachment under the same URL
    [again] = crawl(portal, archive)
    changed = by_path(portal, again)["/yjs/202602/P020260210512345678902.docx"]
    assert changed.status == "changed"
    assert again.document_bytes == len(replacement)
    versions = archive.versions(changed.url)
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].path.read_bytes() == old
    assert versions[1].path.read_bytes() == replacement
    assert {r.status for u, r in by_path(portal, again).items() if not u.endswith("02.docx")} == {"unchanged"}


def test_forced_refetch_downloads_again_and_recognises_identical_files(portal, archive):
    crawl(portal, archive)
    [again] = crawl(portal, archive, force_refetch=True)
    assert again.document_bytes > 0
    assert again.not_modified == 0
    assert {r.status for r in again.reports} == {"unchanged"}
    assert len(archive.manifest_rows()) == len(REPORTS)


def test_a_loopback_portal_is_refused_unless_local_portals_are_allowed(portal, archive):
    [result] = crawl_sources(portal.sources, archive, session=fetcher())
    assert not result.reports
    assert all("loopback" in r["reason"] for r in result.refused)
    assert len(result.failures) == 3  # every column
    not_a_test_portal = [dataclasses.replace(s, local_test=False) for s in portal.sources]
    [result] = crawl_sources(not_a_test_portal, archive, allow_local=True, session=fetcher())
    assert not result.reports and len(result.failures) == 3
    assert portal.hits == []  # not a single request was sent


def test_faults_during_a_crawl_are_retried_and_survived(portal, archive):
    portal.faults.add("/yjs/", "status:500", "reset")
    portal.faults.add("/yjs/index_1.shtml", "slow:2")
    portal.faults.add("/yjs/202508/P020250820512345678901.pdf", "reset", "status:502")
    portal.faults.add("/yjs/202602/P020260210512345678902.docx", "retry-after:1")
    [result] = crawl_sources(portal.sources, archive, allow_local=True, session=fetcher(timeout=1.0))
    assert {p: r.status for p, r in by_path(portal, result).items()} == {p: v[0] for p, v in REPORTS.items()}
    assert len(result.failures) == 2  # only the portal's own defects
    statuses = [h.status for h in portal.hits]
    assert statuses.count(0) == 2 and {429, 500, 502} <= set(statuses)


def test_a_portal_that_is_down_fails_only_its_own_source(portal, archive):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    down = dataclasses.replace(
        portal.sources[0],
        id="down",
        columns=(registry.Column(url=f"http://127.0.0.1:{port}/yjs/"),),
    )
    results = crawl_sources([down, *portal.sources], archive, allow_local=True, session=fetcher(retries=1))
    assert [r.source_id for r in results] == ["down", "sample"]
    assert len(results[0].failures) == 1
    assert results[0].failures[0]["url"] == f"http://127.0.0.1:{port}/yjs/"
    assert "ConnectionError" in results[0].failures[0]["error"]
    assert len(results[1].reports) == len(REPORTS)


def test_a_list_page_without_items_is_a_failure_unless_the_column_is_declared_empty(portal, archive):
    empty = portal.base_url + "/yjs/2026/"
    declared = dataclasses.replace(portal.sources[0], columns=(registry.Column(url=empty, declared_empty=True),))
    [result] = crawl_sources([declared], archive, allow_local=True, session=fetcher())
    assert result.ok and not result.reports
    undeclared = dataclasses.replace(declared, columns=(registry.Column(url=empty),))
    [result] = crawl_sources([undeclared], archive, allow_local=True, session=fetcher())
    assert result.failures == [
        {"url": empty, "error": "the list page yields no items (declare the column empty if it is)"}
    ]


def test_a_304_to_a_request_without_validators_is_a_failure_not_a_silent_success(portal, archive):
    pdf = "/yjs/202508/P020250820512345678901.pdf"
    portal.faults.add(pdf, "not-modified")
    [result] = crawl(portal, archive)
    assert pdf not in by_path(portal, result)
    assert {
        "url": portal.base_url + pdf,
        "error": "304 Not Modified to a request that asked for the full document",
    } in (result.failures)


def test_a_server_chosen_file_name_never_becomes_a_path(portal, archive, tmp_path):
    pdf = "/yjs/202508/P020250820512345678901.pdf"
    portal.faults.headers[pdf] = {"Content-Disposition": 'attachment; filename="../../../evil.sh"'}
    [result] = crawl(portal, archive)
    report = by_path(portal, result)[pdf]
    assert report.path == archive.root / "objects" / report.sha256[:2] / f"{report.sha256}.pdf"
    assert not [p for p in tmp_path.rglob("*evil*")]
    assert json.loads(archive.manifest_rows()[0]["headers"]).get("content-disposition")  # kept as a record only


def test_crawl_command_on_an_adhoc_column(portal, tmp_path, capsys):
    column = portal.base_url + "/yjs/gbk/"
    status = main(["crawl", column, "--allow-local", "--format", "json", "--archive", str(tmp_path / "a")])
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, SCHEMA)
    assert status == 0
    assert [s["source_id"] for s in report["sources"]] == [column]
    assert len(report["sources"][0]["reports"]) == 2
    assert report["summary"]["new"] == 2

    status = main(["crawl", column, "--format", "json", "--archive", str(tmp_path / "a")])
    report = json.loads(capsys.readouterr().out)
    assert status == 1  # loopback without --allow-local: refused, and the source failed
    assert "loopback" in report["sources"][0]["refused"][0]["reason"]


def test_crawl_command_on_a_sources_file(portal, tmp_path, capsys):
    args = ["crawl", "--sources-file", str(portal.sources_file), "--allow-local", "--archive", str(tmp_path / "a")]
    assert main(args) == 1  # the sample portal has a broken link and an article without its attachment
    out, err = capsys.readouterr()
    assert "sample 示例区（内置示例门户）: 7 reports (6 new, 0 changed, 1 unchanged)" in out
    assert "error: sample: " + portal.base_url + "/yjs/202602/P020260210599999999999.pdf: HTTP 404" in err
    assert main([*args, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, SCHEMA)
    assert report["summary"] == {
        "sources": 1,
        "failed_sources": 1,
        "reports": 7,
        "new": 0,
        "changed": 0,
        "document_bytes": 0,
    }


@pytest.mark.parametrize(
    "args",
    [
        ["crawl", "ftp://www.huangpi.gov.cn/x/"],
        ["crawl", "https://www.huangpi.gov.cn/x/", "--source", "420116"],
        ["crawl", "--source", "420116", "no-such-source"],
        ["crawl", "--source", "donghu-gaoxin"],
        ["crawl", "--sources-file", "/nonexistent/sources.yaml"],
    ],
)
def test_crawl_command_refuses_wrong_arguments_with_status_2(args, tmp_path, capsys):
    assert main([*args, "--archive", str(tmp_path / "a")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_a_failing_list_page_is_reported_and_the_other_pages_are_still_followed(portal, archive):
    portal.faults.add("/yjs/index_1.shtml", *["status:500"] * 4)
    [result] = crawl(portal, archive)
    assert {"url": portal.base_url + "/yjs/index_1.shtml", "error": "list page: HTTP 500 (after 4 attempts)"} in (
        result.failures
    )
    found = by_path(portal, result)
    assert "/yjs/202508/P020250820512345678901.pdf" in found  # page 1
    assert "/yjs/202603/W020260305512345678903.png" not in found  # listed on the page that failed
    assert len(result.refused) == 2  # the robots-forbidden and the off-site item of page 3


def _mini_portal(site: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        target = site / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)


def _mini_source(base: str, **options) -> registry.Source:
    settings = {
        "id": "x",
        "name": "新洲区",
        "scheme": "http",
        "allowed_hosts": ("127.0.0.1",),
        "columns": (registry.Column(url=f"{base}/col/index.html"),),
        "departments": ("医疗保障局",),
        "min_interval": 0,
        "local_test": True,
    }
    return registry.Source(**(settings | options))


def test_a_title_cut_short_on_the_list_is_read_in_full_on_its_article(tmp_path, archive):
    _mini_portal(
        tmp_path / "portal",
        {
            "col/index.html": '<ul class="news"><li><a href="202401/t20240105_1.html">'
            "武汉市新洲区医疗保障局2023年度部门…</a></li>"
            '<li><a href="202401/P0202401059.pdf">2024年部门预算表</a></li></ul>'
            '<ul class="news"><li><a href="/elsewhere/1.html">关于召开会议的通知</a></li></ul>',
            "col/202401/t20240105_1.html": '<meta charset="utf-8"><h1>武汉市新洲区医疗保障局2023年度部门决算</h1>'
            '<a href="P0202401051.pdf">附件</a>',
            "col/202401/P0202401051.pdf": b"%PDF-1.4\n%a PDF by its magic\n",
            "col/202401/P0202401059.pdf": b"%PDF-1.4\n%whose department nobody names\n",
        },
    )
    with serve_directory(tmp_path / "portal") as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        source = _mini_source(base, item_selector="ul.news li", pagination="none")
        [result] = crawl_sources([source], archive, allow_local=True, session=fetcher())
    [report] = result.reports
    assert (report.title, report.kind, report.fiscal_year, report.published) == (
        "武汉市新洲区医疗保障局2023年度部门决算",
        "final_account",
        2023,
        "2024-01-05",  # from the article URL
    )
    assert [(s["title"], s["reason"].split(" in ")[0]) for s in result.skipped] == [
        ("2024年部门预算表", "the department is not named"),
        ("关于召开会议的通知", "not a budget or final account (no 预算/决算"),
    ]
    assert result.ok


def test_an_html_page_where_a_document_was_linked_is_a_failure(tmp_path, archive):
    _mini_portal(
        tmp_path / "portal",
        {
            "col/index.html": '<a href="202401/t20240105_1.html">武汉市新洲区医疗保障局2023年度部门决算</a>'
            '<a href="index_1.html">下一页</a>',
            "col/index_1.html": '<a href="202401/t20240106_2.html">武汉市新洲区医疗保障局2024年部门预算</a>',
            "col/202401/t20240105_1.html": '<h1>武汉市新洲区医疗保障局2023年度部门决算</h1><a href="P01.pdf">附件</a>',
            "col/202401/P01.pdf": "<html><body>请先登录</body></html>",
            "col/202401/t20240106_2.html": '<h1>武汉市新洲区医疗保障局2024年部门预算</h1><a href="P02.xlsx">附件</a>',
            "col/202401/P02.xlsx": b"",
        },
    )
    with serve_directory(tmp_path / "portal") as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        [result] = crawl_sources([_mini_source(base)], archive, allow_local=True, session=fetcher())
    assert not result.reports
    assert [(f["url"].removeprefix(base), f["error"]) for f in result.failures] == [
        ("/col/202401/P01.pdf", "an HTML page where a document was linked (a missing file or a login page?)"),
        ("/col/202401/P02.xlsx", "empty document (0 bytes)"),  # found on the page the 下一页 link leads to
    ]


def test_sample_portal_command_builds_the_same_files_every_time(portal, archive, tmp_path, capsys):
    [earlier] = crawl(portal, archive)  # the session's build of the portal
    archive.close()
    assert main(["crawl", "--sample-portal", "--format", "json", "--archive", str(archive.root)]) == 1  # broken link
    report = json.loads(capsys.readouterr().out)
    # a fresh build served on another port: other URLs, the same bytes, so nothing is new
    assert report["summary"]["new"] == 0
    reports = report["sources"][0]["reports"]
    assert all(r["status"] == "unchanged" and r["same_as"] for r in reports)
    assert {r["sha256"] for r in reports} == {r.sha256 for r in earlier.reports}


def test_sources_crawled_in_parallel_threads_share_one_archive_and_session(portal, archive):
    columns = portal.sources[0].columns
    parts = [dataclasses.replace(portal.sources[0], id=f"part{k}", columns=(c,)) for k, c in enumerate(columns)]
    session = fetcher()
    with ThreadPoolExecutor(len(parts)) as pool:
        results = list(pool.map(lambda s: crawl_sources([s], archive, allow_local=True, session=session)[0], parts))
    assert [len(r.reports) for r in results] == [5, 2, 0]
    assert len(archive.manifest_rows()) == len(REPORTS)
    assert sum(h.path == "/robots.txt" for h in portal.hits) == 1  # the session fetched it once for all


def test_a_robots_txt_that_cannot_be_fetched_is_named_as_such_not_as_the_list_page(portal, archive):
    portal.faults.add("/robots.txt", *["status:500"] * 4)
    [result] = crawl(portal, archive)
    robots = [f for f in result.failures if f["error"].startswith("robots.txt: HTTP 500")]
    assert robots and robots[0]["url"] == portal.base_url + "/yjs/"  # the column that could not be crawled
    assert not any(f["error"].startswith("list page") for f in result.failures)
