"""Publishing: clean documents to DuckDB and partitioned Parquet, failing ones to quarantine; atomic and idempotent."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import polars as pl
import pytest

from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.check.batch import DocumentReport
from budgetwatch.model import Finding, Severity
from budgetwatch.publish.dataset import Dataset, DatasetError, publish, sync_parquet, versions

from .conftest import ROOT
from .pipeline_fixtures import HONGSHAN, HUANGPI, checked, corrected_hongshan

URL = "https://www.hongshan.gov.cn/zfbm/ybj/2024-budget.pdf"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    fixed = corrected_hongshan(folder)
    return {
        "hongshan": (HONGSHAN, checked(HONGSHAN)),
        "fixed": (fixed, checked(fixed)),
        "huangpi": (HUANGPI, checked(HUANGPI)),
    }


def _ref(path, url=URL, source_id="420111"):
    return DocumentRef(path=str(path), url=url, source_id=source_id, steward="ybj@hongshan.example")


def _parquet(dataset: Dataset, table: str) -> pl.DataFrame:
    return pl.read_parquet(dataset.parquet / table / "**" / "*.parquet", hive_partitioning=True)


def _count(dataset: Dataset, sql: str):
    with duckdb.connect(str(dataset.database)) as con:
        return con.execute(sql).fetchall()


def test_clean_document_is_published_with_provenance_and_partitioned(tmp_path, reports):
    path, report = reports["fixed"]
    dataset = Dataset(tmp_path / "data")
    result = publish(dataset, _ref(path), report)
    assert result.action == "published"
    assert result.rows == len(report.extraction.items) > 400
    items = _parquet(dataset, "line_items")
    assert items.height == result.rows
    assert set(items["sha256"]) == {report.extraction.document.sha256}
    assert set(items["url"]) == {URL}
    assert "page" in items.columns and "line" in items.columns
    assert (dataset.parquet / "line_items" / "fiscal_year=2024" / "district=420111" / "data.parquet").exists()
    assert items["micros"].dtype == pl.Int64
    assert _count(dataset, "SELECT count(*) FROM line_items")[0][0] == result.rows


def test_republishing_the_same_content_adds_nothing(tmp_path, reports):
    path, report = reports["fixed"]
    dataset = Dataset(tmp_path / "data")
    publish(dataset, _ref(path), report)
    before = (dataset.parquet / "line_items" / "fiscal_year=2024" / "district=420111" / "data.parquet").stat()
    again = publish(dataset, _ref(path), report)
    assert again.action == "unchanged" and again.rows == 0
    assert _count(dataset, "SELECT count(*) FROM line_items")[0][0] == len(report.extraction.items)
    after = (dataset.parquet / "line_items" / "fiscal_year=2024" / "district=420111" / "data.parquet").stat()
    assert after.st_mtime_ns == before.st_mtime_ns  # the export was not rewritten


def test_document_with_errors_is_quarantined_with_its_findings_and_not_published(tmp_path, reports):
    path, report = reports["huangpi"]
    dataset = Dataset(tmp_path / "data")
    result = publish(dataset, _ref(path, url="https://www.huangpi.gov.cn/2024-final.pdf", source_id="420116"), report)
    assert result.action == "quarantined"
    assert _count(dataset, "SELECT count(*) FROM line_items")[0][0] == 0
    assert not (dataset.parquet / "line_items").exists()
    stored = _count(dataset, "SELECT check_id, severity FROM findings ORDER BY seq")
    assert stored == [(f.check_id, str(f.severity)) for f in report.findings]
    assert [v["status"] for v in versions(dataset)] == ["quarantined"]


def test_corrected_version_replaces_the_quarantined_one(tmp_path, reports):
    dataset = Dataset(tmp_path / "data")
    (bad_path, bad), (good_path, good) = reports["hongshan"], reports["fixed"]
    assert publish(dataset, _ref(bad_path), bad).action == "quarantined"
    result = publish(dataset, _ref(good_path), good)
    assert result.action == "published"
    assert result.superseded == (bad.extraction.document.sha256,)
    states = {v["sha256"]: v["status"] for v in versions(dataset, ("published", "quarantined", "superseded"))}
    assert states == {bad.extraction.document.sha256: "superseded", good.extraction.document.sha256: "published"}
    assert set(_parquet(dataset, "line_items")["sha256"]) == {good.extraction.document.sha256}


def test_a_failing_new_version_is_quarantined_and_the_last_passing_one_stays_published(tmp_path, reports):
    dataset = Dataset(tmp_path / "data")
    (good_path, good), (bad_path, bad) = reports["fixed"], reports["hongshan"]
    publish(dataset, _ref(good_path), good)
    assert publish(dataset, _ref(bad_path), bad).action == "quarantined"
    assert set(_parquet(dataset, "line_items")["sha256"]) == {good.extraction.document.sha256}


def test_dry_run_reports_the_outcome_and_writes_nothing(tmp_path, reports):
    path, report = reports["fixed"]
    dataset = Dataset(tmp_path / "data")
    result = publish(dataset, _ref(path), report, dry_run=True)
    assert (result.action, result.dry_run) == ("published", True)
    assert not dataset.root.exists()
    publish(dataset, _ref(reports["huangpi"][0], url="https://h.example/x.pdf"), reports["huangpi"][1])
    assert publish(dataset, _ref(path), report, dry_run=True).action == "published"
    assert _count(dataset, "SELECT count(*) FROM line_items")[0][0] == 0
    assert [v["status"] for v in versions(dataset)] == ["quarantined"]


def test_a_reference_whose_hash_differs_from_the_extraction_is_refused(tmp_path, reports):
    path, report = reports["fixed"]
    ref = _ref(path).model_copy(update={"sha256": "0" * 64})
    with pytest.raises(DatasetError, match="reference names 000000000000"):
        publish(Dataset(tmp_path / "data"), ref, report)


_CRASH = """
import os, sys
from pathlib import Path
from budgetwatch.publish import dataset as p
from budgetwatch.check.batch import DocumentReport
from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.model import Finding, Severity
from tests.pipeline_fixtures import checked
where, path, root = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
original = p._insert_frames if where == "transaction" else p._export_partition
def crash(*args, **kwargs):
    if where == "transaction":
        original(*args, **kwargs)  # the rows are written inside the open transaction, then the process dies
    os._exit(9)
