"""What a crawl hands to the per-document stages, decided against the archive as it was before the run."""

from __future__ import annotations

from pathlib import Path

from budgetwatch.acquire.archive import Archive
from budgetwatch.acquire.crawl import ReportItem, SourceResult, crawl_sources
from budgetwatch.acquire.fetch import Fetcher
from budgetwatch.acquire.handover import ArchiveState, crawl_problems, crawl_rows, document_refs


def _crawl(portal, archive: Archive, **options) -> list[SourceResult]:
    session = Fetcher(retries=1, backoff=0.01, timeout=2.0, seed=7)
    return crawl_sources(portal.sources, archive, allow_local=True, session=session, **options)


def test_each_new_file_is_handed_over_once_with_its_provenance(portal, tmp_path):
    with Archive(tmp_path / "archive") as archive:
        before = ArchiveState.of(archive)
        results = _crawl(portal, archive)
    refs = document_refs(results, before)
    reports = [x for r in results for x in r.reports]
    assert len(refs) == len({x.sha256 for x in reports}) < len(reports)  # the re-published file comes once
    by_url = {x.url: x for x in reports}
    for ref in refs:
        report = by_url[ref.url]
        assert (ref.path, ref.sha256, ref.title, ref.fiscal_year) == (
            str(report.path), report.sha256, report.title, report.fiscal_year)  # fmt: skip
        assert (ref.source_id, ref.steward, ref.status) == ("sample", "steward@example.org", "new")
        assert ref.url.startswith(portal.base_url) and Path(ref.path).is_file()
    assert {r.kind for r in refs} >= {"budget", "final_account"}


def test_a_recrawl_with_nothing_new_hands_over_nothing_unless_forced(portal, tmp_path):
    with Archive(tmp_path / "archive") as archive:
        empty = ArchiveState.of(archive)
        first = document_refs(_crawl(portal, archive), empty)
        before = ArchiveState.of(archive)
        again = _crawl(portal, archive)
    assert document_refs(again, before) == []
    forced = document_refs(again, before, force=True)
    assert sorted(r.sha256 for r in forced) == sorted(r.sha256 for r in first)
    assert {r.status for r in forced} == {"unchanged"}


def test_a_retried_crawl_still_hands_over_what_the_first_attempt_archived(portal, tmp_path):
    with Archive(tmp_path / "archive") as archive:
        before = ArchiveState.of(archive)
        first_attempt = _crawl(portal, archive)
        retried = _crawl(portal, archive)  # the crawl itself now calls everything unchanged
    assert {x.status for r in retried for x in r.reports} == {"unchanged"}
    assert document_refs(retried, before) == document_refs(first_attempt, before)


def _report(url: str, sha: str, **extra) -> ReportItem:
    fields = {"article_url": None, "title": "t", "published": None, "department": "医疗保障局", "fiscal_year": 2024,
              "kind": "budget", "status": "new", "path": Path(f"/archive/{sha[:8]}.pdf"), **extra}  # fmt: skip
    return ReportItem(url=url, sha256=sha, **fields)


def test_a_changed_file_under_a_known_url_is_handed_over_as_changed():
    old, new = "a" * 64, "b" * 64
    before = ArchiveState(latest={"http://p.example/x.pdf": old}, hashes=frozenset({old}))
    result = SourceResult("s1", steward="s1@example.org", reports=[
        _report("http://p.example/x.pdf", new), _report("http://p.example/y.pdf", old, kind="汇总")])  # fmt: skip
    refs = document_refs([result], before)
    assert [(r.url, r.status, r.kind) for r in refs] == [("http://p.example/x.pdf", "changed", "budget")]


def test_crawl_failures_name_source_and_url_and_refusals_are_listed_but_not_failures():
    result = SourceResult(
        "s1",
        reports=[_report("http://p.example/x.pdf", "c" * 64)],
        skipped=[{"url": "http://p.example/n.html", "title": "通知", "reason": "not a budget report"}],
        refused=[{"url": "https://elsewhere.example/a.pdf", "reason": "host not allowed"}],
        failures=[{"url": "http://p.example/list/", "error": "the list page yields no items"}],
    )
    down = SourceResult("s2", failures=[{"url": "http://q.example/", "error": "connection refused"}])
    problems = crawl_problems([result, down])
    assert problems == ["crawl s1: http://p.example/list/: the list page yields no items",
                        "crawl s2: http://q.example/: connection refused"]  # fmt: skip
    rows = crawl_rows([result, down], ArchiveState())
    assert [(r["source"], r["outcome"]) for r in rows] == [
        ("s1", "new"), ("s1", "skipped"), ("s1", "refused"), ("s1", "failure"), ("s2", "failure")]  # fmt: skip
    assert rows[2]["url"] == "https://elsewhere.example/a.pdf" and rows[2]["detail"] == "host not allowed"
