"""Tables published as page images are read by OCR into the same canonical line items; without OCR they are image_only.

The pages are made by code: the sample tables rendered by the PDF generator with an embedded CJK font, rasterised at
200 dpi, then read back as PNG and as an image-only PDF.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from budgetwatch import formats
from budgetwatch.check.document_checks import document_findings
from budgetwatch.errors import UnsupportedFormat
from budgetwatch.fixtures.render_image import cjk_font_file, extraction_to_pngs, pngs_to_pdf
from budgetwatch.read import ocr_engine, ocr_grid
from budgetwatch.read.extract import extract_bytes
from budgetwatch.read.limits import Limits
from budgetwatch.read.ocr_engine import LOW_CONFIDENCE

needs_font = pytest.mark.skipif(
    cjk_font_file() is None, reason="no TrueType CJK font to draw page images (apt-get install fonts-wqy-zenhei)"
)
needs_ocr = pytest.mark.skipif(not ocr_engine.available(), reason="the OCR engine (rapidocr) is not installed")


def _amounts(extraction, tables=None):
    return Counter(
        (i.table_id, i.side or "", i.code or "", "" if i.code else i.label_norm, i.column_key, i.micros)
        for i in extraction.items
        if not i.blank and (tables is None or i.table_id in tables)
    )


# a one-sided table, a two-sided one continued over two pages, one with values in cells merged over two columns, the
# three-group table, a declared-empty one
SCANNED = ("final.01", "final.04", "final.05", "final.06", "final.07")


@pytest.fixture(scope="module")
def scanned_final(huangpi):
    """Some of the final account's tables as page images (OCR costs seconds a page), and a PDF of a text cover page
    followed by those images."""
    pngs = extraction_to_pngs(replace(huangpi, tables=[t for t in huangpi.tables if t.table_id in SCANNED]))
    return pngs, pngs_to_pdf(pngs[1:], cover=[huangpi.document.title, "第二部分 部门决算表"])


@pytest.fixture(scope="module")
def ocr_read(scanned_final):
    return extract_bytes(scanned_final[1], "scanned-final.pdf")


@needs_font
def test_with_ocr_turned_off_scanned_tables_are_image_only(scanned_final):
    pngs, pdf = scanned_final
    assert all(formats.sniff(p) == formats.PNG for p in pngs)
    back = extract_bytes(pdf, "scanned-final.pdf", Limits(max_ocr_pages=0))
    assert not back.items and str(back.document.kind) == "final_account"
    assert len(back.tables) == 9 and {str(t.status) for t in back.tables} == {"image_only"}
    assert back.tables[0].pages == [2, 3, 4, 5, 6, 7]
    assert "OCR not installed or off" in back.tables[0].notes[0]


@needs_font
def test_without_the_ocr_engine_scanned_tables_are_image_only(scanned_final, monkeypatch):
    monkeypatch.setattr(ocr_engine, "available", lambda: False)
    back = extract_bytes(scanned_final[1], "scanned-final.pdf")
    assert {str(t.status) for t in back.tables} == {"image_only"}
    assert back.tables[0].pages == list(range(2, len(scanned_final[0]) + 1))
    with pytest.raises(UnsupportedFormat, match=r"page\.png: image/png is a picture: reading it needs OCR"):
        extract_bytes(scanned_final[0][1], "page.png")


@needs_font
@needs_ocr
def test_ocr_of_an_image_only_pdf_gives_the_same_line_items(huangpi, ocr_read):
    read = {t.table_id for t in ocr_read.tables if str(t.status) in ("parsed", "declared_empty")}
    assert read == set(SCANNED)
    assert _amounts(ocr_read) == _amounts(huangpi, read)
    assert sum("|" in key for _, _, _, _, key, _ in _amounts(ocr_read)) == 26  # 公开05's values over 基本/项目支出
    assert ocr_read.document.department == huangpi.document.department
    assert str(ocr_read.document.kind) == "final_account"
    assert ocr_read.table("final.04").pages == [3, 4]  # continued over two images, its repeated header dropped


@needs_font
@needs_ocr
def test_ocr_amounts_carry_their_confidence_and_tables_say_they_were_ocr_read(ocr_read):
    printed = [i for i in ocr_read.items if not i.blank]
    assert printed and all(0 < i.ocr_confidence <= 1 for i in printed)
    assert all(i.ocr_confidence is None for i in ocr_read.items if i.blank)
    assert all(i.page for i in printed)
    parsed = [t for t in ocr_read.tables if str(t.status) == "parsed"]
    assert all(any(n.startswith("read by OCR (rapidocr)") for n in t.notes) for t in parsed)
    low = [f for f in document_findings(ocr_read) if f.check_id == "C-04"]
    assert len(low) == sum(i.ocr_confidence < LOW_CONFIDENCE for i in printed)


@needs_font
@needs_ocr
def test_a_png_page_is_read_by_ocr(huangpi, scanned_final):
    back = extract_bytes(scanned_final[0][1], "final-01.png")  # the second page: 收入支出决算总表
    assert back.document.media_type == formats.PNG
    assert back.table("final.01").status == "parsed"
    assert _amounts(back) == _amounts(huangpi, {"final.01"})


@needs_font
@needs_ocr
def test_pieces_not_surely_read_at_their_own_width_are_read_again_as_trained(huangpi, scanned_final, monkeypatch):
    first, again = [], []
    for engine, seen in ((ocr_grid._engine(ocr_grid.PIECE_WIDTH), first), (ocr_grid._engine(), again)):
        spy = lambda crops, real=engine.recognize_txt, seen=seen: seen.extend(crops) or real(crops)  # noqa: E731
        monkeypatch.setattr(engine, "recognize_txt", spy)
    back = extract_bytes(scanned_final[0][1], "final-01.png")
    assert first and len(again) < len(first) / 10  # a clean page: almost every piece is read once, at its own width
    assert _amounts(back) == _amounts(huangpi, {"final.01"})
    first.clear()
    monkeypatch.setattr(ocr_grid, "SURE", 1.01)  # no reading is that sure: every piece is read again, as trained
    back = extract_bytes(scanned_final[0][1], "final-01.png")
    assert len(again) >= len(first) > 0
    assert _amounts(back) == _amounts(huangpi, {"final.01"})


@needs_font
@needs_ocr
def test_pieces_identical_in_every_pixel_are_recognised_once(huangpi, scanned_final, monkeypatch):
    pieces, seen = [], []
    recognised, engine = ocr_grid._recognised, ocr_grid._engine(ocr_grid.PIECE_WIDTH)
    monkeypatch.setattr(ocr_grid, "_recognised", lambda crops: pieces.extend(crops) or recognised(crops))
    spy = lambda crops, real=engine.recognize_txt: seen.extend(crops) or real(crops)  # noqa: E731
    monkeypatch.setattr(engine, "recognize_txt", spy)
    back = extract_bytes(scanned_final[0][1], "final-01.png")
    assert len(seen) == len({(piece.shape, piece.tobytes()) for piece in pieces}) < len(pieces)
    assert _amounts(back) == _amounts(huangpi, {"final.01"})


def test_low_confidence_amounts_are_reported(huangpi):
    ex = extract_bytes("\n".join(huangpi.text.splitlines()).encode(), "copy.txt")
    target = next(i for i in ex.items if i.table_id == "final.01" and not i.blank)
    target.ocr_confidence, target.page = 0.65, 2
    ex.items[1 if ex.items[0] is target else 0].ocr_confidence = 0.99
    (finding,) = [f for f in document_findings(ex) if f.check_id == "C-04"]
    assert str(finding.severity) == "warning" and finding.actual == target.raw
    assert "0.65" in finding.message and finding.locations[0].page == 2


def _ruled_row(text_spans: list[tuple[int, int]]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Ink of one table row 40 px high between rules at x = 100, 300 and 500, with text blobs at the given x spans."""
    ink = np.zeros((60, 700), dtype=bool)
    seps = [(100, 102), (300, 302), (500, 502)]
    for start, end in seps:
        ink[:, start:end] = True
    for start, end in text_spans:
        ink[20:40, start:end] = True
    return ink, seps


