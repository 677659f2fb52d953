"""The contract every canonical line-item frame meets, derived from the model's column list."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from budgetwatch.frames import LINE_ITEM_SCHEMA

_CHECKS: dict[str, list[pa.Check]] = {
    "sha256": [pa.Check.str_matches(r"^[0-9a-f]{64}$")],
    "table_id": [pa.Check.str_matches(r"^(?:final|budget)\.\d{2}$")],
    "level": [pa.Check.isin(["类", "款", "项"])],
    "code_scheme": [pa.Check.isin(["function", "economic", "unit", "project"])],
    "side": [pa.Check.isin(["income", "expenditure"])],
    "decimals": [pa.Check.in_range(0, 6)],
    "row_order": [pa.Check.ge(1)],
}
_REQUIRED = {"sha256", "table_id", "row_order", "label", "label_norm", "column_key", "header", "blank", "raw", "unit"}


def _blank_iff_no_amount(data: pa.PolarsData) -> pl.LazyFrame:
    """A blank cell has no amount and a printed one has: blank is never read as zero."""
    return data.lazyframe.select(pl.col("blank") == pl.col("micros").is_null())


LINE_ITEMS = pa.DataFrameSchema(
    {
        name: pa.Column(dtype, checks=_CHECKS.get(name, []), nullable=name not in _REQUIRED)
        for name, dtype in LINE_ITEM_SCHEMA.items()
    },
    checks=[pa.Check(_blank_iff_no_amount, name="blank_iff_no_amount")],
    strict=True,
    name="line_items",
)
