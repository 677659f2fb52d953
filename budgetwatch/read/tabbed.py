"""Reading a table whose text layer keeps cells apart with tabs (one line a row, one tab a cell)."""

from __future__ import annotations

import itertools
import re

from budgetwatch.amounts import is_amount
from budgetwatch.labels import normalise_label, squeeze
from budgetwatch.read.catalogue import ColumnSpec, TableSpec
from budgetwatch.read.codes import function_class_by_name
from budgetwatch.read.headers import assign_mixed, header_paths, header_word, is_stub, map_header
from budgetwatch.read.locate import Span
from budgetwatch.read.rawrows import (
    COVERED,
    ECONOMIC_CODE,
    FUNCTION_CODE,
    LayoutError,
    RaggedRows,
    RawCell,
    RawRow,
    RawTable,
    is_empty_statement,
)

_NUMBERS = re.compile(r"^\d{1,2}(?:\s+\d{1,2})*$")
_NUMBER_ROW_WORDS = {"栏次", "类", "款", "项", "行", "行次", ""}


def _is_number_row(cells: list[str]) -> bool:
    """The 栏次 row: column numbers 1, 2, 3 … (several may share a merged cell), beside 栏次/类/款/项 words only."""
    texts = [squeeze(c) for c in cells]
    numbers = [int(n) for c in cells if _NUMBERS.match(c.strip()) for n in c.split()]
    if not numbers or not all(t in _NUMBER_ROW_WORDS or _NUMBERS.match(t) for t in texts):
        return False
    return numbers[0] >= 1 and all(b == a + 1 for a, b in itertools.pairwise(numbers))


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


_TOTAL_WORDS = ("合计", "总计")
_HEADER_ROWS = 6  # how many rows a printed header may take


def _has_amount(cells: list[str]) -> bool:
    return any(c and is_amount(c) for c in cells)


def _split_header(rows: list[tuple[int, list[str]]]) -> tuple[int, int | None]:
    """Where the body begins, and the 栏次 row if one is printed: the body is what follows the 栏次 row, else it
    begins at the first row printing an amount, a code or a 合计 (an empty table prints only its 合计 row)."""
    number_at = next((k for k, (_, cells) in enumerate(rows) if _is_number_row(cells)), None)
    if number_at is not None:
        return number_at + 1, number_at
    for k, (_, cells) in enumerate(rows):
        texts = [squeeze(c) for c in cells if c.strip()]
        words = [w for w in texts[1:] if not is_amount(w) and w not in _STUB_LEAD]
        if _has_amount(cells) or (texts and not words and (texts[0] in _TOTAL_WORDS or FUNCTION_CODE.match(texts[0]))):
            return k, None
    # a grid printing no amount at all (a blank template): the body follows the last header row naming a label column
    stubbed = [k for k, (_, cells) in enumerate(rows[:_HEADER_ROWS]) if any(c.strip() and is_stub(c) for c in cells)]
    return (stubbed[-1] + 1 if stubbed else len(rows)), None


def _sides(spec: TableSpec, header_rows: list[list[str]], width: int) -> list[tuple[str | None, int, int]]:
    """The blocks of a two-sided table (side, first, end position), split where a label column begins; a one-sided
    table is one block."""
    if spec.layout != "two_sided":
        return [(None, 0, width)]
    labels = sorted({k for r in header_rows for k, c in enumerate(r) if header_word(c) in _SIDE_LABELS})
    starts = [k for n, k in enumerate(labels) if n == 0 or k > labels[n - 1] + 1]
    names = [s.name for s in spec.sides]
    if len(starts) < 2 or len(starts) > len(names):
        raise LayoutError(f"{spec.id} {spec.title}: {len(starts)} label columns, the template has {len(names)} sides")
    return [(names[n], k, starts[n + 1] if n + 1 < len(starts) else width) for n, k in enumerate(starts)]


_SIDE_LABELS = ("项目", "项目名称", "功能科目名称", "科目名称")


