"""From a document's bytes to its canonical tables, line items and narrative facts."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

from budgetwatch import formats
from budgetwatch.errors import DocumentError, LayoutError, UnsupportedFormat
from budgetwatch.labels import squeeze
from budgetwatch.model import Extraction, LineItem, Table, TableStatus
from budgetwatch.read import catalogue, disclosure, generic, legacy_office, metadata, narrative, ocr_engine
from budgetwatch.read.canonical import raw_to_items
from budgetwatch.read.layout_text import read_layout
from budgetwatch.read.limits import (
    Limits,
    check_lines,
    check_size,
    check_size_of,
    check_text_size,
    check_text_size_of,
    check_zip,
)
from budgetwatch.read.locate import Span, locate, table_sections
from budgetwatch.read.office_readers import read_docx, read_excel, read_html
from budgetwatch.read.pdf_reader import read_pdf
from budgetwatch.read.rawrows import RaggedRows, RawTable
from budgetwatch.read.tabbed import looks_tabbed, read_tabbed

TEXT_ENCODINGS = ("utf-8-sig", "gb18030")


def decode_text(data: bytes, source: str) -> str:
    """Text of a text layer: UTF-8 (with or without BOM), else GB18030; binary content is refused."""
    if not data:
        raise DocumentError(source, "empty file (0 bytes)")
    if b"\x00" in data[:4096]:
        raise UnsupportedFormat(source, "binary content: not a text layer (PDF, Office and images are read elsewhere)")
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DocumentError(source, "text is neither UTF-8 nor GB18030")


def _table_from_span(lines: list[str], span: Span, year: int | None) -> tuple[Table, list[LineItem]]:
    spec = span.spec
    title = "".join(lines[span.title_line + k].strip() for k in range(span.title_lines))
    table = Table(
        table_id=spec.id,
        title=title,
        status=TableStatus.PARSED,
        printed_number=span.printed_number,
        instance=span.instance,
        department_line=span.department_line,
        unit_line=span.unit_line,
        unit=span.unit,
        lines=(span.start + 1, span.end),
        family=span.family,
    )
    try:
        # the performance-target tables are forms, not grids: their token reader works whatever separates the cells
        grid = spec.layout not in ("funding", "project_detail") and looks_tabbed(lines, span)
        raw = _tabbed_or_layout(lines, span) if grid else read_layout(lines, span)
        items = raw_to_items(spec, raw, unit=span.unit, year=year, instance=span.instance)
    except LayoutError as exc:
        table.status = TableStatus.UNREADABLE
        table.notes.append(f"lines {span.start + 1}-{span.end}: {exc}")
        return table, []
    table.notes.extend(raw.notes)
    table.guessed, table.placed_by_order = list(raw.guessed), list(raw.placed_by_order)
    table.notes.extend(f"reading uncertain: {reason}" for reason in [*raw.guessed, *raw.placed_by_order])
    table.statement = raw.statement
    table.columns = list(raw.column_headers)
    amounts = [i.micros for i in items if i.micros is not None]
    if raw.statement and not any(amounts):
        table.status = TableStatus.DECLARED_EMPTY
    if raw.header_text:
        table.notes.extend(_header_mismatches(spec, raw.header_text))
    return table, items


def _tabbed_or_layout(lines: list[str], span: Span) -> RawTable:
    """A tab-separated table by its columns; one whose rows dropped their blank cells as layout text."""
    try:
        return read_tabbed(lines, span)
    except RaggedRows:
        return read_layout(lines, span)


def _unrecognised_tables(
    lines: list[str], spans: list[Span], year: int | None, family_id: str | None
) -> tuple[list[Table], list[LineItem]]:
    """Grids of codes or 合计 rows outside the recognised tables, read without a template."""
    taken = {i for s in spans for i in range(s.start, s.end)}
    unit = catalogue.family(family_id).unit if family_id else "万元"
    tables, items = [], []
    for n, grid in enumerate(generic.unknown_grids(lines, taken), start=1):
        spec, raw = generic.read_generic(lines, grid)
        headers = "; ".join(raw.column_headers) or "(none)"
        table = Table(
            table_id=generic.TABLE_ID, title=grid.title, status=TableStatus.UNRECOGNISED, instance=str(n),
            lines=(grid.start + 1, grid.end), unit=unit, columns=list(raw.column_headers),
            notes=[f"no template family describes this table; read as printed, columns: {headers}", *raw.notes],
        )  # fmt: skip
        tables.append(table)
        items.extend(raw_to_items(spec, raw, unit=unit, year=year, instance=str(n)))
    return tables, items


def _header_mismatches(spec: catalogue.TableSpec, header_text: str) -> list[str]:
    if header_text and spec.expected_header and spec.expected_header not in header_text:
        return [f"header does not say {spec.expected_header}: {header_text[:80]}"]
    return []


def _resolve_codes_across_tables(items: list[LineItem]) -> None:
    """A 项 left with its 款 code takes the 7-digit code another table of the document prints for the same name."""
    known = {
        (i.code[:5], squeeze(i.label)): i.code
        for i in items
        if i.code_scheme == "function" and i.code and len(i.code) == 7 and i.code_printed is None
    }
    for item in items:
        if item.level == "项" and item.code and len(item.code) == 5:
            name = squeeze(item.label)
            match = known.get((item.code, name)) or next(
                (c for (p, n), c in known.items() if p == item.code and (n.startswith(name) or name.startswith(n))),
                None,
            )
            if match:
                item.code_printed, item.code = item.code, match


def _set_pages(tables: list[Table], items: list[LineItem], line_pages: list[int]) -> None:
    def page(line: int) -> int | None:
        return line_pages[line - 1] if 0 < line <= len(line_pages) else None

    for item in items:
        item.page = page(item.line) if item.line else None
    for table in tables:
        if table.lines:
            table.pages = sorted({p for n in range(table.lines[0], table.lines[1] + 1) if (p := page(n))})


def _mark_ocr(tables: list[Table], items: list[LineItem], ocr_cells: dict[int, tuple]) -> None:
    """Amounts read by OCR carry their cell's recognition score; tables read so say it in their notes."""
    lowest: dict[tuple[str, str | None], float] = {}
    for item in items:
        cells = ocr_cells.get(item.line - 1) if item.line else None
        if cells is None:
            continue
        scores = [c for _, c in cells if c is not None]
        if not item.blank:
            same = [c for text, c in cells if c is not None and text.strip() == item.raw.strip()]
            item.ocr_confidence = round(min(same or scores or [0.0]), 4)
        key = (item.table_id, item.instance)
        lowest[key] = min(lowest.get(key, 1.0), *scores)
    for table in tables:
        if (table.table_id, table.instance) in lowest:
            low = lowest[(table.table_id, table.instance)]
            table.notes.append(f"read by OCR ({ocr_engine.ENGINE}) from a page image; lowest cell confidence {low:.2f}")


