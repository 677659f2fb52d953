"""Ruled tables read from the characters and rules PDFium gives are the tables pdfplumber's own parser gives."""

from __future__ import annotations

import io
from pathlib import Path

import pdfplumber
import pypdfium2
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from budgetwatch.fixtures.render_pdf import extraction_to_pdf
from budgetwatch.labels import squeeze
from budgetwatch.read.pdf_reader import RULED_PAGE_PATHS, TABLE_SETTINGS, _grid, _on_page, read_pdf
from budgetwatch.read.pdfium_page import PdfiumPage, Unsupported, draws_paths

DOCUMENTS = Path(__file__).resolve().parent / "documents"
REAL_PDFS = sorted(DOCUMENTS.glob("*.pdf"))


def _grids(page) -> list[list[str]]:
    tables = sorted(_on_page(page).find_tables(table_settings=TABLE_SETTINGS), key=lambda t: t.bbox[1])
    return [_grid(t).rows for t in tables]


def _both(data: bytes):
    """Each ruled page as (pdfplumber's own page, the page built from PDFium)."""
    doc = pypdfium2.PdfDocument(data)
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for k, plumber_page in enumerate(pdf.pages):
            if draws_paths(doc[k], RULED_PAGE_PATHS):
                yield plumber_page, PdfiumPage(doc[k], k + 1, plumber_page.initial_doctop)


@pytest.mark.parametrize("path", REAL_PDFS, ids=[p.stem for p in REAL_PDFS])
def test_real_reports_give_the_same_cells_from_pdfium_as_from_pdfplumber(path):
    """Eight real reports: Office and WPS exports, a copy with pages turned by /Rotate, merged cells."""
    pages = list(_both(path.read_bytes()))
    assert pages or "text" in path.stem  # the text-only report draws no grid
    for plumber_page, pdfium_page in pages:
        assert _grids(pdfium_page) == _grids(plumber_page), f"{path.name} page {plumber_page.page_number}"


def test_generated_and_copy_protected_reports_give_the_same_characters(hongshan):
    """reportlab's CJK font, which the file does not embed; in the protected copy pdfminer names characters only by
    CID. Where PDFium's text page leaves some of that font's characters out (seen on some machines: the 栏次 digits,
    measured by the font PDFium substitutes), the page is not built from PDFium but parsed by pdfminer, so every
    character is read either way."""
    plain = extraction_to_pdf(hongshan, with_narrative=True)
    protected = extraction_to_pdf(hongshan, with_narrative=True, owner_password="o")
    compared = left_to_pdfminer = 0
    for plumber_page, pdfium_page in _both(plain):
        try:
            mine = pdfium_page.chars
        except Unsupported:
            left_to_pdfminer += 1
            continue
        compared += 1
        assert _grids(pdfium_page) == _grids(plumber_page)
        theirs = plumber_page.chars
        assert [c["text"] for c in mine] == [c["text"] for c in theirs]
        for a, b in zip(mine, theirs, strict=True):
            assert all(abs(a[k] - b[k]) < 0.01 for k in ("x0", "x1", "top", "bottom")), (a, b)
    assert compared + left_to_pdfminer == len(list(_both(plain))) > 0
    for _, pdfium_page in _both(protected):
        try:
            assert not any(c["text"].startswith("(cid:") for c in pdfium_page.chars)
        except Unsupported:
            continue
    lines = read_pdf(plain, "plain.pdf").lines
    assert any("栏次123" in squeeze(line) for line in lines)
    assert read_pdf(protected, "protected.pdf").lines == lines


def _ruled_table(rows: list[tuple[str, str]], font: str | None = None) -> tuple[canvas.Canvas, io.BytesIO]:
    """A page with a two-column ruled table of `rows`, its canvas left open for more."""
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4)
    if font:
        pdfmetrics.registerFont(UnicodeCIDFont(font))
        c.setFont(font, 10)
    xs, ys = [72, 200, 320], [700, 680, 660, 640]
    for y in ys:
        c.line(xs[0], y, xs[-1], y)
    for x in xs:
        c.line(x, ys[0], x, ys[-1])
    for row, (label, amount) in enumerate(rows):
        c.drawString(xs[0] + 4, ys[row] - 14, label)
        c.drawString(xs[1] + 4, ys[row] - 14, amount)
    return c, buffer


