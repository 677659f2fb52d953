"""The hostile documents, made by code: each kind with what it must come to.

`error` kinds must end as an error naming the file whose reason matches; `read` kinds must be read; `verdict` kinds
may end either way (a library may make sense of them or not) but must end as one or the other, in bounded time and
memory, with the other documents of the run still read.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from . import builders as b


@dataclass(frozen=True)
class Probe:
    name: str
    make: Callable[[], bytes]
    expect: str  # error | read | verdict
    reason: str = ""  # a regular expression the error's reason matches (error kinds)


def _pdf_kinds() -> list[Probe]:
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
    page += b"/Resources << /Font << /F1 5 0 R >> >> >>"
    text = b.stream(b.shown("hello"))

    def tree(pages: bytes, extra: dict | None = None) -> Callable[[], bytes]:
        return lambda: b.pdf({1: catalog, 2: pages, 3: page, 4: text, 5: b.FONT, **(extra or {})})

    zeros = b"\x00" * (256 * 2**20)
    return [
        Probe("pdf-page-tree-contains-itself", tree(b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"), "verdict"),
        Probe("pdf-page-tree-cycle", tree(b"<< /Type /Pages /Kids [6 0 R] /Count 1 >>",
                                          {6: b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"}), "verdict"),
        Probe("pdf-kids-not-an-array", tree(b"<< /Type /Pages /Kids 3 0 R /Count 1 >>"), "verdict"),
        Probe("pdf-count-absurd", tree(b"<< /Type /Pages /Kids [3 0 R] /Count 2147483647 >>"), "verdict"),
        Probe("pdf-count-negative", tree(b"<< /Type /Pages /Kids [3 0 R] /Count -5 >>"), "verdict"),
        Probe("pdf-many-pages", lambda: _many_pages(2100), "error", r"pages, more than the limit"),
        Probe("pdf-truncated-half", lambda: b.text_page_pdf(b.shown("x" * 400))[:300], "verdict"),
        Probe("pdf-header-only", lambda: b"%PDF-1.7\n", "error", r"PDF"),
        Probe("pdf-no-xref", lambda: b.pdf({1: catalog, 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", 3: page,
                                            4: text, 5: b.FONT}, xref=False), "verdict"),
        Probe("pdf-xref-prev-loop", _xref_prev_loop, "verdict"),
        Probe("pdf-flate-bomb-content", lambda: b.text_page_pdf(zeros), "verdict"),
        Probe("pdf-flate-bomb-on-ruled-page", lambda: b.ruled_page_pdf(b"%" + b" " * (128 * 2**20)), "verdict"),
        Probe("pdf-deeply-nested-arrays", lambda: b.text_page_pdf(b"[" * 200_000 + b"]" * 200_000), "verdict"),
        Probe("pdf-deeply-nested-dicts", tree(b"<< /Type /Pages /Kids [3 0 R] /Count 1 /X " + b"<< /A " * 50_000
                                             + b"1" + b" >>" * 50_000 + b" >>"), "verdict"),
        Probe("pdf-huge-media-box", lambda: b.text_page_pdf(b.shown("x"), media_box=b"[0 0 14400 14400]"), "verdict"),
        Probe("pdf-zero-media-box", lambda: b.text_page_pdf(b.shown("x"), media_box=b"[0 0 0 0]"), "verdict"),
        Probe("pdf-garbage-after-header", lambda: b"%PDF-1.4\n" + bytes(range(256)) * 4000, "error", r"PDF"),
        Probe("pdf-one-long-text-line", lambda: b.text_page_pdf(b.shown("9" * 60_000)), "error", r"MAX_LINE_CHARS"),
        Probe("pdf-many-text-objects", lambda: b.text_page_pdf(b"BT /F1 1 Tf (x) Tj ET\n" * 100_000), "verdict"),
        Probe("pdf-unknown-filter", lambda: b.text_page_pdf(b"").replace(b"/FlateDecode", b"/NoSuch"), "verdict"),
        Probe("pdf-broken-flate", lambda: b.text_page_pdf(b.shown("x")).replace(b"x\xda", b"x\xdb", 1), "verdict"),
        Probe("pdf-image-bomb", _image_bomb, "verdict"),
        Probe("pdf-encrypt-dictionary-garbage", tree(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                                     {6: b"<< /Filter /Standard /V 99 /R 99 >>"}), "verdict"),
    ]  # fmt: skip


def _many_pages(count: int) -> bytes:
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: b.stream(b""), 4: b.FONT}
    kids = b" ".join(b"%d 0 R" % (10 + k) for k in range(count))
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count)
    for k in range(count):
        objects[10 + k] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Contents 3 0 R >>"
    return b.pdf(objects)


def _xref_prev_loop() -> bytes:
    data = b.text_page_pdf(b.shown("loop"))
    start = data.rindex(b"startxref\n") + len(b"startxref\n")
    offset = int(data[start:].split(b"\n")[0])
    return data.replace(b"/Root 1 0 R ", b"/Root 1 0 R /Prev %d " % offset)


def _image_bomb() -> bytes:
    image = b.stream(b"\x00" * 16, compress=False,
                     extra=b"/Type /XObject /Subtype /Image /Width 60000 /Height 60000 /ColorSpace /DeviceRGB "
                           b"/BitsPerComponent 8 ")  # fmt: skip
    return b.pdf(
        {
            1: b"<< /Type /Catalog /Pages 2 0 R >>",
            2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
            4: b.stream(b"q 595 0 0 842 0 0 cm /Im1 Do Q"),
            5: image,
        }
    )


def _docx_kinds() -> list[Probe]:
    laughs = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "' + b"x" * 100 + b'">'
    for k in range(1, 10):
        laughs += b'<!ENTITY %s "%s">' % (chr(97 + k).encode(), (b"&" + chr(96 + k).encode() + b";") * 10)
    laughs += b"]>"
    xxe = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    body = b.paragraph("部门预算") + b"<w:p><w:r><w:t>&j;</w:t></w:r></w:p>"
    big = b.paragraph("本部门") * 1000
    return [
        Probe("docx-billion-laughs", lambda: b.docx(body, prolog=laughs), "verdict"),
        Probe("docx-external-entity", lambda: b.docx(b"<w:p><w:r><w:t>&x;</w:t></w:r></w:p>", prolog=xxe), "verdict"),
        Probe("docx-malformed-xml", lambda: b.docx(b"<w:p><w:r><w:t>unclosed"), "error", r"Word|XML|could not"),
        Probe("docx-not-xml-at-all", lambda: b.zipped({"[Content_Types].xml": b.CONTENT_TYPES_DOCX, "_rels/.rels":
                                                       b.RELS_DOCX, "word/document.xml": b"\x00\xff" * 500}),
              "error", r"."),
        Probe("docx-understated-sizes", lambda: b.understate_sizes(b.docx(big), "word/document.xml", 10), "error",
              r"CRC|Bad|zip|could not"),
        Probe("docx-zip-bomb", lambda: b.docx(b.paragraph("0" * (64 * 2**20))), "error", r"decompression bomb"),
        Probe("docx-deep-xml", lambda: b.docx(b"<w:p>" * 100_000 + b"</w:p>" * 100_000, stored=True), "verdict"),
        Probe("docx-huge-grid-span", lambda: b.docx(b.docx_table([[("a", 1_000_000_000), ("b", 1)]])), "error",
              r"MAX_TABLE_CELLS"),
        Probe("docx-long-vertical-merge", lambda: b.docx(b.docx_table([[("a", 1)]], vmerge_rows=3000)), "verdict"),
        Probe("docx-missing-document-part", lambda: b.zipped({"[Content_Types].xml": b.CONTENT_TYPES_DOCX,
                                                              "_rels/.rels": b.RELS_DOCX, "word/x.xml": b"<a/>"}),
              "error", r"."),
        Probe("docx-truncated-zip", lambda: b.docx(big)[:-200], "verdict"),
        Probe("docx-duplicate-members", _duplicate_member_docx, "verdict"),
        Probe("docx-one-huge-paragraph", lambda: b.docx(b.paragraph("数" * 300_000), stored=True), "error",
              r"MAX_LINE_CHARS"),
        Probe("docx-stored-not-deflated", lambda: b.docx(big).replace(b"\x08\x00", b"\x00\x00", 1), "verdict"),
    ]  # fmt: skip


def _duplicate_member_docx() -> bytes:
    buffer = io.BytesIO(b.docx(b.paragraph("one")))
    with zipfile.ZipFile(buffer, "a") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z.writestr("word/document.xml", b"<broken")
    return buffer.getvalue()


def _xlsx_kinds() -> list[Probe]:
    row = b'<row r="1">%s</row>'
    laughs = b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "' + b"x" * 100 + b'">'
    for k in range(1, 10):
        laughs += b'<!ENTITY %s "%s">' % (chr(97 + k).encode(), (b"&" + chr(96 + k).encode() + b";") * 10)
    laughs += b"]>"
    strings = b"<sst " + b.S + b"><si><t>&j;</t></si></sst>"
    return [
        Probe("xlsx-nan-cell", lambda: b.xlsx(row % b.cell("B1", "NaN")), "read"),
        Probe("xlsx-inf-cell", lambda: b.xlsx(row % b.cell("A1", "INF") + b'<row r="2">' + b.cell("A2", "-INF")
                                              + b"</row>"), "read"),
        Probe("xlsx-number-beyond-double", lambda: b.xlsx(row % b.cell("A1", "1e400")), "verdict"),
        Probe("xlsx-400-digit-number", lambda: b.xlsx(row % b.cell("A1", "9" * 400)), "verdict"),
        Probe("xlsx-far-corner-cell", lambda: b.xlsx(row % b.cell("A1", "1") + b'<row r="1048576">'
                                                     + b.cell("XFD1048576", "1") + b"</row>"), "error",
              r"MAX_TABLE_CELLS|died"),
        Probe("xlsx-huge-merge", lambda: b.xlsx(row % b.cell("A1", "5.00"),
                                                extra_sheet=b'<mergeCells count="1"><mergeCell ref="A1:XFD1"/>'
                                                            b"</mergeCells>"), "verdict"),
        Probe("xlsx-billion-laughs-strings", lambda: b.xlsx(row % b.cell("A1", "0", "s"), strings=laughs + strings),
              "verdict"),
        Probe("xlsx-malformed-sheet", lambda: b.xlsx(b"<row><c><v>1</v>"), "verdict"),
        Probe("xlsx-understated-sizes", lambda: b.understate_sizes(b.xlsx((row % b.cell("A1", "1.00")) * 3000),
                                                                   "xl/worksheets/sheet1.xml", 10), "verdict"),
        Probe("xlsx-huge-shared-string", lambda: b.xlsx(row % b.cell("A1", "0", "s"),
                                                        strings=b"<sst " + b.S + b"><si><t>" + "数".encode() * 200_000
                                                        + b"</t></si></sst>", stored=True), "error",
              r"MAX_LINE_CHARS"),
        Probe("xlsx-deep-xml", lambda: b.xlsx(b"<row>" * 100_000 + b"</row>" * 100_000, stored=True), "verdict"),
        Probe("xlsx-no-workbook", lambda: b.zipped({"[Content_Types].xml": b.CONTENT_TYPES_XLSX,
                                                    "xl/styles.xml": b"<a/>"}), "error", r"."),
    ]  # fmt: skip


def _html_kinds() -> list[Probe]:
    head = b'<html><head><meta charset="utf-8"></head><body>'
    gbk_as_utf8 = '<html><head><meta charset="utf-8"></head><body><p>2024年部门预算</p></body></html>'.encode("gbk")
    return [
        Probe("html-huge-colspan", lambda: b"<table><tr><td colspan=2147483647>1</td></tr></table>", "read"),
        Probe("html-huge-rowspan", lambda: b"<table><tr><td rowspan=2147483647>1</td><td>2</td></tr></table>", "read"),
        Probe("html-spans-times-rows", lambda: b"<table>" + b"<tr><td colspan=1000>1.00</td></tr>" * 5000
              + b"</table>", "error", r"MAX_TABLE_CELLS"),
        Probe("html-negative-and-junk-spans", lambda: b"<table><tr><td colspan=-3 rowspan=x>1</td></tr></table>",
              "read"),
        Probe("html-nested-divs", lambda: head + b"<div>" * 200_000 + b"</div>" * 200_000, "error", r"nested"),
        Probe("html-nested-tables", lambda: head + b"<table><tr><td>" * 20_000 + b"</td></tr></table>" * 20_000,
              "error", r"nested"),
        Probe("html-unclosed-tags", lambda: head + b"<p><b><i><span>" * 100_000, "error", r"nested"),
        Probe("html-gbk-labelled-utf8", lambda: gbk_as_utf8, "read"),
        Probe("html-unknown-charset", lambda: b'<html><head><meta charset="x-no-such"></head><p>a</p></html>', "read"),
        Probe("html-single-huge-line", lambda: head + b"<p>" + b"9" * (12 * 2**20) + b"</p>", "error",
              r"MAX_LINE_CHARS"),
        Probe("html-over-text-cap", lambda: head + b"<p>a</p>\n" * (2 * 2**20 + 1), "error", r"MAX_TEXT_BYTES"),
        Probe("html-unterminated-comment", lambda: head + b"<!--" + b"x" * (4 * 2**20), "verdict"),
        Probe("html-entity-flood", lambda: head + b"<p>" + b"&amp;" * 1_000_000 + b"</p>", "error",
              r"MAX_LINE_CHARS"),
        Probe("html-many-small-tables", lambda: b"<table>" + b"<tr><td>1</td></tr></table><table>" * 5_000
              + b"</table>", "verdict"),
    ]  # fmt: skip


def _text_kinds() -> list[Probe]:
    sample = b.sample_text()
    return [
        Probe("text-amount-beyond-64-bits", lambda: b.sample_with_amount("99999999999999.99"), "read"),
        Probe("text-400-digit-amount", lambda: b.sample_with_amount("9" * 400 + ".00"), "read"),
        Probe("text-huge-amount-in-narrative", (sample + "\n本年支出" + "9" * 400 + ".00万元。\n").encode,
              "read"),
        Probe("text-nan-and-inf-amounts", lambda: b.sample_with_amount("NaN").replace(b"\t0.00", b"\tInfinity", 3),
              "read"),
        Probe("text-single-long-line", lambda: b"1" * (15 * 2**20), "error", r"MAX_LINE_CHARS"),
        Probe("text-over-text-cap", lambda: b"\xe9\xa2\x84\xe7\xae\x97\n" * (3 * 2**20), "error",
              r"MAX_TEXT_BYTES"),
        Probe("text-millions-of-short-lines", lambda: b"1\n" * (8 * 2**20 - 1), "verdict"),
        Probe("text-many-table-titles", ("一、收入支出决算总表\n单位：万元\n" * 10_000).encode, "verdict"),
        Probe("text-comma-digit-run", lambda: ("合计\t" + "1," * 9_000 + "1x\n").encode() * 20, "verdict"),
        Probe("text-space-digit-run", lambda: ("合计\t" + "1 " * 9_000 + ".x\n").encode() * 20, "verdict"),
        Probe("text-percent-flood", lambda: ("占" + "100%，" * 3000 + "\n").encode() * 50, "verdict"),
        Probe("text-neither-utf8-nor-gb18030", lambda: b"\x80\x80\xff\xfe\x81" * 1000, "error", r"neither"),
        Probe("text-utf16-with-bom", lambda: "部门预算".encode("utf-16"), "error", r"."),
        Probe("text-nul-bytes", lambda: b"abc\x00" * 100, "error", r"binary|not a document"),
        Probe("text-only-whitespace", lambda: b" \n\t\r\n" * 1000, "read"),
        Probe("text-control-characters", lambda: bytes(range(1, 32)) * 100, "verdict"),
        Probe("text-bidi-and-zero-width", ("\u202e合计\u200b\t1.00\n" * 1000).encode, "read"),
        Probe("text-empty", lambda: b"", "error", r"empty"),
    ]  # fmt: skip


def _image_and_other_kinds() -> list[Probe]:
    return [
        Probe("png-decompression-bomb", lambda: b.png(100_000, 100_000), "verdict"),
        Probe("png-truncated", lambda: b.png(10, 10)[:40], "verdict"),
        Probe("png-bad-crc", lambda: b.png(10, 10)[:-5] + b"\x00" * 5, "verdict"),
        Probe("jpeg-huge-dimensions", lambda: b"\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03" + b"\x00" * 64,
              "verdict"),
        Probe("ole-header-only", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "error", r"."),
        Probe("ole-fat-loop", _ole_fat_loop, "error", r"."),
        Probe("zip-not-office", lambda: b.zipped({"a.txt": b"hello"}), "error", r"not a document format"),
        Probe("gif-image", lambda: b"GIF89a" + b"\x00" * 100, "error", r"not a document format"),
    ]  # fmt: skip


def _ole_fat_loop() -> bytes:
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[0x1A:0x1C] = (3).to_bytes(2, "little")
    header[0x1C:0x1E] = b"\xfe\xff"
    header[0x1E:0x20] = (9).to_bytes(2, "little")
    header[0x20:0x22] = (6).to_bytes(2, "little")
    header[0x2C:0x30] = (1).to_bytes(4, "little")  # one FAT sector
    header[0x30:0x34] = (0).to_bytes(4, "little")  # directory starts at sector 0
    header[0x4C:0x50] = (0).to_bytes(4, "little")  # the FAT is sector 0 as well
    fat = (0).to_bytes(4, "little") * 128  # sector 0 chains to itself
    return bytes(header) + fat


DOCUMENT_PROBES: list[Probe] = [
    *_pdf_kinds(),
    *_docx_kinds(),
    *_xlsx_kinds(),
    *_html_kinds(),
    *_text_kinds(),
    *_image_and_other_kinds(),
]
