"""Accounting identities as a pandera schema over comparison frames (one row per place an identity is evaluated)."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from budgetwatch.check.evaluate import COMPARISON_COLUMNS

_REQUIRED = ("actual", "expected", "difference", "check_id", "sha256")

# Exact equality of integers: no float tolerance ever decides whether an identity holds.
IDENTITIES = pa.DataFrameSchema(
    {
        name: pa.Column(
            dtype,
            nullable=name not in _REQUIRED,
            checks=[pa.Check.eq(0, name="identity_holds")] if name == "difference" else [],
        )
        for name, dtype in COMPARISON_COLUMNS.items()
    },
    strict=True,
    name="identities",
)


def failing(comparisons: pl.DataFrame) -> pl.DataFrame:
    """The comparisons whose identity does not hold, as reported by pandera's failure cases."""
    if comparisons.is_empty():
        return comparisons
    try:
        IDENTITIES.validate(comparisons, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        if not cases.filter(
            (pl.col("column") != "difference") | ~pl.col("check").str.starts_with("equal_to")
        ).is_empty():
            raise
        rows = cases.get_column("index").drop_nulls().cast(pl.UInt32).unique()
        return comparisons.with_row_index("_row").filter(pl.col("_row").is_in(rows.implode())).drop("_row")
    return comparisons.clear()
