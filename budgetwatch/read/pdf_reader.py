"""A PDF as a text layer: ruled tables become tab-separated rows, the text around them plain lines, page by page.

Ruled tables are found with pdfplumber's `lines` strategy; a cell's text keeps its characters and drops its line
breaks (vertical headers and wrapped names come back whole), and a cell merged across columns marks the positions it
covers when it holds an amount. The result is read by the same table readers as any other
text layer, so a table gives the same canonical rows whichever format it arrives in.
"""

from __future__ import annotations

import io
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter

from budgetwatch.errors import DocumentError
from budgetwatch.read import ocr_engine
from budgetwatch.read.rawrows import spread

TABLE_SETTINGS = {"vertical_strategy": "lines", "horizontal_strategy": "lines", "intersection_tolerance": 3}
_CJK_BREAK = re.compile(r"\s*\n\s*")


@dataclass(slots=True)
class PdfText:
    lines: list[str]
    pages: list[int]  # the 1-based page of each line
    page_count: int
    image_pages: list[int] = field(default_factory=list)  # pages that are a picture with (almost) no text
    ocr_pages: list[int] = field(default_factory=list)  # picture pages read by OCR
    ocr_cells: dict[int, tuple] = field(default_factory=dict)  # 0-based line → its cells' (text, confidence)


IMAGE_PAGE_TEXT = 20  # fewer characters than this on a page…
IMAGE_PAGE_COVER = 0.3  # …and images covering more than this share of it: a scanned or pasted page


def _image_page(pdfium_page, text: str) -> bool:
    import pypdfium2.raw as pdfium_c  # noqa: PLC0415

    if len(text.strip()) >= IMAGE_PAGE_TEXT:
        return False
    width, height = pdfium_page.get_size()
    covered = 0.0
    for obj in pdfium_page.get_objects(max_depth=2):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            left, bottom, right, top = obj.get_bounds()
            covered += max(0.0, right - left) * max(0.0, top - bottom)
    return covered >= IMAGE_PAGE_COVER * width * height


def _cell(text: str | None) -> str:
    if not text:
        return ""
    return _CJK_BREAK.sub("", text).replace("\t", " ").strip()


