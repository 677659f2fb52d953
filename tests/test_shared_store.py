"""The shared store on a real PostgreSQL server: the archive manifest, the dataset's catalogue and ledgers, and
per-document Parquet files, written by several processes at once."""

from __future__ import annotations

import multiprocessing
import shutil

import polars as pl
import pytest

from budgetwatch.acquire.archive import Archive, Description
from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.publish.dataset import Dataset, publish, published_files, sync_parquet, versions
from budgetwatch.publish.ledger import Version, file_findings, findings_of_run

from .pipeline_fixtures import CAIDIAN, HONGSHAN, HUANGPI, checked, corrected_hongshan
from .postgres_server import installed, running_postgres

URL = "https://www.hongshan.gov.cn/zfbm/ybj/2024-budget.pdf"


@pytest.fixture(scope="module")
def server():
    found, why = installed()
    if found is None:
        pytest.skip(why)
    with running_postgres() as running:
        yield running


@pytest.fixture
def database(server, request):
    return server.create_database(request.node.name.lower()[:60])


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    fixed = corrected_hongshan(tmp_path_factory.mktemp("docs"))
    return {"hongshan": (HONGSHAN, checked(HONGSHAN)), "fixed": (fixed, checked(fixed)),
            "huangpi": (HUANGPI, checked(HUANGPI)), "caidian": (CAIDIAN, checked(CAIDIAN))}  # fmt: skip


def _ref(path, url):
    return DocumentRef(path=str(path), url=url, source_id="420111", steward="ybj@hongshan.example")


def _run(start, results, work, args) -> None:
    start.wait()
    results.put(work(*args))


def _at_once(work, *args) -> list:
    """What ``work(*args)`` returns in each of two fresh processes started together."""
    context = multiprocessing.get_context("spawn")  # a fork of a process running polars' threads may hang
    start, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_run, args=(start, results, work, args)) for _ in range(2)]
    for process in processes:
        process.start()
    out = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    return out


def _publish_all(root, url, jobs) -> list[str]:
    dataset = Dataset(root, url=url)
    return [publish(dataset, _ref(path, doc_url), report).action for path, doc_url, report in jobs]


def test_two_processes_publishing_the_same_documents_at_once_publish_each_once(tmp_path, database, reports):
    jobs = [(p, f"https://example.gov.cn/{name}.txt", r) for name, (p, r) in reports.items() if name != "hongshan"]
    actions = _at_once(_publish_all, tmp_path / "data", database, jobs)
    for first, second in zip(*actions, strict=True):  # one process published or quarantined, the other found it done
        assert sorted([first, second]) in (["published", "unchanged"], ["quarantined", "unchanged"])
    dataset = Dataset(tmp_path / "data", url=database)
    recorded = versions(dataset)
    assert sorted(v["sha256"] for v in recorded) == sorted({r.extraction.document.sha256 for _, _, r in jobs})
    [published] = [v["sha256"] for v in recorded if v["status"] == "published"]
    files = published_files(dataset, "line_items")
    assert [f.stem for f in files] == [published]
    assert pl.read_parquet(files).height == len(reports["fixed"][1].extraction.items)
    assert not list(dataset.parquet.rglob("*.tmp"))


def test_a_new_version_replaces_the_files_of_the_one_before(tmp_path, database, reports):
    dataset = Dataset(tmp_path / "data", url=database)
    (old, old_report), (new, new_report) = reports["huangpi"], reports["fixed"]
    assert publish(dataset, _ref(old, URL), old_report).action == "quarantined"
    assert publish(dataset, _ref(new, URL), new_report).action == "published"
    stale = dataset.parquet / "line_items" / "fiscal_year=2024" / "district=420111" / f"{'0' * 64}.parquet"
    shutil.copy(published_files(dataset, "line_items")[0], stale)  # left by a crash between commit and removal
    assert sync_parquet(dataset) == [stale] and not stale.exists()
    statuses = {v["sha256"]: v["status"] for v in versions(dataset, ("published", "quarantined", "superseded"))}
    assert statuses == {old_report.extraction.document.sha256: "superseded",
                        new_report.extraction.document.sha256: "published"}  # fmt: skip


def test_the_findings_ledger_lives_in_the_shared_database(tmp_path, database, reports):
    dataset = Dataset(tmp_path / "data", url=database)
    report = reports["hongshan"][1]
    sha = report.extraction.document.sha256
    file_findings(dataset, "run-1", [Version(URL, sha, tuple(report.findings))])
    entries = findings_of_run(dataset, "run-1")
    assert len(entries) == len(report.findings) > 0 and {e.state for e in entries} == {"new"}
    assert {e.state for e in findings_of_run(dataset, "run-2")} == {"open"}
    assert not (tmp_path / "data" / "dataset.duckdb").exists()


def _record(root, url, data) -> str:
    with Archive(root, database=url) as archive:
        return archive.record("https://example.gov.cn/a.pdf", data, {"etag": '"1"'}, 200, Description()).status


def test_two_crawlers_recording_one_url_at_once_keep_one_version(tmp_path, database):
    statuses = sorted(_at_once(_record, tmp_path / "archive", database, b"%PDF-1.4 the same report"))
    assert statuses == ["new", "unchanged"]
    with Archive(tmp_path / "archive", database=database) as archive:
        assert [(r["url"], r["version"]) for r in archive.manifest_rows()] == [("https://example.gov.cn/a.pdf", 1)]
    assert not (tmp_path / "archive" / "manifest.duckdb").exists()
