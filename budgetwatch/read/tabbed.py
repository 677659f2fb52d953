"""Reading a table whose text layer keeps cells apart with tabs (one line a row, one tab a cell)."""

from __future__ import annotations

import itertools
import re
from collections import Counter

from budgetwatch.amounts import is_amount
from budgetwatch.labels import squeeze
from budgetwatch.read.catalogue import ColumnSpec, TableSpec
from budgetwatch.read.locate import Span
from budgetwatch.read.rawrows import (
    COVERED,
    ECONOMIC_CODE,
    FUNCTION_CODE,
    LayoutError,
    RawCell,
    RawRow,
    RawTable,
    is_empty_statement,
)

_NUMBERS = re.compile(r"^\d{1,2}(?:\s+\d{1,2})*$")
_NUMBER_ROW_WORDS = {"栏次", "类", "款", "项", "行", "行次", ""}


def ordered_columns(spec: TableSpec) -> list[tuple[str | None, ColumnSpec]]:
    """Amount columns in printed (栏次) order, with their side for two-sided tables."""
    if spec.sides:
        return [(side.name, col) for side in spec.sides for col in side.columns]
    return [(None, col) for col in spec.columns]


def _is_number_row(cells: list[str]) -> bool:
    """The 栏次 row: column numbers 1, 2, 3 … (several may share a merged cell), beside 栏次/类/款/项 words only."""
    texts = [squeeze(c) for c in cells]
    numbers = [int(n) for c in cells if _NUMBERS.match(c.strip()) for n in c.split()]
    if not numbers or not all(t in _NUMBER_ROW_WORDS or _NUMBERS.match(t) for t in texts):
        return False
    return numbers[0] >= 1 and all(b == a + 1 for a, b in itertools.pairwise(numbers))


def _header_text(header_rows: list[list[str]], pos: int) -> str:
    return "".join(squeeze(r[pos]) for r in header_rows if pos < len(r))


def _position_columns(spec: TableSpec, header_rows: list[list[str]], number_row: list[str], notes: list[str]):
    """Map each amount position of the number row to its column(s); merged header cells give several."""
    ordered = ordered_columns(spec)
    positions: dict[int, tuple[str | None, tuple[ColumnSpec, ...]]] = {}
    for pos, cell in enumerate(number_row):
        if not _NUMBERS.match(cell.strip()):
            continue
        numbers = [int(n) for n in cell.split()]
        if max(numbers) > len(ordered):
            raise LayoutError(
                f"{spec.id} {spec.title}: column {max(numbers)} printed, the template has {len(ordered)} columns"
            )
        side = ordered[numbers[0] - 1][0]
        cols = [ordered[n - 1][1] for n in numbers]
        header = _header_text(header_rows, pos)
        # a header cell naming several consecutive template columns means the source merged them
        k = numbers[-1]
        while k < len(ordered) and ordered[k][0] == side and any(lbl in header for lbl in ordered[k][1].labels):
            if not any(lbl in header for lbl in cols[-1].labels):
                break
            cols.append(ordered[k][1])
            k += 1
        if len(cols) > len(numbers):
            notes.append(
                f"columns {'/'.join(c.label for c in cols)} share one cell in the source; "
                "a value that cannot be placed keeps all their keys"
            )
        positions[pos] = (side, tuple(cols))
    return positions


def _data_positions(spec: TableSpec, body) -> dict[int, tuple[str | None, tuple[ColumnSpec, ...]]]:
    """Where every template column prints a value in the data rows (budget templates print 0.00 rather than blank),
    the amount positions are those columns, in template order."""
    if spec.layout in ("groups", "two_sided"):
        return {}
    ordered = ordered_columns(spec)
    found = sorted({k for _, cells in body for k, c in enumerate(cells) if c and "." in c and is_amount(c)})
    if len(found) != len(ordered):
        return {}
    return {pos: (side, (col,)) for pos, (side, col) in zip(found, ordered, strict=True)}


