"""Accounting identities as a pandera schema over comparison frames (one row per place an identity is evaluated)."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from budgetwatch.relations import COMPARISON_COLUMNS


def _holds(data: pa.PolarsData) -> pl.LazyFrame:
    """Exact equality of integers: no float tolerance ever decides whether an identity holds."""
    return data.lazyframe.select(pl.col("difference") == 0)


IDENTITIES = pa.DataFrameSchema(
    {
        name: pa.Column(dtype, nullable=name not in ("actual", "expected", "difference", "check_id", "sha256"))
        for name, dtype in COMPARISON_COLUMNS.items()
    },
    checks=[pa.Check(_holds, name="identity_holds")],
    strict=True,
    name="identities",
)


def failing(comparisons: pl.DataFrame) -> pl.DataFrame:
    """The comparisons whose identity does not hold, as reported by pandera's failure cases."""
    if comparisons.is_empty():
        return comparisons
    indexed = comparisons.with_row_index("_row")
    try:
        IDENTITIES.validate(indexed.drop("_row"), lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        schema_problems = cases.filter(pl.col("check") != "identity_holds")
        if not schema_problems.is_empty():
            raise
        rows = cases.get_column("index").drop_nulls().cast(pl.UInt32).unique()
        return indexed.filter(pl.col("_row").is_in(rows.implode())).drop("_row")
    return comparisons.clear()
