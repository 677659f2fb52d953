"""The command-line contract: outputs, JSON shape and exit statuses, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import jsonschema
import polars as pl
import pytest

from budgetwatch.publish.dataset import Dataset
from budgetwatch.read import catalogue

from .conftest import ROOT, SAMPLES


def budgetwatch(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "budgetwatch.cli.main", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.fixture(scope="module")
def schema():
    return json.loads((ROOT / "docs" / "check-report.schema.json").read_text(encoding="utf-8"))


@pytest.fixture
def clean_budget(tmp_path) -> Path:
    """The hongshan budget with its one error-level defect (表9's copied header) corrected."""
    text = (SAMPLES / "hongshan-2024-budget.txt").read_text(encoding="utf-8")
    head, tail = text.split("国有资本经营预算支出表", 1)
    path = tmp_path / "hongshan-corrected.txt"
    path.write_text(
        head + "国有资本经营预算支出表" + tail.replace("本年政府性基金预算支出", "本年国有资本经营预算支出", 1), "utf-8"
    )
    return path


def test_extract_writes_parquet_and_excel_friendly_csv(tmp_path):
    result = budgetwatch("extract", str(SAMPLES / "huangpi-2024-final.txt"), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    items = pl.read_parquet(tmp_path / "line_items.parquet")
    assert items.schema["micros"] == pl.Int64
    printed = items.filter(~pl.col("blank"))
    assert printed.height == 238
    raw = (tmp_path / "line_items.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    csv = pl.read_csv(tmp_path / "line_items.csv", encoding="utf8-lossy", infer_schema=False)
    row = csv.filter(
        (pl.col("table_id") == "final.05") & (pl.col("label_norm") == "合计") & (pl.col("column_key") == "subtotal")
    )
    assert row.get_column("amount").to_list() == ["2031.52"]
    for name in ("documents", "tables", "narrative_facts"):
        assert (tmp_path / f"{name}.parquet").exists() and (tmp_path / f"{name}.csv").exists()


def test_check_json_follows_the_published_schema(schema):
    result = budgetwatch("check", *(str(p) for p in sorted(SAMPLES.glob("*.txt"))), "--format", "json")
    report = json.loads(result.stdout)
    jsonschema.validate(report, schema)
    assert [d["kind"] for d in report["documents"]] == ["budget", "budget", "final_account"]
    assert result.returncode == 1  # caidian's tables are missing: an error


def test_exit_status_is_zero_without_error_level_findings(clean_budget, schema):
    result = budgetwatch("check", str(clean_budget), "--format", "json")
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    severities = {f["severity"] for f in report["documents"][0]["findings"]}
    assert "error" not in severities and "warning" in severities


def test_exit_status_is_one_with_an_error(clean_budget):
    broken = clean_budget.read_text(encoding="utf-8").replace(
        "合计 991.65 462.83 528.82", "合计 991.65 462.83 520.82", 1
    )
    clean_budget.write_text(broken, encoding="utf-8")
    result = budgetwatch("check", str(clean_budget))
    assert result.returncode == 1
    assert "B03-1" in result.stdout and "520.82" in result.stdout


def test_unreadable_documents_exit_two_and_the_rest_are_still_reported(tmp_path, schema):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "scan.pdf"
    binary.write_bytes(b"%PDF-1.7\x00\x01\x02")
    result = budgetwatch("check", str(empty), str(binary), str(SAMPLES / "huangpi-2024-final.txt"), "--format", "json")
    assert result.returncode == 2
    assert f"{empty}: empty file (0 bytes)" in result.stderr
    assert f"{binary}: not a readable PDF" in result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, schema)
    assert len(report["documents"]) == 1 and len(report["unreadable"]) == 2


def test_missing_file_is_unreadable_not_a_crash(tmp_path):
    result = budgetwatch("check", str(tmp_path / "nope.txt"))
    assert result.returncode == 2
    assert "nope.txt: cannot read" in result.stderr


def test_demo_crawls_the_sample_portal_and_publishes_checks_and_reports(tmp_path):
    out = tmp_path / "demo"
    result = budgetwatch("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "== crawl of the sample portal at http://127.0.0.1:" in result.stdout
    assert "FAILURE" in result.stdout  # the portal's broken link is reported, not passed over
    report = json.loads((out / "check.json").read_text(encoding="utf-8"))
    departments = {d["department"] for d in report["documents"]}
    assert {"武汉市黄陂区医疗保障局", "武汉市洪山区医疗保障局"} <= departments
    assert (out / "report" / "index.html").exists()
    with duckdb.connect(str(Dataset(out / "dataset").database), read_only=True) as con:
        statuses = dict(con.execute("SELECT status, count(*) FROM registry GROUP BY status").fetchall())
    assert statuses.get("quarantined", 0) >= 2  # the samples' errors keep them out of the published data
    again = budgetwatch("demo", "--out", str(out))
    assert again.returncode == 0, again.stderr
    dataset_lines = again.stdout.split("== dataset\n")[1].split("\n\n")[0].splitlines()
    assert dataset_lines and all(line.startswith("unchanged") for line in dataset_lines)  # nothing twice


def test_catalogue_and_rules_are_listed():
    tables = budgetwatch("tables").stdout.splitlines()
    assert len(tables) == len(catalogue.tables()) and tables[0].startswith("final.01\t收入支出决算总表")
    assert any(line.startswith("F01-1\trows_sum") for line in budgetwatch("rules").stdout.splitlines())


def test_check_a_folder_and_write_findings_for_excel(tmp_path):
    folder = tmp_path / "reports" / "2024"
    folder.mkdir(parents=True)
    for sample in SAMPLES.glob("*.txt"):
        (folder / sample.name).write_bytes(sample.read_bytes())
    (folder / ".hidden.txt").write_text("not a report", encoding="utf-8")
    result = budgetwatch("check", str(tmp_path / "reports"), "--out", str(tmp_path))
    assert result.returncode == 1
    assert "3 documents checked" in result.stdout
    raw = (tmp_path / "findings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    findings = pl.read_csv(tmp_path / "findings.csv", infer_schema=False)
    assert findings.columns[:5] == ["文档 source", "部门 department", "年度 fiscal_year", "类型 kind", "检查 check_id"]
    findings = findings.rename({c: c.rsplit(" ", 1)[-1] for c in findings.columns})  # the English keys
    assert {"C-01", "N-01", "L-02"} <= set(findings.get_column("check_id").to_list())
    share = findings.filter(pl.col("check_id") == "N-01").row(0, named=True)
    assert (share["actual"], share["expected"]) in {("83.70%", "83.68%"), ("6.95%", "6.94%")}
    assert share["basis"] == "narrative"
    bases = dict(findings.select("check_id", "basis").unique().iter_rows())
    assert (bases["C-01"], bases["L-02"], bases["F03-1"]) == ("layout", "layout", "identity")
    assert json.loads((tmp_path / "check.json").read_text(encoding="utf-8"))["schema_version"] == 1


def test_publish_puts_a_clean_document_in_the_dataset_and_quarantines_one_with_errors(clean_budget, tmp_path):
    dataset = tmp_path / "dataset"
    broken = SAMPLES / "huangpi-2024-final.txt"
    result = budgetwatch("publish", str(clean_budget), str(broken), "--dataset", str(dataset))
    assert result.returncode == 1  # huangpi's errors, as check says
    assert f"published: {clean_budget} (0 errors," in result.stdout
    assert f"quarantined: {broken} (" in result.stdout
    with duckdb.connect(str(Dataset(dataset).database), read_only=True) as con:
        status = dict(con.execute("SELECT url, status FROM registry").fetchall())
        published_rows = con.execute("SELECT count(*) FROM line_items").fetchone()[0]
    assert status == {clean_budget.resolve().as_uri(): "published", broken.resolve().as_uri(): "quarantined"}
    assert published_rows > 0
    again = budgetwatch("publish", str(clean_budget), "--dataset", str(dataset))
    assert again.returncode == 0 and again.stdout.startswith(f"unchanged: {clean_budget}")
