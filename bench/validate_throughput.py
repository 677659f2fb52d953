"""Validation throughput: the line items of N generated documents (default 100,000) through every identity rule.

Documents are made from the bundled samples' tables, each copy with its own key and one amount in twenty shifted, so
that the rules have real work and real failures to grade. Prints rows, seconds and peak memory.

    uv run python bench/validate_throughput.py [N]
"""

from __future__ import annotations

import sys
import time

import polars as pl
from _common import peak_rss_mb, sample_frames

from budgetwatch.validate import comparisons, grade
from schemas.identities import failing


def generate(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    items, tables = sample_frames()
    keys = items.select("sha256").unique().sort("sha256").get_column("sha256").to_list()
    per_sample = -(-n // len(keys))
    copies = pl.DataFrame({"copy": range(per_sample)}, schema={"copy": pl.Int32})
    out_items, out_tables = [], []
    for k, key in enumerate(keys):
        base = items.filter(pl.col("sha256") == key).drop("sha256").with_row_index("_cell")
        grown = copies.join(base, how="cross").with_columns(
            pl.format("d{}-{}", pl.lit(k), pl.col("copy")).alias("sha256"),
            pl.when((pl.col("_cell") + pl.col("copy")) % 20 == 0)
            .then(pl.col("micros") + 10_000)
            .otherwise(pl.col("micros"))
            .alias("micros"),
        )
        out_items.append(grown.drop("copy", "_cell").select(items.columns))
        t = tables.filter(pl.col("sha256") == key).drop("sha256")
        out_tables.append(
            copies.join(t, how="cross")
            .with_columns(pl.format("d{}-{}", pl.lit(k), pl.col("copy")).alias("sha256"))
            .drop("copy")
            .select(tables.columns)
        )
    return pl.concat(out_items), pl.concat(out_tables)


def main(n: int) -> None:
    t0 = time.perf_counter()
    items, tables = generate(n)
    t1 = time.perf_counter()
    compared = comparisons(items, tables)
    t2 = time.perf_counter()
    failed = grade(failing(compared))
    t3 = time.perf_counter()
    print(f"documents              {items.get_column('sha256').n_unique():>12,}")
    print(f"line items             {items.height:>12,}")
    print(f"comparisons            {compared.height:>12,}")
    print(
        f"failing (graded)       {failed.height:>12,}  errors {failed.filter(pl.col('severity') == 'error').height:,}"
    )
    print(f"generate               {t1 - t0:>10.2f} s")
    print(f"compare (all rules)    {t2 - t1:>10.2f} s")
    print(f"pandera check + grade  {t3 - t2:>10.2f} s")
    print(f"validate total         {t3 - t1:>10.2f} s   (target < 10 s for 100,000 documents)")
    print(f"peak memory            {peak_rss_mb():>10.0f} MB (target < 4096 MB)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
