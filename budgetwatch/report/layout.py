"""The tables of a document as printed (rows in printed order, columns in catalogue order) and where findings point.

A finding's locations name cells by table, column, row label, code and line; each is resolved to the line items it
names, so that a page can highlight the cell a finding checked and the cells it was compared with.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from budgetwatch.model import Extraction, Finding, LineItem, Location, Table, TableStatus
from budgetwatch.read import catalogue
from budgetwatch.read.catalogue import ColumnSpec, TableSpec

CellKey = tuple[str, str, str, int, str]  # table_id, instance, side, row_order, column_key


def cell_key(item: LineItem) -> CellKey:
    return (item.table_id, item.instance or "", item.side or "", item.row_order, item.column_key)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    parents: tuple[str, ...] = ()


@dataclass(slots=True)
class Row:
    order: int
    label: str
    code: str | None
    level: str | None
    group: str | None
    line_no: int | None
    page: int | None
    line: int | None
    cells: dict[str, LineItem] = field(default_factory=dict)


@dataclass(slots=True)
class Block:
    """One printed grid: a whole table, or one side (收入 | 支出) of a two-sided table."""

    side: str | None
    columns: list[Column]
    rows: list[Row]


@dataclass(slots=True)
class PrintedTable:
    table: Table
    spec: TableSpec | None
    blocks: list[Block]

    @property
    def anchor(self) -> str:
        return "t-" + self.table.table_id.replace(".", "-") + (f"-{self.table.instance}" if self.table.instance else "")


def _spec(table_id: str) -> TableSpec | None:
    try:
        return catalogue.table(table_id)
    except KeyError:
        return None


def _catalogue_columns(spec: TableSpec | None, side: str | None) -> tuple[ColumnSpec, ...]:
    if spec is None:
        return ()
    if side and spec.sides:
        return next((s.columns for s in spec.sides if s.name == side), ())
    return spec.all_columns()


def _columns(spec: TableSpec | None, side: str | None, items: list[LineItem]) -> list[Column]:
    """Catalogue columns in template order, then any column the document printed beyond them (merged cells)."""
    out = [Column(c.key, c.label, c.parents) for c in _catalogue_columns(spec, side)]
    known = {c.key for c in out}
    for item in items:
        if item.column_key not in known:
            known.add(item.column_key)
            out.append(Column(item.column_key, item.header or item.column_key))
    used = {i.column_key for i in items}
    # a catalogue column nothing was printed in stays (as printed: an empty column), unless no row has any cell at all
    return out if used else []


def _rows(items: list[LineItem]) -> list[Row]:
    rows: dict[int, Row] = {}
    for item in sorted(items, key=lambda i: i.row_order):
        row = rows.get(item.row_order)
        if row is None:
            row = rows[item.row_order] = Row(
                order=item.row_order,
                label=item.label,
                code=item.code_printed or item.code,
                level=item.level,
                group=item.group,
                line_no=item.line_no,
                page=item.page,
                line=item.line,
            )
        row.cells.setdefault(item.column_key, item)
    return list(rows.values())


def printed_tables(ex: Extraction) -> list[PrintedTable]:
    """Every table of the document in printed order, with its rows and columns; tables without amounts have none."""
    by_table: dict[tuple[str, str], list[LineItem]] = defaultdict(list)
    for item in ex.items:
        by_table[(item.table_id, item.instance or "")].append(item)
    out = []
    for table in ex.tables:
        spec = _spec(table.table_id)
        items = by_table.get((table.table_id, table.instance or ""), [])
        sides = [s.name for s in spec.sides] if spec and spec.sides else [None]
        blocks = []
        for side in sides:
            part = [i for i in items if side is None or i.side == side]
            if part:
                blocks.append(Block(side=side, columns=_columns(spec, side, part), rows=_rows(part)))
        out.append(PrintedTable(table=table, spec=spec, blocks=blocks))
    return sorted(out, key=lambda p: (p.table.lines or (10**9, 0))[0])


@dataclass(slots=True)
class Marks:
    """Where each finding of a document points (findings numbered from 1 in report order)."""

    cells: dict[CellKey, list[tuple[int, bool]]] = field(default_factory=lambda: defaultdict(list))  # (no, checked)
    tables: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    text_lines: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    unplaced: list[int] = field(default_factory=list)

    def findings_of_table(self, table: Table) -> list[int]:
        key = (table.table_id, table.instance or "")
        found = set(self.tables.get(key, []))
        for (table_id, instance, *_), marks in self.cells.items():
            if (table_id, instance) == key:
                found.update(no for no, _ in marks)
        return sorted(found)


def _resolve(loc: Location, items: list[LineItem]) -> list[LineItem]:
    """The line items a location names; narrowed by line, code and label as far as they are given."""
    found = [
        i for i in items if i.table_id == loc.table_id and (loc.column is None or loc.column in i.column_key.split("|"))
    ]
    tests = (
        (loc.line, lambda i, v: i.line == v),
        (loc.code, lambda i, v: v in (i.code, i.code_printed)),
        (loc.row_label, lambda i, v: i.label == v),
    )
    for value, same in tests:
        if value is None:
            continue
        narrowed = [i for i in found if same(i, value)]
        if narrowed:
            found = narrowed
    if loc.row_label is None and loc.code is None and loc.line is None:
        return []  # only the table is named
    return found


def _table_at_line(tables: list[Table], line: int) -> Table | None:
    return next((t for t in tables if t.lines and t.lines[0] <= line <= t.lines[1]), None)


def finding_marks(ex: Extraction, findings: list[Finding]) -> Marks:
    """Resolve every finding's locations to cells, tables or lines of the text (numbers are 1-based positions)."""
    marks = Marks()
    shown = [t for t in ex.tables if t.status != TableStatus.MISSING]
    for no, finding in enumerate(findings, start=1):
        placed = False
        for position, loc in enumerate(finding.locations):
            if loc.table_id:
                cells = _resolve(loc, ex.items)
                for item in cells:
                    marks.cells[cell_key(item)].append((no, position == 0))
                if not cells:
                    table = ex.table(loc.table_id)
                    marks.tables[(loc.table_id, (table.instance or "") if table else "")].append(no)
                placed = True
            elif loc.line is not None:
                table = _table_at_line(shown, loc.line)
                if table is not None:
                    marks.tables[(table.table_id, table.instance or "")].append(no)
                else:
                    marks.text_lines[loc.line].append(no)
                placed = True
        if not placed:
            marks.unplaced.append(no)
    return marks
