"""Rendering canonical tables as Word, Excel and HTML documents, with the same grids as the PDF renderer."""

from __future__ import annotations

import html
import io

from budgetwatch import catalogue
from budgetwatch.model import Extraction, LineItem, Table
from budgetwatch.render_pdf import Grid, renderable_tables, table_grid


def _tables(ex: Extraction) -> list[tuple[Table, list[LineItem], Grid]]:
    return [(t, items, table_grid(catalogue.table(t.table_id), items)) for t, items in renderable_tables(ex)]


def _heading(ex: Extraction, table: Table) -> list[str]:
    spec = catalogue.table(table.table_id)
    year = ex.document.fiscal_year
    return [
        table.printed_number or "",
        f"{year} 年度{spec.title}" if year else spec.title,
        f"部门：{ex.document.department or ''}",
        "单位：万元",
    ]


def extraction_to_docx(ex: Extraction) -> bytes:
    import docx  # noqa: PLC0415

    document = docx.Document()
    for table, _, grid in _tables(ex):
        for line in _heading(ex, table):
            if line:
                document.add_paragraph(line)
        rows = grid.header + grid.rows
        t = document.add_table(rows=len(rows), cols=len(grid.widths))
        covered = grid.covered()
        for r, (table_row, row) in enumerate(zip(t.rows, rows, strict=True)):  # Table.cell() rescans the whole table
            cells = table_row.cells
            for c, text in enumerate(row):
                if (r, c) not in covered:
                    cells[c].text = text
        for c0, r0, c1, r1 in grid.merged():
            t.rows[r0].cells[c0].merge(t.rows[r1].cells[c1])
        # Word ends every table with a paragraph; a table left last in the body is lost when saved as .doc
        document.add_paragraph(table.statement or "")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def extraction_to_xlsx(ex: Extraction) -> bytes:
    """One sheet a table; amounts written as numbers with two decimals shown, as finance offices publish them."""
    import xlsxwriter  # noqa: PLC0415

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    money = book.add_format({"num_format": "0.00"})
    for k, (table, _, grid) in enumerate(_tables(ex), start=1):
        sheet = book.add_worksheet(f"{k:02d} {table.table_id}")
        row = 0
        for line in _heading(ex, table):
            if line:
                sheet.write_string(row, 0, line)
                row += 1
        top = row
        covered = grid.covered()
        spans = {(r0, c0): (r1, c1) for c0, r0, c1, r1 in grid.merged()}
        for r, cells in enumerate(grid.header + grid.rows):
            for c, text in enumerate(cells):
                number = _is_number(text) and r >= len(grid.header)
                if (r, c) in spans:
                    r1, c1 = spans[(r, c)]
                    sheet.merge_range(row, c, top + r1, c1, float(text) if number else text, money if number else None)
                elif (r, c) in covered:
                    continue
                elif number:
                    sheet.write_number(row, c, float(text), money)
                else:
                    sheet.write_string(row, c, text)
            row += 1
        if table.statement:
            sheet.write_string(row, 0, table.statement)
    book.close()
    return buffer.getvalue()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return "." in text


def extraction_to_html(ex: Extraction, encoding: str = "gbk") -> bytes:
    """A portal-style article page: headings and ruled tables, in the given encoding with its meta charset."""
    parts = [f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={encoding}"></head><body>']
    for table, _, grid in _tables(ex):
        parts.extend(f"<p>{html.escape(line)}</p>" for line in _heading(ex, table) if line)
        parts.append('<table border="1">')
        covered = grid.covered()
        spans = {(r0, c0): (r1 - r0 + 1, c1 - c0 + 1) for c0, r0, c1, r1 in grid.merged()}
        for r, cells in enumerate(grid.header + grid.rows):
            tds = []
            for c, text in enumerate(cells):
                if (r, c) in covered:
                    continue
                rowspan, colspan = spans.get((r, c), (1, 1))
                attrs = (f' rowspan="{rowspan}"' if rowspan > 1 else "") + (
                    f' colspan="{colspan}"' if colspan > 1 else ""
                )
                tds.append(f"<td{attrs}>{html.escape(text)}</td>")
            parts.append("<tr>" + "".join(tds) + "</tr>")
        parts.append("</table>")
        if table.statement:
            parts.append(f"<p>{html.escape(table.statement)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts).encode(encoding)


def extraction_to_layout_text(ex: Extraction) -> bytes:
    """A layout text layer as `pdftotext -layout`-style extractors give it: cells apart by spaces, blanks dropped."""
    lines: list[str] = []
    for table, _, grid in _tables(ex):
        lines.extend(line for line in _heading(ex, table) if line)
        for cells in grid.header + grid.rows:
            text = " ".join(c for c in cells if c)
            if text:
                lines.append(text)
        if table.statement:
            lines.append(table.statement)
    return "\n".join(lines).encode("utf-8")
