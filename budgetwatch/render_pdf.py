"""Rendering canonical tables as a realistic disclosure PDF (ruled grid, STSong-Light CID font, A4 landscape).

Used to make test documents from the samples' tables: a table rendered here and read back must give the same
canonical line items. Tables too long for a page continue on the next with their header repeated.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from budgetwatch import catalogue
from budgetwatch.catalogue import TableSpec
from budgetwatch.model import Extraction, LineItem, Table, TableStatus, format_micros

FONT = "STSong-Light"
RENDERABLE = ("function", "economic", "units", "projects", "single", "two_sided", "groups")


VARIANTS = (
    "vertical_headers",
    "spaced_numbers",
    "merged_headers",
    "split_codes",
    "no_column_numbers",
    "wrapped_headers",
)


@dataclass(slots=True)
class Grid:
    header: list[list[str]]  # header rows, the last one the 栏次 row
    rows: list[list[str]]
    widths: list[float]  # relative column widths
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)  # (col0, row0, col1, row1) merged header cells
    row_spans: list[tuple[int, int, int]] = field(default_factory=list)  # (row, col0, col1): a value over columns

    def merged(self) -> list[tuple[int, int, int, int]]:
        """Every merged cell as (col0, row0, col1, row1), rows counted over the header and body together."""
        top = len(self.header)
        return [*self.spans, *[(c0, top + r, c1, top + r) for r, c0, c1 in self.row_spans]]

    def covered(self) -> set[tuple[int, int]]:
        """(row, col) positions inside a merged cell other than its first, rows as in `merged`."""
        return {
            (r, c)
            for c0, r0, c1, r1 in self.merged()
            for r in range(r0, r1 + 1)
            for c in range(c0, c1 + 1)
            if (r, c) != (r0, c0)
        }


def _spaced(text: str) -> str:
    """A number as glyph-by-glyph PDFs give it back: 2,031.52 → 2, 031. 52."""
    return text.replace(",", ", ").replace(".", ". ") if text and text[0].isdigit() else text


def _vertical(text: str) -> str:
    return "\n".join(text) if text and not text.isdigit() else text


def _split_codes(grid: Grid) -> Grid:
    """Codes in 类 | 款 | 项 columns, a child row leaving its parent's digits blank (as merged cells print)."""

    def parts(code: str) -> list[str]:
        if len(code) == 3:
            return [code, "", ""]
        if len(code) == 5:
            return ["", code[3:], ""]
        if len(code) == 7:
            return ["", "", code[5:]]
        return ["", "", ""]

    header = [["科目编码", "", "", *row[1:]] for row in grid.header[:-1]]
    header.append(["类", "款", "项", *grid.header[-1][1:]])
    rows = [[*parts(row[0]), *row[1:]] for row in grid.rows]
    row_spans = [(r, c0 + 2, c1 + 2) for r, c0, c1 in grid.row_spans]
    return Grid(header, rows, [0.5, 0.5, 0.5, *grid.widths[1:]], grid.spans, row_spans)


def apply_variants(spec: TableSpec, grid: Grid, variants: tuple[str, ...]) -> Grid:
    """Realistic deformations of a rendered table: one character a line in headers, spaced numbers, merged headers."""
    if "merged_headers" in variants and spec.layout in ("function", "economic", "units", "projects", "single"):
        lead = len(grid.widths) - len(spec.columns)
        parents = [c.parents[0] if c.parents else "" for c in spec.columns]
        if any(parents):
            top = [""] * lead + parents
            spans = []
            k = 0
            while k < len(parents):
                j = k
                while j + 1 < len(parents) and parents[j + 1] == parents[k] and parents[k]:
                    j += 1
                if j > k:
                    spans.append((lead + k, 0, lead + j, 0))
                    for m in range(k + 1, j + 1):
                        top[lead + m] = ""
                k = j + 1
            grid = Grid([top, *grid.header], grid.rows, grid.widths, spans, grid.row_spans)
    if "split_codes" in variants and spec.layout == "function":
        grid = _split_codes(grid)
    numbered = bool(grid.header) and any(c.isdigit() for c in grid.header[-1])
    if "no_column_numbers" in variants and numbered and len(grid.header) > 1 and "split_codes" not in variants:
        # budget templates print no 栏次 row
        grid = Grid(grid.header[:-1], grid.rows, grid.widths, grid.spans, grid.row_spans)
    if "vertical_headers" in variants:
        grid.header = [[_vertical(c) for c in row] for row in grid.header[:-1]] + [grid.header[-1]]
    if "spaced_numbers" in variants:
        grid.rows = [[_spaced(c) for c in row] for row in grid.rows]
    return grid


