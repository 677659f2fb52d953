"""PDFs give the same canonical tables as the text layers they were rendered from; bad PDFs give clear errors."""

from __future__ import annotations

from collections import Counter

import pytest

from budgetwatch import formats
from budgetwatch.errors import DocumentError
from budgetwatch.extract import extract_bytes
from budgetwatch.narrative_checks import narrative_findings
from budgetwatch.render_pdf import extraction_to_pdf


def _amounts(extraction, tables=None):
    return Counter(
        (i.table_id, i.side or "", i.code or "", "" if i.code else i.label_norm, i.column_key, i.micros)
        for i in extraction.items
        if not i.blank and "|" not in i.column_key and (tables is None or i.table_id in tables)
    )


@pytest.fixture(scope="module", params=["huangpi", "hongshan"])
def round_trip(request):
    source = request.getfixturevalue(request.param)
    pdf = extraction_to_pdf(source)
    return source, pdf, extract_bytes(pdf, f"{request.param}.pdf")


def test_rendered_tables_read_back_to_the_same_line_items(round_trip):
    source, _, back = round_trip
    rendered = {t.table_id for t in back.tables if str(t.status) in ("parsed", "declared_empty")}
    assert len(rendered) >= 9
    assert _amounts(back) == _amounts(source, rendered)
    assert str(back.document.kind) == str(source.document.kind)
    assert back.document.department == source.document.department


def test_pdf_items_carry_their_page(round_trip):
    _, _, back = round_trip
    assert all(i.page and i.page >= 1 for i in back.items)
    assert all(t.pages for t in back.tables if str(t.status) == "parsed")


def test_a_table_continued_over_pages_is_joined(huangpi):
    back = extract_bytes(extraction_to_pdf(huangpi), "huangpi.pdf")
    table = back.table("final.04")
    assert len(table.pages) == 2  # its 64 lines do not fit one landscape page
    assert not table.notes  # the repeated header on the second page is not read as data


def test_format_is_sniffed_from_content_not_name(huangpi):
    pdf = extraction_to_pdf(huangpi)
    assert formats.sniff(pdf) == formats.PDF
    assert formats.sniff("收入支出决算总表".encode()) == formats.TEXT
    back = extract_bytes(pdf, "report.txt")  # a PDF with a misleading name is still read as a PDF
    assert back.document.media_type == formats.PDF


def test_copy_protected_pdf_is_read(hongshan):
    pdf = extraction_to_pdf(hongshan, owner_password="owner")
    assert b"/Encrypt" in pdf
    back = extract_bytes(pdf, "protected.pdf")
    rendered = {f"budget.{n:02d}" for n in range(1, 11)}
    assert _amounts(back) == _amounts(hongshan, rendered)
    assert back.table("budget.01").title == "2024 年度部门收支总表"


def test_password_protected_pdf_is_a_clear_error(hongshan):
    pdf = extraction_to_pdf(hongshan, user_password="secret", owner_password="owner")
    with pytest.raises(DocumentError, match=r"locked\.pdf: PDF is password-protected"):
        extract_bytes(pdf, "locked.pdf")


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda pdf: pdf[: len(pdf) // 3], "PDF"),
        (lambda pdf: b"%PDF-1.7\n" + b"\x00garbage" * 50, "not a readable PDF"),
        (lambda pdf: b"", "empty file"),
    ],
    ids=["truncated", "corrupt", "zero-byte"],
)
def test_broken_pdfs_are_clear_errors_naming_the_file(hongshan, mangle, reason):
    pdf = mangle(extraction_to_pdf(hongshan))
    with pytest.raises(DocumentError, match=f"broken.pdf: .*{reason}"):
        extract_bytes(pdf, "broken.pdf")


def test_narrative_pages_are_read_as_text_and_yield_the_same_facts(huangpi):
    pdf = extraction_to_pdf(huangpi, with_narrative=True)
    back = extract_bytes(pdf, "huangpi-full.pdf")
    # the PDF re-wraps the text (a space at a line end is lost), so compare values, not raw text
    assert Counter((f.micros, f.unit) for f in back.facts) == Counter((f.micros, f.unit) for f in huangpi.facts)
    # the narrative checks find the same share errors in the PDF as in the text layer
    shares = sorted(f.actual for f in narrative_findings(back) if f.check_id == "N-01")
    assert shares == ["6.95%", "83.70%"]