setattr(p, "_insert_frames" if where == "transaction" else "_export_partition", crash)
p.publish(p.Dataset(root), DocumentRef(path=str(path), url="{url}", source_id="420111"), checked(path))
"""


@pytest.mark.parametrize("where", ["transaction", "export"])
def test_a_crash_while_publishing_leaves_nothing_partial_and_a_rerun_publishes_once(tmp_path, reports, where):
    path, report = reports["fixed"]
    dataset = Dataset(tmp_path / "data")
    script = textwrap.dedent(_CRASH).replace("{url}", URL)
    crashed = subprocess.run([sys.executable, "-c", script, where, str(path), str(dataset.root)], cwd=ROOT, check=False)
    assert crashed.returncode == 9
    committed = _count(dataset, "SELECT count(*) FROM line_items")[0][0]
    assert committed == (0 if where == "transaction" else len(report.extraction.items))
    assert not (dataset.parquet / "line_items").exists()
    result = publish(dataset, _ref(path), report)
    assert result.action == ("published" if where == "transaction" else "unchanged")
    assert _count(dataset, "SELECT count(*) FROM line_items")[0][0] == len(report.extraction.items)
    assert _parquet(dataset, "line_items").height == len(report.extraction.items)
    assert sync_parquet(dataset) == []  # nothing left stale


def test_a_version_that_fails_a_new_rule_is_withdrawn_from_the_published_data(tmp_path, reports):
    path, report = reports["fixed"]
    dataset = Dataset(tmp_path / "data")
    publish(dataset, _ref(path), report)
    stricter = Finding(check_id="X-01", severity=Severity.ERROR, category="arithmetic", message="a new rule fails")
    result = publish(dataset, _ref(path), DocumentReport(report.extraction, [*report.findings, stricter]))
    assert (result.action, result.withdrawn, result.novelty) == ("quarantined", True, "unchanged")
    assert _count(dataset, "SELECT count(*) FROM line_items")[0][0] == 0
    assert not (dataset.parquet / "line_items" / "fiscal_year=2024" / "district=420111" / "data.parquet").exists()
    assert _count(dataset, "SELECT check_id FROM findings WHERE severity = 'error'") == [("X-01",)]


def test_quarantined_findings_keep_what_they_rest_on(tmp_path, reports):
    dataset = Dataset(tmp_path / "data")
    path, report = reports["huangpi"]
    publish(dataset, _ref(path), report)
    stored = dict(_count(dataset, "SELECT DISTINCT check_id, basis FROM findings"))
    assert stored == {f.check_id: f.basis for f in report.findings}
    assert stored["N-01"] == "narrative" and stored["F03-1"] == "identity"


def test_a_findings_table_made_before_findings_had_a_basis_takes_new_findings(tmp_path, reports):
    dataset = Dataset(tmp_path / "data")
    path, report = reports["huangpi"]
    publish(dataset, _ref(path, url="https://www.huangpi.gov.cn/2024-final.pdf"), report)
    with duckdb.connect(str(dataset.database)) as con:  # as an older release made it
        con.execute("ALTER TABLE findings DROP COLUMN basis")
    publish(dataset, _ref(path), report)
    assert ("narrative",) in _count(dataset, "SELECT basis FROM findings WHERE check_id = 'N-01'")


def test_a_dataset_made_before_the_model_gained_a_column_takes_new_documents(tmp_path, reports):
    dataset = Dataset(tmp_path / "data")
    failing_path, failing = reports["huangpi"]
    publish(dataset, _ref(failing_path, url="https://www.huangpi.gov.cn/2024-final.pdf"), failing)  # makes the tables
    with duckdb.connect(str(dataset.database)) as con:  # as an older release made them
        con.execute('ALTER TABLE line_items DROP COLUMN IF EXISTS "ocr_confidence"')
    path, report = reports["fixed"]
    assert publish(dataset, _ref(path), report).action == "published"
    columns = [row[0] for row in _count(dataset, "DESCRIBE SELECT * FROM line_items")]
    assert "ocr_confidence" in columns
    assert _count(dataset, "SELECT count(*) FROM line_items")[0][0] == len(report.extraction.items)