def _amount(item: LineItem | None) -> str:
    if item is None or item.blank:
        return ""
    return format_micros(item.micros, item.decimals)


def _amount_cells(row: list[LineItem], keys: list[str]) -> tuple[list[str], list[tuple[int, int]]]:
    """A row's amounts in template column order, and the (first, last) columns of each value kept under several
    columns' keys: printed once in a cell merged over them. A merged value whose columns are not free and adjacent
    goes to the first free one of them."""
    texts = [""] * len(keys)
    taken: set[int] = set()
    spans: list[tuple[int, int]] = []
    for item in sorted(row, key=lambda i: "|" in i.column_key):  # single columns first
        at = [keys.index(k) for k in item.column_key.split("|") if k in keys]
        if not at:
            continue
        if len(at) > 1 and at == list(range(at[0], at[-1] + 1)) and not taken.intersection(at):
            spans.append((at[0], at[-1]))
        else:
            at = [next((k for k in at if k not in taken), at[0])]
        texts[at[0]] = _amount(item)
        taken.update(at)
    return texts, spans


def _rows(items: list[LineItem]) -> list[list[LineItem]]:
    by_row: dict[int, list[LineItem]] = {}
    for item in items:
        by_row.setdefault(item.row_order, []).append(item)
    return [by_row[k] for k in sorted(by_row)]


def _coded_grid(spec: TableSpec, items: list[LineItem]) -> Grid:
    columns = spec.columns
    heads = {"units": ("单位编码", "单位名称"), "projects": ("项目编码", "项目名称")}.get(
        spec.layout, ("科目编码", "科目名称")
    )
    with_labels = spec.layout != "single"
    lead = list(heads) if with_labels else []
    header = [
        lead + [c.label for c in columns],
        (["", "栏次"] if with_labels else []) + [str(k + 1) for k in range(len(columns))],
    ]
    if spec.expected_header:  # 本年政府性基金预算支出 over the amount columns
        header.insert(0, ["" for _ in lead] + [spec.expected_header] + ["" for _ in columns[1:]])
    rows = []
    row_spans = []
    for row in _rows(items):
        first = row[0]
        code = first.code_printed if first.code_printed and first.level != "项" else first.code
        label = [code or "", first.label or ("合计" if first.label_norm == "合计" and with_labels else "")]
        label = label if with_labels else []
        amounts, spans = _amount_cells(row, [c.key for c in columns])
        row_spans += [(len(rows), len(label) + a, len(label) + b) for a, b in spans]
        rows.append(label + amounts)
    widths = ([1.4, 3.2] if with_labels else []) + [1.0] * len(columns)
    return Grid(header, rows, widths, row_spans=row_spans)


