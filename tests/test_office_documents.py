"""Word, Excel and HTML documents give the same canonical tables as the text layers they were rendered from."""

from __future__ import annotations

import zipfile
from collections import Counter
from io import BytesIO

import docx
import pytest
import xlsxwriter

from budgetwatch import formats
from budgetwatch.errors import DocumentError, UnsupportedFormat
from budgetwatch.fixtures.render_office import (
    extraction_to_docx,
    extraction_to_html,
    extraction_to_layout_text,
    extraction_to_xlsx,
)
from budgetwatch.read.extract import extract_bytes
from budgetwatch.read.limits import Limits
from budgetwatch.read.office_readers import html_encoding, read_docx, read_excel, read_html
from budgetwatch.read.rawrows import COVERED

RENDERERS = {"docx": extraction_to_docx, "xlsx": extraction_to_xlsx, "html": extraction_to_html}


def _amounts(extraction, tables=None):
    return Counter(
        (i.table_id, i.side or "", i.code or "", "" if i.code else i.label_norm, i.column_key, i.micros)
        for i in extraction.items
        if not i.blank and (tables is None or i.table_id in tables)
    )


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
@pytest.mark.parametrize("sample", ["huangpi", "hongshan"])
def test_every_format_round_trips_to_identical_line_items(request, sample, fmt):
    source = request.getfixturevalue(sample)
    data = RENDERERS[fmt](source)
    back = extract_bytes(data, f"{sample}.bin")  # the name says nothing: the content decides
    rendered = {t.table_id for t in back.tables if str(t.status) in ("parsed", "declared_empty")}
    assert len(rendered) >= 9
    assert _amounts(back) == _amounts(source, rendered)
    assert back.document.media_type == formats.sniff(data) != formats.TEXT


def test_gbk_html_is_decoded_from_its_meta_charset(hongshan):
    data = extraction_to_html(hongshan, encoding="gbk")
    assert html_encoding(data) == "gb18030"
    assert "部门收支总表" in "".join(read_html(data, "page.html"))
    assert "部门收支总表" in "".join(read_html(data, "page.html", declared_encoding="GBK"))


def test_html_rowspan_and_colspan_keep_cells_in_place():
    page = (
        '<html><meta charset="utf-8"><table>'
        '<tr><td rowspan="2">项目</td><td colspan="2">本年支出</td></tr>'
        "<tr><td>基本支出</td><td>项目支出</td></tr>"
        "<tr><td>合计</td><td>1.00</td><td>2.00</td></tr>"
        '<tr><td>208</td><td colspan="2">3.00</td></tr></table></html>'
    ).encode()
    assert read_html(page, "t.html") == [
        "项目\t本年支出\t",
        "\t基本支出\t项目支出",
        "合计\t1.00\t2.00",
        f"208\t3.00\t{COVERED}",  # an amount over two columns: the second is covered, not blank
    ]


def test_docx_merged_cells_are_counted_once():
    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    merged = table.cell(0, 1).merge(table.cell(0, 2))
    merged.text = "本年支出"
    table.cell(1, 1).text = "1.00"
    table.cell(2, 1).merge(table.cell(2, 2)).text = "3.00"
    buffer = BytesIO()
    document.save(buffer)
    assert read_docx(buffer.getvalue(), "t.docx") == ["\t本年支出\t", "\t1.00\t", f"\t3.00\t{COVERED}"]


def test_xlsx_cells_merged_across_columns_mark_the_columns_an_amount_covers():
    buffer = BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.merge_range(0, 1, 0, 3, "本年支出")
    sheet.write_row(1, 0, ["合计", 6.75, 1.25, 5.5])
    sheet.write_string(2, 0, "208")
    sheet.merge_range(2, 1, 2, 2, 3.25)
    sheet.write_number(2, 3, 4.5)
    book.close()
    lines, _ = read_excel(buffer.getvalue(), "t.xlsx")
    assert lines == ["本年支出", "合计\t6.75\t1.25\t5.50", f"208\t3.25\t{COVERED}\t4.50"]


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (b"PK\x03\x04not really a zip", UnsupportedFormat, "not a document format"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, UnsupportedFormat, "legacy Office file"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, DocumentError, "image/png"),  # not read, with OCR or without
    ],
    ids=["broken-zip", "legacy-ole", "image"],
)
def test_files_that_are_not_readable_documents_say_why(data, error, reason):
    with pytest.raises(error, match=reason):
        extract_bytes(data, "upload.bin")


def test_truncated_office_files_are_clear_errors(hongshan):
    docx_bytes = extraction_to_docx(hongshan)
    with pytest.raises(DocumentError, match=r"cut\.docx"):
        extract_bytes(docx_bytes[: len(docx_bytes) // 2], "cut.docx")


def test_a_decompression_bomb_is_refused(hongshan):
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("[Content_Types].xml", "<Types/>")
        bomb.writestr("word/document.xml", b"\x00" * 3_000_000)
    with pytest.raises(DocumentError, match=r"bomb\.docx: expands to 3,000,008 bytes"):
        extract_bytes(buffer.getvalue(), "bomb.docx", Limits(max_unzipped=2_000_000))


def test_files_over_the_size_cap_are_refused(hongshan):
    data = extraction_to_docx(hongshan)
    with pytest.raises(DocumentError, match=r"big\.docx: .* more than the limit of 1,000"):
        extract_bytes(data, "big.docx", Limits(max_bytes=1000))


@pytest.mark.parametrize("sample", ["huangpi", "hongshan"])
def test_layout_text_reads_back_with_nothing_lost_or_misplaced(request, sample):
    """Cells apart by single spaces, blanks dropped: every value comes back in its column, or under the keys of every
    column it may belong to where dropped blanks leave its position open. A value printed once over several columns
    (kept under all their keys) may come back under any one of them: the spaces do not tell its cell's width."""
    source = request.getfixturevalue(sample)
    back = extract_bytes(extraction_to_layout_text(source), f"{sample}-layout.txt")
    rendered = {t.table_id for t in back.tables if str(t.status) in ("parsed", "declared_empty")}
    got = Counter(
        (i.table_id, i.side or "", i.code or "", "" if i.code else i.label_norm, i.micros, i.column_key)
        for i in back.items
        if not i.blank
    )
    expected: Counter = Counter()
    for item in source.items:
        if item.blank or item.table_id not in rendered:
            continue
        row = (item.table_id, item.side or "", item.code or "", "" if item.code else item.label_norm, item.micros)
        columns = item.column_key.split("|")
        placed = [k for k in got if k[:5] == row and set(columns) & set(k[5].split("|"))]
        assert placed, row
        expected.update((*row, key) for key in columns)
    placed = Counter({k: n for k, n in got.items() if "|" not in k[5]})
    assert not placed - expected  # no value placed in a column it does not belong to
    printed = sum(1 for i in source.items if not i.blank and i.table_id in rendered)
    assert sum(placed.values()) >= 0.8 * printed
