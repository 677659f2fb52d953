"""Word, Excel and HTML documents as text layers: table rows become tab-separated lines, other text plain lines.

Merged cells keep their text once, at their first grid position, so that columns stay where the template puts them;
the other positions a cell merged across columns covers in its row are marked COVERED when it holds an amount.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from decimal import Decimal

from budgetwatch.errors import DocumentError
from budgetwatch.read.limits import Limits
from budgetwatch.read.rawrows import spread

_SPACE = re.compile(r"\s*\n\s*")


def _cell(text: str) -> str:
    return _SPACE.sub("", text or "").replace("\t", " ").strip()


# ---------------------------------------------------------------------------------------------------------------- Word
def read_docx(data: bytes, source: str, limits: Limits | None = None) -> list[str]:
    import docx  # noqa: PLC0415 - only where Word files are read
    from docx.oxml.ns import qn  # noqa: PLC0415
    from docx.table import Table  # noqa: PLC0415
    from docx.text.paragraph import Paragraph  # noqa: PLC0415
    from lxml.etree import LxmlError  # noqa: PLC0415

    limits = limits or Limits.from_env()
    try:
        document = docx.Document(io.BytesIO(data))
    except (ValueError, KeyError, OSError, LxmlError, zipfile.BadZipFile) as exc:
        raise DocumentError(source, f"not a readable Word document ({type(exc).__name__}: {exc})") from exc
    lines: list[str] = []
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            text = Paragraph(child, document).text.strip()
            if text:
                lines.append(text)
        elif child.tag == qn("w:tbl"):
            _check_docx_grid(child, source, limits)
            lines.extend(_docx_table(Table(child, document)))
    return lines


def _check_docx_grid(tbl, source: str, limits: Limits) -> None:
    """Refuse a table whose spans make a grid beyond the cell limit, before python-docx expands it."""
    from docx.oxml.ns import qn  # noqa: PLC0415

    rows = tbl.findall(qn("w:tr"))
    width = 0
    for tr in rows:
        spans = (tc.find(f"{qn('w:tcPr')}/{qn('w:gridSpan')}") for tc in tr.findall(qn("w:tc")))
        width = max(width, sum(_int(g.get(qn("w:val")), 1) if g is not None else 1 for g in spans))
    if len(rows) * width > limits.max_table_cells:
        raise DocumentError(source, _too_many_cells("Word table", len(rows), width, limits))


def _int(text: str | None, default: int) -> int:
    try:
        return max(1, int(str(text).strip()))
    except (TypeError, ValueError):
        return default


def _too_many_cells(kind: str, rows: int, width: int, limits: Limits) -> str:
    return (
        f"a {kind} of {rows:,} rows by {width:,} columns, more than the limit of {limits.max_table_cells:,} "
        "cells (MAX_TABLE_CELLS)"
    )


def _docx_table(table) -> list[str]:
    """python-docx repeats a merged cell at every grid position it covers: keep its text at the first only."""
    out = []
    above: list = []
    row_cells: list = []
    for row in table.rows:
        cells = row_cells = _row_cells(row._tr, table, row_cells)
        texts: list[str] = []
        first = ""  # the text of the cell last started in this row
        for k, cell in enumerate(cells):
            if k < len(above) and cell._tc is above[k]:
                texts.append("")  # merged with the row above
            elif k > 0 and cell._tc is cells[k - 1]._tc:
                texts.append(spread(first, 2)[1])
            else:
                first = _cell(cell.text)
                texts.append(first)
        above = [c._tc for c in cells]
        out.append("\t".join(texts))
    return out


def _row_cells(tr, table, above: list) -> list:
    """A row's cell at each grid position it fills, as python-docx's `row.cells` gives them, with a cell that
    continues a vertical merge taken from the row above (already resolved) instead of by python-docx's walk up the
    whole merge for each such cell, which takes time quadratic in the merge's length."""
    from docx.table import _Cell  # noqa: PLC0415

    cells: list = []
    for tc in tr.tc_lst:
        span = tc.grid_span
        if tc.vMerge == "continue" and len(cells) < len(above):
            cells.extend(above[len(cells) : len(cells) + span])
        else:
            cells.extend([_Cell(tc, table)] * span)
    return cells


