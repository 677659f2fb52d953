"""The identity engine: the same findings whatever the order of the line items, each printed total compared on its
own, referenced tables declared empty, long sums exact, and the lean evaluation the product runs."""

from __future__ import annotations

import numpy as np
import polars as pl

from budgetwatch.check.evaluate import _cell_order, cells
from budgetwatch.check.validate import comparisons, evaluated, frames, identity_findings
from budgetwatch.frames import LINE_ITEM_SCHEMA, TABLE_SCHEMA

from .conftest import consistent_budget


def _comparable(findings: dict) -> dict:
    return {
        sha: sorted(
            (f.check_id, str(f.severity), f.actual, f.expected, tuple((loc.table_id, loc.code, loc.column, loc.line)
                                                                     for loc in f.locations))
            for f in found
        )
        for sha, found in findings.items()
    }  # fmt: skip


def test_interleaved_line_items_give_the_findings_of_contiguous_ones(huangpi, hongshan):
    items, tables = frames([huangpi, hongshan])
    # documents interleaved and every row's cells scattered: nothing may depend on the order items come in
    scattered = items.with_row_index("_i").sort(pl.col("_i") % 7, pl.col("_i"), descending=[False, True]).drop("_i")
    assert scattered.get_column("sha256").rle_id().max() > 2
    expected = _comparable(identity_findings(items, tables))
    assert sum(len(v) for v in expected.values()) > 10
    assert _comparable(identity_findings(scattered, tables)) == expected


def test_a_total_printed_twice_is_compared_once_for_each_printing(hongshan):
    items, tables = consistent_budget(hongshan)
    total = items.filter((pl.col("table_id") == "budget.03") & (pl.col("label_norm") == "合计"))
    last = items.filter(pl.col("table_id") == "budget.03").get_column("row_order").max()
    copy = total.with_columns(
        pl.lit(last + 1, dtype=pl.Int32).alias("row_order"),
        pl.lit(9999, dtype=pl.Int32).alias("line"),
        pl.when(pl.col("column_key") == "basic").then(pl.col("micros") + 1_000_000).otherwise(pl.col("micros")),
    )
    twice = pl.concat([items, copy])
    held = comparisons(items, tables).filter(pl.col("check_id") == "B03-2").height
    compared = comparisons(twice, tables).filter(pl.col("check_id") == "B03-2")
    assert compared.height == held + total.filter(~pl.col("blank")).height
    (found,) = identity_findings(twice, tables).values()
    hierarchy = [f for f in found if f.check_id == "B03-2"]
    assert [(f.locations[0].line, f.locations[0].column, f.actual) for f in hierarchy] == [
        (9999, "basic", next(f.actual for f in hierarchy))
    ]
    assert str(hierarchy[0].severity) == "error"


def test_an_equal_rule_counts_a_table_declared_empty_as_zero_and_skips_a_missing_one(hongshan):
    items, tables = frames([hongshan])
    declared = tables.filter(pl.col("table_id").is_in(["budget.08", "budget.09"])).get_column("status").to_list()
    assert declared == ["declared_empty", "declared_empty"]
    assert comparisons(items, tables).filter(pl.col("check_id") == "X-B04-05").height == 1
    missing = tables.with_columns(
        pl.when(pl.col("table_id") == "budget.09").then(pl.lit("missing")).otherwise(pl.col("status")).alias("status")
    )
    assert comparisons(items, missing).filter(pl.col("check_id") == "X-B04-05").is_empty()