def _table_with_angled_note() -> bytes:
    c, buffer = _ruled_table([("item", "amount"), ("rent", "12.50"), ("total", "12.50")])
    c.saveState()
    c.translate(400, 500)
    c.rotate(30)
    c.drawString(0, 0, "stamped at an angle")
    c.restoreState()
    c.save()
    return buffer.getvalue()


def test_a_page_with_text_at_an_angle_is_read_by_pdfplumber_itself():
    data = _table_with_angled_note()
    doc = pypdfium2.PdfDocument(data)
    with pytest.raises(Unsupported):
        PdfiumPage(doc[0], 1).objects  # noqa: B018
    text = read_pdf(data, "angled.pdf")
    assert "item\tamount" in text.lines
    assert "rent\t12.50" in text.lines
    assert "total\t12.50" in text.lines


def _table_with_text_drawn_twice() -> bytes:
    """A ruled table in a CJK font the file does not embed, one cell's text drawn again over itself (as some writers
    fake bold): PDFium's text page folds the second object into the first, pdfminer reads both."""
    c, buffer = _ruled_table([("项目", "金额"), ("栏次", "1"), ("合计", "12.50")], font="STSong-Light")
    c.drawString(204, 666, "1")  # the 栏次 row's cell again
    c.save()
    return buffer.getvalue()


def test_a_page_whose_text_pdfiums_text_page_leaves_out_is_parsed_by_pdfminer():
    data = _table_with_text_drawn_twice()
    with pytest.raises(Unsupported, match="leaves out"):
        PdfiumPage(pypdfium2.PdfDocument(data)[0], 1).objects  # noqa: B018
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        (rows,) = _grids(pdf.pages[0])
    assert rows == ["项目\t金额", "栏次\t11", "合计\t12.50"]  # pdfminer reads both objects: pdfplumber's own cells
    assert read_pdf(data, "drawn-twice.pdf").lines == rows


@pytest.mark.parametrize("path", REAL_PDFS, ids=[p.stem for p in REAL_PDFS])
def test_the_indexed_cell_search_finds_pdfplumbers_cells_and_tables(path):
    """Every ruled page of a real report: the same cells in the same order, and the same tables."""
    from pdfplumber.table import TableFinder, intersections_to_cells  # noqa: PLC0415

    from budgetwatch.read import ruled_tables  # noqa: PLC0415

    doc = pypdfium2.PdfDocument(path.read_bytes())
    pages = [PdfiumPage(doc[k], k + 1) for k in range(len(doc)) if draws_paths(doc[k], RULED_PAGE_PATHS)]
    assert pages or "text" in path.stem
    for page in pages:
        finder = TableFinder(page, TABLE_SETTINGS)
        assert ruled_tables.intersections_to_cells(finder.intersections) == intersections_to_cells(finder.intersections)
        found = ruled_tables.find_tables(page, TABLE_SETTINGS)
        assert [t.cells for t in found] == [t.cells for t in finder.tables], f"{path.name} page {page.page_number}"


@pytest.mark.parametrize("path", REAL_PDFS, ids=[p.stem for p in REAL_PDFS])
def test_a_cells_text_is_pdfplumbers_text_of_its_characters(path):
    """Every cell of every ruled table of a real report, worked out directly or not: pdfplumber's `extract_text`."""
    from pdfplumber.utils.text import extract_text  # noqa: PLC0415

    from budgetwatch.read.pdf_reader import cell_text  # noqa: PLC0415

    doc = pypdfium2.PdfDocument(path.read_bytes())
    cells = 0
    for page in (PdfiumPage(doc[k], k + 1) for k in range(len(doc)) if draws_paths(doc[k], RULED_PAGE_PATHS)):
        for table in page.find_tables(table_settings=TABLE_SETTINGS):
            for box in table.cells:
                chars = page.crop(box, strict=False).chars
                if chars:
                    cells += 1
                    assert cell_text(chars) == extract_text(chars), (path.name, page.page_number, box)
    assert cells or "text" in path.stem