def _expected_tables(kind: str | None, family_id: str | None, listed: list[str]) -> list[str]:
    """The tables a document should print: those its contents list, then its family's."""
    return list(dict.fromkeys([*listed, *(table_id for table_id, _ in catalogue.expected_tables(kind, family_id))]))


# a report that says its tables are published in another file (公开表附后, 详见附件, 另行公开)
_ELSEWHERE = re.compile(r"(?:公开表|预算表|决算表|报表|表格)[^。；\n]{0,6}(?:附后|另附|另行公开|见附件)|详见附件")
ELSEWHERE_NOTE = "the report says its tables are published separately"


def _missing_tables(expected: list[str], found: set[str], empty_section: str | None, lines: list[str]) -> list[Table]:
    elsewhere = next((line.strip() for line in lines if _ELSEWHERE.search(squeeze(line))), None) if not found else None
    if elsewhere:
        note = f"{ELSEWHERE_NOTE}: '{elsewhere}'"
    elif empty_section:
        note = f"the table part '{empty_section}' holds no table text: the tables may be published as images"
    else:
        note = "not found in the document"
    return [
        Table(table_id=table_id, title=catalogue.table(table_id).title, status=TableStatus.MISSING, notes=[note])
        for table_id in expected
        if table_id not in found
    ]