def _project_list(n: int, value: int, total: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One document whose 表12 lists n projects of `value` under a 合计 of `total` (micros)."""
    rows = pl.DataFrame(
        {
            "row_order": list(range(1, n + 2)),
            "label": ["合计"] + [f"项目{k}" for k in range(n)],
            "micros": [total] + [value] * n,
        }
    )
    items = rows.with_columns(
        pl.lit("d" * 64).alias("sha256"),
        pl.lit("budget.12").alias("table_id"),
        pl.col("label").alias("label_norm"),
        pl.lit("total").alias("column_key"),
        pl.lit(False).alias("blank"),
        pl.lit(2, dtype=pl.Int8).alias("decimals"),
        pl.col("row_order").alias("line"),
    )
    items = items.select(
        pl.col(c).cast(t) if c in items.columns else pl.lit(None, dtype=t).alias(c) for c, t in LINE_ITEM_SCHEMA.items()
    )
    tables = pl.DataFrame(
        {"sha256": ["d" * 64], "table_id": ["budget.12"], "status": ["parsed"]}
    ).select(pl.col(c) if c in ("sha256", "table_id", "status") else pl.lit(None, dtype=t).alias(c)
             for c, t in TABLE_SCHEMA.items())  # fmt: skip
    return items, tables


def test_a_total_over_tens_of_thousands_of_parts_is_exact():
    n = 40_000  # cells of one kind in one document
    items, tables = _project_list(n, 10_000, n * 10_000)
    (held,) = comparisons(items, tables).filter(pl.col("check_id") == "B12-1").rows(named=True)
    assert (held["actual"], held["expected"], held["n_values"]) == (n * 10_000, n * 10_000, n + 1)
    items, tables = _project_list(n, 10_000, n * 10_000 + 20_000)
    (failed,) = comparisons(items, tables).filter(pl.col("check_id") == "B12-1").rows(named=True)
    assert failed["difference"] == 20_000 and len(failed["cells"]) == n


def test_the_lean_evaluation_lists_the_failing_comparisons_and_every_rule_that_ran(huangpi, hongshan):
    items, tables = frames([huangpi, hongshan])
    every = comparisons(items, tables)
    lean = evaluated(items, tables)
    key = ["sha256", "check_id", "table_id", "column", "line", "actual", "expected"]
    assert lean.compared == every.height
    assert lean.comparisons.select(key).sort(key).equals(every.filter(pl.col("difference") != 0).select(key).sort(key))
    ran = every.select("sha256", "check_id").unique()
    assert lean.ran.frame().sort("sha256", "check_id").equals(ran.sort("sha256", "check_id"))
    assert lean.comparisons.height < every.height / 10


def test_cells_are_ordered_by_candidate_role_reference_line_and_column_whatever_their_size():
    rng = np.random.default_rng(7)
    n = 5_000
    cand, checked = np.sort(rng.integers(0, 300, n)), rng.random(n) < 0.2
    ref, position, item = rng.integers(0, 3, n), rng.integers(0, 12, n), np.arange(n)
    for line in (rng.integers(-1, 400, n), rng.integers(-1, 1 << 30, n)):  # the second does not fit the packed key
        order = _cell_order(cand, checked, ref=ref, line=line, position=position, item=item)
        assert np.array_equal(order, np.lexsort((item, position, line, ref, ~checked, cand)))
    scrambled = rng.permutation(n)  # items out of order within a candidate: still sorted by item last
    order = _cell_order(cand, checked, ref=ref, line=np.zeros(n, np.int64), position=position, item=scrambled)
    assert np.array_equal(order, np.lexsort((scrambled, position, np.zeros(n), ref, ~checked, cand)))


def test_a_missing_instance_or_side_is_the_same_kind_whether_null_or_empty(hongshan):
    items, tables = frames([hongshan])
    copy = "e" * 64  # a second copy of the document, its missing instances and sides written as ""
    emptied = items.with_columns(pl.lit(copy).alias("sha256"), *(pl.col(n).fill_null("") for n in ("instance", "side")))
    assert emptied.filter(pl.col("side") == "").height > 0 and items.filter(pl.col("side") == "").is_empty()
    both = pl.concat([items, emptied])
    kinds = cells(both).kinds
    assert not kinds.drop("kind").is_duplicated().any()
    assert kinds.height == cells(items).kinds.height
    found = _comparable(identity_findings(both, pl.concat([tables, tables.with_columns(pl.lit(copy).alias("sha256"))])))
    assert (
        found[copy]
        == found[hongshan.document.sha256]
        == _comparable(identity_findings(items, tables))[hongshan.document.sha256]
    )