def _two_sided_grid(spec: TableSpec, items: list[LineItem]) -> Grid:
    income, expenditure = spec.side("income"), spec.side("expenditure")
    header = [
        ["项目", "行次", *[c.label for c in income.columns], "项目", "行次", *[c.label for c in expenditure.columns]],
        ["栏次", "", *[str(k + 1) for k in range(len(income.columns))], "栏次", ""]
        + [str(len(income.columns) + k + 1) for k in range(len(expenditure.columns))],
    ]
    sides = {"income": [], "expenditure": []}
    for row in _rows(items):
        sides[row[0].side].append(row)

    def cells(row, side) -> tuple[list[str], list[tuple[int, int]]]:
        if row is None:
            return ["", ""] + [""] * len(side.columns), []
        line_no = str(row[0].line_no) if row[0].line_no else ""
        amounts, spans = _amount_cells(row, [c.key for c in side.columns])
        return [row[0].label, line_no, *amounts], [(a + 2, b + 2) for a, b in spans]

    n = max(len(sides["income"]), len(sides["expenditure"]))
    pad = [None] * n
    rows = []
    row_spans = []
    offset = 2 + len(income.columns)
    for a, b in zip((sides["income"] + pad)[:n], (sides["expenditure"] + pad)[:n], strict=True):
        left, left_spans = cells(a, income)
        right, right_spans = cells(b, expenditure)
        row_spans += [(len(rows), c0, c1) for c0, c1 in left_spans]
        row_spans += [(len(rows), offset + c0, offset + c1) for c0, c1 in right_spans]
        rows.append(left + right)
    widths = [3.0, 0.6] + [1.0] * len(income.columns) + [3.0, 0.6] + [1.0] * len(expenditure.columns)
    return Grid(header, rows, widths, row_spans=row_spans)


def _groups_grid(spec: TableSpec, items: list[LineItem]) -> Grid:
    """人员经费 in the first group, 公用经费 over the next two (302 and 307 left, the other classes right)."""
    groups: list[list[list[str]]] = [[], [], []]
    footers: dict[str, str] = {}
    for row in _rows(items):
        item = row[0]
        if item.row_key:
            footers[item.row_key] = _amount(item)
            continue
        cls = (item.code_printed or item.code or "")[:3]
        g = 0 if item.group == "personnel" else (1 if cls in ("302", "307") else 2)
        groups[g].append([cls if item.level != "类" else item.code, item.label, _amount(item)])
    n = max(len(g) for g in groups)
    rows = [[cell for g in groups for cell in (g[k] if k < len(g) else ["", "", ""])] for k in range(n)]
    rows.append(
        [
            "人员经费合计",
            "",
            footers.get("personnel_total", ""),
            "公用经费合计",
            "",
            "",
            "",
            "",
            footers.get("public_total", ""),
        ]
    )
    header = [["人员经费", "", "", "公用经费", "", "", "", "", ""], ["经济分类科目", "科目名称", "决算数"] * 3]
    return Grid(header, rows, [0.9, 2.6, 1.0] * 3)


def table_grid(spec: TableSpec, items: list[LineItem]) -> Grid:
    if spec.layout == "two_sided":
        return _two_sided_grid(spec, items)
    if spec.layout == "groups":
        return _groups_grid(spec, items)
    return _coded_grid(spec, items)