def test_text_running_over_a_rule_is_read_as_one_piece():
    """A long code printed over its column's rules (and past the table's border) is cut out whole, as the
    detector would see it; text apart from the rules stays in its own cell."""
    ink, seps = _ruled_row([(90, 310), (350, 420), (450, 490)])
    pieces = ocr_grid._row_pieces(ink, 5, 55, seps)
    assert sorted((x0, x1) for x0, _, x1, _ in pieces) == [(90, 310), (350, 420), (450, 490)]
    ink, seps = _ruled_row([(150, 250), (320, 380)])
    assert sorted((x0, x1) for x0, _, x1, _ in ocr_grid._row_pieces(ink, 5, 55, seps)) == [(150, 250), (320, 380)]


def test_pieces_on_one_line_part_where_a_wide_gap_parts_them():
    ink = np.zeros((60, 900), dtype=bool)
    ink[10:30, 50:250] = True  # 部门：…
    ink[10:30, 262:300] = True  # a gap narrower than the line: the same piece
    ink[10:30, 600:700] = True  # 单位：万元, far to the right
    ink[40:55, 50:120] = True  # a second line
    pieces = ocr_grid._pieces(ink, 0, 0, 900, 60)
    assert [(x0, y0, x1, y1) for x0, y0, x1, y1 in pieces] == [(50, 10, 300, 30), (600, 10, 700, 30), (50, 40, 120, 55)]


@needs_font
@needs_ocr
def test_a_page_of_text_is_not_read_as_a_table():
    """A scanned page of the explanatory text has no ruled cells: it is read line by line, not as table rows."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415

    sentences = ["一、收入支出决算总体情况说明", "2024年度收入总计2,031.52万元，支出总计2,031.52万元。"]
    image = Image.new("L", (1654, 600), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(cjk_font_file(), 36)
    for k, sentence in enumerate(sentences):
        draw.text((120, 120 + 90 * k), sentence, font=font, fill=0)
    lines = ocr_grid.read_page(np.asarray(image))
    assert [line.text.replace(" ", "") for line in lines] == sentences
    assert all("\t" not in line.text and len(line.cells) == 1 for line in lines)
