"""Mapping raw rows onto the canonical model: codes and levels rebuilt, fixed rows keyed, amounts made exact."""

from __future__ import annotations

from dataclasses import dataclass

from budgetwatch.amounts import is_amount, is_percent, parse_amount
from budgetwatch.labels import normalise_label
from budgetwatch.model import LineItem
from budgetwatch.read import codes
from budgetwatch.read.catalogue import RowSpec, TableSpec
from budgetwatch.read.rawrows import RawRow, RawTable


@dataclass(slots=True)
class RowIdentity:
    code: str | None = None
    scheme: str | None = None
    level: str | None = None
    code_printed: str | None = None
    row_key: str | None = None
    side: str | None = None  # where a row printed in one side's block belongs to another (当年支出小计 in 支出用途)


def _function_identities(rows: list[RawRow], year: int | None, notes: list[str]) -> list[RowIdentity]:
    """类/款/项 from code length; a 项 printed with its 款's 5-digit code is rebuilt from its name."""
    out: list[RowIdentity] = []
    seen_section: set[str] = set()
    for row in rows:
        code = row.code
        if not code:
            out.append(RowIdentity())
            continue
        level = codes.level_of("function", code)
        if len(code) == 5 and code in seen_section:
            child = codes.child_by_name("function", code, row.label)
            if child is not None:
                out.append(RowIdentity(child.code, "function", "项", code_printed=code))
            else:
                notes.append(f"项 row {row.label} under {code} printed without its 7-digit code; not in the code list")
                out.append(RowIdentity(code, "function", "项", code_printed=code))
            continue
        if len(code) == 5:
            seen_section.add(code)
        out.append(RowIdentity(code, "function", level))
    return out


def _economic_identities(rows: list[RawRow], notes: list[str]) -> list[RowIdentity]:
    """Economic codes; where only the 3-digit 类 is printed on item rows, the 款 code is found by name."""
    out: list[RowIdentity] = []
    # a table printing 5-digit 款 codes prints its 类 rows with their own 3-digit codes, whatever the 类 is named
    # there (names change between classification editions: 310 其他资本性支出 before 2018)
    full_codes = any(row.code and len(row.code) == 5 for row in rows)
    for row in rows:
        code = row.code
        if not code:
            out.append(RowIdentity())
            continue
        if len(code) == 3:
            entry = codes.lookup("economic", code)
            is_class = entry is not None and normalise_label(row.label) in {normalise_label(n) for n in entry.names}
            if is_class or full_codes or not row.label:
                out.append(RowIdentity(code, "economic", "类"))
                continue
            child = codes.child_by_name("economic", code, row.label)
            if child is None:
                notes.append(f"economic item {row.label} under {code} not found in the code list")
                out.append(RowIdentity(code, "economic", "款", code_printed=code))
            else:
                out.append(RowIdentity(child.code, "economic", "款", code_printed=code))
            continue
        out.append(RowIdentity(code, "economic", codes.level_of("economic", code)))
    return out


def _fixed_row(specs: tuple[RowSpec, ...], label_norm: str, cursor: int) -> tuple[RowSpec | None, int]:
    for k in range(cursor, len(specs)):
        if specs[k].matches(label_norm):
            return specs[k], k + 1
    return None, cursor


def _fixed_row_key(specs: tuple[RowSpec, ...], label_norm: str, cursor: int) -> tuple[str | None, int]:
    row, cursor = _fixed_row(specs, label_norm, cursor)
    return (row.key if row else None), cursor


def _two_sided_identities(spec: TableSpec, rows: list[RawRow]) -> list[RowIdentity]:
    cursors = {side.name: 0 for side in spec.sides}
    out = []
    for row in rows:
        side = spec.side(row.side) if row.side else None
        norm = normalise_label(row.label)
        ident = RowIdentity()
        if side is not None and norm:
            fixed, cursors[side.name] = _fixed_row(side.rows, norm, cursors[side.name])
            ident.row_key, ident.side = (fixed.key, fixed.side) if fixed else (None, None)
            if fixed is None and side.class_rows and (cls := codes.function_class_by_name(norm)):
                ident = RowIdentity(cls.code, "function", "类")
        out.append(ident)
    return out


def _identities(spec: TableSpec, raw: RawTable, year: int | None) -> list[RowIdentity]:
    rows = raw.rows
    if spec.layout == "function":
        return _function_identities(rows, year, raw.notes)
    if spec.layout in ("economic", "groups"):
        idents = _economic_identities(rows, raw.notes)
        for ident, row in zip(idents, rows, strict=True):
            if row.code is None:
                ident.row_key, _ = _fixed_row_key(spec.footer_rows, normalise_label(row.label), 0)
        return idents
    if spec.layout == "two_sided":
        return _two_sided_identities(spec, rows)
    if spec.layout == "funding":
        keys = []
        for row in rows:
            key = next(
                (r.key for r in spec.fixed_rows if r.block == row.group and r.matches(normalise_label(row.label))),
                None,
            )
            keys.append(RowIdentity(row_key=key))
        return keys
    if spec.layout in ("units", "projects"):
        return [
            RowIdentity(row.code, "unit" if row.code.isdigit() and len(row.code) >= 3 else "project")
            if row.code
            else RowIdentity()
            for row in rows
        ]
    return [RowIdentity() for _ in rows]


def _placed_columns(columns: tuple[str, ...], micros: int | None, first_value: int | None) -> tuple[str, ...]:
    """A value in a merged cell that differs from the row total cannot be the whole row: it is the first column."""
    if len(columns) > 1 and micros is not None and first_value is not None and micros != first_value:
        return columns[:1]
    return columns


def raw_to_items(
    spec: TableSpec, raw: RawTable, *, unit: str, year: int | None, instance: str | None = None
) -> list[LineItem]:
    """Line items of one table: one per (row, column), blanks kept."""
    items: list[LineItem] = []
    identities = _identities(spec, raw, year)
    for order, (row, ident) in enumerate(zip(raw.rows, identities, strict=True), start=1):
        label_norm = normalise_label(row.label)
        if not label_norm and not row.code and spec.layout in ("single", "projects", "units") and order == 1:
            label_norm = "合计"  # the unlabelled first row of these tables is the table total
        first_value: int | None = None
        for k, cell in enumerate(row.cells):
            text = cell.raw.strip()
            if text and not (is_amount(text) or is_percent(text)):
                raw.notes.append(f"not a number in row {row.label or label_norm}, column {cell.header}: {text!r}")
                continue
            micros, decimals = parse_amount(text) if text else (None, 2)
            if k == 0:
                first_value = micros
            columns = _placed_columns(cell.columns, micros, first_value if k > 0 else None)
            items.append(
                LineItem(
                    table_id=spec.id,
                    row_order=order,
                    label=row.label,
                    label_norm=label_norm,
                    column_key="|".join(columns),
                    header=cell.header or raw.column_headers.get(columns[0], ""),
                    micros=micros,
                    raw=cell.raw,
                    blank=not text,
                    unit="%" if is_percent(text) else unit,
                    decimals=decimals,
                    side=ident.side or row.side,
                    row_key=ident.row_key,
                    code=ident.code,
                    code_scheme=ident.scheme,
                    level=ident.level,
                    code_printed=ident.code_printed,
                    line_no=row.line_no,
                    group=row.group,
                    line=row.line + 1,
                    instance=instance,
                )
            )
    return items