# --------------------------------------------------------------------------------------------------------------- Excel
def _excel_value(value) -> str:
    """Numbers exactly as stored (the shortest decimal that is the stored double), never through float arithmetic."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)  # NaN or ±inf stored in a cell: text, not an amount
        number = Decimal(repr(value))
        if number == number.to_integral_value():
            return str(int(number))  # a code (208) or a whole amount
        # amounts are shown to the 分 of 万元 whatever the stored double holds: at least two decimals
        return format(number.quantize(Decimal("0.01")) if number.as_tuple().exponent > -2 else number, "f")
    if isinstance(value, int):
        return str(value)
    return _cell(str(value))


def read_excel(data: bytes, source: str, limits: Limits | None = None) -> tuple[list[str], list[int]]:
    """Lines of every sheet; the 'page' of a line is its sheet's number."""
    limits = limits or Limits.from_env()
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError, XmlError, ZipError  # noqa: PLC0415

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except PasswordError as exc:
        raise DocumentError(source, "spreadsheet is password-protected and cannot be opened") from exc
    except (CalamineError, XmlError, ZipError, ValueError, OSError) as exc:
        raise DocumentError(source, f"not a readable spreadsheet ({type(exc).__name__}: {exc})") from exc
    lines: list[str] = []
    pages: list[int] = []
    for number, name in enumerate(book.sheet_names, start=1):
        sheet = book.get_sheet_by_name(name)
        # the grid read starts at A1 (skip_empty_area=False): its size is that of the used range's far corner
        if sheet.total_height * sheet.total_width > limits.max_table_cells:
            raise DocumentError(
                source, _too_many_cells(f"sheet '{name}'", sheet.total_height, sheet.total_width, limits)
            )
        rows = sheet.to_python(skip_empty_area=False)
        across: dict[int, list[tuple[int, int]]] = {}  # row → (first column, width) of its cells merged across
        for (r0, c0), (_, c1) in sheet.merged_cell_ranges or ():
            if c1 > c0:
                across.setdefault(r0, []).append((c0, c1 - c0 + 1))
        for r, row in enumerate(rows):
            cells = [_excel_value(v) for v in row]
            for c0, width in across.get(r, ()):
                if c0 < len(cells):
                    cells[c0 + 1 :] = [*spread(cells[c0], width)[1:], *cells[c0 + width :]]
            while cells and not cells[-1]:
                cells.pop()
            filled = [c for c in cells if c]
            if not filled:
                continue
            lines.append(filled[0] if len(filled) == 1 and len(cells) <= 2 else "\t".join(cells))
            pages.append(number)
    return lines, pages


# ---------------------------------------------------------------------------------------------------------------- HTML
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)


def html_encoding(data: bytes, declared: str | None = None) -> str:
    """The encoding from the transport header, else the page's meta tag, else UTF-8 (GBK is read as GB18030)."""
    name = declared
    if not name:
        m = _META_CHARSET.search(data[:4096])
        name = m.group(1).decode("ascii") if m else "utf-8"
    name = name.lower()
    return "gb18030" if name in ("gbk", "gb2312", "gb18030", "x-gbk") else name


def read_html(
    data: bytes, source: str, declared_encoding: str | None = None, limits: Limits | None = None
) -> list[str]:
    from bs4 import BeautifulSoup  # noqa: PLC0415

    limits = limits or Limits.from_env()
    text = _html_text(data, source, html_encoding(data, declared_encoding))
    _check_text_runs(text, source, limits)
    if _tag_depth(text) > limits.max_depth:  # the parser would build the whole tree first, slowly
        raise DocumentError(source, f"HTML nested more than {limits.max_depth} elements deep (MAX_DEPTH)")
    soup = BeautifulSoup(text, "html.parser")
    depth = _depth(soup)
    if depth > limits.max_depth:
        raise DocumentError(source, f"HTML nested {depth:,} elements deep, more than {limits.max_depth} (MAX_DEPTH)")
    for tag in soup(["script", "style", "head"]):
        tag.decompose()
    lines: list[str] = []
    for element in soup.find_all(["table", "p", "h1", "h2", "h3", "h4", "div", "li"]):
        if element.name == "table":
            if element.find_parent("table") is None:
                lines.extend(_html_table(element, source, limits))
            continue
        if element.find_parent("table") is not None or element.find(["p", "div", "table", "li"]):
            continue
        text = element.get_text(" ", strip=True)
        if text:
            lines.append(text)
    return lines


