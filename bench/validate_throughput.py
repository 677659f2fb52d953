"""Validation throughput: the line items of N generated documents (default 100,000) through every identity rule.

Documents are made from the bundled samples' tables, each copy with its own key and one amount in twenty shifted, so
that the rules have real work and real failures to grade. Every identity lies within one document, so documents are
validated in batches (as `budgetwatch.checking` does): memory is bounded by the batch, time grows linearly. Generation
is not timed. Prints rows, seconds and peak memory.

    uv run python bench/validate_throughput.py [N] [BATCH]
"""

from __future__ import annotations

import sys
import time

import polars as pl
from _common import peak_rss_mb, sample_frames

from budgetwatch.validate import comparisons, grade
from schemas.identities import failing


def generate(n: int, first: int = 0, samples=None, every: int = 20) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Documents first … first+n-1, cycling through the samples, one amount in `every` shifted by 0.01."""
    items, tables = samples or sample_frames()
    keys = items.select("sha256").unique().sort("sha256").get_column("sha256").to_list()
    out_items, out_tables = [], []
    for k, key in enumerate(keys):
        numbers = [i for i in range(first, first + n) if i % len(keys) == k]
        if not numbers:
            continue
        copies = pl.DataFrame({"copy": numbers}, schema={"copy": pl.Int32})
        base = items.filter(pl.col("sha256") == key).drop("sha256").with_row_index("_cell")
        grown = copies.join(base, how="cross").with_columns(
            pl.format("d{}", pl.col("copy")).alias("sha256"),
            pl.when((pl.col("_cell") + pl.col("copy")) % every == 0)
            .then(pl.col("micros") + 10_000)
            .otherwise(pl.col("micros"))
            .alias("micros"),
        )
        out_items.append(grown.drop("copy", "_cell").select(items.columns))
        t = tables.filter(pl.col("sha256") == key).drop("sha256")
        out_tables.append(
            copies.join(t, how="cross")
            .with_columns(pl.format("d{}", pl.col("copy")).alias("sha256"))
            .drop("copy")
            .select(tables.columns)
        )
    return pl.concat(out_items), pl.concat(out_tables)


def main(n: int, batch: int, every: int) -> None:
    samples = sample_frames()
    documents = rows = compared = failed = errors = 0
    spent_compare = spent_grade = 0.0
    for first in range(0, n, batch):
        items, tables = generate(min(batch, n - first), first, samples, every)
        t1 = time.perf_counter()
        c = comparisons(items, tables)
        t2 = time.perf_counter()
        f = grade(failing(c))
        t3 = time.perf_counter()
        spent_compare += t2 - t1
        spent_grade += t3 - t2
        documents += items.get_column("sha256").n_unique()
        rows += items.height
        compared += c.height
        failed += f.height
        errors += f.filter(pl.col("severity") == "error").height
        del items, tables, c, f
    print(f"documents              {documents:>12,}  (batches of {batch:,})")
    print(f"line items             {rows:>12,}")
    print(f"comparisons            {compared:>12,}")
    print(f"failing (graded)       {failed:>12,}  errors {errors:,}")
    print(f"compare (all rules)    {spent_compare:>10.2f} s")
    print(f"pandera check + grade  {spent_grade:>10.2f} s")
    print(f"validate total         {spent_compare + spent_grade:>10.2f} s   (target < 10 s for 100,000 documents)")
    print(f"peak memory            {peak_rss_mb():>10.0f} MB (target < 4096 MB)")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    main(*args, *(100_000, 5_000, 20)[len(args) :])