def render_tables(
    tables: Iterable[tuple[Table, list[LineItem]]],
    *,
    department: str,
    year: int | None,
    title: str | None = None,
    user_password: str | None = None,
    owner_password: str | None = None,
    narrative: list[str] | None = None,
    variants: tuple[str, ...] = (),
    font_file: str | None = None,
) -> bytes:
    """A PDF of the given tables, each under its printed number, title, 部门 and 单位 lines.

    An owner password alone makes a copy-protected PDF that still opens; a user password locks it. With `font_file`
    (a TrueType CJK font) the font is embedded, so renderers without the STSong-Light CID font draw the text too."""
    from reportlab.lib import colors  # noqa: PLC0415 - only the generator needs reportlab
    from reportlab.lib.pagesizes import A4, landscape  # noqa: PLC0415
    from reportlab.lib.styles import ParagraphStyle  # noqa: PLC0415
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: PLC0415
    from reportlab.platypus import (  # noqa: PLC0415
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )
    from reportlab.platypus import Table as RLTable  # noqa: PLC0415

    if font_file:
        from reportlab.pdfbase.ttfonts import TTFont  # noqa: PLC0415

        font = "embedded-cjk"
        pdfmetrics.registerFont(TTFont(font, font_file, subfontIndex=0))
    else:
        font = FONT
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    text = ParagraphStyle("text", fontName=font, fontSize=10, leading=14)
    heading = ParagraphStyle("heading", parent=text, fontSize=14, leading=20, alignment=1)
    buffer = io.BytesIO()
    page = landscape(A4)
    encrypt = None
    if user_password is not None or owner_password is not None:
        from reportlab.lib.pdfencrypt import StandardEncryption  # noqa: PLC0415

        encrypt = StandardEncryption(user_password or "", owner_password or "owner", canCopy=0, canModify=0)
    doc = SimpleDocTemplate(
        buffer, pagesize=page, leftMargin=28, rightMargin=28, topMargin=28, bottomMargin=28, encrypt=encrypt
    )
    story: list = []
    if title:
        story += [Paragraph(title, heading), PageBreak()]
    usable = page[0] - 56
    for table, items in tables:
        spec = catalogue.table(table.table_id)
        grid = apply_variants(spec, table_grid(spec, items), variants)
        story.append(Paragraph(table.printed_number or "", text))
        story.append(Paragraph(f"{year or ''} 年度{spec.title}" if year else spec.title, heading))
        story.append(Paragraph(f"部门：{department}", text))
        story.append(Paragraph("单位：万元", text))
        story.append(Spacer(1, 4))
        scale = usable / sum(grid.widths)
        widths = [w * scale for w in grid.widths]
        header: list[list] = grid.header
        if "wrapped_headers" in variants:  # a header too wide for its column wraps inside its cell
            cell = ParagraphStyle("cell", fontName=font, fontSize=7, leading=9, alignment=1)
            header = [
                [
                    Paragraph(c, cell) if pdfmetrics.stringWidth(c, font, 7) > w - 6 else c
                    for c, w in zip(row, widths, strict=True)
                ]
                for row in grid.header
            ]
        t = RLTable(header + grid.rows, colWidths=widths, repeatRows=len(grid.header))
        t.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), font, 7),
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                    ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    *[("SPAN", (c0, r0), (c1, r1)) for c0, r0, c1, r1 in grid.merged()],
                ]
            )
        )
        story.append(t)
        if table.statement:
            story.append(Paragraph(table.statement, text))
        story.append(PageBreak())
    for paragraph in narrative or ():
        story.append(Paragraph(paragraph, text))
    doc.build(story)
    return buffer.getvalue()


def renderable_tables(ex: Extraction) -> list[tuple[Table, list[LineItem]]]:
    """The tables of an extraction the renderers draw as grids, each with its line items."""
    out = []
    for table in ex.tables:
        spec = catalogue.table(table.table_id)
        if table.status not in (TableStatus.PARSED, TableStatus.DECLARED_EMPTY) or spec.layout not in RENDERABLE:
            continue
        out.append((table, [i for i in ex.items if i.table_id == table.table_id and i.instance == table.instance]))
    return out


def narrative_paragraphs(ex: Extraction) -> list[str]:
    """The document's text outside its tables (and outside any tab-separated annex table), line by line."""
    inside = {n for t in ex.tables if t.lines for n in range(t.lines[0], t.lines[1] + 1)}
    return [
        line.strip()
        for n, line in enumerate(ex.text.splitlines(), start=1)
        if n not in inside and line.strip() and "\t" not in line
    ]


def extraction_to_pdf(ex: Extraction, *, with_narrative: bool = False, **options) -> bytes:
    """The standard tables of an extraction rendered as a PDF (tables of other layouts are left out), optionally
    followed by the document's narrative text."""
    return render_tables(
        renderable_tables(ex),
        department=ex.document.department or "",
        year=ex.document.fiscal_year,
        title=ex.document.title,
        narrative=narrative_paragraphs(ex) if with_narrative else None,
        **options,
    )
