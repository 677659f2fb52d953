"""One small polars function per relation kind: each turns line items into comparisons (actual vs expected).

Every function works on the line items of any number of documents at once and returns frames in COMPARISON_COLUMNS:
one row per place where an identity can be evaluated, whether it holds or not. Grading happens elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from budgetwatch.rules import CellRef, RowsRef, Rule

TOTAL_LABELS = ("合计", "总计")
KEYS = ["sha256", "table_id", "instance"]

COMPARISON_COLUMNS: dict[str, pl.DataType] = {
    "sha256": pl.String(),
    "check_id": pl.String(),
    "table_id": pl.String(),
    "instance": pl.String(),
    "side": pl.String(),
    "row_label": pl.String(),
    "code": pl.String(),
    "column": pl.String(),
    "line": pl.Int32(),
    "actual": pl.Int64(),
    "expected": pl.Int64(),
    "difference": pl.Int64(),
    "tolerance": pl.Int64(),
    "n_values": pl.Int32(),
    "decimals": pl.Int8(),
    "other": pl.String(),  # where the expected value comes from, readable
    "actual_blank": pl.Boolean(),  # the checked cell itself is blank (a total left unprinted)
    "cells": pl.List(  # every printed cell the comparison involves, the checked cell first
        pl.Struct(
            {
                "table_id": pl.String(),
                "row_label": pl.String(),
                "code": pl.String(),
                "column": pl.String(),
                "line": pl.Int32(),
            }
        )
    ),
}


_CELL = COMPARISON_COLUMNS["cells"].inner  # type: ignore[attr-defined]


def cell() -> pl.Expr:
    """A cell's location, as carried into findings."""
    return pl.struct(
        pl.col("table_id"),
        pl.col("label").alias("row_label"),
        pl.col("code"),
        pl.col("column_key").alias("column"),
        pl.col("line"),
    )


NEEDED = (
    "sha256", "table_id", "instance", "side", "row_key", "row_order", "label", "label_norm",
    "code", "code_scheme", "level", "column_key", "micros", "blank", "decimals", "line",
)  # fmt: skip


# keys and labels repeat across documents: as categoricals, group-bys and joins hash small integers, not strings
CATEGORICAL = (
    "sha256",
    "table_id",
    "instance",
    "side",
    "row_key",
    "column_key",
    "level",
    "code_scheme",
    "label",
    "code",
)


def prepare(items: pl.DataFrame) -> pl.DataFrame:
    """Add what every relation needs: value (blank = 0), present, and the rounding allowance of each printed value."""
    return items.select(NEEDED).with_columns(
        *(pl.col(c).cast(pl.Categorical) for c in CATEGORICAL if c not in ("instance", "side")),
        pl.col("instance").fill_null("").cast(pl.Categorical),
        pl.col("side").fill_null("").cast(pl.Categorical),
        (pl.col("label_norm").is_in(TOTAL_LABELS) & pl.col("code").is_null() & pl.col("row_key").is_null()).alias(
            "total_row"
        ),
        pl.col("micros").fill_null(0).alias("value"),
        (~pl.col("blank")).alias("present"),
        # a printed zero is taken as exact: only non-zero printed values carry a rounding allowance
        pl.when(pl.col("blank") | (pl.col("micros") == 0))
        .then(0)
        .otherwise(5 * pl.lit(10, dtype=pl.Int64).pow(5 - pl.col("decimals").cast(pl.Int64)))
        .cast(pl.Int64)
        .alias("tol"),
        pl.col("column_key").str.contains("|", literal=True).alias("merged"),
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=COMPARISON_COLUMNS)


def is_total_row() -> pl.Expr:
    return pl.col("total_row")


def row_mask(ref: str) -> pl.Expr:
    """Rows a reference names: `total`, `classes`, `items`, a classification code, or a fixed-row key."""
    if ref == "total":
        return is_total_row()
    if ref == "classes":
        return ((pl.col("level") == "类") & (pl.col("code_scheme") == "function")).fill_null(False)
    if ref == "items":
        return ~is_total_row()
    # fill_null: a row without a code or key is simply not that row (a null here would silently drop it from ~mask)
    if ref.isdigit():
        return (pl.col("code") == ref).fill_null(False)
    return (pl.col("row_key") == ref).fill_null(False)