def _amount_positions(spec: TableSpec, head: list[list[str]], body, number_row: list[str] | None):
    """Each amount position's side and column(s), by what its header says; headers that name no column while
    values stand under them are reported, never placed by position."""
    width = max((len(c) for c in [*head, *(cells for _, cells in body)]), default=0)
    valued = {k for _, cells in body for k, c in enumerate(cells) if c and is_amount(c)}
    numbered = {k for k, c in enumerate(number_row or []) if _NUMBERS.match(c.strip())}
    paths = header_paths(head, list(range(width)))
    positions: dict[int, tuple[str | None, tuple[ColumnSpec, ...]]] = {}
    unnamed: dict[int, str] = {}
    for side, first, end in _sides(spec, head, width):
        columns = spec.side(side).columns if side else spec.columns
        left: dict[int, str] = {}
        for pos in range(first, end):
            path = paths[pos]
            if not path or (is_stub(path[-1]) and pos not in valued | numbered):
                continue
            if found := map_header(columns, path):
                positions[pos] = (side, found)
            elif pos in valued | numbered and not is_stub(path[-1]):
                left[pos] = path[-1]
        used = {c.key for s, cols in positions.values() if s == side for c in cols}
        mixed = assign_mixed([c for c in columns if c.key not in used], left)
        positions.update({pos: (side, (col,)) for pos, col in mixed.items()})
        unnamed.update({pos: "/".join(paths[pos]) for pos in left if pos not in mixed})
    if unnamed or not positions:
        found = " | ".join(dict.fromkeys(w for p in paths.values() for w in p))[:200] or "(none)"
        what = (
            f"headers naming no column of the template: {', '.join(unnamed.values())}"
            if unnamed
            else "no amount column"
        )
        raise LayoutError(f"{spec.id} {spec.title}: {what}; headers found: {found}")
    return positions


def read_tabbed(lines: list[str], span: Span) -> RawTable:
    """Raw rows of a tab-separated table section: amount columns by their headers, rows by their labels and codes."""
    spec = span.spec
    table = RawTable()
    rows, covered = _section_rows(lines, span, table)
    body_at, number_at = _split_header(rows)
    head = [cells for _, cells in rows[: number_at if number_at is not None else body_at]]
    number_row = rows[number_at][1] if number_at is not None else None
    body = rows[body_at:]
    positions = _amount_positions(spec, head, body, number_row)
    table.header_text = "".join(squeeze(c) for r in head for c in r)
    for _, cols in positions.values():
        for col in cols:
            table.column_headers[col.key] = col.header
        if len(cols) > 1:
            table.notes.append(
                f"columns {'/'.join(c.label for c in cols)} share one cell in the source; "
                "a value that cannot be placed keeps all their keys"
            )
    # a table continued on the next page repeats its header (and 栏次 row): those rows are not data
    seen_header = {tuple(squeeze(c) for c in r) for r in [*head, *([number_row] if number_row else [])]}
    body = [(i, c) for i, c in body if tuple(squeeze(x) for x in c) not in seen_header and not _is_number_row(c)]
    if (bad := _misaligned(body, positions)) is not None:
        raise RaggedRows(f"{spec.id} {spec.title}: line {bad + 1} prints its cells out of their columns")
    if spec.layout == "two_sided":
        table.rows = _two_sided_rows(spec, body, head, positions, covered)
    elif spec.layout == "groups":
        table.rows = _group_rows(spec, body, head, positions)
    else:
        levels = level_positions([*head, *([number_row] if number_row else []), *(c for _, c in body[:1])])
        table.rows = _plain_rows(spec, body, positions, levels if spec.layout in _CODED else {}, covered)
    header_merged = {tuple(c.key for c in cols) for _, cols in positions.values() if len(cols) > 1}
    for keys in sorted({c.columns for r in table.rows for c in r.cells if len(c.columns) > 1} - header_merged):
        names = "/".join(table.column_headers.get(k) or k for k in keys)
        table.notes.append(f"values printed in one cell over columns {names} keep the keys of all of them")
    return table


_CODED = ("function", "economic")
# words standing in a body row's label cells that are not its label: the 栏次 word, the 类/款/项 words printed on the
# 合计 row's line (合计 shares its grid row with the code-level header)
_STUB_LEAD = {"栏次", "类", "款", "项"}


def level_positions(header_rows: list[list[str]]) -> dict[str, int]:
    """Where a header prints separate 类 / 款 / 项 code columns."""
    found: dict[str, int] = {}
    for row in header_rows:
        for k, cell in enumerate(row):
            if squeeze(cell) in ("类", "款", "项"):
                found.setdefault(squeeze(cell), k)
    return found if len(found) >= 2 else {}


