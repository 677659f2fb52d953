"""PDFs give the same canonical tables as the text layers they were rendered from; bad PDFs give clear errors."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from budgetwatch import formats
from budgetwatch.check.batch import validate_extractions
from budgetwatch.check.narrative_checks import narrative_findings
from budgetwatch.errors import DocumentError
from budgetwatch.fixtures.render_pdf import VARIANTS, extraction_to_pdf
from budgetwatch.read.extract import extract_bytes


def _amounts(extraction, tables=None):
    return Counter(
        (i.table_id, i.side or "", i.code or "", "" if i.code else i.label_norm, i.column_key, i.micros)
        for i in extraction.items
        if not i.blank and (tables is None or i.table_id in tables)
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


def _scanned_budget_pdf() -> bytes:
    """A budget whose narrative is text and whose table part is a picture of a ruled table."""
    picture = Image.new("RGB", (1200, 800), "white")
    draw = ImageDraw.Draw(picture)
    for y in range(50, 750, 40):
        draw.line([(50, y), (1150, y)], fill="black")
    png = io.BytesIO()
    picture.save(png, "PNG")
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=landscape(A4))
    page.setFont("STSong-Light", 12)
    for k, line in enumerate(["武汉市某区医疗保障局2024年部门预算", "第一部分 概况", "第二部分 2024年部门预算表"]):
        page.drawString(40, 500 - 20 * k, line)
    page.showPage()
    page.drawImage(ImageReader(io.BytesIO(png.getvalue())), 20, 20, width=800, height=550)
    page.showPage()
    page.save()
    return out.getvalue()


def test_tables_published_as_images_are_image_only():
    ex = extract_bytes(_scanned_budget_pdf(), "scanned.pdf")
    assert str(ex.document.kind) == "budget"
    assert {str(t.status) for t in ex.tables} == {"image_only"}
    assert ex.tables[0].pages == [2] and "images" in ex.tables[0].notes[0]


def test_a_document_without_any_text_is_reported(tmp_path):
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=landscape(A4))
    picture = Image.new("RGB", (400, 300), "white")
    png = io.BytesIO()
    picture.save(png, "PNG")
    page.drawImage(ImageReader(io.BytesIO(png.getvalue())), 20, 20, width=800, height=550)
    page.showPage()
    page.save()
    (report,) = validate_extractions([extract_bytes(out.getvalue(), "all-images.pdf")])
    assert [(f.check_id, str(f.severity)) for f in report.findings] == [("C-01", "error")]
    assert "无可读文本" in report.findings[0].message


@pytest.mark.parametrize("variants", [(v,) for v in VARIANTS] + [VARIANTS], ids="+".join)
def test_deformed_renderings_read_back_the_same(hongshan, variants):
    back = extract_bytes(extraction_to_pdf(hongshan, variants=variants), "variant.pdf")
    assert _amounts(back) == _amounts(hongshan, {f"budget.{n:02d}" for n in range(1, 11)})


def test_final_account_tables_without_column_numbers_read_back_the_same(huangpi):
    back = extract_bytes(extraction_to_pdf(huangpi, variants=("no_column_numbers", "vertical_headers")), "bare.pdf")
    rendered = {t.table_id for t in back.tables if str(t.status) in ("parsed", "declared_empty")}
    assert len(rendered) == 9
    assert _amounts(back) == _amounts(huangpi, rendered)