def _inside(obj: dict, box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    cx = (obj["x0"] + obj["x1"]) / 2
    cy = (obj["top"] + obj["bottom"]) / 2
    return x0 <= cx <= x1 and top <= cy <= bottom


def _decode_cids(page, pdfium_page, known: dict[str, str]) -> None:
    """Give characters that pdfminer could only name by CID (`(cid:1110)`) the text PDFium reads in the same place.

    Happens with CID fonts in encrypted (copy-protected) PDFs, which PDFium decodes and pdfminer does not. A CID takes
    the text of the PDFium character whose box centre is nearest; the map then serves every page of the document."""
    textpage = pdfium_page.get_textpage()
    centres = []
    for i in range(textpage.count_chars()):
        text = textpage.get_text_range(i, 1)
        if text in ("\r", "\n", "\r\n"):
            continue
        left, bottom, right, top = textpage.get_charbox(i, loose=True)
        centres.append(((left + right) / 2, (bottom + top) / 2, text))
    height = float(page.height)
    cids = [c for c in page.chars if c["text"].startswith("(cid:")]
    for char in cids:
        if char["text"] in known or not centres:
            continue
        x = (char["x0"] + char["x1"]) / 2
        y = height - (char["top"] + char["bottom"]) / 2
        cx, cy, text = min(centres, key=lambda c: (c[0] - x) ** 2 + (c[1] - y) ** 2)
        # PDFium's text page may leave a character out: the nearest one is then another's, on another line or not
        if abs(cx - x) <= max(1.0, (char["x1"] - char["x0"]) / 2) and abs(cy - y) <= (char["bottom"] - char["top"]) / 2:
            known[char["text"]] = text
    for char in cids:
        char["text"] = known.get(char["text"], char["text"])


def _extract(table) -> list[list[str | None]]:
    """pdfplumber's `Table.extract()`, the same texts: a character belongs to the cell holding the middle of its box.
    Finds a row's characters by bisection instead of testing every character of the page against every row."""
    chars = table.page.chars
    middles = sorted(((c["top"] + c["bottom"]) / 2, k) for k, c in enumerate(chars))
    keys = [m for m, _ in middles]
    out = []
    for row in table.rows:
        x0, top, x1, bottom = row.bbox
        found = middles[bisect_left(keys, top) : bisect_left(keys, bottom)]
        ordered = sorted(k for _, k in found)
        row_chars = [(c, (c["x0"] + c["x1"]) / 2) for c in (chars[k] for k in ordered)]
        row_chars = [(c, h) for c, h in row_chars if x0 <= h < x1]
        texts: list[str | None] = []
        for cell in row.cells:
            if cell is None:
                texts.append(None)
                continue
            inside = [
                c for c, h in row_chars if cell[0] <= h < cell[2] and cell[1] <= (c["top"] + c["bottom"]) / 2 < cell[3]
            ]
            texts.append(cell_text(inside) if inside else "")
        out.append(texts)
    return out


def cell_text(chars: list[dict]) -> str:
    """pdfplumber's `extract_text(chars)` (its default settings). The usual cell, upright characters on one line
    (their tops less than its 3-point line tolerance apart) and no spaces, is worked out directly, as pdfplumber works
    it out: the characters left to right, a space where one starts more than 3 points after the last ends. That was a
    sixth of reading a ruled page."""
    from pdfplumber.utils.text import LIGATURES, extract_text  # noqa: PLC0415

    tops = [c["top"] for c in chars]
    if max(tops) - min(tops) > 2.5 or not all(c["upright"] and c["text"] and not c["text"].isspace() for c in chars):
        return extract_text(chars)
    ordered = sorted(chars, key=itemgetter("x0"))  # stable, as pdfplumber's sort by (x0, x0)
    out = [LIGATURES.get(ordered[0]["text"], ordered[0]["text"])]
    for last, char in pairwise(ordered):
        if char["x0"] > last["x1"] + 3:
            out.append(" ")
        out.append(LIGATURES.get(char["text"], char["text"]))
    return "".join(out)


def _table_rows(table, start: int = 0) -> list[str]:
    """Tab-separated rows of a ruled table (from row `start`). pdfplumber gives None where a merged cell covers a grid
    position: a cell reaching over the next columns' left edges is spread over them (an amount so marked COVERED), the
    rest blank."""
    lefts = sorted({cell[0] for cell in table.cells})
    out = []
    for row, texts in list(zip(table.rows, _extract(table), strict=True))[start:]:
        cells = [_cell(t) for t in texts]
        for k, box in enumerate(row.cells):
            if box is None:
                continue
            width = 1
            while k + width < len(lefts) and lefts[k + width] < box[2] - 1:
                width += 1
            if width > 1:
                cells[k : k + width] = spread(cells[k], width)
        out.append("\t".join(cells))
    return out


@dataclass(slots=True)
class _Grid:
    """A ruled table's rows and its columns' left edges, and where it stands on its page."""

    rows: list[str]
    lefts: list[float]
    top: float
    x_range: tuple[float, float]


def _page_blocks(page, previous: _Grid | None) -> tuple[list[tuple[float, list[str]]], _Grid | None]:
    """The page's text lines and tables in reading order, and its last table. A table at the top of a page that
    goes on from the previous page's last table with fewer ruled columns has its cells put back in that table's
    columns (a continuation page draws no rules where merged cells cover them)."""
    from budgetwatch.read.ruled_tables import find_tables  # noqa: PLC0415 - pdfplumber loads with the first ruled page

    tables = find_tables(page, TABLE_SETTINGS)
    boxes = [t.bbox for t in tables]
    lines = [(line["top"], [line["text"]]) for line in _text_lines(page, boxes)]
    first_text = min((top for top, _ in lines), default=float("inf"))
    tables = sorted(tables, key=lambda t: t.bbox[1])
    grids = [_grid(table) for table in tables]
    if grids and previous and grids[0].top < first_text:
        grids[:1] = _continued(tables[0], grids[0], previous)
    blocks = lines + [(g.top, g.rows) for g in grids]
    blocks.sort(key=lambda b: b[0])
    # a table the page ends with (nothing but a page number below it) may go on on the next page
    ends = grids and all(top <= grids[-1].top or len(text[0].strip()) <= 6 for top, text in lines)
    return blocks, (grids[-1] if ends else None)


def _text_lines(page, boxes: list[tuple[float, float, float, float]]) -> list[dict]:
    """pdfplumber's `extract_text_lines()` of the page without the characters inside the boxes (its tables)."""
    from pdfplumber.utils import chars_to_textmap  # noqa: PLC0415

    chars = [c for c in page.chars if not any(_inside(c, b) for b in boxes)] if boxes else page.chars
    textmap = chars_to_textmap(chars, layout_bbox=page.bbox, layout_width=page.width, layout_height=page.height)
    return textmap.extract_text_lines(strip=True, return_chars=False)


def _grid(table) -> _Grid:
    lefts = sorted({round(cell[0], 1) for cell in table.cells})
    return _Grid(_table_rows(table), lefts, table.bbox[1], (table.bbox[0], table.bbox[2]))


_EDGE = 3.0  # points: how far apart two printed rules may be and still be one column edge


def _continues(previous: _Grid, grid: _Grid) -> bool:
    # the same right edge, its columns among the previous table's (leading ones may go unruled), fewer of them
    same_right = abs(previous.x_range[1] - grid.x_range[1]) <= _EDGE and grid.x_range[0] >= previous.x_range[0] - _EDGE
    fewer = len(grid.lefts) < len(previous.lefts)
    return same_right and fewer and all(any(abs(x - p) <= _EDGE for p in previous.lefts) for x in grid.lefts)


def _continued(table, grid: _Grid, previous: _Grid) -> list[_Grid]:
    """The page's first table as the previous page's last table goes on in it: all of it put back in that table's
    columns, or, where the same ruled frame goes on into the next table (its title printed in a row), its first
    rows put back and the rest left as printed."""
    if _continues(previous, grid):
        return [_Grid(_in_columns(table, previous.lefts), previous.lefts, grid.top, grid.x_range)]
    n = _rows_in_columns(table, previous)
    if n == 0 or n == len(table.rows):
        return [grid]
    rest = _Grid(_table_rows(table, start=n), grid.lefts, table.rows[n].bbox[1], grid.x_range)
    return [_Grid(_in_columns(table, previous.lefts, stop=n), previous.lefts, grid.top, previous.x_range), rest]


def _rows_in_columns(table, previous: _Grid) -> int:
    """How many of the table's first rows have their cells on the previous table's column edges, right edge too."""
    n = 0
    for row in table.rows:
        boxes = [b for b in row.cells if b is not None]
        on_edges = all(any(abs(b[0] - p) <= _EDGE for p in previous.lefts) for b in boxes)
        if len(boxes) < 2 or not on_edges or abs(boxes[-1][2] - previous.x_range[1]) > _EDGE:
            break
        n += 1
    return n


def _in_columns(table, lefts: list[float], stop: int | None = None) -> list[str]:
    """A table's rows (up to row `stop`) with each cell at the column of `lefts` where its left edge stands."""
    out = []
    for row, texts in list(zip(table.rows, _extract(table), strict=True))[:stop]:
        cells = [""] * len(lefts)
        for box, text in zip(row.cells, texts, strict=True):
            if box is None:
                continue
            k = min(range(len(lefts)), key=lambda n: abs(lefts[n] - box[0]))
            cells[k] = _cell(text)
        out.append("\t".join(cells))
    return out


RULED_PAGE_PATHS = 4  # a page drawing fewer line paths than this has no ruled table


def _on_page(page):
    """The page without what lies outside its box (text placed below the page edge is not printed, yet extractors
    return it)."""
    x0, top, x1, bottom = page.bbox
    inside = (
        x0 - 1 <= c["x0"] <= c["x1"] <= x1 + 1 and top - 1 <= c["top"] <= c["bottom"] <= bottom + 1 for c in page.chars
    )
    if all(inside):
        return page
    return page.within_bbox(page.bbox)


def _open_pdfium(data: bytes, source: str):
    import pypdfium2  # noqa: PLC0415 - only where PDFs are read

    try:
        return pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DocumentError(source, "PDF is password-protected and cannot be opened") from exc
        raise DocumentError(source, f"not a readable PDF: {exc}") from exc


def _plain_lines(pdfium_page) -> list[str]:
    text = pdfium_page.get_textpage().get_text_range()
    return [line.strip() for line in re.split(r"\r\n|\n|\r", text) if line.strip()]


def read_pdf(data: bytes, source: str, *, max_pages: int = 2000, max_ocr_pages: int = 50) -> PdfText:
    """Lines of every page, tables as tab-separated rows; a broken or locked PDF is a DocumentError.

    Pages without ruled lines are read with PDFium's text extraction (a few ms a page); pages that draw a grid go
    through pdfplumber's table finder on the characters and rules PDFium reads (`pdfium_page`), or on pdfplumber's
    own parse of the page where that cannot describe it. Picture pages are read by OCR when the engine is installed
    (up to `max_ocr_pages` of them), otherwise listed as image pages."""
    pdfium_doc = _open_pdfium(data, source)
    count = len(pdfium_doc)
    if count > max_pages:
        pdfium_doc.close()
        raise DocumentError(source, f"{count} pages, more than the limit of {max_pages}")
    reading = _Reading(data, pdfium_doc, source)
    try:
        for number in range(1, count + 1):
            reading.page(number, max_ocr_pages)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise DocumentError(source, f"PDF could not be read ({type(exc).__name__}: {exc})") from exc
    finally:
        reading.close()
    if reading.cid_text:
        # a CID left unnamed on its page (PDFium left that character out) takes what a later page taught
        unnamed = re.compile(r"\(cid:\d+\)")
        named = reading.cid_text
        reading.text.lines = [unnamed.sub(lambda m: named.get(m[0], m[0]), line) for line in reading.text.lines]
    return reading.text


class _Reading:
    """One PDF read page by page: PDFium for every page, pdfplumber's own parser opened only if a page needs it."""

    def __init__(self, data: bytes, pdfium_doc, source: str):
        self.data = data
        self.source = source
        self.pdfium_doc = pdfium_doc
        self.text = PdfText([], [], len(pdfium_doc))
        self.previous: _Grid | None = None  # the last table of the page before, when the page ended with it
        self.doctop = 0.0  # the heights of the pages read so far (pdfplumber's document offsets)
        self.cid_text: dict[str, str] = {}
        self._plumber = None

    def add(self, number: int, block: list[str]) -> None:
        self.text.lines.extend(block)
        self.text.pages.extend([number] * len(block))

    def page(self, number: int, max_ocr_pages: int) -> None:
        from budgetwatch.read.pdfium_page import (  # noqa: PLC0415
            PdfiumPage,
            Unsupported,
            draws_paths,
            pdfium_page_height,
        )

        pdfium_page = self.pdfium_doc[number - 1]
        doctop = self.doctop
        self.doctop += pdfium_page_height(pdfium_page)
        if not draws_paths(pdfium_page, RULED_PAGE_PATHS):
            self.previous = None
            self.add(number, self._unruled(pdfium_page, number, max_ocr_pages))
            return
        try:
            page = PdfiumPage(pdfium_page, number, doctop)
            page.objects  # noqa: B018 - parsed here, so that what it cannot describe falls back now
        except Unsupported:
            page = self._plumber_page(number, pdfium_page)
        blocks, self.previous = _page_blocks(_on_page(page), self.previous)
        for _, block in blocks:
            self.add(number, block)
        page.flush_cache()

    def _unruled(self, pdfium_page, number: int, max_ocr_pages: int) -> list[str]:
        block = _plain_lines(pdfium_page)
        if not _image_page(pdfium_page, "".join(block)):
            return block
        text = self.text
        read = _ocr_page(pdfium_page, len(text.lines), text.ocr_cells) if len(text.ocr_pages) < max_ocr_pages else None
        if read is None:
            text.image_pages.append(number)
            return block
        text.ocr_pages.append(number)
        return read

    def _plumber_page(self, number: int, pdfium_page):
        """The page as pdfplumber's own parser (pdfminer) reads it, CID-only characters given PDFium's text."""
        import pdfplumber  # noqa: PLC0415 - only for the pages PDFium's objects cannot describe
        from pdfminer.pdfdocument import PDFPasswordIncorrect  # noqa: PLC0415
        from pdfminer.pdfparser import PDFSyntaxError  # noqa: PLC0415
        from pdfplumber.utils.exceptions import PdfminerException  # noqa: PLC0415

        try:
            if self._plumber is None:
                self._plumber = pdfplumber.open(io.BytesIO(self.data))
            page = self._plumber.pages[number - 1]
            if any(c["text"].startswith("(cid:") for c in page.chars):
                _decode_cids(page, pdfium_page, self.cid_text)
        except (PDFSyntaxError, PdfminerException) as exc:
            cause = exc.args[0] if exc.args else exc
            if isinstance(cause, PDFPasswordIncorrect):
                raise DocumentError(self.source, "PDF is password-protected and cannot be opened") from exc
            raise DocumentError(self.source, f"not a readable PDF: {cause}") from exc
        return page

    def close(self) -> None:
        if self._plumber is not None:
            self._plumber.close()
        self.pdfium_doc.close()


def _ocr_page(pdfium_page, first_line: int, cells: dict[int, tuple]) -> list[str] | None:
    """The lines OCR reads on a picture page; None without the engine or when it finds (almost) no text."""
    if not ocr_engine.available():
        return None
    from budgetwatch.read import ocr_grid  # noqa: PLC0415 - numpy and the engine, only for picture pages

    read = ocr_grid.read_pdf_page(pdfium_page)
    if sum(len(line.text.replace("\t", "")) for line in read) < IMAGE_PAGE_TEXT:
        return None
    for k, line in enumerate(read):
        cells[first_line + k] = line.cells
    return [line.text for line in read]