_CELL_PARTS = (("t_cell", "p_cells"), ("l_cells", "r_cells"), ("l_cell", "r_cell"))


def _with_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Gather the cells involved, for the comparisons that fail only (building lists for every row is costly)."""
    for first, rest in _CELL_PARTS:
        if first in frame.columns and rest not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=COMPARISON_COLUMNS["cells"]).alias(rest))
        if first in frame.columns:
            failing = pl.col("actual") != pl.col("expected")
            bad = frame.filter(failing).with_columns(
                pl.concat_list(pl.col(first), pl.col(rest)).list.drop_nulls().alias("cells")
            )
            good = frame.filter(~failing).with_columns(pl.lit(None, dtype=COMPARISON_COLUMNS["cells"]).alias("cells"))
            return pl.concat([bad.select(good.columns), good], how="vertical_relaxed")
    return frame


def _checked_cell() -> list:
    """The columns that describe the cell an identity checks (the total, the parent)."""
    return [
        pl.col("value").alias("actual"),
        pl.col("tol").alias("t_tol"),
        pl.col("present").cast(pl.Int32).alias("t_n"),
        (~pl.col("present")).alias("actual_blank"),
        pl.col("label").alias("row_label"),
        "code",
        "line",
        pl.col("decimals").alias("t_dec"),
    ]


def _with_parts(
    compared: pl.DataFrame,
    rows: pl.DataFrame,
    keys: list[str],
    parts: pl.Expr,
    check_id: str | pl.Expr,
    *,
    extra: tuple[pl.Expr, ...] = (),
) -> pl.DataFrame:
    """Finish comparisons; the failing ones get the checked cell and the printed parts among `rows` (joined on `keys`).

    Gathered for failures only, after the sums: building cell lists for every comparison would cost more than the sums.
    """
    failing = pl.col("actual") != pl.col("expected")
    bad = compared.filter(failing)
    if not bad.is_empty():
        part_rows = rows.join(bad.select(keys).unique(), on=keys, how="semi", nulls_equal=True).filter(parts)
        checked = pl.struct(
            pl.col("table_id").cast(pl.String),
            pl.col("row_label").cast(pl.String),
            pl.col("code").cast(pl.String),
            pl.col("column").cast(pl.String),
            pl.col("line").cast(pl.Int32),
        )
        # one row per cell, the checked cell first; a plain group-by then lists them (list concatenation is slow)
        cells = (
            pl.concat(
                [
                    bad.select(*keys, checked.cast(_CELL).alias("cell")),
                    part_rows.filter(pl.col("present")).select(*keys, cell().cast(_CELL).alias("cell")),
                ]
            )
            .group_by(keys, maintain_order=True)
            .agg(pl.col("cell").alias("cells"))
        )
        bad = bad.join(cells, on=keys, how="left", nulls_equal=True)
        if extra:
            bad = bad.join(part_rows.group_by(keys).agg(*extra), on=keys, how="left", nulls_equal=True)
    return pl.concat([_finish(bad, check_id), _finish(compared.filter(~failing), check_id)])


def _finish(frame: pl.DataFrame, check_id: str | pl.Expr) -> pl.DataFrame:
    frame = _with_cells(
        frame.with_columns(
            (pl.lit(check_id) if isinstance(check_id, str) else check_id).alias("check_id"),
            (pl.col("actual") - pl.col("expected")).alias("difference"),
        )
    )
    for name, dtype in COMPARISON_COLUMNS.items():
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return frame.select([pl.col(n).cast(t) for n, t in COMPARISON_COLUMNS.items()])


def _table(items: pl.DataFrame, table: str, side: str | None) -> pl.DataFrame:
    out = items.filter((pl.col("table_id") == table) & ~pl.col("merged"))
    return out.filter(pl.col("side") == side) if side else out


def _signed(parts: tuple[str, ...]) -> list[tuple[str, int]]:
    return [(p[1:], -1) if p.startswith("-") else (p, 1) for p in parts]


def columns_sum(items: pl.DataFrame, rule: Rule) -> pl.DataFrame:
    """In every row: total column = Σ ± part columns. Rows whose columns were merged in the source are skipped."""
    parts = _signed(rule.parts)  # type: ignore[arg-type]
    wanted = [rule.total, *(p for p, _ in parts)]
    t = items.filter((pl.col("table_id") == rule.table) & pl.col("column_key").is_in(wanted))
    if rule.side:
        t = t.filter(pl.col("side") == rule.side)
    if t.is_empty():
        return _empty()
    # where the source merged any of these columns, no row of that table can be checked against them
    merged_docs = (
        unplaced_columns(items, [rule.table])
        .filter(pl.col("column_key").is_in(wanted))
        .select("sha256", "instance")
        .unique()
    )
    sign = pl.lit(0)
    for name, s in parts:
        sign = pl.when(pl.col("column_key") == name).then(s).otherwise(sign)
    is_total = pl.col("column_key") == rule.total
    keys = ["sha256", "table_id", "instance", "row_order"]
    grouped = (
        t.with_columns(sign.alias("sign"))
        .group_by(keys)
        .agg(
            pl.col("value").filter(is_total).sum().alias("actual"),
            (pl.col("value") * pl.col("sign")).filter(~is_total).sum().alias("expected"),
            pl.col("tol").sum().alias("tolerance"),
            pl.col("present").sum().cast(pl.Int32).alias("n_values"),
            (~pl.col("present").filter(is_total).any()).alias("actual_blank"),
            pl.col("label").first().alias("row_label"),
            pl.col("code").first(),
            pl.col("side").first(),
            pl.coalesce(pl.col("line").filter(is_total).first(), pl.col("line").first()).alias("line"),
            pl.col("decimals").max(),
        )
        .join(merged_docs, on=["sha256", "instance"], how="anti")
        .filter(pl.col("n_values") > 0)
        .with_columns(
            pl.lit(rule.total).alias("column"),
            pl.lit(" + ".join(f"{'-' if s < 0 else ''}{p}" for p, s in parts)).alias("other"),
        )
    )
    return _with_parts(grouped, t, keys, ~is_total, rule.id)


def rows_sum(items: pl.DataFrame, rule: Rule) -> pl.DataFrame:
    """In every listed column: total row = Σ ± part rows (keys, codes, `classes` or `items`)."""
    t = _table(items, rule.table, rule.side)  # type: ignore[arg-type]
    if rule.columns:
        t = t.filter(pl.col("column_key").is_in(rule.columns))
    if t.is_empty():
        return _empty()
    if isinstance(rule.parts, str):
        part_mask, sign, label = row_mask(rule.parts), pl.lit(1), rule.parts
    else:
        parts = _signed(rule.parts)  # type: ignore[arg-type]
        part_mask = pl.any_horizontal([row_mask(p) for p, _ in parts])
        sign = pl.lit(1)
        for p, s in parts:
            sign = pl.when(row_mask(p)).then(s).otherwise(sign)
        label = " + ".join(f"{'-' if s < 0 else ''}{p}" for p, s in parts)
    keys = ["sha256", "table_id", "instance", "column_key"]
    total = t.filter(row_mask(rule.total)).select(*keys, "side", *_checked_cell())  # type: ignore[arg-type]
    summed = (
        t.filter(part_mask & ~row_mask(rule.total))  # type: ignore[arg-type]
        .with_columns(sign.alias("sign"))
        .group_by(keys)
        .agg(
            (pl.col("value") * pl.col("sign")).sum().alias("expected"),
            pl.col("tol").sum().alias("p_tol"),
            pl.col("present").sum().cast(pl.Int32).alias("p_n"),
            pl.col("decimals").max().alias("p_dec"),
        )
    )
    joined = _checked_against_parts(total.join(summed, on=keys, how="inner"), items, [rule.table]).with_columns(
        pl.lit(label).alias("other")
    )
    return _with_parts(joined, t, keys, part_mask & ~row_mask(rule.total), rule.id)  # type: ignore[arg-type]


def unplaced_columns(items: pl.DataFrame, tables: Sequence[str]) -> pl.DataFrame:
    """(document, table, instance, column) whose cells are partly unplaced: sums down it cannot be trusted."""
    return (
        items.filter(pl.col("table_id").is_in(tables) & pl.col("merged"))
        .select(
            "sha256", "table_id", "instance", pl.col("column_key").cast(pl.String).str.split("|").alias("column_key")
        )
        .explode("column_key")
        .unique()
        .with_columns(pl.col("column_key").cast(pl.Categorical))
    )


def _checked_against_parts(joined: pl.DataFrame, items: pl.DataFrame, tables: Sequence[str]) -> pl.DataFrame:
    """A checked cell joined to the sum of its parts: the allowance and count of both, where the column is placed."""
    return (
        joined.join(unplaced_columns(items, tables), on=["sha256", "table_id", "instance", "column_key"], how="anti")
        .with_columns(
            (pl.col("t_tol") + pl.col("p_tol")).alias("tolerance"),
            (pl.col("t_n") + pl.col("p_n")).alias("n_values"),
            pl.max_horizontal("t_dec", "p_dec").alias("decimals"),
            pl.col("column_key").alias("column"),
        )
        .filter(pl.col("n_values") > 0)
    )


def _parents(coded: pl.DataFrame) -> pl.DataFrame:
    """The parent code and its level of each distinct (code, level, scheme); string work on the few distinct codes."""
    code, level, scheme = pl.col("code").cast(pl.String), pl.col("level"), pl.col("code_scheme")
    unit_child = (scheme == "unit") & (code.str.len_chars() > 3)
    parent = (
        pl.when(level == "项")
        .then(code.str.slice(0, 5))
        .when(level == "款")
        .then(code.str.slice(0, 3))
        .when(unit_child)
        .then(code.str.slice(0, code.str.len_chars() - 3))
        .otherwise(pl.lit("__total__"))
    )
    parent_level = (
        pl.when(level == "项")
        .then(pl.lit("款"))
        .when(level == "款")
        .then(pl.lit("类"))
        .when(unit_child)
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.lit("__total__"))
    )
    return (
        coded.select("code", "level", "code_scheme")
        .unique()
        .with_columns(
            parent.cast(pl.Categorical).alias("parent"), parent_level.cast(pl.Categorical).alias("parent_level")
        )
    )


def hierarchy(items: pl.DataFrame, rules: Sequence[Rule]) -> pl.DataFrame:
    """类 = Σ 款, 款 = Σ 项 and 合计 = Σ top-level rows, for every amount column; only where children are printed.

    All hierarchy rules run in one pass: they differ only by their table.
    """
    check_of = {r.table: r.id for r in rules}
    t = items.filter(pl.col("table_id").is_in(list(check_of)) & ~pl.col("merged"))
    coded = t.filter(pl.col("code").is_not_null() & pl.col("code_scheme").is_in(["function", "economic", "unit"]))
    if coded.is_empty():
        return _empty()
    keys = ["sha256", "table_id", "instance", "column_key", "parent", "parent_level"]
    coded = coded.join(_parents(coded), on=["code", "level", "code_scheme"], how="left", nulls_equal=True)
    children = coded.group_by(keys).agg(
        pl.col("value").sum().alias("expected"),
        pl.col("tol").sum().alias("p_tol"),
        pl.col("present").sum().cast(pl.Int32).alias("p_n"),
        pl.col("decimals").max().alias("p_dec"),
    )
    parent_columns = ["sha256", "table_id", "instance", "column_key", *_checked_cell()]
    unit_or_level = (
        pl.when(pl.col("code_scheme") == "unit").then(pl.lit(None, dtype=pl.Categorical)).otherwise(pl.col("level"))
    )
    top = pl.lit("__total__", dtype=pl.Categorical)
    parents = pl.concat(
        [
            coded.select(*parent_columns, pl.col("code").alias("parent"), unit_or_level.alias("parent_level")),
            t.filter(is_total_row()).select(*parent_columns, top.alias("parent"), top.alias("parent_level")),
        ]
    )
    joined = _checked_against_parts(
        parents.join(children, on=keys, how="inner", nulls_equal=True), items, list(check_of)
    )
    check_id = pl.col("table_id").cast(pl.String).replace_strict(check_of, return_dtype=pl.String)
    children_codes = pl.col("code").cast(pl.String).str.join(" + ").alias("other")
    return _with_parts(joined, coded, keys, pl.lit(True), check_id, extra=(children_codes,))


def _cell_values(items: pl.DataFrame, tables: pl.DataFrame, ref: CellRef) -> pl.DataFrame:
    """Per document: the value of one referenced cell (0 when its table is declared empty), or nothing."""
    t = _table(items, ref.table, ref.side).filter(row_mask(ref.row) & (pl.col("column_key") == ref.column))
    found = t.group_by("sha256").agg(
        pl.col("value").sum(),
        pl.col("tol").sum(),
        pl.col("present").sum().cast(pl.Int32).alias("n"),
        pl.col("decimals").max(),
        pl.col("label").first(),
        pl.col("line").first(),
        pl.col("code").first(),
        cell().filter(pl.col("present")).alias("cells"),
    )
    empty = (
        tables.filter((pl.col("table_id") == ref.table) & (pl.col("status") == "declared_empty"))
        .select("sha256")
        .unique()
        .join(found, on="sha256", how="anti")
        .with_columns(
            pl.lit(0, dtype=pl.Int64).alias("value"),
            pl.lit(0, dtype=pl.Int64).alias("tol"),
            pl.lit(0, dtype=pl.Int32).alias("n"),
            pl.lit(2, dtype=pl.Int8).alias("decimals"),
            pl.lit("(declared empty)").alias("label"),
            pl.lit(None, dtype=pl.Int32).alias("line"),
            pl.lit(None, dtype=pl.String).alias("code"),
            pl.lit([], dtype=COMPARISON_COLUMNS["cells"]).alias("cells"),
        )
    )
    return pl.concat([found, empty.select(found.columns)], how="vertical_relaxed")


def _describe(ref: CellRef) -> str:
    side = f" {ref.side}" if ref.side else ""
    return f"{ref.table}{side} {ref.row}/{ref.column}"


def _sum_refs(items, tables, refs: tuple[CellRef, ...], prefix: str) -> pl.DataFrame | None:
    acc = None
    for k, ref in enumerate(refs):
        cell = _cell_values(items, tables, ref).rename(
            {c: f"{prefix}{c}_{k}" for c in ("value", "tol", "n", "decimals", "label", "line", "code", "cells")}
        )
        acc = cell if acc is None else acc.join(cell, on="sha256", how="inner")
    if acc is None or acc.is_empty():
        return None
    n = len(refs)
    return acc.select(
        "sha256",
        pl.sum_horizontal([f"{prefix}value_{k}" for k in range(n)]).alias(f"{prefix}value"),
        pl.sum_horizontal([f"{prefix}tol_{k}" for k in range(n)]).alias(f"{prefix}tol"),
        pl.sum_horizontal([f"{prefix}n_{k}" for k in range(n)]).cast(pl.Int32).alias(f"{prefix}n"),
        pl.max_horizontal([f"{prefix}decimals_{k}" for k in range(n)]).alias(f"{prefix}decimals"),
        pl.col(f"{prefix}label_0").alias(f"{prefix}label"),
        pl.col(f"{prefix}line_0").alias(f"{prefix}line"),
        pl.col(f"{prefix}code_0").alias(f"{prefix}code"),
        pl.concat_list([f"{prefix}cells_{k}" for k in range(n)]).alias(f"{prefix}cells"),
    )


def equal(items: pl.DataFrame, tables: pl.DataFrame, rule: Rule) -> pl.DataFrame:
    """Σ left cells = Σ right cells, per document, where every referenced table is there."""
    left, right = rule.left, rule.right
    assert isinstance(left, tuple) and isinstance(right, tuple)
    lhs = _sum_refs(items, tables, left, "l_")
    rhs = _sum_refs(items, tables, right, "r_")
    if lhs is None or rhs is None:
        return _empty()
    joined = (
        lhs.join(rhs, on="sha256", how="inner")
        .with_columns(
            pl.col("l_value").alias("actual"),
            pl.col("r_value").alias("expected"),
            (pl.col("l_n") == 0).alias("actual_blank"),
            (pl.col("l_tol") + pl.col("r_tol")).alias("tolerance"),
            (pl.col("l_n") + pl.col("r_n")).alias("n_values"),
            pl.max_horizontal("l_decimals", "r_decimals").alias("decimals"),
            pl.lit(left[0].table).alias("table_id"),
            pl.lit(left[0].side).alias("side"),
            pl.col("l_label").alias("row_label"),
            pl.col("l_code").alias("code"),
            pl.lit(left[0].column).alias("column"),
            pl.col("l_line").alias("line"),
            pl.lit(" + ".join(_describe(r) for r in right)).alias("other"),
        )
        .filter(pl.col("n_values") > 0)
    )
    return _finish(joined, rule.id)


def _class_rows(items: pl.DataFrame, ref: RowsRef, prefix: str) -> pl.DataFrame:
    t = _table(items, ref.table, ref.side).filter(row_mask("classes") & (pl.col("column_key") == ref.column))
    return t.select(
        "sha256",
        "code",
        pl.col("value").alias(f"{prefix}value"),
        pl.col("tol").alias(f"{prefix}tol"),
        pl.col("present").cast(pl.Int32).alias(f"{prefix}n"),
        pl.col("decimals").alias(f"{prefix}decimals"),
        pl.col("label").alias(f"{prefix}label"),
        pl.col("line").alias(f"{prefix}line"),
        cell().alias(f"{prefix}cell"),
    )


def cross_rows(
    items: pl.DataFrame, tables: pl.DataFrame, rule: Rule, documents: pl.Series | None = None
) -> pl.DataFrame:
    """Each function class agrees between two tables; a class printed in one and absent from the other counts as 0."""
    left, right = rule.left, rule.right
    assert isinstance(left, RowsRef) and isinstance(right, RowsRef)
    present = (
        tables.filter(
            pl.col("table_id").is_in([left.table, right.table]) & pl.col("status").is_in(["parsed", "declared_empty"])
        )
        .group_by("sha256")
        .agg(pl.col("table_id").n_unique().alias("k"))
        .filter(pl.col("k") == len({left.table, right.table}))
        .select("sha256")
    )
    if documents is not None:
        present = present.filter(pl.col("sha256").is_in(documents.implode()))
    lhs = _class_rows(items, left, "l_").join(present, on="sha256", how="semi")
    rhs = _class_rows(items, right, "r_").join(present, on="sha256", how="semi")
    joined = (
        lhs.join(rhs, on=["sha256", "code"], how="full", coalesce=True)
        .with_columns(
            pl.col("l_value").fill_null(0).alias("actual"),
            (pl.col("l_n").fill_null(0) == 0).alias("actual_blank"),
            pl.col("r_value").fill_null(0).alias("expected"),
            (pl.col("l_tol").fill_null(0) + pl.col("r_tol").fill_null(0)).alias("tolerance"),
            (pl.col("l_n").fill_null(0) + pl.col("r_n").fill_null(0)).cast(pl.Int32).alias("n_values"),
            pl.max_horizontal(pl.col("l_decimals").fill_null(2), pl.col("r_decimals").fill_null(2)).alias("decimals"),
            pl.lit(left.table).alias("table_id"),
            pl.lit(left.side).alias("side"),
            pl.coalesce("l_label", "r_label").alias("row_label"),
            pl.lit(left.column).alias("column"),
            pl.col("l_line").alias("line"),
            pl.format(
                "{} {}/{} line {}",
                pl.lit(right.table),
                pl.col("code"),
                pl.lit(right.column),
                pl.col("r_line").cast(pl.String).fill_null("-"),
            ).alias("other"),
        )
        .filter(pl.col("n_values") > 0)
    )
    return _finish(joined, rule.id)