def _names(header: str, label: str) -> bool:
    """The header cell says the label: exactly, as its ending, or with the label's characters all there (narrow
    PDF cells give wrapped header text back with neighbouring characters mixed in)."""
    if header == label or header.endswith(label):
        return True
    return len(label) >= 3 and not (Counter(label) - Counter(header)) and len(header) <= 2 * len(label)


def _labelled_positions(spec: TableSpec, header_rows: list[list[str]]):
    """Amount positions from header cells that name a template column, assigned in template order."""
    ordered = ordered_columns(spec)
    width = max((len(r) for r in header_rows), default=0)
    positions: dict[int, tuple[str | None, tuple[ColumnSpec, ...]]] = {}
    pointer = 0
    for pos in range(width):
        header = _header_text(header_rows, pos)
        if not header:
            continue
        for k in [*range(pointer, len(ordered)), *range(0, pointer)]:
            side, col = ordered[k]
            if any(_names(header, squeeze(lbl)) for lbl in col.labels):
                positions[pos] = (side, (col,))
                pointer = k + 1 if spec.layout != "groups" else 0
                break
    return positions


def _split(line: str) -> list[str]:
    return [c.strip() for c in line.rstrip("\n").split("\t")]


def _section_rows(
    lines: list[str], span: Span, table: RawTable
) -> tuple[list[tuple[int, list[str]]], dict[int, frozenset[int]]]:
    """The tab-separated rows of a section with their line, and the positions each line's merged amount cells cover
    to their left; an empty-table statement and notes go to the table."""
    rows: list[tuple[int, list[str]]] = []
    covered: dict[int, frozenset[int]] = {}
    for i in range(span.title_line + 1, span.end):
        text = lines[i]
        if i in span.header_lines or not text.strip():
            continue
        if "\t" in text:
            cells = _split(text)
            if COVERED in cells:
                covered[i] = frozenset(k for k, c in enumerate(cells) if c == COVERED)
                cells = ["" if c == COVERED else c for c in cells]
            rows.append((i, cells))
        elif is_empty_statement(text):
            table.statement = text.strip()
        elif text.strip().startswith(("注", "备注")) or re.match(r"^\d+\.\s*\S", text.strip()):
            table.notes.append(text.strip())
    return rows, covered


def read_tabbed(lines: list[str], span: Span) -> RawTable:
    """Raw rows of a tab-separated table section."""
    spec = span.spec
    table = RawTable()
    rows, covered = _section_rows(lines, span, table)
    number_at = next((k for k, (_, cells) in enumerate(rows) if _is_number_row(cells)), None)
    if number_at is not None:
        header_rows = [cells for _, cells in rows[:number_at]]
        positions = _position_columns(spec, header_rows, rows[number_at][1], table.notes)
    else:
        # no 栏次 row: amount columns are found by their header labels
        number_at = next(
            (k for k, (_, cells) in enumerate(rows) if any("." in c and is_amount(c) for c in cells)),
            len(rows),
        )
        number_at -= 1
        header_rows = [cells for _, cells in rows[: number_at + 1]]
        positions = _data_positions(spec, rows[number_at + 1 :]) or _labelled_positions(spec, header_rows)
    if not positions:
        raise LayoutError(
            f"{spec.id} {spec.title}: no amount column recognised in the header (lines {span.start + 1}-{span.end}): "
            + " | ".join(c for r in header_rows for c in r if c)[:200]
        )
    table.header_text = "".join(squeeze(c) for r in header_rows for c in r)
    for _, cols in positions.values():
        for col in cols:
            table.column_headers[col.key] = col.header
    # a table continued on the next page repeats its header (and 栏次 row): those rows are not data
    seen_header = {tuple(squeeze(c) for c in r) for r in [*header_rows, rows[number_at][1]]}
    body = [
        (i, cells)
        for i, cells in rows[number_at + 1 :]
        if tuple(squeeze(c) for c in cells) not in seen_header and not _is_number_row(cells)
    ]
    if spec.layout == "two_sided":
        table.rows = _two_sided_rows(body, header_rows, positions, covered)
    elif spec.layout == "groups":
        table.rows = _group_rows(spec, body, header_rows, positions)
    else:
        levels = _level_positions([*header_rows, rows[number_at][1]]) if spec.layout == "function" else {}
        table.rows = _plain_rows(spec, body, positions, levels, covered)
    header_merged = {tuple(c.key for c in cols) for _, cols in positions.values() if len(cols) > 1}
    for keys in sorted({c.columns for r in table.rows for c in r.cells if len(c.columns) > 1} - header_merged):
        names = "/".join(table.column_headers.get(k) or k for k in keys)
        table.notes.append(f"values printed in one cell over columns {names} keep the keys of all of them")
    return table