class SplitCodes:
    """Rebuilds codes printed in separate 类 | 款 | 项 columns, where merged cells leave the parent's digits blank."""

    def __init__(self, levels: dict[str, int]):
        self.levels = levels
        self.cls: str | None = None
        self.kuan: str | None = None

    def fragments(self, cells: list[str]) -> dict[str, str]:
        return {lv: cells[k].strip() for lv, k in self.levels.items() if k < len(cells) and cells[k].strip()}

    def code(self, cells: list[str]) -> str | None:
        # a 款 or 项 printed as one digit (2 for 02) is padded: the column says which level it is
        parts = {
            lv: v.zfill(2) if lv != "类" and v.isdigit() and len(v) == 1 else v
            for lv, v in self.fragments(cells).items()
        }
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
    split = SplitCodes(levels) if levels else None
    out = []
    for i, cells in body:
        joined = split.code(cells) if split else None
        if joined is not None:
            skip = set(split.levels.values())
            name = " ".join(c for k, c in enumerate(cells[:first_amount]) if c and k not in skip and c != "栏次")
            row_cells = _cells(cells, positions, covered=covered.get(i, frozenset()))
            out.append(RawRow(label=name, cells=row_cells, line=i, code=joined))
            continue
        lead = [c for c in cells[:first_amount] if c and squeeze(c) not in _STUB_LEAD]
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


def _block_row(cells: list[str], block: tuple[str | None, int, int], positions, line_nos, covered) -> tuple:
    side, first, end = block
    label = cells[first].strip() if first < len(cells) else ""
    line_no = next((cells[p].strip() for p in line_nos if first < p < end and p < len(cells)), "")
    subset = {p for p, (s, _) in positions.items() if s == side and first <= p < end}
    return side, label, line_no, _cells(cells, positions, subset, covered)


def _known_row(spec: TableSpec, label: str) -> bool:
    """The label is, exactly, a fixed row of some side of the table or a function class."""
    norm = normalise_label(label)
    fixed = any(r.matches(norm) for s in spec.sides for r in s.rows)
    return fixed or function_class_by_name(norm, exact=True) is not None


def _continues_label(spec: TableSpec, previous: RawRow | None, label: str) -> bool:
    """A label fragment alone on its row finishes the label above it (八、社会保障和就 / 业支出, a page between)."""
    if previous is None or not label or _known_row(spec, previous.label):
        return False
    return _known_row(spec, previous.label + label)


def _two_sided_rows(spec: TableSpec, body, head, positions, covered: dict) -> list[RawRow]:
    """Rows of each side block (收入 | 支出 [| 支出用途]); a label printed across into the next block, whose amounts
    stand there, goes with those amounts (当年支出小计 over 功能分类 and 支出用途); a label broken over two rows is
    joined."""
    width = max((len(c) for c in [*head, *(cells for _, cells in body)]), default=0)
    blocks = _sides(spec, head, width)
    line_nos = sorted({k for r in head for k, c in enumerate(r) if header_word(c) in ("行", "行次")})
    out: list[RawRow] = []
    last: dict[str | None, RawRow] = {}
    for i, cells in body:
        parts = [list(_block_row(cells, b, positions, line_nos, covered.get(i, frozenset()))) for b in blocks]
        for k in range(len(parts) - 1):
            here, after = parts[k], parts[k + 1]
            if here[1] and not any(c.raw for c in here[3]) and not after[1] and any(c.raw for c in after[3]):
                after[1], here[1] = here[1], ""
        for side, label, line_no, row_cells in parts:
            if not label and not line_no and not any(c.raw for c in row_cells):
                continue
            if not line_no and not any(c.raw for c in row_cells) and _continues_label(spec, last.get(side), label):
                last[side].label += label
                continue
            number = int(line_no) if line_no.isdigit() else None
            out.append(row := RawRow(label=label, cells=row_cells, line=i, side=side, line_no=number))
            last[side] = row
    return out


_PERSONNEL_CLASSES = ("301", "303")


def _group_fields(header_rows: list[list[str]], start: int, end: int) -> tuple[dict[str, int], int]:
    """Within one group: the positions of separately printed 类 / 款 code columns, and of the name."""
    levels: dict[str, int] = {}
    for row in header_rows:
        for k in range(start, min(end, len(row))):
            if squeeze(row[k]) in ("类", "款") and squeeze(row[k]) not in levels:
                levels[squeeze(row[k])] = k
    named = [k for row in header_rows for k in range(start, min(end, len(row))) if "名称" in squeeze(row[k])]
    return levels, (min(named) if named else (max(levels.values()) + 1 if levels else start + 1))


