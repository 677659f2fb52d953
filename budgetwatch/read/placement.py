"""Which columns a row's values stand in, when a text layer printed them without their blanks.

A layout text layer keeps a row's values in order but drops its empty cells, so a row of two values under a header of
five could stand in any two of them. The values are placed by what the header says: the template's columns when the
header names the first as many as the rows print, else the columns one header line names, in its order, when it names
exactly that many. Anything else is placed in template order and said to be a guess.
"""

from __future__ import annotations

from collections.abc import Sequence

from budgetwatch.labels import squeeze
from budgetwatch.read.catalogue import ColumnSpec


def named_in_line(columns: Sequence[ColumnSpec], tokens: list[str]) -> list[ColumnSpec]:
    """The columns whose label or alias is a token of the line, in the line's order, each once."""
    out: list[ColumnSpec] = []
    for token in map(squeeze, tokens):
        col = next((c for c in columns if token in c.labels and c not in out), None)
        if col is not None:
            out.append(col)
    return out


def column_order(
    columns: Sequence[ColumnSpec], header_lines: list[str], width: int
) -> tuple[list[ColumnSpec], str | None]:
    """The columns rows of `width` values stand in, and why that is a guess (None when the header settles it)."""
    if paired := interleaved(columns, header_lines, width):
        return paired, None
    if width >= len(columns) or width == 0:
        return list(columns), None
    header = squeeze("".join(header_lines))
    placed, rest = columns[:width], columns[width:]
    parents = {p for c in placed for p in c.parents}
    if all(_named(c, header) for c in placed) and not any(_named(c, header) - parents for c in rest):
        return list(columns), None
    for line in header_lines:
        named = named_in_line(columns, line.split())
        if len(named) == width:
            return named, None
    reason = (
        f"rows print {width} of the template's {len(columns)} columns and the header does not say which: "
        "values are placed in template order"
    )
    return list(columns), reason


def _named(col: ColumnSpec, header: str) -> set[str]:
    return {label for label in col.labels if label in header}


def interleaved(columns: Sequence[ColumnSpec], header_lines: list[str], width: int) -> list[ColumnSpec] | None:
    """Columns of two blocks (预算数 | 决算数) printed item by item, when a header line says so by alternating the
    blocks' names once per value: budget and final of the first item, then of the second …"""
    blocks: dict[str, list[ColumnSpec]] = {}
    for col in columns:
        if not col.parents:
            return None
        blocks.setdefault(col.parents[0], []).append(col)
    names = list(blocks)
    if len(names) < 2 or len({len(b) for b in blocks.values()}) != 1 or width != len(columns):
        return None
    for line in header_lines:
        tokens = [squeeze(t) for t in line.split()]
        if len(tokens) == width and all(t == names[k % len(names)] for k, t in enumerate(tokens)):
            return [blocks[names[k % len(names)]][k // len(names)] for k in range(width)]
    return None
