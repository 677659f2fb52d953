"""Documents as a run shows them: named by URL or file name, classified as the crawl found them, and a report whose
tables could not be read saying so and why."""

from __future__ import annotations

from budgetwatch import formats
from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.check.batch import validate_extractions
from budgetwatch.model import TableStatus
from budgetwatch.publish.found import as_found, label, picture
from budgetwatch.read import catalogue
from budgetwatch.read.extract import extract_path
from budgetwatch.report.document_page import document_page

from .pipeline_fixtures import HUANGPI

URL = "http://www.caidian.gov.cn/yjs/202603/W020260305512345678903.png"


def _ref(**extra) -> DocumentRef:
    return DocumentRef(path="/srv/budgetwatch/archive/objects/31/31b4.png", url=URL, sha256="3" * 64,
                       department="武汉市蔡甸区医疗保障局", fiscal_year=2024, kind="budget", **extra)  # fmt: skip


def test_a_picture_nobody_can_read_keeps_the_crawls_classification_and_lists_its_tables_as_not_read():
    ex = picture(_ref(), "3" * 64, formats.PNG, "image/png is a picture: reading it needs OCR, not installed")
    d = ex.document
    assert (d.source, d.department, d.fiscal_year, str(d.kind)) == (URL, "武汉市蔡甸区医疗保障局", 2024, "budget")
    assert [t.table_id for t in ex.tables] == [s.id for s in catalogue.tables_of_kind("budget")]
    assert {t.status for t in ex.tables} == {TableStatus.IMAGE_ONLY}
    [report] = validate_extractions([ex])
    assert any(t in f.message for f in report.findings for t in ("budget.01",))
    page = document_page(report)
    assert "No table could be read from this document" in page and "needs OCR" in page
    assert "every rule ran" not in page and "/srv/budgetwatch" not in page


def test_a_read_document_is_named_by_its_url_or_file_name_never_its_path_on_the_server():
    ex = extract_path(HUANGPI)
    assert as_found(ex, DocumentRef(path=str(HUANGPI), url="https://x.example/a.pdf")).document.source == (
        "https://x.example/a.pdf"
    )
    local = as_found(ex, DocumentRef(path=str(HUANGPI)))
    assert local.document.source == HUANGPI.name and local.tables == ex.tables
    assert label(_ref()) == "武汉市蔡甸区医疗保障局 2024 预算"
    assert label(DocumentRef(path="/srv/a/b/report.pdf")) == "report.pdf"


def test_a_text_without_tables_takes_the_crawls_kind_and_lists_the_standard_tables_as_missing(tmp_path):
    path = tmp_path / "notice.txt"
    path.write_text("关于公开的说明\n详见附件。\n", encoding="utf-8")
    ex = as_found(extract_path(path), DocumentRef(path=str(path), kind="budget"))
    assert ex.tables and {t.status for t in ex.tables} == {TableStatus.MISSING}
    assert "no table could be read" in ex.tables[0].notes[0]
