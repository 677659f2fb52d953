"""The identity rules compiled against the kinds of cell present: which cells take part in which comparison.

A cell's kind is everything a rule can see of it: table, instance, side, row key, code, level, code scheme, column
and whether it is a 合计 row. Documents of one template share a few hundred kinds, so the rules are compiled once
against the distinct kinds of a batch, and every identity becomes a fixed signed sum of per-document kind values
(`budgetwatch.check.evaluate` computes them). Pure functions over small frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from budgetwatch.check.rules import CellRef, RowsRef, Rule
from budgetwatch.read import catalogue

TOTAL_LABELS = ("合计", "总计")
KIND_COLUMNS = ("table_id", "instance", "side", "row_key", "code", "level", "code_scheme", "column_key", "total_row")
TOTAL = "__total__"  # the parent of top-level rows in a hierarchy: the table's 合计

# what identifies one comparison of a rule within a document (columns_sum: within a row of it)
COMPARISON_KEY: dict[str, pl.DataType] = {
    "check_id": pl.String(),
    "relation": pl.String(),
    "table_id": pl.String(),
    "instance": pl.String(),
    "side": pl.String(),
    "column": pl.String(),
    "code": pl.String(),
    "parent_level": pl.String(),
    "other": pl.String(),
    "condition": pl.String(),
    "needs": pl.String(),  # cross_rows: the tables (joined by |) a document must have for the comparison to apply
    "refs": pl.Int16(),  # CellRefs an equal comparison needs found (or their table declared empty)
}
MEMBER_COLUMNS: dict[str, pl.DataType] = {
    "kind": pl.UInt32(),
    "checked": pl.Boolean(),  # the checked cell (a total, a parent, the left side); else a part
    "sign": pl.Int8(),
    "ref": pl.Int16(),  # equal: which CellRef the kind answers; else 0
    "ref_table": pl.String(),
}

_MEMBER_SCHEMA = {**COMPARISON_KEY, **MEMBER_COLUMNS}


@dataclass(frozen=True, slots=True)
class Plan:
    """Comparisons (one row each, `comp` = row number) and the kinds that take part in each, sorted by comparison."""

    comparisons: pl.DataFrame
    members: pl.DataFrame
    check_ids: np.ndarray  # the rules with comparisons, sorted
    positions: np.ndarray  # each kind's column in its table's template, to list cells as printed


def total_row() -> pl.Expr:
    """A 合计 row: a total label, no code and no row key."""
    return pl.col("label_norm").is_in(TOTAL_LABELS) & pl.col("code").is_null() & pl.col("row_key").is_null()


def kind_columns(items: pl.DataFrame) -> list[pl.Expr]:
    """The kind attributes of each line item (missing instance and side as empty strings)."""
    return [
        pl.col("table_id"),
        pl.col("instance").fill_null(""),
        pl.col("side").fill_null(""),
        pl.col("row_key"),
        pl.col("code"),
        pl.col("level"),
        pl.col("code_scheme"),
        pl.col("column_key"),
        total_row().alias("total_row"),
    ]


def row_mask(ref: str) -> pl.Expr:
    """Rows a reference names: `total`, `classes`, `items`, a classification code, or a fixed-row key."""
    if ref == "total":
        return pl.col("total_row")
    if ref == "classes":
        return ((pl.col("level") == "类") & (pl.col("code_scheme") == "function")).fill_null(False)
    if ref == "items":
        return ~pl.col("total_row")
    # fill_null: a row without a code or key is simply not that row (a null here would silently drop it from ~mask)
    if ref.isdigit():
        return (pl.col("code") == ref).fill_null(False)
    return (pl.col("row_key") == ref).fill_null(False)


def _signed(parts: tuple[str, ...]) -> list[tuple[str, int]]:
    return [(p[1:], -1) if p.startswith("-") else (p, 1) for p in parts]


class _Kinds:
    """The kinds of a batch, with the placed kinds of each table (and side) worked out once: many rules read the same
    table, and each filter is a polars call."""

    def __init__(self, frame: pl.DataFrame):
        self.frame = frame
        self._placed: dict[tuple[str, str | None], pl.DataFrame] = {}

    def placed(self, table: str, side: str | None) -> pl.DataFrame:
        """Kinds of one table (and side) whose column is placed: merged source columns cannot be summed."""
        if (table, side) not in self._placed:
            kinds = self.frame
            out = kinds.filter((pl.col("table_id") == table) & ~pl.col("column_key").str.contains("|", literal=True))
            self._placed[table, side] = out.filter(pl.col("side") == side) if side else out
        return self._placed[table, side]


def _members(frame: pl.DataFrame, rule: Rule, **key: pl.Expr | str | int | None) -> pl.DataFrame:
    """Member rows: the comparison key (rule-wide values and per-kind expressions) plus the member columns."""
    if frame.is_empty():
        return pl.DataFrame(schema=_MEMBER_SCHEMA)
    exprs = []
    for name, dtype in _MEMBER_SCHEMA.items():
        value = key.get(name)
        if name == "check_id":
            value = rule.id if value is None else value
        elif name == "relation":
            value = rule.relation
        elif name == "condition":
            value = rule.condition
        elif name == "kind":
            value = pl.col("kind")
        expr = value.cast(dtype) if isinstance(value, pl.Expr) else pl.lit(value, dtype=dtype)
        exprs.append(expr.alias(name))
    return frame.select(exprs)


def rows_sum(kinds: _Kinds, rule: Rule) -> pl.DataFrame:
    """Total row = Σ ± part rows, in every listed column of every instance of the table."""
    k = kinds.placed(rule.table, rule.side)  # type: ignore[arg-type]
    if rule.columns:
        k = k.filter(pl.col("column_key").is_in(rule.columns))
    total = row_mask(rule.total)  # type: ignore[arg-type]
    if isinstance(rule.parts, str):
        part, sign, label = row_mask(rule.parts), pl.lit(1), rule.parts
    else:
        parts = _signed(rule.parts)  # type: ignore[arg-type]
        part = pl.any_horizontal([row_mask(p) for p, _ in parts])
        sign = pl.lit(1)
        for p, s in parts:
            sign = pl.when(row_mask(p)).then(s).otherwise(sign)
        label = " + ".join(f"{'-' if s < 0 else ''}{p}" for p, s in parts)
    k = k.filter(total | part)
    return _members(
        k,
        rule,
        table_id=rule.table,
        instance=pl.col("instance"),
        side=rule.side,
        column=pl.col("column_key"),
        other=label,
        checked=total,
        sign=pl.when(total).then(1).otherwise(sign),
    )


def _parents(coded: pl.DataFrame) -> pl.DataFrame:
    """The parent code and level of each coded kind: 项 → its 款, 款 → its 类, a unit → the unit above, else 合计."""
    code, level, scheme = pl.col("code"), pl.col("level"), pl.col("code_scheme")
    unit_child = (scheme == "unit") & (code.str.len_chars() > 3)
    parent = (
        pl.when(level == "项")
        .then(code.str.slice(0, 5))
        .when(level == "款")
        .then(code.str.slice(0, 3))
        .when(unit_child)
        .then(code.str.slice(0, code.str.len_chars() - 3))
        .otherwise(pl.lit(TOTAL))
    )
    parent_level = (
        pl.when(level == "项")
        .then(pl.lit("款"))
        .when(level == "款")
        .then(pl.lit("类"))
        .when(unit_child)
        .then(pl.lit(""))
        .otherwise(pl.lit(TOTAL))
    )
    return coded.with_columns(parent.alias("parent"), parent_level.alias("parent_level"))


def hierarchy(kinds: _Kinds, rules: Sequence[Rule]) -> pl.DataFrame:
    """类 = Σ 款, 款 = Σ 项 (units: a department = Σ its units) and 合计 = Σ top-level rows, in every column."""
    out = []
    for rule in rules:
        t = kinds.placed(rule.table, None)  # type: ignore[arg-type]
        coded = _parents(
            t.filter(pl.col("code").is_not_null() & pl.col("code_scheme").is_in(["function", "economic", "unit"]))
        )
        # a row is a child of its parent's comparison, the parent of its own, and a 合计 the parent of top-level rows
        where = {"table_id": rule.table, "instance": pl.col("instance"), "column": pl.col("column_key")}
        own_level = pl.when(pl.col("code_scheme") == "unit").then(pl.lit("")).otherwise(pl.col("level"))
        as_child = _members(
            coded, rule, **where, code=pl.col("parent"), parent_level=pl.col("parent_level"), checked=False, sign=1
        )
        as_parent = _members(coded, rule, **where, code=pl.col("code"), parent_level=own_level, checked=True, sign=1)
        as_total = _members(
            t.filter(pl.col("total_row")), rule, **where, code=TOTAL, parent_level=TOTAL, checked=True, sign=1
        )
        members = pl.concat([as_child, as_parent, as_total])
        # a comparison needs a printed parent and printed children; kinds of either alone compare nothing
        key = ["instance", "column", "code", "parent_level"]
        both = members.group_by(key).agg(pl.col("checked").any().alias("c"), (~pl.col("checked")).any().alias("p"))
        out.append(members.join(both.filter(pl.col("c") & pl.col("p")).select(key), on=key, how="semi"))
    return (
        pl.concat(out)
        if out
        else _members(kinds.frame.clear(), Rule(id="", relation="hierarchy", zh="", en="", basis="identity"))
    )


def _cell_kinds(kinds: _Kinds, ref: CellRef) -> pl.DataFrame:
    return kinds.placed(ref.table, ref.side).filter(row_mask(ref.row) & (pl.col("column_key") == ref.column))


def describe(ref: CellRef) -> str:
    side = f" {ref.side}" if ref.side else ""
    return f"{ref.table}{side} {ref.row}/{ref.column}"


def equal(kinds: _Kinds, rule: Rule) -> pl.DataFrame:
    """Σ left cells = Σ right cells, per document, where each referenced cell is printed or its table declared empty."""
    left, right = rule.left, rule.right
    assert isinstance(left, tuple) and isinstance(right, tuple)
    refs = [(r, True) for r in left] + [(r, False) for r in right]
    out = [
        _members(
            _cell_kinds(kinds, ref),
            rule,
            table_id=left[0].table,
            side=left[0].side,
            column=left[0].column,
            other=" + ".join(describe(r) for r in right),
            refs=len(refs),
            checked=is_left,
            sign=1,
            ref=k,
            ref_table=ref.table,
        )
        for k, (ref, is_left) in enumerate(refs)
    ]
    return pl.concat(out)


def cross_rows(kinds: _Kinds, rule: Rule) -> pl.DataFrame:
    """Each function class agrees between two tables; a class printed in one only counts as 0 in the other."""
    left, right = rule.left, rule.right
    assert isinstance(left, RowsRef) and isinstance(right, RowsRef)

    def side(ref: RowsRef, is_left: bool) -> pl.DataFrame:
        k = kinds.placed(ref.table, ref.side).filter(row_mask("classes") & (pl.col("column_key") == ref.column))
        return _members(
            k,
            rule,
            table_id=left.table,
            side=left.side,
            column=left.column,
            code=pl.col("code"),
            other=f"{right.table} {{code}}/{right.column}",
            needs=f"{left.table}|{right.table}",
            checked=is_left,
            sign=1,
        )

    return pl.concat([side(left, True), side(right, False)])


def columns_sum(kinds: _Kinds, rule: Rule) -> pl.DataFrame:
    """In every row: total column = Σ ± part columns (evaluated row by row, see `budgetwatch.check.evaluate`)."""
    parts = _signed(rule.parts)  # type: ignore[arg-type]
    wanted = [rule.total, *(p for p, _ in parts)]
    k = kinds.frame.filter((pl.col("table_id") == rule.table) & pl.col("column_key").is_in(wanted))
    if rule.side:
        k = k.filter(pl.col("side") == rule.side)
    sign = pl.lit(0)
    for name, s in parts:
        sign = pl.when(pl.col("column_key") == name).then(s).otherwise(sign)
    is_total = pl.col("column_key") == rule.total
    return _members(
        k,
        rule,
        table_id=rule.table,
        side=rule.side,
        column=rule.total,
        other=" + ".join(f"{'-' if s < 0 else ''}{p}" for p, s in parts),
        checked=is_total,
        sign=pl.when(is_total).then(1).otherwise(sign),
    )


def _tables_of(rule: Rule) -> set[str]:
    """The tables whose cells a rule's members are drawn from."""
    refs = [x for side in (rule.left, rule.right) for x in ((side,) if isinstance(side, RowsRef) else side or ())]
    return {t for t in [rule.table, *(r.table for r in refs)] if t}