def _level_positions(header_rows: list[list[str]]) -> dict[str, int]:
    """Where a header prints separate 类 / 款 / 项 code columns."""
    found: dict[str, int] = {}
    for row in header_rows:
        for k, cell in enumerate(row):
            if squeeze(cell) in ("类", "款", "项"):
                found.setdefault(squeeze(cell), k)
    return found if len(found) >= 2 else {}


class _SplitCodes:
    """Rebuilds codes printed in separate 类 | 款 | 项 columns, where merged cells leave the parent's digits blank."""

    def __init__(self, levels: dict[str, int]):
        self.levels = levels
        self.cls: str | None = None
        self.kuan: str | None = None

    def fragments(self, cells: list[str]) -> dict[str, str]:
        return {lv: cells[k].strip() for lv, k in self.levels.items() if k < len(cells) and cells[k].strip()}

    def code(self, cells: list[str]) -> str | None:
        parts = self.fragments(cells)
        shaped = {"类": 3, "款": 2, "项": 2}
        if not parts or not all(v.isdigit() and len(v) == shaped[lv] for lv, v in parts.items()):
            return None
        if not any(lv in parts for lv in ("款", "项")):
            self.cls, self.kuan = parts["类"], None
            return self.cls
        cls = parts.get("类", self.cls)
        if cls is None:
            return None
        if "款" in parts:
            self.cls, self.kuan = cls, cls + parts["款"]
        if "项" not in parts:
            return self.kuan
        return (self.kuan or "") + parts["项"] if self.kuan else None


def _cells(
    cells: list[str],
    positions: dict[int, tuple[str | None, tuple[ColumnSpec, ...]]],
    subset=None,
    covered: frozenset[int] = frozenset(),
):
    """The row's amount cells; a value in a cell merged over several amount columns keeps all their keys."""
    out = []
    for pos, (side, cols) in sorted(positions.items()):
        if (subset is not None and pos not in subset) or pos in covered:
            continue
        keys = [c.key for c in cols]
        nxt = pos + 1
        while nxt in covered:
            if nxt in positions and positions[nxt][0] == side:
                keys.extend(c.key for c in positions[nxt][1] if c.key not in keys)
            nxt += 1
        raw = cells[pos] if pos < len(cells) else ""
        out.append(RawCell(columns=tuple(keys), raw=raw, header=cols[0].header))
    return out


def _plain_rows(
    spec: TableSpec, body, positions, levels: dict[str, int] | None = None, covered: dict | None = None
) -> list[RawRow]:
    covered = covered or {}
    first_amount = min(positions)
    code_re = ECONOMIC_CODE if spec.layout == "economic" else FUNCTION_CODE
    split = _SplitCodes(levels) if levels else None
    out = []
    for i, cells in body:
        joined = split.code(cells) if split else None
        if joined is not None:
            skip = set(split.levels.values())
            name = " ".join(c for k, c in enumerate(cells[:first_amount]) if c and k not in skip and c != "栏次")
            row_cells = _cells(cells, positions, covered=covered.get(i, frozenset()))
            out.append(RawRow(label=name, cells=row_cells, line=i, code=joined))
            continue
        lead = [c for c in cells[:first_amount] if c and c != "栏次"]
        code = next(
            (
                c
                for c in lead
                if code_re.match(c) or (spec.layout in ("units", "projects") and c.isalnum() and c.isascii())
            ),
            None,
        )
        label = " ".join(c for c in lead if c != code)
        row_cells = _cells(cells, positions, covered=covered.get(i, frozenset()))
        if not label and not code and not any(c.raw for c in row_cells):
            continue
        out.append(RawRow(label=label, cells=row_cells, line=i, code=code))
    return out