def _footer_rows(spec: TableSpec, i: int, cells: list[str], positions, footers: set[str]) -> list[RawRow]:
    amount_pos = sorted(positions)
    out = []
    for k, label in [(k, squeeze(c)) for k, c in enumerate(cells) if squeeze(c) in footers]:
        pos = next((p for p in amount_pos if p > k and p < len(cells) and cells[p]), None)
        col = positions[pos if pos is not None else amount_pos[0]][1][0]
        out.append(
            RawRow(label=label, cells=[RawCell((col.key,), cells[pos] if pos is not None else "", col.header)], line=i)
        )
    return out


def _group_rows(spec: TableSpec, body, header_rows, positions) -> list[RawRow]:
    """Several (code, name, amount) groups side by side, as in the 基本支出明细 table; codes printed in separate 类 |
    款 columns are joined, the 类 carried down to the 款 rows that leave it blank."""
    starts = sorted(
        {k for r in header_rows for k, c in enumerate(r) if "分类科目" in squeeze(c) or squeeze(c) == "科目编码"}
    )
    top = next((r for r in header_rows if any("经费" in squeeze(c) for c in r)), [])
    names = {k: ("personnel" if "人员" in squeeze(c) else "public") for k, c in enumerate(top) if "经费" in squeeze(c)}
    footers = {f.label for f in spec.footer_rows}
    width = max((len(c) for _, c in body), default=0) + 1
    bounds = [(s, starts[g + 1] if g + 1 < len(starts) else width) for g, s in enumerate(starts)]
    fields = [_group_fields(header_rows, s, e) for s, e in bounds]
    splits = [SplitCodes(levels) if len(levels) == 2 else None for levels, _ in fields]
    per_group: list[list[RawRow]] = [[] for _ in starts]
    footer_rows: list[RawRow] = []
    for i, cells in body:
        if found := _footer_rows(spec, i, cells, positions, footers):
            footer_rows.extend(found)
            continue
        for g, (start, end) in enumerate(bounds):
            name_at = fields[g][1]
            code = splits[g].code(cells) if splits[g] else (cells[start] if start < len(cells) else "")
            name = cells[name_at] if name_at < len(cells) else ""
            if not code and not name:
                continue
            pos = next((p for p in sorted(positions) if name_at < p < end), None)
            raw = cells[pos] if pos is not None and pos < len(cells) else ""
            group = next((names[k] for k in sorted(names, reverse=True) if k <= start), None)
            if group is None and code:
                group = "personnel" if code[:3] in _PERSONNEL_CLASSES else "public"
            col = positions[pos][1][0] if pos is not None else spec.columns[0]
            per_group[g].append(
                RawRow(label=name, cells=[RawCell((col.key,), raw, col.header)], line=i, code=code or None, group=group)
            )
    # reading order: each group top to bottom, as printed, then the footer
    return [row for rows in per_group for row in rows] + footer_rows


def looks_tabbed(lines: list[str], span: Span) -> bool:
    """True when most table lines of the span carry tabs."""
    body = [lines[i] for i in range(span.title_line + 1, span.end) if lines[i].strip()]
    return sum("\t" in line for line in body) >= max(2, len(body) // 3)


def _misaligned(body: list[tuple[int, list[str]]], positions: dict) -> int | None:
    """The first line where a row's cells stand in the wrong columns: a label under an amount header, or a formatted
    amount where no amount column is. Blank cells were dropped there, so positions say nothing of columns."""
    for i, cells in body:
        for k, cell in enumerate(map(str.strip, cells)):
            if not cell:
                continue
            if k in positions and _LABEL.search(cell) and not is_amount(cell):
                return i
            if k not in positions and is_amount(cell) and ("." in cell or "," in cell):
                return i
    return None


# a label: two Chinese characters or more (an amount cell may say 无 or —, never a row's name)
_LABEL = re.compile(r"[\u4e00-\u9fff]{2,}")


__all__ = ["SplitCodes", "is_amount", "level_positions", "looks_tabbed", "read_tabbed"]