def compile_plan(kinds: pl.DataFrame, rules: Sequence[Rule]) -> Plan:
    """Every identity rule against the kinds present (`kinds` has KIND_COLUMNS and `kind`, its number)."""
    # a rule none of whose tables is present has no members: not compiling it saves a few polars calls a rule
    present = set(kinds.get_column("table_id").unique().to_list())
    rules = [r for r in rules if _tables_of(r) & present]
    frames = []
    by_table = _Kinds(kinds)
    together = [r for r in rules if r.relation == "hierarchy"]  # one pass: they differ only by table
    if together:
        frames.append(hierarchy(by_table, together))
    for rule in rules:
        if rule.relation == "rows_sum":
            frames.append(rows_sum(by_table, rule))
        elif rule.relation == "columns_sum":
            frames.append(columns_sum(by_table, rule))
        elif rule.relation == "equal":
            frames.append(equal(by_table, rule))
        elif rule.relation == "cross_rows":
            frames.append(cross_rows(by_table, rule))
    members = (
        pl.concat(frames)
        if frames
        else _members(kinds.clear(), Rule(id="", relation="", zh="", en="", basis="identity"))
    )
    key = list(COMPARISON_KEY)
    comparisons = members.select(key).unique(maintain_order=True).with_row_index("comp")
    members = (
        members.join(comparisons.select("comp", *key), on=key, how="left", nulls_equal=True)
        .select("comp", *MEMBER_COLUMNS)
        .with_columns(pl.col("ref").fill_null(0))
        .sort("comp", "ref", "kind")
    )
    check_ids = np.array(sorted(set(comparisons.get_column("check_id").to_list())), dtype=str)
    return Plan(comparisons, members, check_ids, column_positions(kinds))


def column_positions(kinds: pl.DataFrame) -> np.ndarray:
    """Each kind's column position in its table's template (merged columns at their first), unknown ones last."""
    positions = []
    for table_id, column in kinds.select("table_id", "column_key").iter_rows():
        try:
            keys = [col.key for col in catalogue.table(table_id).all_columns()]
        except KeyError:
            keys = []
        first = (column or "").split("|")[0]
        positions.append(keys.index(first) if first in keys else len(keys))
    return np.array(positions, dtype=np.int64)
