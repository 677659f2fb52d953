"""Byte-level builders for hostile documents: PDFs assembled object by object, Office zips member by member, zip
directories that lie, and text layers made from a bundled sample report."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "budgetwatch" / "data" / "samples"


# ------------------------------------------------------------------------------------------------------------- PDF
def pdf(objects: dict[int, bytes], *, root: int = 1, trailer: bytes = b"", xref: bool = True) -> bytes:
    """A PDF of the given numbered objects with a correct cross-reference table (unless `xref` is false)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    start = len(out)
    size = max(objects) + 1
    if xref:
        out += b"xref\n0 %d\n0000000000 65535 f \n" % size
        for number in range(1, size):
            out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (size, root, trailer, start)
    return bytes(out)


def stream(data: bytes, *, compress: bool = True, extra: bytes = b"") -> bytes:
    body = zlib.compress(data, 9) if compress else data
    flate = b"/Filter /FlateDecode " if compress else b""
    return b"<< /Length %d %s%s>>\nstream\n" % (len(body), flate, extra) + body + b"\nendstream"


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def text_page_pdf(content: bytes, *, media_box: bytes = b"[0 0 595 842]", compress: bool = True) -> bytes:
    """One page whose content stream is `content`, with a Helvetica font as F1."""
    return pdf(
        {
            1: b"<< /Type /Catalog /Pages 2 0 R >>",
            2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            % media_box,
            4: stream(content, compress=compress),
            5: FONT,
        }
    )


def shown(text: str) -> bytes:
    return b"BT /F1 10 Tf 20 800 Td (" + text.encode("latin-1") + b") Tj ET"


def ruled_page_pdf(content: bytes) -> bytes:
    """A page that draws a grid (so that the table reader, not only the fast text layer, reads it)."""
    grid = b"".join(b"%d 100 m %d 700 l S " % (x, x) for x in range(50, 550, 100))
    grid += b"".join(b"50 %d m 550 %d l S " % (y, y) for y in range(100, 700, 100))
    return text_page_pdf(grid + content)


# ----------------------------------------------------------------------------------------------------------- Office
CONTENT_TYPES_DOCX = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS_DOCX = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def zipped(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def docx(
    body: bytes, *, prolog: bytes = b'<?xml version="1.0" encoding="UTF-8"?>', extra=None, stored: bool = False
) -> bytes:
    document = prolog + b"<w:document " + W + b"><w:body>" + body + b"</w:body></w:document>"
    members = {"[Content_Types].xml": CONTENT_TYPES_DOCX, "_rels/.rels": RELS_DOCX, "word/document.xml": document}
    return zipped({**members, **(extra or {})}, method=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)


def paragraph(text: str) -> bytes:
    return b"<w:p><w:r><w:t>" + text.encode() + b"</w:t></w:r></w:p>"


def docx_table(rows: list[list[tuple[str, int]]], vmerge_rows: int = 0) -> bytes:
    """A Word table of (text, gridSpan) cells; `vmerge_rows` more rows continue a vertical merge of the first cell."""
    out = b"<w:tbl>"
    for row in rows:
        out += b"<w:tr>"
        for text, span in row:
            out += b'<w:tc><w:tcPr><w:gridSpan w:val="%d"/></w:tcPr>' % span + paragraph(text) + b"</w:tc>"
        out += b"</w:tr>"
    merged = b'<w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr>' + paragraph("x") + b"</w:tc>"
    cont = b"<w:tc><w:tcPr><w:vMerge/></w:tcPr>" + paragraph("") + b"</w:tc>"
    if vmerge_rows:
        out += b"<w:tr>" + merged + b"</w:tr>" + (b"<w:tr>" + cont + b"</w:tr>") * vmerge_rows
    return out + b"</w:tbl>"


CONTENT_TYPES_XLSX = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
R = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
S = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def xlsx(
    sheet_data: bytes, *, extra_sheet: bytes = b"", prolog: bytes = b"", strings: bytes | None = None, stored=False
) -> bytes:
    """A one-sheet workbook whose <sheetData> holds `sheet_data` (and `extra_sheet` after it, e.g. merged cells)."""
    workbook = b"<workbook " + S + b' xmlns:r="' + R + b'"><sheets><sheet name="S1" sheetId="1" r:id="rId1"/>'
    workbook += b"</sheets></workbook>"
    rels = b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    rels += b'<Relationship Id="rId1" Type="' + R + b'/worksheet" Target="worksheets/sheet1.xml"/>'
    if strings is not None:
        rels += b'<Relationship Id="rId2" Type="' + R + b'/sharedStrings" Target="sharedStrings.xml"/>'
    rels += b"</Relationships>"
    top = b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
    top += b'Id="rId1" Type="' + R + b'/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    sheet = prolog + b"<worksheet " + S + b"><sheetData>" + sheet_data + b"</sheetData>" + extra_sheet
    members = {
        "[Content_Types].xml": CONTENT_TYPES_XLSX,
        "_rels/.rels": top,
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": rels,
        "xl/worksheets/sheet1.xml": sheet + b"</worksheet>",
    }
    if strings is not None:
        members["xl/sharedStrings.xml"] = strings
    return zipped(members, method=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)


def cell(ref: str, value: str, kind: str = "n") -> bytes:
    return b'<c r="%s" t="%s"><v>%s</v></c>' % (ref.encode(), kind.encode(), value.encode())


def understate_sizes(data: bytes, member: str, size: int) -> bytes:
    """The zip with `member`'s uncompressed size rewritten (local header and central directory) to `size`."""
    out = bytearray(data)
    name = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        for m in re.finditer(re.escape(signature), out):
            start = m.start()
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            name_length = struct.unpack_from("<H", out, start + (26 if signature == b"PK\x03\x04" else 28))[0]
            if bytes(out[name_at : name_at + name_length]) == name:
                struct.pack_into("<I", out, start + offset, size)
    return bytes(out)


# ------------------------------------------------------------------------------------------------------------- text
def sample_text() -> str:
    return (SAMPLES / "huangpi-2024-final.txt").read_text(encoding="utf-8")


def sample_with_amount(replacement: str) -> bytes:
    """The sample report with the first amount of its first table row replaced."""
    lines = sample_text().splitlines()
    for k, line in enumerate(lines):
        cells = line.split("\t")
        hits = [j for j, c in enumerate(cells) if re.fullmatch(r"[\d,]+\.\d{2}", c.strip())]
        if len(cells) > 3 and hits:
            cells[hits[0]] = replacement
            lines[k] = "\t".join(cells)
            break
    return "\n".join(lines).encode("utf-8")


def png(width: int, height: int, idat: bytes | None = None) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = idat if idat is not None else zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