def extract_text(
    text: str,
    *,
    source: str,
    sha256: str,
    media_type: str = "text/plain",
    line_pages: list[int] | None = None,
    image_pages: list[int] | None = None,
    ocr_cells: dict[int, tuple] | None = None,
    limits: Limits | None = None,
) -> Extraction:
    """Canonical extraction of one text layer (with the page of each line, for paged formats; with the recognised
    cells of lines read by OCR)."""
    lines = text.splitlines()
    check_lines(lines, source, limits or Limits.from_env())
    located = locate(lines)
    spans = located.spans
    about = metadata.describe(
        lines, table_titles=[lines[s.title_line] for s in spans], table_kinds=[s.spec.kind for s in spans]
    )
    year, kind = about.fiscal_year, about.kind
    document = metadata.document(about, sha256=sha256, source=source, media_type=media_type)
    document.not_disclosure = disclosure.not_disclosure(lines, tables=len(spans), image_pages=bool(image_pages))
    document.family = located.family
    tables: list[Table] = []
    items: list[LineItem] = []
    for span in spans:
        table, table_items = _table_from_span(lines, span, year)
        tables.append(table)
        items.extend(table_items)
    if document.is_disclosure:
        unknown, unknown_items = _unrecognised_tables(lines, spans, year, located.family)
        tables.extend(unknown)
        items.extend(unknown_items)
    _resolve_codes_across_tables(items)
    if line_pages:
        _set_pages(tables, items, line_pages)
    if ocr_cells:
        _mark_ocr(tables, items, ocr_cells)
    sections = table_sections(lines)
    empty_section = sections[-1].text if sections and not spans else None
    judged = str(kind) if kind and document.is_disclosure else None  # a file that is no report misses no table
    expected = _expected_tables(judged, located.family, located.listed) if document.is_disclosure else []
    missing = _missing_tables(expected, {t.table_id for t in tables}, empty_section, lines)
    if image_pages:
        for table in missing:
            table.status = TableStatus.IMAGE_ONLY
            table.pages = list(image_pages)
            table.notes = [
                f"not in the text; pages {', '.join(map(str, image_pages))} are images (OCR not installed or off)"
            ]
    tables.extend(missing)
    in_tables = {i for s in spans for i in range(s.start, s.end)}
    # tab-separated lines outside the standard tables are annex tables, not narrative
    narrative_lines = [(i + 1, line) for i, line in enumerate(lines) if i not in in_tables and "\t" not in line]
    facts = narrative.facts(narrative_lines)
    return Extraction(document=document, tables=tables, items=items, facts=facts, text=text)


def extract_bytes(data: bytes, source: str, limits: Limits | None = None) -> Extraction:
    """Canonical extraction of a document given as bytes, whatever its format says it is. Whatever goes wrong in
    reading it is a DocumentError naming the document and the reason."""
    limits = limits or Limits.from_env()
    try:
        return _extract_bytes(data, source, limits)
    except DocumentError:
        raise
    except MemoryError as exc:
        raise DocumentError(source, "ran out of memory while reading it") from exc
    except RecursionError as exc:
        raise DocumentError(source, "nested too deeply to be read (RecursionError)") from exc
    except Exception as exc:  # whatever a library raises on hostile input is this document's verdict
        reason = " ".join(str(exc).split())[:300]
        raise DocumentError(source, f"could not be read ({type(exc).__name__}: {reason})") from exc


