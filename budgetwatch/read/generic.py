"""Tables no template family describes, read for what they print: classification codes or 合计 rows.

A run of tab-separated rows outside the recognised tables that prints amounts beside classification codes, or a 合计 /
总计 row, is a table even when its title names no known table (a province's own extra table, a new generation's). It
is read without a template: amount columns keyed by their printed header path, rows by code or label, so that the
template-free checks (类 = Σ 款 = Σ 项, 合计 = Σ 类) run on it. Its status is
`unrecognised`; the title and headers stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from budgetwatch.amounts import is_amount
from budgetwatch.labels import squeeze
from budgetwatch.read.catalogue import ColumnSpec, TableSpec
from budgetwatch.read.headers import header_paths, is_stub
from budgetwatch.read.rawrows import ECONOMIC_CODE, FUNCTION_CODE, RawCell, RawRow, RawTable
from budgetwatch.read.tabbed import SplitCodes, level_positions

TABLE_ID = "unrecognised"
_TOTAL = ("合计", "总计")
_MIN_ROWS = 3
_GAP = 2  # lines without tabs a grid may hold (a page number, a repeated title) and go on
_TITLE_BACK = 4  # how many lines above a grid its title may stand


@dataclass(slots=True)
class Grid:
    """A run of tab-separated lines outside the recognised tables (0-based, end exclusive) and its title line."""

    start: int
    end: int
    title: str


def _runs(lines: list[str], taken: set[int]) -> list[tuple[int, int]]:
    runs, start, last = [], None, -10
    for i, line in enumerate(lines):
        if "\t" in line and i not in taken:
            if start is None or i - last > _GAP + 1:
                if start is not None:
                    runs.append((start, last + 1))
                start = i
            last = i
    if start is not None:
        runs.append((start, last + 1))
    return [(a, b) for a, b in runs if sum("\t" in lines[k] for k in range(a, b)) >= _MIN_ROWS]


def _lead(cells: list[str]) -> str:
    return next((squeeze(c) for c in cells if c.strip()), "")


def _tabular(lines: list[str], start: int, end: int) -> bool:
    """Amounts beside classification codes, or a 合计 row: what makes a grid a budget table."""
    rows = [line.split("\t") for line in lines[start:end] if "\t" in line]
    amounts = any(is_amount(c) and any(ch in c for ch in ".,") for row in rows for c in row)
    coded = sum(1 for row in rows if FUNCTION_CODE.match(_lead(row)) or ECONOMIC_CODE.match(_lead(row)))
    total = any(_lead(row) in _TOTAL for row in rows)
    return amounts and (coded >= 2 or total)


def _title(lines: list[str], start: int) -> str:
    for k in range(start - 1, max(start - 1 - _TITLE_BACK, -1), -1):
        text = lines[k].strip()
        if text and "\t" not in text and len(text) <= 60 and "表" in text:
            return text
    return ""


def unknown_grids(lines: list[str], taken: set[int]) -> list[Grid]:
    """Grids of budget rows that no recognised table covers, with the title standing above each."""
    return [Grid(a, b, _title(lines, a)) for a, b in _runs(lines, taken) if _tabular(lines, a, b)]


def _columns(head: list[list[str]], valued: list[int]) -> dict[int, ColumnSpec]:
    paths = header_paths(head, valued)
    out = {}
    for pos in valued:
        path = [w for w in paths[pos] if not is_stub(w)]
        key = "/".join(path) if path else f"列{pos + 1}"
        out[pos] = ColumnSpec(key=key, label=path[-1] if path else key, parents=tuple(path[:-1]))
    return out


def _body_start(rows: list[tuple[int, list[str]]]) -> int:
    """Index of the first row printing an amount with a separator: the header ends above it."""
    for k, (_, cells) in enumerate(rows):
        if any(is_amount(c) and re.search(r"[.,]", c) for c in cells):
            return k
    return len(rows)


def _code_column(body: list[tuple[int, list[str]]], pos: int) -> bool:
    """Every number printed in the column is a classification code (a 合计 label may stand there too)."""
    numbers = [cells[pos] for _, cells in body if pos < len(cells) and is_amount(cells[pos])]
    return bool(numbers) and all(FUNCTION_CODE.match(c) or ECONOMIC_CODE.match(c) for c in numbers)


def _row(cells: list[str], columns: dict[int, ColumnSpec], split: SplitCodes | None, i: int) -> RawRow:
    first = min(columns, default=len(cells))
    skip = set(split.levels.values()) if split else set()
    lead = [c for k, c in enumerate(cells[:first]) if c and k not in skip and squeeze(c) not in ("类", "款", "项")]
    code = split.code(cells) if split else None
    code = code or next((c for c in lead if FUNCTION_CODE.match(c) or ECONOMIC_CODE.match(c)), None)
    row_cells = [RawCell((col.key,), cells[p] if p < len(cells) else "", col.header) for p, col in columns.items()]
    return RawRow(label=" ".join(c for c in lead if c != code), cells=row_cells, line=i, code=code)


def read_generic(lines: list[str], grid: Grid) -> tuple[TableSpec, RawTable]:
    """A grid read without a template: amount columns by header path, rows by code (joined from 类 | 款 | 项 columns
    where printed apart) and label."""
    rows = [(i, [c.strip() for c in lines[i].split("\t")]) for i in range(grid.start, grid.end) if "\t" in lines[i]]
    body_at = _body_start(rows)
    head, body = [cells for _, cells in rows[:body_at]], rows[body_at:]
    levels = level_positions([*head, *(cells for _, cells in body[:1])])
    code_at = set(levels.values())
    valued = sorted({k for _, cells in body for k, c in enumerate(cells) if c and is_amount(c) and k not in code_at})
    # a column whose every value is a code is the code column, not amounts
    valued = [p for p in valued if not _code_column(body, p)]
    columns = _columns(head, valued)
    table = RawTable(header_text="".join(squeeze(c) for r in head for c in r))
    table.column_headers = {c.key: c.header for c in columns.values()}
    split = SplitCodes(levels) if levels else None
    for i, cells in body:
        row = _row(cells, columns, split, i)
        if row.label or row.code or any(c.raw for c in row.cells):
            table.rows.append(row)
    codes = [r.code for r in table.rows if r.code]
    layout = "economic" if codes and all(c.startswith("3") for c in codes) else "function" if codes else "list"
    spec = TableSpec(id=TABLE_ID, kind="any", title=grid.title, layout=layout, columns=tuple(columns.values()))
    return spec, table