def _two_sided_rows(body, header_rows, positions, covered: dict) -> list[RawRow]:
    label_pos = sorted({k for r in header_rows for k, c in enumerate(r) if squeeze(c) == "项目"})
    lineno_pos = sorted({k for r in header_rows for k, c in enumerate(r) if squeeze(c) in ("行", "行次")})
    sides = sorted({side for side, _ in positions.values()}, key=lambda s: 0 if s == "income" else 1)
    if len(label_pos) < len(sides):
        label_pos = [0, *[min(p for p, (s, _) in positions.items() if s == side) - 2 for side in sides[1:]]]
    out = []
    for i, cells in body:
        for k, side in enumerate(sides):
            lo = label_pos[k]
            hi = label_pos[k + 1] if k + 1 < len(label_pos) else len(cells) + 1
            label = cells[lo] if lo < len(cells) else ""
            line_no_pos = next((p for p in lineno_pos if lo < p < hi), None)
            line_no_text = cells[line_no_pos] if line_no_pos is not None and line_no_pos < len(cells) else ""
            subset = {p for p, (s, _) in positions.items() if s == side}
            row_cells = _cells(cells, positions, subset, covered.get(i, frozenset()))
            if not label and not line_no_text and not any(c.raw for c in row_cells):
                continue
            out.append(
                RawRow(
                    label=label,
                    cells=row_cells,
                    line=i,
                    side=side,
                    line_no=int(line_no_text) if line_no_text.isdigit() else None,
                )
            )
    return out


def _group_rows(spec: TableSpec, body, header_rows, positions) -> list[RawRow]:
    """Several (code, name, amount) groups side by side, as in the 基本支出明细 table."""
    starts = sorted(
        {k for r in header_rows for k, c in enumerate(r) if "分类科目" in squeeze(c) or squeeze(c) == "科目编码"}
    )
    top = next((r for r in header_rows if any("经费" in squeeze(c) for c in r)), [])
    names = {k: ("personnel" if "人员" in squeeze(c) else "public") for k, c in enumerate(top) if "经费" in squeeze(c)}
    amount_pos = sorted(positions)
    footers = {f.label for f in spec.footer_rows}
    per_group: list[list[RawRow]] = [[] for _ in starts]
    footer_rows: list[RawRow] = []
    for i, cells in body:
        footer_cells = [(k, squeeze(c)) for k, c in enumerate(cells) if squeeze(c) in footers]
        for k, label in footer_cells:
            pos = next((p for p in amount_pos if p > k and p < len(cells) and cells[p]), None)
            col = positions[pos if pos is not None else amount_pos[0]][1][0]
            raw = cells[pos] if pos is not None else ""
            footer_rows.append(RawRow(label=label, cells=[RawCell((col.key,), raw, col.header)], line=i))
        if footer_cells:
            continue
        for g, start in enumerate(starts):
            end = starts[g + 1] if g + 1 < len(starts) else len(cells) + 1
            pos = next((p for p in amount_pos if start < p < end), None)
            code = cells[start] if start < len(cells) else ""
            name = cells[start + 1] if start + 1 < len(cells) else ""
            if not code and not name:
                continue
            raw = cells[pos] if pos is not None and pos < len(cells) else ""
            group = next((names[k] for k in sorted(names, reverse=True) if k <= start), None)
            col = positions[pos][1][0] if pos is not None else spec.columns[0]
            per_group[g].append(
                RawRow(
                    label=name,
                    cells=[RawCell((col.key,), raw, col.header)],
                    line=i,
                    code=code or None,
                    group=group,
                )
            )
    # reading order: each group top to bottom, as printed, then the footer
    return [row for rows in per_group for row in rows] + footer_rows


def looks_tabbed(lines: list[str], span: Span) -> bool:
    """True when most table lines of the span carry tabs."""
    body = [lines[i] for i in range(span.title_line + 1, span.end) if lines[i].strip()]
    return sum("\t" in line for line in body) >= max(2, len(body) // 3)


__all__ = ["is_amount", "looks_tabbed", "ordered_columns", "read_tabbed"]