def _extract_bytes(data: bytes, source: str, limits: Limits) -> Extraction:
    sha = hashlib.sha256(data).hexdigest()
    if not data:
        raise DocumentError(source, "empty file (0 bytes)")
    check_size(data, source, limits)
    kind = formats.sniff(data)
    if kind in (formats.DOCX, formats.XLSX):
        check_zip(data, source, limits)
    if kind in (formats.HTML, formats.TEXT):
        check_text_size(data, source, limits)
    if kind == formats.PDF:
        pdf = read_pdf(data, source, max_pages=limits.max_pages, max_ocr_pages=limits.max_ocr_pages)
        return extract_text(
            "\n".join(pdf.lines),
            source=source,
            sha256=sha,
            media_type=kind,
            line_pages=pdf.pages,
            image_pages=pdf.image_pages,
            ocr_cells=pdf.ocr_cells,
            limits=limits,
        )
    if kind in (formats.PNG, formats.JPEG):
        return _extract_image(data, source, sha, kind, limits)
    if kind == formats.DOCX:
        lines = read_docx(data, source, limits)
        return extract_text("\n".join(lines), source=source, sha256=sha, media_type=kind, limits=limits)
    if kind in (formats.XLSX, formats.OLE):
        lines, sheets = _read_spreadsheet(data, source, kind, limits)
        return extract_text(
            "\n".join(lines), source=source, sha256=sha, media_type=kind, line_pages=sheets, limits=limits
        )
    if kind == formats.HTML:
        lines = read_html(data, source, limits=limits)
        return extract_text("\n".join(lines), source=source, sha256=sha, media_type=kind, limits=limits)
    if kind != formats.TEXT:
        raise UnsupportedFormat(source, f"{kind} is not a document format budgetwatch reads (sniffed from the content)")
    text = decode_text(data, source)
    return extract_text(text, source=source, sha256=sha, limits=limits)


def _extract_image(data: bytes, source: str, sha: str, kind: str, limits: Limits) -> Extraction:
    """A picture of a page, read by OCR when the engine is installed."""
    if not ocr_engine.available() or limits.max_ocr_pages < 1:
        raise UnsupportedFormat(source, f"{kind} is a picture: reading it needs OCR (rapidocr), not installed")
    from budgetwatch.read import ocr_grid  # noqa: PLC0415 - numpy and the engine, only for picture pages

    try:
        read = ocr_grid.read_image(data)
    except (OSError, ValueError) as exc:  # Pillow: a truncated or broken image, or one too large to decode
        raise DocumentError(source, f"{kind} could not be read as an image ({exc})") from exc
    return extract_text(
        "\n".join(line.text for line in read),
        source=source,
        sha256=sha,
        media_type=kind,
        line_pages=[1] * len(read),
        ocr_cells={k: line.cells for k, line in enumerate(read)},
        limits=limits,
    )


def _read_spreadsheet(data: bytes, source: str, kind: str, limits: Limits) -> tuple[list[str], list[int] | None]:
    """Lines of a spreadsheet (with the sheet of each line), or of a legacy Word-family file LibreOffice converts."""
    try:
        return read_excel(data, source, limits)
    except DocumentError:
        workbook = legacy_office.target_format(data) == "xlsx"
        if kind != formats.OLE or (workbook and legacy_office.soffice() is None):
            raise  # a workbook calamine cannot read, and no LibreOffice to try: calamine's reason stands
    converted = legacy_office.convert(data, source)  # .doc / .wps / .et; UnsupportedFormat without LibreOffice
    if formats.sniff(converted) == formats.DOCX:
        return read_docx(converted, source, limits), None
    return read_excel(converted, source, limits)


def extract_path(path: str | Path, limits: Limits | None = None) -> Extraction:
    """Canonical extraction of a document file, in this process (`isolation.read_document` reads one under limits).
    Only regular files are read (a device or a pipe never ends), and sizes are checked before the bytes are read."""
    path = Path(path)
    limits = limits or Limits.from_env()
    try:
        # opened without waiting (a pipe would wait for a writer), then refused unless it is a regular file
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as file:
            status = os.fstat(file.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise DocumentError(str(path), "not a regular file (a device, pipe or socket is not read)")
            check_size_of(status.st_size, str(path), limits)
            head = file.read(4096)
            if formats.sniff(head) in (formats.HTML, formats.TEXT):
                check_text_size_of(status.st_size, str(path), limits)
            data = head + file.read(limits.max_bytes + 1 - len(head))
    except OSError as exc:
        raise DocumentError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    return extract_bytes(data, str(path), limits)
