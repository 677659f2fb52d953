"""Validation throughput: the line items of N generated documents (default 100,000) through every identity rule.

Documents are made from the bundled samples' tables, each copy with its own key and one amount in EVERY shifted by
0.01, so that the rules have real failures to grade: with 200 (the default) about 4% of comparisons fail, a little
more than in the samples themselves (13 of 473); 20 is a stress case (16%). Validation is what the product runs
(`validate.evaluated`: failing comparisons described, those that hold counted), then pandera's check and the grading.
Every identity lies within one document, so documents are validated in batches, two side by side (as
`budgetwatch.check.batch` does): memory is bounded by the batches in flight, time grows linearly. Generation is not
timed, nor is the first call, which compiles the loops (once per machine; later runs load them from numba's cache).
Prints rows, seconds (wall clock) and peak memory.

    uv run python bench/validate_throughput.py [N] [BATCH] [EVERY]
"""

from __future__ import annotations

import hashlib
import sys
import time
from concurrent.futures import ThreadPoolExecutor

# isort: off
import budgetwatch  # noqa: F401  first, as in the product: it sets up the allocators before polars is loaded
import polars as pl

# isort: on
from _common import peak_rss_mb, sample_frames

from budgetwatch.check.batch import CONCURRENT_BATCHES
from budgetwatch.check.validate import evaluated, grade
from schemas.identities import failing


def generate(n: int, first: int = 0, samples=None, every: int = 200) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Documents first … first+n-1, cycling through the samples, one amount in `every` shifted by 0.01.

    Each copy is keyed by a SHA-256 like a fetched document, so that keys are as long as the product's."""
    items, tables = samples or sample_frames()
    digests = pl.Series([hashlib.sha256(f"copy {i}".encode()).hexdigest() for i in range(first, first + n)])
    keys = items.select("sha256").unique().sort("sha256").get_column("sha256").to_list()
    out_items, out_tables = [], []
    for k, key in enumerate(keys):
        numbers = [i for i in range(first, first + n) if i % len(keys) == k]
        if not numbers:
            continue
        copies = pl.DataFrame({"copy": numbers}, schema={"copy": pl.Int32})
        base = items.filter(pl.col("sha256") == key).drop("sha256").with_row_index("_cell")
        grown = copies.join(base, how="cross").with_columns(
            pl.lit(digests).gather(pl.col("copy") - first).alias("sha256"),
            pl.when((pl.col("_cell") + pl.col("copy")) % every == 0)
            .then(pl.col("micros") + 10_000)
            .otherwise(pl.col("micros"))
            .alias("micros"),
        )
        out_items.append(grown.drop("copy", "_cell").select(items.columns))
        t = tables.filter(pl.col("sha256") == key).drop("sha256")
        out_tables.append(
            copies.join(t, how="cross")
            .with_columns(pl.lit(digests).gather(pl.col("copy") - first).alias("sha256"))
            .drop("copy")
            .select(tables.columns)
        )
    return pl.concat(out_items), pl.concat(out_tables)


def _validate(batch: tuple[pl.DataFrame, pl.DataFrame]) -> tuple[int, pl.DataFrame, float, float]:
    t1 = time.perf_counter()
    e = evaluated(*batch)
    t2 = time.perf_counter()
    graded = grade(failing(e.comparisons))
    return e.compared, graded, t2 - t1, time.perf_counter() - t2


def main(n: int, batch: int, every: int) -> None:
    samples = sample_frames()
    documents = rows = compared = failed = errors = 0
    spent = spent_compare = spent_grade = 0.0
    side_by_side = CONCURRENT_BATCHES
    t0 = time.perf_counter()
    _validate(generate(10, 0, samples, every))  # the compiled loops: built once per machine, then loaded from cache
    warm_up = time.perf_counter() - t0
    with ThreadPoolExecutor(side_by_side) as pool:
        for first in range(0, n, batch * side_by_side):
            starts = range(first, min(n, first + batch * side_by_side), batch)
            batches = [generate(min(batch, n - s), s, samples, every) for s in starts]  # not timed
            t0 = time.perf_counter()
            results = list(pool.map(_validate, batches))  # as `budgetwatch.check.batch` validates batches
            spent += time.perf_counter() - t0
            for (items, _), (made, graded, compare_s, grade_s) in zip(batches, results, strict=True):
                documents += items.get_column("sha256").n_unique()
                rows += items.height
                compared += made
                failed += graded.height
                errors += graded.filter(pl.col("severity") == "error").height
                spent_compare += compare_s
                spent_grade += grade_s
            del batches, results
    print(f"documents              {documents:>12,}  (batches of {batch:,}, {side_by_side} at a time)")
    print(f"shifted amounts        one in {every}")
    print(f"line items             {rows:>12,}")
    print(f"comparisons            {compared:>12,}")
    print(f"failing (graded)       {failed:>12,}  errors {errors:,}")
    print(f"compare (all rules)    {spent_compare:>10.2f} s   (summed over batches)")
    print(f"pandera check + grade  {spent_grade:>10.2f} s   (summed over batches)")
    print(f"first call             {warm_up:>10.2f} s   (compiles or loads the compiled loops; not in the figures)")
    print(f"validate, wall clock   {spent:>10.2f} s   (target < 10 s for 100,000 documents)")
    print(f"peak memory            {peak_rss_mb():>10.0f} MB (target < 4096 MB)")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    main(*args, *(100_000, 2_500, 200)[len(args) :])