_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_ENTITY = re.compile(r"&#?\w{1,32};")


def _check_text_runs(text: str, source: str, limits: Limits) -> None:
    """Refuse text between two tags longer than any line of a report (entities counted as the character they stand
    for) before parsing: the parser would decode it all first, slowly, for the line check to refuse it after."""
    longest = limits.max_line_chars
    for run in re.finditer(rf"[^<>]{{{longest + 1},}}", _SCRIPT.sub("", text)):
        chars = len(_ENTITY.sub("x", run[0]))
        if chars > longest:
            raise DocumentError(
                source, f"text of {chars:,} characters between two tags, more than the limit of {longest:,} "
                "(MAX_LINE_CHARS)",
            )  # fmt: skip


def _html_text(data: bytes, source: str, encoding: str) -> str:
    """The page decoded with its declared encoding; when that fails (GBK labelled UTF-8, or the reverse, or a name
    no codec has), with UTF-8 or GB18030, whichever decodes it cleanly."""
    for candidate in dict.fromkeys((encoding, "utf-8", "gb18030")):
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    raise DocumentError(source, f"HTML is neither valid {encoding} nor UTF-8 nor GB18030")


_TAG = re.compile(r"<(/?)([a-zA-Z][^\s/>]*)[^>]*?(/?)>|<!--.*?-->", re.S)
_VOID = frozenset(("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                   "track", "wbr", "basefont", "frame", "isindex", "keygen"))  # fmt: skip


def _tag_depth(text: str) -> int:
    """How deep the parser will nest the page's elements, read from its tags as html.parser and BeautifulSoup pair
    them (a closing tag closes the innermost open element of its name and those inside it; one with no open element
    of its name is ignored)."""
    stack: list[str] = []
    open_names: dict[str, int] = {}
    deepest = 0
    for m in _TAG.finditer(text):
        closing, name, self_closing = m.group(1), (m.group(2) or "").lower(), m.group(3)
        if not name or name in _VOID or self_closing:
            continue
        if not closing:
            stack.append(name)
            open_names[name] = open_names.get(name, 0) + 1
            deepest = max(deepest, len(stack))
        elif open_names.get(name):
            while stack:
                top = stack.pop()
                open_names[top] -= 1
                if top == name:
                    break
    return deepest


def _depth(soup) -> int:
    """How deep the elements of a parsed page are nested (without recursion: the depth itself may be the attack)."""
    deepest = 0
    stack = [(soup, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in getattr(node, "contents", ()) if hasattr(child, "contents"))
    return deepest


# browsers' bounds on spans (HTML standard, "algorithm for processing rows"): a rowspan also ends with its table
MAX_COLSPAN, MAX_ROWSPAN = 1000, 65534


def _html_table(table, source: str = "", limits: Limits | None = None) -> list[str]:
    """Rows with rowspan/colspan expanded onto the grid; a spanned cell's text stands at its first position."""
    limits = limits or Limits.from_env()
    grid: dict[tuple[int, int], str] = {}
    width = 0
    rows = table.find_all("tr")
    for r, tr in enumerate(rows):
        c = 0
        for td in tr.find_all(["td", "th"], recursive=False):
            while (r, c) in grid:
                c += 1
            rowspan = min(_int(td.get("rowspan"), 1), MAX_ROWSPAN, len(rows) - r)
            colspan = min(_int(td.get("colspan"), 1), MAX_COLSPAN)
            if len(grid) + rowspan * colspan > limits.max_table_cells:
                raise DocumentError(source, _too_many_cells("HTML table", len(rows), max(width, c + colspan), limits))
            first = spread(_cell(td.get_text("\n")), colspan)
            for dr in range(rowspan):
                for dc in range(colspan):
                    grid[(r + dr, c + dc)] = first[dc] if dr == 0 else ""
            c += colspan
            width = max(width, c)
    if len(rows) * width > limits.max_table_cells:
        raise DocumentError(source, _too_many_cells("HTML table", len(rows), width, limits))
    return ["\t".join(grid.get((r, c), "") for c in range(width)) for r in range(len(rows))]
